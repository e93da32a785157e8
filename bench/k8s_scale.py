"""A generated 5,000-pod cluster dump, investigated end to end: time and peak memory.

    .venv/bin/python bench/k8s_scale.py [--pods 5000] [--keep DIR]

Writes `kubectl get pods,rs,deploy,nodes -A -o json` and `kubectl get events -A -o json`
shaped files for a cluster of N pods (20 per Deployment, 100 pods a node), with one
Deployment whose new pods cannot find their ConfigMap, then runs
`copilot --offline --no-memory --data DIR --format json --query ...` in a child process and
reports its wall time and peak resident memory (the child's ru_maxrss), and whether the
diagnosis names the injected fault. Goal: under 10 s and 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import k8s_states as K  # noqa: E402  (the recorded kubectl shapes)


def cluster(pods: int) -> dict:
    per_deploy, per_node = 20, 100
    deploys = max(1, pods // per_deploy)
    nodes = [K.node(f"node-{i}") for i in range(max(1, pods // per_node))]
    out = {"nodes": nodes, "deployments": [], "replicasets": [], "pods": [], "events": []}
    bad = f"svc-{deploys // 2:04d}"
    n = 0
    for d in range(deploys):
        name = f"svc-{d:04d}"
        out["deployments"].append(K.deployment(name, per_deploy, 2))
        out["replicasets"] += [K.replicaset(name, 1, 0, 0, "2024-05-20T08:00:00Z"), K.replicaset(name, 2, per_deploy, per_deploy, K.at(5))]
        for i in range(per_deploy):
            node = f"node-{n % len(nodes)}"
            suffix = f"{n:05x}"[-5:]
            if name == bad and i < 5:
                p = K.pod(name, 2, suffix, node, ready=False, env_from=f"{name}-config", started=K.at(30),
                          state={"waiting": {"message": f'configmap "{name}-config" not found',
                                             "reason": "CreateContainerConfigError"}})
                out["events"].append(K.event("Pod", p["metadata"]["name"], "Failed",
                                             f'Error: configmap "{name}-config" not found', K.at(39), K.at(30), 40))
            else:
                p = K.pod(name, 2, suffix, node, started=K.at(5))
                if n % 7 == 0:
                    out["events"].append(K.event("Pod", p["metadata"]["name"], "Pulled", "Container image already present",
                                                 K.at(5), type_="Normal"))
            out["pods"].append(p)
            n += 1
            if n >= pods:
                break
        if n >= pods:
            break
    return out, bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--keep", help="write the dump here and keep it")
    args = ap.parse_args()
    state, bad = cluster(args.pods)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="k8s-scale-"))
    K.write(folder, K.save(state))
    size = sum(p.stat().st_size for p in folder.iterdir())
    env = {**os.environ, "LANCE_LOG": "error", "XDG_DATA_HOME": str(folder.parent / f"{folder.name}-xdg")}
    cmd = [sys.executable, "-m", "copilot", "--offline", "--no-memory", "--data", str(folder), "--format", "json",
           "--query", "why are pods failing?"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    out = json.loads(proc.stdout)
    top = (out.get("root_causes") or [{}])[0]
    right = top.get("component") == bad and top.get("fault_type") == "missing_config"
    print(json.dumps({"pods": len(state["pods"]), "nodes": len(state["nodes"]), "events": len(state["events"]),
                      "dump_mb": round(size / 2**20, 1), "wall_s": round(wall, 2), "peak_rss_mb": round(peak_mb),
                      "verdict": out.get("verdict"), "top_cause": [top.get("component"), top.get("fault_type")],
                      "injected": [bad, "missing_config"], "right": right}, indent=2))
    return 0 if right else 1


if __name__ == "__main__":
    sys.exit(main())
