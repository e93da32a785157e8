"""The fault kinds the database detectors name, each with its category.

The cloud plugin registers these (copilot/plugins.py); categories are those of issue 12:
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

# How the report names each kind (English, Chinese).
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

# What to improve after each fault (English, Chinese): the "prevent" step of its runbook
# (kb/bundled/runbooks/db-*.md). What to do now comes from the kind's expert experiences
# (kb/bundled/databases.yaml `mitigation`), so the commands live in one place.
IMPROVEMENTS: dict[str, tuple[str, str]] = {
    "db_storage_full": ("Turn on storage autoscaling, alarm on FreeStorageSpace below 20%, and alarm on replication-slot lag.",
                        "开启存储自动扩展，对FreeStorageSpace低于20%和复制槽延迟配置告警。"),
    "db_connections_exhausted": ("Alarm on DatabaseConnections above 80% of max_connections; set "
                                 "idle_in_transaction_session_timeout; size pools for the replica count.",
                                 "对DatabaseConnections超过max_connections的80%告警；设置idle_in_transaction_session_timeout；"
                                 "按副本数规划连接池大小。"),
    "db_replication_lag": ("Alarm on ReplicaLag; run bulk writes in batches with pauses; keep replica and primary the same class.",
                           "对ReplicaLag告警；批量写入分批并间隔执行；副本与主库保持相同规格。"),
    "db_failover": ("Retries with backoff and connection validation in client pools; RDS Proxy shortens failovers.",
                    "客户端使用带退避的重试，连接池开启连接校验；RDS Proxy可缩短切换时间。"),
    "db_reboot": ("Apply parameter changes and patches in the maintenance window; alarm on the availability event category.",
                  "参数变更和补丁在维护窗口内应用；对availability类别的事件配置告警。"),
    "db_cpu_query": ("Review query plans in CI for hot paths; alarm on db.load.avg above the vCPU count.",
                     "对热点路径的执行计划做评审；对db.load.avg超过vCPU数配置告警。"),
    "db_cpu_maintenance": ("Watch transaction ID age (SELECT datname, age(datfrozenxid) FROM pg_database;) so wraparound "
                           "vacuums never come as a surprise; schedule heavy maintenance off-peak.",
                           "关注事务ID年龄（SELECT datname, age(datfrozenxid) FROM pg_database;），避免防回卷vacuum突然发生；"
                           "重型维护安排在低峰期。"),
    "db_lock_contention": ("Keep transactions short; update rows in a fixed order; set lock_timeout for DDL and "
                           "idle_in_transaction_session_timeout; log lock waits (log_lock_waits = on).",
                           "缩短事务；按固定顺序更新行；为DDL设置lock_timeout，设置idle_in_transaction_session_timeout；"
                           "开启锁等待日志（log_lock_waits = on）。"),
}


def fault_texts() -> dict[str, dict[str, str]]:
    """The report's names and improvements for these kinds (copilot/faults.py TEXT_FIELDS)."""
    return {kind: {"name_en": NAMES[kind][0], "name_zh": NAMES[kind][1],
                   "improvement_en": IMPROVEMENTS[kind][0], "improvement_zh": IMPROVEMENTS[kind][1]} for kind in KINDS}

