"""The Kubernetes source: saved kubectl output (List, both event shapes, cluster-info dump,
pod logs) and the live API through the official client, against recorded API JSON served
from a local HTTP server with a kubeconfig pointing at it."""

from __future__ import annotations

import http.server
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from copilot.config import Settings
from copilot.errors import CopilotError, DataError
from copilot.sources import SourceQuery
from copilot.plugins.platform.objects import parse_time
from copilot.plugins.platform.source import KubernetesSource
from copilot.plugins.telemetry.collect import merge
from copilot.plugins.telemetry.files import load_directory
from tests import k8s_states as K
from tests.jsonserver import reply_json, serve, stop

ALL = SourceQuery(0.0, float("inf"))


def saved(tmp_path: Path, cluster, extra=None) -> Path:
    return K.write(tmp_path / "saved", {**K.save(cluster), **(extra or {})})


def test_kubectl_list_files_fill_the_platform_and_owners(tmp_path):
    tel = load_directory(saved(tmp_path, K.image_pull()))
    p = tel.platform
    assert p.counts() == {"pods": 6, "nodes": 3, "deployments": 2, "replicasets": 3, "events": 2}
    # pods belong to their Deployment through ReplicaSet owner references
    assert set(p.owners.values()) == {"checkout", "cart"}
    assert tel.components() == ["cart", "checkout"]
    assert p.captured_at == parse_time(K.NOW)  # the nodes' last heartbeat: when the state was saved
    # rollouts became change events: revision 3's ReplicaSet and the Deployment's Progressing condition
    deploys = [c for c in tel.changes if c.component == "checkout" and c.kind == "deploy"]
    assert any("revision 3" in c.description and "checkout:1.3" in c.description for c in deploys)
    assert any(c.kind == "rollout" and "ProgressDeadlineExceeded" in c.description for c in tel.changes)


def test_both_event_shapes_read_alike(tmp_path):
    core = K.event("Pod", "checkout-abc-x1", "BackOff", "Back-off restarting failed container", K.at(39), K.at(20), 7)
    v1 = K.event_v1("Pod", "checkout-abc-x1", "BackOff", "Back-off restarting failed container", K.at(39), K.at(20), 7)
    a = load_directory(K.write(tmp_path / "a", {"events.json": K.listing([core])})).platform.events[0]
    b = load_directory(K.write(tmp_path / "b", {"events.json": K.listing([v1])})).platform.events[0]
    assert (a.reason, a.count, a.object_kind, a.object_name, a.namespace, a.timestamp, a.first) == \
           (b.reason, b.count, b.object_kind, b.object_name, b.namespace, b.timestamp, b.first)
    assert a.count == 7 and a.timestamp - a.first == 19 * 60


def test_cluster_info_dump_tree_with_pod_logs(tmp_path):
    cluster, logs = K.dns_logs()
    folder = K.write(tmp_path / "dump", K.cluster_info_dump(cluster, logs))
    tel = load_directory(folder)
    assert tel.platform.counts()["pods"] == 5 and tel.platform.counts()["nodes"] == 3
    # `<namespace>/<pod>/logs.txt` belongs to that pod: its component, the pod as instance
    pod_name = cluster["pods"][0]["metadata"]["name"]
    assert tel.logs and {r.component for r in tel.logs} == {"checkout"} and {r.instance for r in tel.logs} == {pod_name}
    assert tel.logs[-1].level == "ERROR" and "no such host" in tel.logs[-1].message


def test_kubectl_logs_file_named_after_the_pod_without_timestamps(tmp_path):
    cluster = K.crash_loop()
    pod_name = cluster["pods"][1]["metadata"]["name"]
    tel = load_directory(saved(tmp_path, cluster, {f"logs/{pod_name}.txt": "starting\npanic: nil map\n"}))
    assert [r.message for r in tel.logs] == ["starting", "panic: nil map"]
    assert {r.component for r in tel.logs} == {"checkout"}
    # no time in the lines: dated at the container's last start
    assert tel.logs[0].timestamp > 0


def test_a_broken_kubectl_file_is_one_line(tmp_path):
    folder = saved(tmp_path, K.healthy())
    (folder / "state.json").write_text('{"apiVersion": "v1", "kind": "List", "items": [', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_directory(folder)
    assert "state.json" in str(err.value) and "not valid JSON" in str(err.value) and "\n" not in str(err.value)


def test_files_mode_setting_and_namespaces(tmp_path):
    folder = saved(tmp_path, K.healthy())
    settings = Settings()
    settings.sources = {"kubernetes": {"files": str(folder), "namespaces": "other"}}
    source = KubernetesSource.from_settings(settings)
    assert source is not None and not source.live and str(folder) in source.label
    assert not source.collect(ALL).platform.pods  # namespace `other` holds nothing
    settings.sources = {"kubernetes": {"files": str(folder), "namespaces": "shop"}}
    assert len(KubernetesSource.from_settings(settings).collect(ALL).platform.pods) == 5
    settings.sources = {"kubernetes": {"files": str(tmp_path / "missing")}}
    with pytest.raises(CopilotError, match="kubernetes_files .*no such file"):
        KubernetesSource.from_settings(settings).collect(ALL)
    assert KubernetesSource.from_settings(Settings()) is None  # nothing configured: no source


def test_merge_concatenates_platform_lists_of_two_sources(tmp_path):
    a = load_directory(saved(tmp_path / "1", K.healthy()))
    b = load_directory(saved(tmp_path / "2", K.node_not_ready()))

    class S:
        def __init__(self, name):
            self.name = self.label = name

    out = merge([(S("a"), a), (S("b"), b)])
    assert len(out.platform.pods) == len(a.platform.pods) + len(b.platform.pods)
    assert len(out.platform.events) == len(a.platform.events) + len(b.platform.events)
    assert out.platform.captured_at == max(a.platform.captured_at, b.platform.captured_at)


# ---------------------------------------------------------------------------- live API

def api_lists(cluster) -> dict[str, dict]:
    """The API's list answers for the cluster (typed lists, items without kind/apiVersion)."""
    def lst(kind, api, items):
        return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "9001"}, "items": [K._bare(o) for o in items]}

    return {
        "/api/v1/pods": lst("PodList", "v1", cluster["pods"]),
        "/api/v1/events": lst("EventList", "v1", cluster["events"]),
        "/api/v1/nodes": lst("NodeList", "v1", cluster["nodes"]),
        "/apis/apps/v1/deployments": lst("DeploymentList", "apps/v1", cluster["deployments"]),
        "/apis/apps/v1/replicasets": lst("ReplicaSetList", "apps/v1", cluster["replicasets"]),
        "/apis/apps/v1/statefulsets": lst("StatefulSetList", "apps/v1", []),
        "/apis/apps/v1/daemonsets": lst("DaemonSetList", "apps/v1", []),
        "/apis/batch/v1/jobs": lst("JobList", "batch/v1", []),
        "/apis/autoscaling/v2/horizontalpodautoscalers": lst("HorizontalPodAutoscalerList", "autoscaling/v2", []),
        "/api/v1/persistentvolumeclaims": lst("PersistentVolumeClaimList", "v1", []),
        "/api/v1/resourcequotas": lst("ResourceQuotaList", "v1", []),
        "/api/v1/services": lst("ServiceList", "v1", []),
        "/api/v1/endpoints": lst("EndpointsList", "v1", []),
    }


def forbidden(resource: str, scope: str = "at the cluster scope") -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'{resource} is forbidden: User "system:serviceaccount:ops:copilot" cannot list resource '
                       f'"{resource}" in API group "" {scope}', "reason": "Forbidden", "details": {"kind": resource}, "code": 403}


class Cluster:
    def __init__(self, cluster, refuse=(), page=0):
        self.lists = api_lists(cluster)
        self.refuse = set(refuse)
        self.page = page
        self.requests: list[tuple[str, str, dict]] = []
        self.logs: dict[str, str] = {}

    def handler(self):
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                owner.requests.append((self.command, url.path, q))
                path = url.path
                if path.endswith("/log"):
                    text = owner.logs.get(path.split("/")[-2], "")
                    raw = text.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                parts = path.split("/")
                if "namespaces" in parts:  # /api/v1/namespaces/shop/pods -> /api/v1/pods, filtered
                    i = parts.index("namespaces")
                    ns, path = parts[i + 1], "/".join(parts[:i] + parts[i + 2:])
                else:
                    ns = ""
                resource = path.rsplit("/", 1)[-1]
                if resource in owner.refuse:
                    return reply_json(self, 403, forbidden(resource))
                body = owner.lists.get(path)
                if body is None:
                    return reply_json(self, 404, {"kind": "Status", "code": 404, "message": "not found"})
                items = [o for o in body["items"] if not ns or o.get("metadata", {}).get("namespace") == ns]
                start = int(q.get("continue") or 0)
                limit = int(q.get("limit") or 0) or len(items)
                if owner.page:
                    limit = min(limit, owner.page)
                chunk = items[start:start + limit]
                more = start + limit < len(items)
                reply_json(self, 200, {**body, "items": chunk,
                                       "metadata": {"resourceVersion": "9001", **({"continue": str(start + limit)} if more else {})}})

        return H


def kubeconfig(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "{url}"}}
  name: test
contexts:
- context: {{cluster: test, user: copilot}}
  name: test-ctx
current-context: test-ctx
users:
- name: copilot
  user: {{token: "abc123"}}
""", encoding="utf-8")
    return path


def live_source(tmp_path, url, **more) -> KubernetesSource:
    settings = Settings()
    settings.sources = {"kubernetes": {"kubeconfig": str(kubeconfig(tmp_path, url)), "context": "test-ctx", **more}}
    return KubernetesSource.from_settings(settings)


def test_live_reads_the_cluster_read_only_with_paging_and_logs(tmp_path):
    cluster = K.crash_loop()
    fake = Cluster(cluster, page=2)
    pod_name = cluster["pods"][1]["metadata"]["name"]
    fake.logs[pod_name] = "2024-06-03T10:39:28.000000001Z panic: nil map\n"
    server, url = serve(fake.handler())
    try:
        tel = live_source(tmp_path, url).collect(ALL)
    finally:
        stop(server)
    assert len(tel.platform.pods) == 5 and len(tel.platform.nodes) == 3
    assert {m for m, _, _ in fake.requests} == {"GET"}  # read-only
    pages = [q for _, p, q in fake.requests if p == "/api/v1/pods"]
    assert len(pages) == 3 and pages[1].get("continue") == "2"  # 5 pods in pages of 2
    # the crashing pod's previous container log was read, with timestamps
    logs = [q for _, p, q in fake.requests if p.endswith(f"/{pod_name}/log")]
    assert logs and logs[0]["previous"] == "true" and logs[0]["timestamps"] == "true"
    assert [r.message for r in tel.logs] == ["panic: nil map"] and tel.logs[0].component == "checkout"
    assert any(c.kind == "deploy" for c in tel.changes)


def test_live_namespaces_use_namespaced_lists(tmp_path):
    fake = Cluster(K.healthy())
    server, url = serve(fake.handler())
    try:
        tel = live_source(tmp_path, url, namespaces="shop").collect(ALL)
    finally:
        stop(server)
    assert "/api/v1/namespaces/shop/pods" in {p for _, p, _ in fake.requests}
    assert len(tel.platform.pods) == 5


def test_rbac_refusal_is_one_line(tmp_path):
    fake = Cluster(K.healthy(), refuse={"pods"})
    server, url = serve(fake.handler())
    try:
        with pytest.raises(CopilotError) as err:
            live_source(tmp_path, url).collect(ALL)
    finally:
        stop(server)
    text = str(err.value)
    assert "RBAC 403" in text and "system:serviceaccount:ops:copilot" in text and "grant get/list on pods" in text
    assert "\n" not in text


def test_rbac_refusal_of_nodes_is_noted_and_the_rest_is_read(tmp_path):
    fake = Cluster(K.healthy(), refuse={"nodes"})
    server, url = serve(fake.handler())
    try:
        source = live_source(tmp_path, url)
        tel = source.collect(ALL)
        check = source.check()
    finally:
        stop(server)
    assert not tel.platform.nodes and len(tel.platform.pods) == 5
    assert "nodes" in tel.meta["capped"] and "403" in tel.meta["capped"]
    assert check.ok and "5 pods" in check.detail


def test_unreachable_cluster_is_one_line(tmp_path):
    server, url = serve(Cluster(K.healthy()).handler())
    stop(server)  # nothing listens there now
    with pytest.raises(CopilotError, match="cannot reach the Kubernetes API"):
        live_source(tmp_path, url, timeout=2).collect(ALL)


def test_alertmanager_webhook_and_grafana_payload_files_map_to_components(tmp_path):
    cluster = K.crash_loop()
    pod_name = cluster["pods"][1]["metadata"]["name"]
    webhook = {"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "status": "firing", "receiver": "copilot",
               "groupLabels": {"alertname": "KubePodCrashLooping"}, "commonLabels": {}, "commonAnnotations": {},
               "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
               "alerts": [
                   {"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "container": "checkout",
                                                   "job": "kube-state-metrics", "namespace": "shop", "pod": pod_name,
                                                   "severity": "warning"},
                    "annotations": {"description": f"Pod shop/{pod_name} is in waiting state (reason: CrashLoopBackOff)."},
                    "startsAt": "2024-06-03T10:25:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1"},
                   {"status": "firing", "labels": {"alertname": "KubeNodeNotReady", "job": "kube-state-metrics",
                                                   "node": "node-2", "severity": "warning"},
                    "annotations": {"summary": "Node is not ready."}, "startsAt": "2024-06-03T10:31:00Z",
                    "fingerprint": "b2"}]}
    grafana_legacy = {"title": "[Alerting] cart latency", "ruleId": 7, "ruleName": "cart latency", "state": "alerting",
                      "evalMatches": [{"value": 2.4, "metric": "p99", "tags": {"service": "cart"}}],
                      "message": "p99 above 2s", "ruleUrl": "http://grafana/d/x"}
    folder = saved(tmp_path, cluster, {"alerts/webhook.json": webhook, "alerts/grafana.json": grafana_legacy})
    tel = load_directory(folder)
    by_name = {a.name: a for a in tel.alerts}
    # the crash-looping pod's alert belongs to its workload (not to kube-state-metrics, its `job`)
    assert by_name["KubePodCrashLooping"].component == "checkout"
    assert by_name["KubeNodeNotReady"].component == "node-2"
    assert by_name["cart latency"].component == "cart"


def test_secrets_in_pod_env_and_events_are_redacted_where_data_enters(tmp_path):
    cluster = K.healthy()
    cluster["pods"][0]["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2-prod-secret"},
                                                          {"name": "LOG_LEVEL", "value": "info"}]
    cluster["events"] = [K.event("Pod", cluster["pods"][0]["metadata"]["name"], "Failed",
                                 "exec failed: curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc' ...",
                                 K.at(30))]
    tel = load_directory(saved(tmp_path, cluster))
    env = {e["name"]: e["value"] for e in tel.platform.pods[0]["spec"]["containers"][0]["env"]}
    assert env == {"DB_PASSWORD": "[REDACTED]", "LOG_LEVEL": "info"}
    assert "eyJhbGciOiJIUzI1NiJ9" not in tel.platform.events[0].message


def test_tls_secrets_give_certificate_expiry_and_their_keys_are_not_kept(tmp_path):
    from copilot.plugins.platform.detect import detect_platform

    secrets = [K.tls_secret("shop-tls", "2024-06-08T00:00:00Z"), K.tls_secret("far-tls", "2025-06-01T00:00:00Z"),
               {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "db", "namespace": "shop"},
                "data": {"password": "aHVudGVyMg=="}}]
    tel = load_directory(K.write(tmp_path / "d", {**K.save(K.healthy()), "secrets.json": K.listing(secrets)}))
    certs = tel.platform.certificates
    assert [c["metadata"]["name"] for c in certs] == ["shop-tls", "far-tls"]  # the Opaque secret is not read
    assert certs[0]["status"]["notAfter"] == "2024-06-08T00:00:00Z"
    assert "tls.key" not in json.dumps(certs) and "data" not in certs[0]  # the private key is dropped at the door
    n = iter(range(1, 100))
    found = [f for f in detect_platform(tel, lambda p: f"{p}{next(n)}") if f.kind == "cert_expiring"]
    assert [(f.component, f.details.days_left) for f in found] == [("shop-tls", 4.6)]
    assert "TLS secret shop-tls expires at" in found[0].summary


def test_tls_secret_without_cryptography_is_one_clear_line(tmp_path, monkeypatch):
    import builtins

    from copilot.plugins.platform.objects import tls_secret_certificate

    real = builtins.__import__

    def no_cryptography(name, *args, **kwargs):
        if name.startswith("cryptography"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    secret = K.tls_secret("shop-tls", "2024-06-08T00:00:00Z")
    monkeypatch.setattr(builtins, "__import__", no_cryptography)
    record = tls_secret_certificate(secret)
    assert record["problem"] == ("TLS Secret shop/shop-tls: reading certificate expiry from TLS Secrets needs the "
                                 "`cryptography` package (pip install cryptography); cert-manager Certificates are still read")
    assert "notAfter" not in record["status"]


def test_live_reads_events_of_both_apis_once_each_and_only_tls_secrets(tmp_path):
    cluster = K.crash_loop()
    fake = Cluster(cluster)
    core = cluster["events"][0]
    m = core["metadata"]
    same = K.event_v1("Pod", core["involvedObject"]["name"], core["reason"], core["message"], core["lastTimestamp"])
    same["metadata"]["uid"] = m["uid"]  # the same event through the other API
    only_v1 = K.event_v1("Node", "node-2", "NodeNotReady", "Node node-2 status is now: NodeNotReady", "2024-06-03T10:35:00Z",
                         controller="node-controller", namespace="default")
    fake.lists["/apis/events.k8s.io/v1/events"] = {"kind": "EventList", "apiVersion": "events.k8s.io/v1", "metadata": {},
                                                   "items": [K._bare(same), K._bare(only_v1)]}
    fake.lists["/api/v1/secrets"] = {"kind": "SecretList", "apiVersion": "v1", "metadata": {},
                                     "items": [K._bare(K.tls_secret("shop-tls", "2024-06-08T00:00:00Z"))]}
    server, url = serve(fake.handler())
    try:
        tel = live_source(tmp_path, url).collect(ALL)
    finally:
        stop(server)
    reasons = sorted(e.reason for e in tel.platform.events)
    assert len(reasons) == len(cluster["events"]) + 1 and "NodeNotReady" in reasons
    asked = [q for _, p, q in fake.requests if p == "/api/v1/secrets"]
    assert asked and asked[0]["fieldSelector"] == "type=kubernetes.io/tls"
    assert [c["status"]["notAfter"] for c in tel.platform.certificates] == ["2024-06-08T00:00:00Z"]
