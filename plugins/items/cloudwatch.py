"""CloudWatch as a metric-registry source (`source: cloudwatch`).

    name: orders_db_cpu
    kind: metric
    description: CPU of the orders database
    source: cloudwatch
    namespace: AWS/RDS
    metric: CPUUtilization
    dimensions: {DBInstanceIdentifier: "${db}"}
    statistic: Average                 # Average, Maximum, Minimum, Sum, SampleCount or pNN
    period: 60                         # seconds: 1, 5, 10, 30 or a multiple of 60
    normal: {max: 80}

Read live through boto3 (`pip install 'sre-copilot[aws]'`; region, profile and endpoint from
the `cloudwatch_*` settings, or `region:` in the entry) with one `GetMetricData` query, or,
for offline use, from saved `aws cloudwatch get-metric-data` output in the run's `--data DIR`
or the `cloudwatch_dir` setting (`cloudwatch/<dimension value>/*.json`, the same layout the
`cloudwatch` telemetry source reads): the series whose metric is the entry's `metric` (or its
name) and whose resource folder is one of the rendered dimension values.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError

STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
_PERCENTILE = re.compile(r"(p|tm|wm|tc|ts)\d{1,2}(\.\d+)?")

Series = dict[str, Any]


def valid_statistic(stat: str) -> bool:
    return stat in STATISTICS or bool(_PERCENTILE.fullmatch(stat))


def valid_period(period: int) -> bool:
    return period in (1, 5, 10, 30) or (period >= 60 and period % 60 == 0)


def _options(settings: Any) -> dict[str, Any]:
    return dict((getattr(settings, "sources", None) or {}).get("cloudwatch") or {})


def saved_folder(settings: Any) -> Path | None:
    """The folder of saved AWS CLI output this run reads, if any: --data DIR, else cloudwatch_dir."""
    from copilot.plugins.cloud.folder import has_cloud_data

    for raw in (getattr(settings, "data", "") or "", _options(settings).get("dir") or ""):
        if str(raw).strip():
            path = Path(str(raw)).expanduser()
            if path.is_dir() and has_cloud_data(path):
                return path
    return None


def _to_series(parsed: Any) -> list[Series]:
    out = []
    for m in parsed.metrics:
        points = [[float(t), float(v)] for t, v in zip(m.timestamps, m.values) if v == v]  # NaN != NaN
        out.append({"labels": {"resource": m.component, **m.labels}, "points": points})
    return out


def read_saved(item: Any, dims: dict[str, str], window: tuple[float, float], root: Path) -> list[Series]:
    """The entry's series from saved get-metric-data output under root/cloudwatch (or root/aws/cloudwatch)."""
    from copilot.plugins.cloud.folder import files_of, read_json, service_folders
    from copilot.plugins.cloud.shapes import Parsed, parse

    parsed = Parsed()
    for folder in service_folders(root):
        if folder.name.lower() != "cloudwatch":
            continue
        for path, resource in files_of(folder):
            parsed.extend(parse(str(path), read_json(path), resource))
    wanted = set(dims.values())
    parsed.metrics = [m for m in parsed.metrics if m.metric in (item.metric, item.name)
                      and (not wanted or m.component in wanted)]
    series = _to_series(parsed)
    for s in series:
        s["points"] = [p for p in s["points"] if window[0] <= p[0] <= window[1]]
    return series


def read_live(item: Any, dims: dict[str, str], window: tuple[float, float], settings: Any) -> list[Series]:
    """One GetMetricData query through boto3, every page; failures are one line (plugins/cloud/live.py)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise CopilotError(f"item {item.name}: CloudWatch needs boto3 (pip install 'sre-copilot[aws]'), or saved "
                           "get-metric-data output in --data DIR / cloudwatch_dir") from None
    from copilot.plugins.cloud.live import LiveAwsSource
    from copilot.plugins.cloud.shapes import metric_data

    options = _options(settings)
    if item.region:
        options["region"] = item.region
    source = LiveAwsSource.from_options(options)
    client = source.client("cloudwatch")
    query = {"Id": "m0", "Label": item.metric, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": item.namespace, "MetricName": item.metric,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": item.period, "Stat": item.statistic}}
    what = f"CloudWatch GetMetricData for item {item.name}"
    kwargs: dict[str, Any] = {"MetricDataQueries": [query], "ScanBy": "TimestampAscending",
                              "StartTime": datetime.fromtimestamp(window[0], tz=timezone.utc),
                              "EndTime": datetime.fromtimestamp(window[1], tz=timezone.utc)}
    merged: dict[str, Any] = {"Id": "m0", "Label": item.metric, "Timestamps": [], "Values": []}
    while True:
        page = source.call(what, client.get_metric_data, **kwargs)
        for result in page.get("MetricDataResults") or []:
            merged["Timestamps"] += list(result.get("Timestamps") or [])
            merged["Values"] += list(result.get("Values") or [])
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    resource = next(iter(dims.values()), item.namespace)
    return _to_series(metric_data(what, {"MetricDataResults": [merged]}, resource))


def fetch(item: Any, dims: dict[str, str], window: tuple[float, float], settings: Any) -> list[Series]:
    root = saved_folder(settings)
    if root is not None:
        return read_saved(item, dims, window, root)
    return read_live(item, dims, window, settings)
