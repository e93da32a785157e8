"""The built-in `kubernetes` plugin: the Kubernetes source and the platform detectors.

The source (plugins/platform/source.py) reads a cluster live through a kubeconfig or the
state engineers saved with kubectl; `--data DIR` reads the same saved shapes. The tool
`detect_platform_faults` turns the platform state into findings (K1, K2, ...).
"""

from __future__ import annotations

from typing import Any

from copilot.plugin_manager import Plugin
from copilot.tools import ToolContext, ToolResult, tool


def kubernetes_source(settings: Any) -> Any:
    """settings -> the Kubernetes source, or None when nothing of it is configured."""
    opts = (getattr(settings, "sources", None) or {}).get("kubernetes") or {}
    if not any(str(opts.get(k) or "").strip() for k in ("kubeconfig", "context", "files")):
        return None  # not configured: nothing to import
    from copilot.plugins.platform.source import KubernetesSource

    return KubernetesSource.from_settings(settings)


plugin = Plugin(
    name="kubernetes",
    description="Kubernetes: live read-only through a kubeconfig (kubernetes_kubeconfig, kubernetes_context, "
                "kubernetes_namespaces) or saved kubectl output (kubernetes_files); platform fault detectors",
    sources=[kubernetes_source],
)


def _detect(ctx: ToolContext, component: str | None = None) -> ToolResult:
    from copilot.errors import CopilotError
    from copilot.plugins.platform.detect import detect_platform
    from copilot.plugins.telemetry_plugin import _ids, _lines, _telemetry

    try:
        tel = _telemetry(ctx)
    except CopilotError as exc:
        return ToolResult.error(str(exc))
    if not tel.platform:
        return ToolResult.no_data("the data holds no Kubernetes state (pods, nodes, events); save it with "
                                  "`kubectl get pods,events,nodes,deploy,rs -A -o json` or configure kubernetes_context")
    if "platform_findings" not in ctx.cache:
        ctx.cache["platform_findings"] = detect_platform(tel, _ids(ctx))
    findings = ctx.cache["platform_findings"]
    known = {f.id for f in ctx.findings}
    if component:
        findings = [f for f in findings if f.component.lower() == component.strip().lower()]
    faults = [f for f in findings if f.kind != "ruled_out"]
    ruled = [f for f in findings if f.kind == "ruled_out"]
    counts = ", ".join(f"{n} {k}" for k, n in tel.platform.counts().items())
    at = tel.platform.captured_at
    header = (f"Kubernetes state ({counts}; captured {_when(at)}): {len(faults)} platform faults"
              + (f", {len(ruled)} ruled out" if ruled else ""))
    text = _lines(faults, header) if faults else header
    if ruled:
        text += "\nruled out (not causes):\n" + "\n".join(f"{f.id} {f.summary}" for f in ruled)
    fresh = [f for f in findings if f.id not in known]
    return ToolResult.ok(text, data={"captured_at": at, "counts": tel.platform.counts(),
                                     "findings": [f.to_dict() for f in findings]}, findings=fresh)


def _when(ts: float | None) -> str:
    from copilot.timefmt import when

    return when(ts) if ts else "at an unknown time"


@tool
def detect_platform_faults(ctx: ToolContext, component: str | None = None) -> ToolResult:
    """Find Kubernetes faults in the platform state: crashing, OOMKilled or unpullable containers, Pending pods and why, quota refusals, failed probes, evictions, node conditions, stuck rollouts, HPAs at max, DNS/TLS failures, expiring certificates; also what is ruled out.

    Args:
        component: only this workload or node (default: all)
    """
    return _detect(ctx, component)


plugin.tools.append(detect_platform_faults)
