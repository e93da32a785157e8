"""Kubernetes as a telemetry source: platform state, rollouts as changes, pod logs.

Settings (`kubernetes_<option>` in config.toml, a `[sources.kubernetes]` table, or
`COPILOT_KUBERNETES_<OPTION>`):

    kubernetes_kubeconfig   a kubeconfig file (default: ~/.kube/config when a context is set)
    kubernetes_context      the context to use (default: the kubeconfig's current one)
    kubernetes_namespaces   namespaces to read, comma-separated (default: all)
    kubernetes_files        a folder (or file) of saved state instead of a live cluster:
                            `kubectl get ... -A -o json`, a cluster-info dump, pod logs
    kubernetes_max_items    objects per kind (default 5000)

Live reads are list calls only, never writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copilot.errors import ConfigError, CopilotError
from copilot.sources import SourceCheck, SourceConfig, SourceQuery

from copilot.plugins.telemetry.model import Telemetry

from . import objects

NAME = "kubernetes"


class KubernetesSource:
    name = NAME
    kinds = frozenset({"platform", "changes", "logs"})

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        opts = cfg.options
        self.kubeconfig = str(opts.get("kubeconfig") or "").strip()
        self.context = str(opts.get("context") or "").strip()
        raw_ns = opts.get("namespaces") or ""
        names = raw_ns.split(",") if isinstance(raw_ns, str) else list(raw_ns)
        self.namespaces = tuple(n.strip() for n in names if str(n).strip())
        self.files = str(opts.get("files") or "").strip()
        self.live = not self.files
        self.path: Path | None
        if self.files:
            self.path = Path(self.files).expanduser()
            self.label = f"Kubernetes state saved in {self.path}"
        else:
            self.path = None
            where = self.context or "current context"
            self.label = f"Kubernetes ({where}" + (f", namespaces {', '.join(self.namespaces)}" if self.namespaces else "") + ")"

    @classmethod
    def from_settings(cls, settings: Any) -> "KubernetesSource | None":
        cfg = SourceConfig.from_settings(settings, NAME)
        opts = cfg.options
        if not any(str(opts.get(k) or "").strip() for k in ("kubeconfig", "context", "files")):
            return None
        return cls(cfg)

    def collect(self, query: SourceQuery) -> Telemetry:
        if self.path is not None:
            return self._saved(self.path)
        return self._live(query)

    def _saved(self, path: Path) -> Telemetry:
        from .dump import load_platform, walk

        if not path.exists():
            raise ConfigError(f"kubernetes_files {self.files}: no such file or folder; point it at saved kubectl output")
        root = path if path.is_dir() else path.parent
        candidates = walk(root) if path.is_dir() else [path]
        tel, used = load_platform(root, candidates)
        if not used:
            raise ConfigError(f"kubernetes_files {self.files}: holds no Kubernetes JSON; save it with "
                              "`kubectl get pods,events,nodes,deploy,rs -A -o json > state.json`")
        self._narrow(tel)
        tel.meta.update({"source": self.name, "label": self.label})
        return tel

    def _live(self, query: SourceQuery) -> Telemetry:
        from .live import KubernetesApi, read_cluster

        api = KubernetesApi(self.kubeconfig, self.context, self.cfg.timeout)
        try:
            platform, logs, notes = read_cluster(api, self.namespaces, self.cap(query))
        finally:
            api.close()
        tel = Telemetry(meta={"source": self.name, "label": self.label})
        tel.platform = platform
        tel.logs = sorted(logs, key=lambda r: r.timestamp)
        tel.changes = sorted(objects.rollout_changes(platform), key=lambda c: c.timestamp)
        if notes:
            tel.meta["capped"] = "; ".join(notes)
        return tel

    def _narrow(self, tel: Telemetry) -> None:
        """Saved state keeps only the configured namespaces, as the live source would read."""
        if not self.namespaces:
            return
        keep = set(self.namespaces)
        p = tel.platform
        for name in ("pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "hpas", "pvcs",
                     "quotas", "services", "endpoints", "certificates"):
            setattr(p, name, [o for o in getattr(p, name) if objects.meta(o).get("namespace") in keep])
        p.events = [e for e in p.events if not e.namespace or e.namespace in keep]
        p.owners = {k: v for k, v in p.owners.items() if k.split("/", 1)[0] in keep}

    def cap(self, query: SourceQuery) -> int:
        return int(query.max_items or self.cfg.max_items or 1)

    def check(self) -> SourceCheck:
        try:
            tel = self.collect(SourceQuery(0.0, float("inf"), max_items=self.cfg.max_items))
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        counts = tel.platform.counts()
        held = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no objects"
        notes = tel.meta.get("capped")
        return SourceCheck(self.name, self.label, True, ("reachable, " if self.live else "") + held
                           + (f"; {notes}" if notes else ""))

    def component_names(self) -> list[str]:
        return []


def kubernetes_source(settings: Any) -> KubernetesSource | None:
    """settings -> the Kubernetes source, or None when no kubeconfig, context or files are set."""
    return KubernetesSource.from_settings(settings)
