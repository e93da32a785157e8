"""The `cloud` plugin: managed databases and cloud metrics.

Source `cloudwatch`: saved AWS CLI output (inside `--data DIR`, or the `cloudwatch_dir`
setting), or live through boto3 (`pip install 'sre-copilot[aws]'`) with `cloudwatch_region`,
`cloudwatch_resources` (DB instance identifiers, comma-separated), and optionally
`cloudwatch_profile`, `cloudwatch_endpoint_url`, `cloudwatch_period`, `cloudwatch_metrics`.
Tool `detect_database_faults` (read-only): the database fault detectors (plugins/cloud/detect.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copilot.errors import ConfigError
from copilot.evidence import DatabaseEvidence
from copilot.plugin_manager import Plugin
from copilot.tools import ToolContext, ToolResult, tool
from copilot.plugins.telemetry_plugin import _findings_result, _guard, _ids, _span

MAX_EVIDENCE = 3


@tool
@_guard
def detect_database_faults(ctx: ToolContext, resource: str | None = None, start: str | None = None,
                           end: str | None = None) -> ToolResult:
    """Find managed-database faults (RDS/Aurora): storage full, connections exhausted, replica lag, failover or reboot, CPU saturated by a query or by maintenance, lock contention; with top SQL and wait events.

    Args:
        resource: only this database instance (default: every database in the data)
        start: window start: ISO-8601, HH:MM (the run's time zone, the data's day) or unix seconds
        end: window end, same formats
    """
    from copilot.plugins.telemetry.collect import run_telemetry
    from copilot.plugins.telemetry.window import resolve_window

    from .detect import database_resources, detect_database_faults as detect

    tel = run_telemetry(ctx)
    databases = database_resources(tel)
    if not databases:
        return ToolResult.no_data("no managed-database data (CloudWatch RDS metrics, RDS events or Performance Insights)")
    if resource and resource not in databases:
        return ToolResult.error(f"unknown database {resource!r}; the data holds: {', '.join(databases)}")
    window, baseline, how = resolve_window(tel, ctx.window, start, end)
    findings = detect(tel, window, baseline, _ids(ctx), resource)
    causes = [f for f in findings if not f.details.confounder]
    ruled = [f for f in findings if f.details.confounder]
    header = (f"window {_span(window)} ({how}); databases: {', '.join(databases)}; {len(causes)} faults"
              + (f", {len(ruled)} ruled out" if ruled else ""))
    result = _findings_result(causes + ruled, header, {"window": list(window), "databases": databases})
    lines = [result.output]
    for f in causes[:MAX_EVIDENCE]:
        d = f.details
        if not isinstance(d, DatabaseEvidence):
            continue
        for label, items in (("top SQL", d.top_sql or []), ("top waits", d.top_waits or [])):
            if items:
                lines.append(f"  {f.id} {label}: " + "; ".join(f"{x['name'][:80]} ({x['total']:.2f} AAS)" for x in items[:3]))
    for f in ruled:
        lines.append(f"ruled out {f.id}: {f.details.ruled_out}")
    result.output = "\n".join(lines)
    return result


def cloud_source(settings: Any) -> Any:
    """The `cloudwatch` source: the AWS CLI output inside --data DIR, else `cloudwatch_dir`,
    else live AWS when `cloudwatch_resources` is set; None when none of these applies."""
    from .folder import CloudFolderSource, has_cloud_data

    data = str(getattr(settings, "data", "") or "")
    if data:
        path = Path(data).expanduser()
        return CloudFolderSource(path) if path.is_dir() and has_cloud_data(path) else None
    options = dict((getattr(settings, "sources", None) or {}).get("cloudwatch") or {})
    folder = str(options.get("dir") or "").strip()
    if folder:
        path = Path(folder).expanduser()
        if not path.is_dir() or not has_cloud_data(path):
            raise ConfigError(f"cloudwatch_dir {folder!r} holds no cloudwatch/, rds/ or pi/ folder of AWS CLI output; fix the path")
        return CloudFolderSource(path)
    if str(options.get("resources") or "").strip():
        from .live import LiveAwsSource

        return LiveAwsSource.from_options(options)
    return None


from .kinds import KINDS, fault_texts  # noqa: E402

plugin = Plugin(
    name="cloud",
    description="Managed databases and cloud metrics: CloudWatch, RDS events and Performance Insights (saved AWS CLI "
                "output or live via boto3) and the database fault detectors",
    tools=[detect_database_faults],
    sources=[cloud_source],
    kinds=KINDS,
    fault_texts=fault_texts(),
)
