"""The fault kinds the database detectors name, each with its category.

The lead wires this dict into the shared kind registry; categories are those of issue 12:
resource_exhaustion, configuration_error, infrastructure, dependency_failure, code_defect,
network, traffic, data_quality. `cpu_saturation` is a built-in kind and is not repeated here.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    "db_storage_full": "resource_exhaustion",
    "db_connections_exhausted": "resource_exhaustion",
    "db_replication_lag": "infrastructure",
    "db_failover": "infrastructure",
    "db_reboot": "infrastructure",
    "db_cpu_query": "code_defect",
    "db_cpu_maintenance": "resource_exhaustion",
    "db_lock_contention": "code_defect",
}
