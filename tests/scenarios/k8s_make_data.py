"""Build the platform and database scenario cases from the recorded states (the exact
kubectl and AWS CLI shapes of tests/k8s_states.py and tests/aws_states.py): the `data/`
folders of the hand-written cases, and the English/Chinese twins of every platform fault,
database fault and "nothing wrong" variant with their scenario.yaml:
.venv/bin/python tests/scenarios/k8s_make_data.py"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests import k8s_states as K  # noqa: E402

CASES = {
    "k8s-oom-killed-en": lambda: K.save(K.oom_killed()),
    "k8s-image-pull-zh": lambda: K.save(K.image_pull(), events_v1=True),
    "k8s-missing-config-en": lambda: K.save(K.missing_configmap()),
    "k8s-pending-resources-en": lambda: K.save(K.pending(K.INSUFFICIENT)),
    "k8s-pending-ipv6-zh": lambda: K.save(K.pending_ipv6()),
    "k8s-pending-taints-zh": lambda: K.save(K.pending(K.TAINTS)),
    "k8s-node-not-ready-zh": lambda: K.save(K.node_not_ready()),
    "k8s-evicted-en": lambda: K.save(K.evicted()),
    "k8s-dns-logs-cluster-dump-en": lambda: K.cluster_info_dump(*K.dns_logs()),
    "k8s-oom-recovered-en": lambda: K.save(K.recovered_oom()),
    "k8s-finished-rollout-healthy-en": lambda: K.save(K.finished_rollout()),
    "k8s-node-flapped-healthy-zh": lambda: K.save(K.node_flapped()),
}


def _cert_expiring() -> dict:
    return {**K.save(K.healthy()), "secrets.json": K.listing([K.tls_secret("shop-tls", "2024-06-08T00:00:00Z")])}


# Twins: every platform fault, database fault and "nothing wrong" variant in English and in
# Chinese. name -> (data builder, what the state is, English question, Chinese question,
# expect). The truth is the state's own: what was recorded into it (tests/k8s_states.py,
# tests/aws_states.py), never what the copilot answers.
TWINS: dict[str, tuple] = {
    "k8s-oom-killed": (lambda: K.save(K.oom_killed()), "checkout containers OOMKilled at their 512Mi limit",
                       "Why does checkout keep restarting?", "checkout 为什么一直重启？",
                       {"component": "checkout", "fault_kind": "oom_killed", "verdict": "fault"}),
    "k8s-crash-loop": (lambda: K.save(K.crash_loop()), "a checkout pod in CrashLoopBackOff, exit code 1 (panic: nil map)",
                       "checkout pods are crashing, why?", "checkout 的 Pod 反复崩溃，原因是什么？",
                       {"component": "checkout", "fault_kind": "crash_loop", "verdict": "fault"}),
    "k8s-image-pull": (lambda: K.save(K.image_pull(), events_v1=True), "checkout revision 3 image checkout:1.3 not found",
                       "The checkout rollout is not progressing, why?", "checkout 发布一直没有进展，为什么？",
                       {"component": "checkout", "fault_kind": "image_pull_error", "verdict": "fault"}),
    "k8s-missing-config": (lambda: K.save(K.missing_configmap()), "checkout pods reference a missing ConfigMap",
                           "Why are new checkout pods not starting?", "新的 checkout Pod 为什么起不来？",
                           {"component": "checkout", "fault_kind": "missing_config", "verdict": "fault"}),
    "k8s-pending-resources": (lambda: K.save(K.pending(K.INSUFFICIENT)), "checkout pods Pending: Insufficient memory",
                              "Why are checkout pods Pending?", "checkout 的 Pod 为什么一直 Pending？",
                              {"component": "checkout", "fault_kind": "pod_unschedulable_resources", "verdict": "fault"}),
    "k8s-pending-taints": (lambda: K.save(K.pending(K.TAINTS)), "checkout pods Pending: untolerated taint, affinity",
                           "Why are checkout pods Pending?", "checkout 的 Pod 为什么一直 Pending？",
                           {"component": "checkout", "fault_kind": "pod_unschedulable_constraints", "verdict": "fault"}),
    "k8s-pending-pvc": (lambda: K.save(K.pending(K.UNBOUND)), "checkout pods Pending: unbound PersistentVolumeClaim",
                        "Why are checkout pods Pending?", "checkout 的 Pod 为什么一直 Pending？",
                        {"component": "checkout", "fault_kind": "pvc_unbound", "verdict": "fault"}),
    "k8s-quota": (lambda: K.save(K.quota_refused()), "checkout's new ReplicaSet refused by the namespace quota",
                  "Why is the checkout rollout stuck?", "checkout 发布为什么卡住了？",
                  {"component": "checkout", "fault_kind": "quota_exceeded", "verdict": "fault"}),
    "k8s-probe": (lambda: K.save(K.probe_restarts()), "checkout liveness probe fails and restarts the container",
                  "Why is checkout restarting?", "checkout 为什么在重启？",
                  {"component": "checkout", "fault_kind": "probe_failure", "verdict": "fault"}),
    "k8s-evicted": (lambda: K.save(K.evicted()), "node-1 memory pressure evicts a cart pod",
                    "Why was a cart pod evicted?", "cart 的 Pod 为什么被驱逐了？",
                    {"component": "node-1", "fault_kind": "node_pressure", "verdict": "fault"}),
    "k8s-node-not-ready": (lambda: K.save(K.node_not_ready()), "node-2 NotReady since 10:31 with two pods on it",
                           "Pods on node-2 are unreachable, what happened?", "node-2 上的 Pod 无法访问，发生了什么？",
                           {"component": "node-2", "fault_kind": "node_not_ready", "verdict": "fault"}),
    "k8s-hpa-max": (lambda: K.save(K.hpa_max()), "checkout HPA at 3/3 replicas with cpu at 184%",
                    "checkout is slow under load, why?", "checkout 高负载下变慢，为什么？",
                    {"component": "checkout", "fault_kind": "hpa_at_max", "verdict": "fault"}),
    "k8s-dns": (lambda: K.cluster_info_dump(*K.dns_logs()), "checkout logs 'no such host' for its dependency",
                "checkout cannot reach its dependency, why?", "checkout 调不通下游，为什么？",
                {"component": "checkout", "fault_kind": "dns_failure", "verdict": "fault"}),
    "k8s-selector": (lambda: K.save(K.selector_mismatch()), "the checkout Service selects app=chekout: no endpoints",
                     "Requests to checkout fail with no endpoints, why?", "访问 checkout 服务失败，没有可用端点，为什么？",
                     {"component": "checkout", "fault_kind": "service_selector_mismatch", "verdict": "fault"}),
    "k8s-cert-expiring": (_cert_expiring, "TLS Secret shop-tls expires in 4.6 days",
                          "Is anything about to break in the shop namespace?", "shop 命名空间里有什么快要出问题吗？",
                          {"component": "shop-tls", "fault_kind": "cert_expiring", "verdict": "fault"}),
    # nothing wrong
    "k8s-old-rollout-healthy": (lambda: K.save(K.healthy()), "no fault: the rollout to revision 2 finished and is healthy",
                                "An alert fired for checkout after the rollout, is something wrong?",
                                "发布后 checkout 有告警，现在有问题吗？", {"verdict": "healthy"}),
    "k8s-terminating-healthy": (lambda: K.save(K.finished_rollout()), "no fault: old pods terminating after a finished rollout",
                                "checkout alert fired, is something wrong?", "checkout 告警了，有问题吗？",
                                {"verdict": "healthy"}),
    "k8s-node-flapped-healthy": (lambda: K.save(K.node_flapped()), "no fault: node-3 NotReady for two minutes, Ready again",
                                 "We got a node-3 NotReady alert, do we need to act?", "刚才收到 node-3 NotReady 的告警，现在需要处理吗？",
                                 {"verdict": "healthy"}),
}
DB_TWINS: dict[str, tuple] = {
    "db-storage-full": ("storage_full", "orders-db FreeStorageSpace falls to zero, low storage events", {"component": "orders-db", "fault_kind": "db_storage_full", "verdict": "fault"}),
    "db-storage-events-only": ("storage_full_events_only", "orders-db storage full, seen only in RDS events (metric missing)", {"component": "orders-db", "fault_kind": "db_storage_full", "verdict": "fault"}),
    "db-connections": ("connections_exhausted", "orders-db connections at max_connections 500", {"component": "orders-db", "fault_kind": "db_connections_exhausted", "verdict": "fault"}),
    "db-replication-lag": ("replication_lag", "the replica lags behind a write burst on orders-db", {"component": "orders-db-replica", "fault_kind": "db_replication_lag", "verdict": "fault"}),
    "db-failover": ("failover", "orders-db failed over and finished 95 s later", {"component": "orders-db", "fault_kind": "db_failover", "verdict": "recovered"}),
    "db-reboot": ("reboot", "orders-db rebooted and was back 70 s later", {"component": "orders-db", "fault_kind": "db_reboot", "verdict": "recovered"}),
    "db-cpu-query": ("cpu_query", "orders-db CPU saturated by one SELECT", {"component": "orders-db", "fault_kind": "db_cpu_query", "verdict": "fault"}),
    "db-cpu-maintenance": ("cpu_maintenance", "orders-db CPU saturated by autovacuum", {"component": "orders-db", "fault_kind": "db_cpu_maintenance", "verdict": "fault"}),
    "db-lock-contention": ("lock_contention", "orders-db lock waits on UPDATE inventory", {"component": "orders-db", "fault_kind": "db_lock_contention", "verdict": "fault"}),
    "db-checkpoint-healthy": ("checkpoint_recovered", "no fault: CPU rose during a checkpoint and fell back", {"verdict": "healthy"}),
    "db-healthy": ("healthy", "no fault: orders-db as usual", {"verdict": "healthy"}),
}
DB_QUESTIONS = ("What is wrong with orders-db since 11:30?", "orders-db 从 11:30 开始出了什么问题？")


def scenario_yaml(description: str, question: str, expect: dict, lang: str) -> str:
    import yaml

    doc = {"description": description + (" Chinese question." if lang == "zh" else ""), "question": question,
           "data": "data", "settings": {"timezone": "UTC"}, "expect": {**expect, "report": {"language": lang}}}
    return "# generated by tests/scenarios/k8s_make_data.py\n" + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def main() -> None:
    for name, build in CASES.items():
        data = HERE / name / "data"
        shutil.rmtree(data, ignore_errors=True)
        K.write(data, build())
    from tests import aws_states as A

    made = set(CASES)
    for stem, (build, what, q_en, q_zh, expect) in TWINS.items():
        for lang, question in (("en", q_en), ("zh", q_zh)):
            name = f"{stem}-{lang}"
            if name in made or any(n.startswith(stem) and n.endswith(lang) for n in made):
                continue  # a hand-written case already covers it
            folder = HERE / name
            shutil.rmtree(folder, ignore_errors=True)
            K.write(folder / "data", build())
            (folder / "scenario.yaml").write_text(scenario_yaml(what, question, expect, lang), encoding="utf-8")
    for stem, (state, what, expect) in DB_TWINS.items():
        for lang, question in zip(("en", "zh"), DB_QUESTIONS):
            folder = HERE / f"{stem}-{lang}"
            shutil.rmtree(folder, ignore_errors=True)
            A.state(folder / "data", state)
            (folder / "scenario.yaml").write_text(scenario_yaml(what, question, expect, lang), encoding="utf-8")


if __name__ == "__main__":
    main()
