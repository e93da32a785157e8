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

# How the report names each kind (English, Chinese), for the shared registry.
NAMES: dict[str, tuple[str, str]] = {
    "db_storage_full": ("database storage full", "数据库存储空间耗尽"),
    "db_connections_exhausted": ("database connections exhausted", "数据库连接数耗尽"),
    "db_replication_lag": ("database replication lag", "数据库复制延迟"),
    "db_failover": ("database failover", "数据库主备切换"),
    "db_reboot": ("database reboot", "数据库重启"),
    "db_cpu_query": ("database CPU saturated by a query", "SQL导致数据库CPU打满"),
    "db_cpu_maintenance": ("database CPU saturated by maintenance", "维护任务导致数据库CPU打满"),
    "db_lock_contention": ("database lock contention", "数据库锁争用"),
}
