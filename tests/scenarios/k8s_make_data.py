"""Build the Kubernetes scenario cases' `data/` folders from the recorded cluster states
(tests/k8s_states.py, the exact kubectl shapes):  .venv/bin/python tests/scenarios/k8s_make_data.py"""

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


def main() -> None:
    for name, build in CASES.items():
        data = HERE / name / "data"
        shutil.rmtree(data, ignore_errors=True)
        K.write(data, build())


if __name__ == "__main__":
    main()
