"""Recorded Kubernetes cluster states for tests, in the exact shapes kubectl prints.

`kubectl get pods,rs,deploy,nodes,... -A -o json` prints one `List` of objects, each with
its own apiVersion and kind; `kubectl get events -A -o json` prints core/v1 Events (also a
`List`); `kubectl get events.v1.events.k8s.io -A -o json` prints the events.k8s.io/v1
shape. Each `state_*` function returns {file name: document} for a folder of saved output;
`write(folder, state)` saves it as an engineer would.

The cluster: namespace `shop`, Deployments `checkout` (3 replicas) and `cart`, nodes
`node-1`..`node-3`. Times are fixed so findings can be checked to the minute.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

NOW = "2024-06-03T10:40:00Z"  # the capture: nodes' last heartbeat
T0 = "2024-06-03T10:00:00Z"


def at(minute: int, second: int = 0) -> str:
    return f"2024-06-03T10:{minute:02d}:{second:02d}Z"


def uid(name: str) -> str:
    import hashlib

    h = hashlib.md5(name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def node(name: str, ready: str = "True", since: str = T0, pressure: dict[str, str] | None = None,
         reason: str = "KubeletReady", message: str = "kubelet is posting ready status") -> dict[str, Any]:
    conds = []
    for ctype, ok_reason in (("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
                             ("PIDPressure", "KubeletHasSufficientPID")):
        bad = (pressure or {}).get(ctype)
        conds.append({"lastHeartbeatTime": NOW, "lastTransitionTime": at(30) if bad else T0,
                      "message": bad or f"kubelet has {ok_reason[10:]}", "reason": "KubeletHas" + ctype if bad else ok_reason, "status": "True" if bad else "False", "type": ctype})
    conds.append({"lastHeartbeatTime": NOW if ready == "True" else at(31), "lastTransitionTime": since,
                  "message": message, "reason": reason, "status": ready, "type": "Ready"})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid(name), "creationTimestamp": "2024-05-01T00:00:00Z",
                         "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {"podCIDR": "10.244.1.0/24"},
            "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                       "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}, "conditions": conds,
                       "nodeInfo": {"kubeletVersion": "v1.29.4", "containerRuntimeVersion": "containerd://1.7.13"}}}


def deployment(name: str, replicas: int = 3, revision: int = 2, ready: int | None = None,
               progressing: tuple[str, str, str] | None = None, updated: int | None = None,
               failure: str = "") -> dict[str, Any]:
    ready = replicas if ready is None else ready
    prog = progressing or ("True", "NewReplicaSetAvailable", f'ReplicaSet "{name}-{hash_of(name, revision)}" has successfully progressed.')
    conds = [
        {"lastTransitionTime": at(5), "lastUpdateTime": at(5), "message": "Deployment has minimum availability."
         if ready >= replicas else "Deployment does not have minimum availability.",
         "reason": "MinimumReplicasAvailable" if ready >= replicas else "MinimumReplicasUnavailable",
         "status": "True" if ready >= replicas else "False", "type": "Available"},
        {"lastTransitionTime": at(20), "lastUpdateTime": at(32) if prog[1] == "ProgressDeadlineExceeded" else at(21),
         "message": prog[2], "reason": prog[1], "status": prog[0], "type": "Progressing"},
    ]
    if failure:
        conds.append({"lastTransitionTime": at(21), "lastUpdateTime": at(21), "message": failure,
                      "reason": "FailedCreate", "status": "True", "type": "ReplicaFailure"})
    status = {"observedGeneration": revision, "replicas": replicas, "updatedReplicas": replicas if updated is None else updated,
              "readyReplicas": ready, "availableReplicas": ready, "conditions": conds}
    if ready < replicas:
        status["unavailableReplicas"] = replicas - ready
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": str(revision)}, "creationTimestamp": "2024-05-20T08:00:00Z",
                         "generation": revision, "labels": {"app": name}, "name": name, "namespace": "shop", "uid": uid(name)},
            "spec": {"progressDeadlineSeconds": 600, "replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                     "template": template(name, f"registry.example.com/shop/{name}:1.{revision}")},
            "status": status}


def hash_of(name: str, revision: int) -> str:
    return uid(f"{name}{revision}").replace("-", "")[:10].translate(str.maketrans("0123456789abcdef", "5d6f7b8c9xzqwrtv"))[:10]


def template(name: str, image: str, memory: str = "512Mi", env_from: str = "") -> dict[str, Any]:
    c: dict[str, Any] = {"image": image, "imagePullPolicy": "IfNotPresent", "name": name,
                         "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                         "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                           "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1},
                         "resources": {"limits": {"cpu": "500m", "memory": memory}, "requests": {"cpu": "250m", "memory": "256Mi"}}}
    if env_from:
        c["envFrom"] = [{"configMapRef": {"name": env_from}}]
    return {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c], "restartPolicy": "Always"}}


def replicaset(name: str, revision: int, replicas: int, ready: int, created: str, memory: str = "512Mi") -> dict[str, Any]:
    h = hash_of(name, revision)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"annotations": {"deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4",
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "creationTimestamp": created, "generation": 1, "labels": {"app": name, "pod-template-hash": h},
                         "name": f"{name}-{h}", "namespace": "shop", "uid": uid(f"{name}-{h}"),
                         "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                              "kind": "Deployment", "name": name, "uid": uid(name)}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name, "pod-template-hash": h}},
                     "template": template(name, f"registry.example.com/shop/{name}:1.{revision}", memory)},
            "status": {"availableReplicas": ready, "fullyLabeledReplicas": replicas, "observedGeneration": 1,
                       "readyReplicas": ready, "replicas": replicas}}


def pod(deploy: str, revision: int, suffix: str, node_name: str = "node-1", ready: bool = True,
        state: dict[str, Any] | None = None, last: dict[str, Any] | None = None, restarts: int = 0,
        phase: str = "Running", memory: str = "512Mi", started: str = T0, scheduled: bool = True,
        sched_message: str = "", deleting: str = "", env_from: str = "", reason: str = "", message: str = "") -> dict[str, Any]:
    h = hash_of(deploy, revision)
    name = f"{deploy}-{h}-{suffix}"
    image = f"registry.example.com/shop/{deploy}:1.{revision}"
    spec = template(deploy, image, memory, env_from)["spec"]
    if scheduled:
        spec["nodeName"] = node_name
    cs = {"containerID": f"containerd://{uid(name)}", "image": image, "imageID": "", "lastState": last or {},
          "name": deploy, "ready": ready, "restartCount": restarts, "started": ready,
          "state": state or {"running": {"startedAt": started}}}
    conds = [{"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "Initialized"},
             {"lastProbeTime": None, "lastTransitionTime": started, "status": "True" if ready else "False", "type": "Ready"},
             {"lastProbeTime": None, "lastTransitionTime": started, "status": "True" if ready else "False", "type": "ContainersReady"},
             {"lastProbeTime": None, "lastTransitionTime": started, "status": "True" if scheduled else "False",
              "type": "PodScheduled", **({"reason": "Unschedulable", "message": sched_message} if not scheduled else {})}]
    status: dict[str, Any] = {"phase": phase, "conditions": conds if scheduled else conds[-1:], "qosClass": "Burstable",
                              "startTime": started}
    if scheduled and phase != "Failed":
        status.update({"containerStatuses": [cs], "hostIP": "10.0.1.11", "podIP": "10.244.1.23"})
    if reason:
        status.update({"reason": reason, "message": message})
    md: dict[str, Any] = {"creationTimestamp": started, "generateName": f"{deploy}-{h}-", "labels": {"app": deploy, "pod-template-hash": h},
                          "name": name, "namespace": "shop", "uid": uid(name),
                          "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                               "kind": "ReplicaSet", "name": f"{deploy}-{h}", "uid": uid(f"{deploy}-{h}")}]}
    if deleting:
        md.update({"deletionTimestamp": deleting, "deletionGracePeriodSeconds": 30})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def event(kind: str, name: str, reason: str, message: str, last: str, first: str | None = None, count: int = 1,
          type_: str = "Warning", source: str = "kubelet", namespace: str = "shop", host: str = "node-1") -> dict[str, Any]:
    """A core/v1 Event, as `kubectl get events -o json` prints it."""
    ns = namespace if kind != "Node" else "default"
    return {"apiVersion": "v1", "kind": "Event", "count": count, "firstTimestamp": first or last, "lastTimestamp": last,
            "eventTime": None, "involvedObject": {"apiVersion": "apps/v1" if kind in ("Deployment", "ReplicaSet") else "v1",
                                                  "kind": kind, "name": name, **({"namespace": namespace} if kind != "Node" else {}),
                                                  "uid": uid(name)},
            "message": message, "metadata": {"creationTimestamp": first or last, "name": f"{name}.17d5{abs(hash(reason)) % 10**8:08x}",
                                             "namespace": ns, "resourceVersion": "1001", "uid": uid(name + reason)},
            "reason": reason, "reportingComponent": source, "reportingInstance": host if source == "kubelet" else "",
            "source": {"component": source, **({"host": host} if source == "kubelet" else {})}, "type": type_}


def event_v1(kind: str, name: str, reason: str, note: str, last: str, first: str | None = None, count: int = 1,
             type_: str = "Warning", controller: str = "kubelet", namespace: str = "shop") -> dict[str, Any]:
    """The same event in the events.k8s.io/v1 shape (`kubectl get events.v1.events.k8s.io -o json`)."""
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "action": "", "eventTime": None,
           "deprecatedCount": count, "deprecatedFirstTimestamp": first or last, "deprecatedLastTimestamp": last,
           "deprecatedSource": {"component": controller}, "metadata": {"creationTimestamp": first or last,
                                                                       "name": f"{name}.{abs(hash(reason)) % 10**8:08x}",
                                                                       "namespace": namespace, "uid": uid(name + reason)},
           "note": note, "reason": reason, "regarding": {"kind": kind, "name": name, "namespace": namespace, "uid": uid(name)},
           "reportingController": controller, "reportingInstance": "", "type": type_}
    if count > 1:
        out["series"] = {"count": count, "lastObservedTime": last.replace("Z", ".000000Z")}
    return out


def base_cluster(checkout_rev: int = 2) -> dict[str, list[dict[str, Any]]]:
    nodes = [node("node-1"), node("node-2"), node("node-3")]
    deploys = [deployment("checkout", 3, checkout_rev), deployment("cart", 2, 1)]
    rss = [replicaset("checkout", r, 3 if r == checkout_rev else 0, 3 if r == checkout_rev else 0,
                      "2024-05-20T08:00:00Z" if r == 1 else at(20)) for r in range(1, checkout_rev + 1)]
    rss.append(replicaset("cart", 1, 2, 2, "2024-05-20T08:00:00Z"))
    pods = [pod("checkout", checkout_rev, s, f"node-{i + 1}", started=at(21)) for i, s in enumerate(("x2x9q", "b7kqz", "p4mfd"))]
    pods += [pod("cart", 1, s, f"node-{i + 1}") for i, s in enumerate(("h8s2d", "m3n7v"))]
    return {"nodes": nodes, "deployments": deploys, "replicasets": rss, "pods": pods, "events": []}


def save(cluster: dict[str, list[dict[str, Any]]], events_v1: bool = False) -> dict[str, Any]:
    """The files an engineer saves: `kubectl get pods,rs,deploy,nodes... -A -o json > state.json`
    and `kubectl get events -A -o json > events.json`."""
    state = listing([o for k in ("nodes", "deployments", "replicasets", "pods", "others") for o in cluster.get(k, [])])
    events = listing(cluster["events"])
    if events_v1:
        events["apiVersion"] = "v1"  # kubectl wraps any listing in v1 List
    return {"state.json": state, "events.json": events}


def write(folder: Path, files: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=4), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------- faults

def oom_killed() -> dict[str, Any]:
    c = base_cluster()
    p = c["pods"][0]
    term = {"terminated": {"containerID": "containerd://abc", "exitCode": 137, "finishedAt": at(38, 12), "reason": "OOMKilled",
                           "startedAt": at(36, 40)}}
    c["pods"][0] = pod("checkout", 2, "x2x9q", "node-1", ready=False, restarts=5, last=term, started=at(21),
                       state={"waiting": {"message": "back-off 2m40s restarting failed container=checkout pod=checkout-...",
                                          "reason": "CrashLoopBackOff"}})
    name = p["metadata"]["name"]
    c["events"] = [event("Pod", name, "BackOff", "Back-off restarting failed container checkout in pod " + name, at(39, 50),
                         at(25), 14),
                   event("Node", "node-1", "OOMKilling", "Memory cgroup out of memory: Killed process 4242 (java) total-vm:3012044kB, "
                         "anon-rss:524288kB", at(38, 12), at(24), 5, source="kernel-monitor")]
    return c


def crash_loop() -> dict[str, Any]:
    c = base_cluster()
    name = c["pods"][1]["metadata"]["name"]
    term = {"terminated": {"exitCode": 1, "finishedAt": at(39, 30), "reason": "Error", "startedAt": at(39, 28),
                           "message": "panic: nil map"}}
    c["pods"][1] = pod("checkout", 2, "b7kqz", "node-2", ready=False, restarts=9, last=term, started=at(21),
                       state={"waiting": {"message": "back-off 5m0s restarting failed container", "reason": "CrashLoopBackOff"}})
    c["events"] = [event("Pod", name, "BackOff", "Back-off restarting failed container checkout in pod " + name, at(39, 55), at(22), 40)]
    return c


def image_pull() -> dict[str, Any]:
    c = base_cluster(checkout_rev=3)
    c["deployments"][0] = deployment("checkout", 3, 3, ready=3, updated=1,
                                     progressing=("False", "ProgressDeadlineExceeded",
                                                  f'ReplicaSet "checkout-{hash_of("checkout", 3)}" has timed out progressing.'))
    c["replicasets"] = [replicaset("checkout", 2, 3, 3, at(1)), replicaset("checkout", 3, 1, 0, at(20)),
                        replicaset("cart", 1, 2, 2, "2024-05-20T08:00:00Z")]
    c["pods"] = [pod("checkout", 2, s, f"node-{i + 1}") for i, s in enumerate(("x2x9q", "b7kqz", "p4mfd"))]
    bad = pod("checkout", 3, "zz9k2", "node-2", ready=False, started=at(20),
              state={"waiting": {"message": 'Back-off pulling image "registry.example.com/shop/checkout:1.3"',
                                 "reason": "ImagePullBackOff"}})
    c["pods"].append(bad)
    c["pods"] += [pod("cart", 1, s, f"node-{i + 1}") for i, s in enumerate(("h8s2d", "m3n7v"))]
    n = bad["metadata"]["name"]
    c["events"] = [event("Pod", n, "Failed", 'Failed to pull image "registry.example.com/shop/checkout:1.3": rpc error: code = '
                         'NotFound desc = failed to pull and unpack image "registry.example.com/shop/checkout:1.3": '
                         'registry.example.com/shop/checkout:1.3: not found', at(39), at(20, 5), 8),
                   event("Pod", n, "BackOff", 'Back-off pulling image "registry.example.com/shop/checkout:1.3"', at(39, 40), at(20, 30), 80,
                         type_="Normal")]
    return c


def missing_configmap() -> dict[str, Any]:
    c = base_cluster()
    p = pod("checkout", 2, "x2x9q", "node-1", ready=False, env_from="checkout-config", started=at(21),
            state={"waiting": {"message": 'configmap "checkout-config" not found', "reason": "CreateContainerConfigError"}})
    c["pods"][0] = p
    c["events"] = [event("Pod", p["metadata"]["name"], "Failed", 'Error: configmap "checkout-config" not found', at(39, 20), at(21, 3), 90)]
    return c


def pending(message: str) -> dict[str, Any]:
    c = base_cluster()
    p = pod("checkout", 2, "q8r5t", scheduled=False, phase="Pending", started=at(22), sched_message=message, ready=False)
    c["pods"].append(p)
    c["events"] = [event("Pod", p["metadata"]["name"], "FailedScheduling", message, at(39), at(22), 18, source="default-scheduler")]
    return c


INSUFFICIENT = ("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
                "3 No preemption victims found for incoming pod.")
TAINTS = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
          "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
          "3 Preemption is not helpful for scheduling.")
UNBOUND = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."


def quota_refused() -> dict[str, Any]:
    c = base_cluster()
    msg = ('pods "checkout-5d6f7b8c9x-" is forbidden: exceeded quota: compute-resources, requested: limits.memory=512Mi, '
           'used: limits.memory=2Gi, limited: limits.memory=2Gi')
    c["deployments"][0] = deployment("checkout", 4, 2, ready=3, failure=msg)
    rs = c["replicasets"][-2]
    c["events"] = [event("ReplicaSet", rs["metadata"]["name"], "FailedCreate", "Error creating: " + msg, at(39), at(30), 12,
                         source="replicaset-controller")]
    return c


def probe_restarts() -> dict[str, Any]:
    c = base_cluster()
    term = {"terminated": {"exitCode": 137, "finishedAt": at(38), "reason": "Error", "startedAt": at(35)}}
    p = pod("checkout", 2, "x2x9q", "node-1", ready=False, restarts=4, last=term, started=at(21),
            state={"running": {"startedAt": at(38, 1)}})
    c["pods"][0] = p
    n = p["metadata"]["name"]
    c["events"] = [event("Pod", n, "Unhealthy", 'Liveness probe failed: Get "http://10.244.1.23:8080/healthz": context deadline '
                         "exceeded (Client.Timeout exceeded while awaiting headers)", at(39, 40), at(24), 15),
                   event("Pod", n, "Killing", "Container checkout failed liveness probe, will be restarted", at(38), at(26), 4,
                         type_="Normal")]
    return c


def evicted() -> dict[str, Any]:
    c = base_cluster()
    c["nodes"][0] = node("node-1", pressure={"MemoryPressure": "kubelet has insufficient memory available"})
    p = pod("cart", 1, "h8s2d", "node-1", phase="Failed", ready=False, reason="Evicted",
            message="The node was low on resource: memory. Threshold quantity: 100Mi, available: 62Mi. Container cart was "
                    "using 1203Mi, request is 256Mi, has larger consumption of memory.")
    c["pods"][3] = p
    c["events"] = [event("Pod", p["metadata"]["name"], "Evicted", p["status"]["message"], at(31), at(31)),
                   event("Node", "node-1", "EvictionThresholdMet", "Attempting to reclaim memory", at(31), at(30))]
    return c


def node_not_ready() -> dict[str, Any]:
    c = base_cluster()
    c["nodes"][1] = node("node-2", ready="Unknown", since=at(31), reason="NodeStatusUnknown",
                         message="Kubelet stopped posting node status.")
    c["events"] = [event("Node", "node-2", "NodeNotReady", "Node node-2 status is now: NodeNotReady", at(31, 30), type_="Normal",
                         source="node-controller")]
    return c


def hpa_max() -> dict[str, Any]:
    c = base_cluster()
    c["others"] = [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "checkout", "namespace": "shop", "creationTimestamp": "2024-05-20T08:00:00Z"},
                    "spec": {"maxReplicas": 3, "minReplicas": 2, "metrics": [{"resource": {"name": "cpu", "target": {
                        "averageUtilization": 70, "type": "Utilization"}}, "type": "Resource"}],
                             "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"}},
                    "status": {"conditions": [{"lastTransitionTime": at(26), "message": "the desired replica count is more than "
                                               "the maximum replica count", "reason": "TooManyReplicas", "status": "True",
                                               "type": "ScalingLimited"}],
                               "currentMetrics": [{"resource": {"current": {"averageUtilization": 184, "averageValue": "460m"},
                                                                "name": "cpu"}, "type": "Resource"}],
                               "currentReplicas": 3, "desiredReplicas": 3}}]
    return c


def dns_logs() -> tuple[dict[str, Any], dict[str, str]]:
    c = base_cluster()
    name = c["pods"][0]["metadata"]["name"]
    lines = [f"2024-06-03T10:{m:02d}:0{s}.000000000Z ERROR dial tcp: lookup payments.shop.svc.cluster.local on 10.96.0.10:53: "
             "no such host" for m in range(30, 40) for s in range(3)]
    return c, {f"{name}.log": "2024-06-03T10:21:00.000000000Z INFO started\n" + "\n".join(lines) + "\n"}


# ---------------------------------------------------------------------------- nothing wrong

def finished_rollout() -> dict[str, Any]:
    """A rollout 20 minutes ago: new ReplicaSet 3/3 ready, one old pod still terminating."""
    c = base_cluster()
    c["replicasets"][0]["status"] = {"replicas": 0, "observedGeneration": 2}
    c["pods"].append(pod("checkout", 1, "old7f", "node-3", ready=False, deleting=at(39, 45), started="2024-05-20T08:00:00Z"))
    c["events"] = [event("Deployment", "checkout", "ScalingReplicaSet", f"Scaled down replica set checkout-{hash_of('checkout', 1)} "
                         "to 0 from 1", at(21, 30), type_="Normal", source="deployment-controller"),
                   event("Pod", c["pods"][-1]["metadata"]["name"], "Killing", "Stopping container checkout", at(39, 45),
                         type_="Normal")]
    return c


def node_flapped() -> dict[str, Any]:
    c = base_cluster()
    c["nodes"][2] = node("node-3", since=at(27))
    c["events"] = [event("Node", "node-3", "NodeNotReady", "Node node-3 status is now: NodeNotReady", at(25), type_="Normal",
                         source="node-controller"),
                   event("Node", "node-3", "NodeReady", "Node node-3 status is now: NodeReady", at(27), type_="Normal")]
    return c


def healthy() -> dict[str, Any]:
    return base_cluster()


def cluster_info_dump(cluster: dict[str, Any], logs: dict[str, str] | None = None) -> dict[str, Any]:
    """The same state as `kubectl cluster-info dump --output-directory DIR` writes it: typed lists per namespace."""
    out: dict[str, Any] = {"nodes.json": {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "9001"},
                                          "items": [_bare(n) for n in cluster["nodes"]]}}
    for kind, file in (("deployments", "DeploymentList"), ("replicasets", "ReplicaSetList"), ("pods", "PodList"),
                       ("events", "EventList")):
        api = "apps/v1" if kind in ("deployments", "replicasets") else "v1"
        items = [_bare(o) for o in cluster[kind] if kind != "events" or o["involvedObject"]["kind"] != "Node"]
        out[f"shop/{kind}.json"] = {"kind": file, "apiVersion": api, "metadata": {"resourceVersion": "9001"}, "items": items}
    out["default/events.json"] = {"kind": "EventList", "apiVersion": "v1", "metadata": {},
                                  "items": [_bare(o) for o in cluster["events"] if o["involvedObject"]["kind"] == "Node"]}
    for pod_name, text in (logs or {}).items():
        out[f"shop/{pod_name.removesuffix('.log')}/logs.txt"] = text
    return out


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    """List items as the API returns them: no apiVersion/kind on each item."""
    o = copy.deepcopy(obj)
    o.pop("apiVersion", None)
    o.pop("kind", None)
    return o


def recovered_oom() -> dict[str, Any]:
    """A checkout container OOMKilled at 09:05 and running and ready since: it happened, it is over."""
    c = base_cluster()
    term = {"terminated": {"exitCode": 137, "finishedAt": "2024-06-03T09:05:00Z", "reason": "OOMKilled",
                           "startedAt": "2024-06-03T08:00:00Z"}}
    c["pods"][0] = pod("checkout", 2, "x2x9q", restarts=1, last=term, started=at(21))
    c["events"] = [event("Node", "node-1", "OOMKilling", "Memory cgroup out of memory: Killed process 4242 (java)",
                         "2024-06-03T09:05:00Z", source="kernel-monitor")]
    return c


def pending_ipv6() -> dict[str, Any]:
    """After checkout's change, its new pod is stuck creating its sandbox: the CNI has no IPv6 address for it."""
    c = base_cluster()
    p = pod("checkout", 2, "v6x1q", "node-2", ready=False, phase="Pending", started=at(22),
            state={"waiting": {"reason": "ContainerCreating"}})
    c["pods"].append(p)
    c["events"] = [event("Pod", p["metadata"]["name"], "FailedCreatePodSandBox",
                         'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: '
                         'plugin type="calico" failed (add): failed to request IPv6 address: IPv6 is not enabled in the '
                         "pool for this namespace", at(39), at(22), 30, host="node-2")]
    return c


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": at(20), "uid": uid("svc" + name)},
            "spec": {"clusterIP": "10.96.12.34", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
                     "selector": selector, "type": "ClusterIP"}, "status": {"loadBalancer": {}}}


def endpoints(name: str, ips: list[str]) -> dict[str, Any]:
    subsets = [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080, "protocol": "TCP"}]}] if ips else []
    out = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": "shop", "uid": uid("ep" + name)}}
    if subsets:
        out["subsets"] = subsets
    return out


def selector_mismatch() -> dict[str, Any]:
    """The payments Service selects app=payment, but the pods are labelled app=payments: no endpoints."""
    c = base_cluster()
    c["others"] = [service("cart", {"app": "cart"}), endpoints("cart", ["10.244.1.30", "10.244.2.31"]),
                   service("checkout", {"app": "chekout"}), endpoints("checkout", [])]
    return c


def tls_secret(name: str, not_after: str, namespace: str = "shop") -> dict[str, Any]:
    """A `kubernetes.io/tls` Secret as `kubectl get secrets -o json` prints it, with a real
    self-signed certificate expiring at `not_after` (made with `cryptography`)."""
    import base64
    from datetime import datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    end = datetime.fromisoformat(not_after.replace("Z", "+00:00"))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.{namespace}.svc")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(end - timedelta(days=90)).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace, "uid": uid(name), "creationTimestamp": T0},
            "data": {"tls.crt": base64.b64encode(pem).decode(), "tls.key": base64.b64encode(key_pem).decode()}}
