"""Metric registry entries (the seed's Metrics / Influxdb tables): a query template over a
Prometheus (PromQL) or InfluxDB 1.x (InfluxQL over HTTP /query) source, or a CloudWatch
metric (namespace, metric, dimensions, statistic, period; see cloudwatch.py), core tags, the
drill-down tag, the normal range and what up and down mean, and a link template.

    name: pending_pods
    kind: metric
    description: Pending pods in the cluster
    source: prometheus                 # or influxdb (database: ..., `$timeFilter` in the query)
    query: pending_pods{cluster="${cluster}"}
    tags: {cluster: "${cluster}", status: Pending}
    drilldown: psm                     # on anomaly: which psm / pod / node
    aggregate: sum                     # how series add up to the metric (sum, max, avg)
    normal: {max: 10}                  # normal range: min and/or max
    meaning: {up: "more pods wait: investigate now", down: "recovering; watch until 0"}
    link: https://grafana/d/pods?var-cluster=${cluster}
    component: ${cluster}

Detection: the points outside the normal range make one finding whose sentence carries
the registry's meaning; the drill-down lists the tag values that stood out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from copilot.diagnosis import Finding
from copilot.evidence import ItemEvidence
from copilot.errors import CopilotError
from copilot.phrases.findings import hhmm, num
from copilot.workflows.yamlspec import Spec, check_keys, need, parse_duration, render

from .model import COMMON_FIELDS, ItemBase, ItemResult, check_placeholders

SOURCES = ("prometheus", "influxdb", "cloudwatch")
CLOUDWATCH_FIELDS = ("namespace", "metric", "dimensions", "statistic", "period", "region")
AGGREGATES = ("sum", "max", "avg")
MAX_DRILL = 10


@dataclass
class MetricItem(ItemBase):
    metric_source: str = "prometheus"
    query: str = ""
    url: str = ""
    database: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    drilldown: str = ""
    aggregate: str = "max"
    normal_min: float | None = None
    normal_max: float | None = None
    meaning_up: str = ""
    meaning_down: str = ""
    link: str = ""
    unit: str = ""
    step: float = 60.0
    namespace: str = ""  # cloudwatch: AWS/RDS, ...
    metric: str = ""  # cloudwatch: the metric name
    dimensions: dict[str, str] = field(default_factory=dict)  # cloudwatch: name -> value template
    statistic: str = "Average"
    period: int = 60
    region: str = ""


def _number(spec: Spec, path: tuple[Any, ...], value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise spec.fail(path, "must be a number")
    return float(value)


def parse_metric(spec: Spec, common: dict[str, Any]) -> MetricItem:
    data = spec.data
    check_keys(spec, (), data, COMMON_FIELDS + ("source", "query", "url", "database", "tags", "drilldown", "aggregate",
                                                "normal", "meaning", "link", "unit", "step") + CLOUDWATCH_FIELDS)
    source = need(spec, (), data, "source", str, f"one of: {', '.join(SOURCES)}")
    if source not in SOURCES:
        raise spec.fail(("source",), f"unknown source {source!r}; use one of: {', '.join(SOURCES)}")
    params = common["params"]
    cloud: dict[str, Any] = {}
    if source == "cloudwatch":
        query = ""
        cloud = _parse_cloudwatch(spec, params)
    else:
        for key in CLOUDWATCH_FIELDS:
            if key in data:
                raise spec.fail((key,), f"only a cloudwatch metric has {key}; write the {source} query in query:")
        query = need(spec, (), data, "query", str, "the PromQL or InfluxQL query template")
        check_placeholders(spec, ("query",), query, params)
    check_placeholders(spec, ("component",), common["component"], params)
    check_placeholders(spec, ("link",), data.get("link", ""), params)
    if source == "influxdb" and not data.get("database"):
        raise spec.fail(("database",), "an InfluxDB metric needs database: NAME (the InfluxDB 1.x database)")
    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        raise spec.fail(("tags",), "must be a mapping of core tags, e.g. {cluster: \"${cluster}\"}")
    normal = data.get("normal") or {}
    if not isinstance(normal, dict) or not set(normal) <= {"min", "max"}:
        raise spec.fail(("normal",), "must be {min: N} and/or {max: N}, the normal range")
    lo, hi = _number(spec, ("normal", "min"), normal.get("min")), _number(spec, ("normal", "max"), normal.get("max"))
    meaning = data.get("meaning") or {}
    if not isinstance(meaning, dict) or not set(meaning) <= {"up", "down"}:
        raise spec.fail(("meaning",), "must be {up: what a rise means, down: what a fall means}")
    aggregate = str(data.get("aggregate", "max"))
    if aggregate not in AGGREGATES:
        raise spec.fail(("aggregate",), f"use one of: {', '.join(AGGREGATES)}")
    step = parse_duration(data.get("step", 60))
    if step is None or step <= 0:
        raise spec.fail(("step",), "must be a duration such as 60s or 1m")
    return MetricItem(**common, metric_source=source, query=query, url=str(data.get("url", "")),
                      database=str(data.get("database", "")), tags={str(k): str(v) for k, v in tags.items()},
                      drilldown=str(data.get("drilldown", "")), aggregate=aggregate, normal_min=lo, normal_max=hi,
                      meaning_up=str(meaning.get("up", "")), meaning_down=str(meaning.get("down", "")),
                      link=str(data.get("link", "")), unit=str(data.get("unit", "")), step=step, **cloud)


def _parse_cloudwatch(spec: Spec, params: dict[str, Any]) -> dict[str, Any]:
    from .cloudwatch import STATISTICS, valid_period, valid_statistic

    data = spec.data
    if "query" in data:
        raise spec.fail(("query",), "a cloudwatch metric has no query; give namespace, metric, dimensions, statistic, period")
    namespace = need(spec, (), data, "namespace", str, "the CloudWatch namespace, e.g. AWS/RDS")
    metric = need(spec, (), data, "metric", str, "the CloudWatch metric name, e.g. CPUUtilization")
    dims = data.get("dimensions") or {}
    if not isinstance(dims, dict) or not all(isinstance(v, (str, int)) for v in dims.values()):
        raise spec.fail(("dimensions",), 'must be a mapping of dimension name to value, e.g. {DBInstanceIdentifier: "${db}"}')
    check_placeholders(spec, ("dimensions",), dims, params)
    statistic = str(data.get("statistic", "Average"))
    if not valid_statistic(statistic):
        raise spec.fail(("statistic",), f"use one of: {', '.join(STATISTICS)}, or a percentile such as p99")
    period = data.get("period", 60)
    if isinstance(period, bool) or not isinstance(period, int) or not valid_period(period):
        raise spec.fail(("period",), "must be 1, 5, 10, 30 or a multiple of 60 seconds")
    if data.get("drilldown"):
        raise spec.fail(("drilldown",), "a cloudwatch metric cannot be broken down yet; make one entry per dimension value")
    return dict(namespace=namespace, metric=metric, dimensions={str(k): str(v) for k, v in dims.items()},
                statistic=statistic, period=period, region=str(data.get("region", "")))


# -- fetching ---------------------------------------------------------------------------

Series = dict[str, Any]  # {"labels": {...}, "points": [[t, v], ...]}


def _prometheus(item: MetricItem, query: str, window: tuple[float, float], settings: Any) -> list[Series]:
    from copilot.plugins.telemetry.prometheus import PrometheusClient

    overrides = {"url": item.url} if item.url else {}
    with PrometheusClient.from_settings(settings, **overrides) as client:
        data = client.request("query_range", {"query": query, "start": f"{window[0]:.0f}", "end": f"{window[1]:.0f}",
                                              "step": f"{item.step:g}"})
    out = []
    for row in (data or {}).get("result", []):
        points = [[float(t), float(v)] for t, v in row.get("values", []) if v not in ("NaN", "+Inf", "-Inf")]
        out.append({"labels": dict(row.get("metric", {})), "points": points})
    return out


def _influx(item: MetricItem, query: str, window: tuple[float, float], settings: Any) -> list[Series]:
    import httpx

    from copilot.sources import SourceConfig

    cfg = SourceConfig.from_settings(settings, "influxdb") if settings is not None else SourceConfig("influxdb")
    url = (item.url or cfg.url).rstrip("/")
    if not url:
        raise CopilotError(f"item {item.name}: no InfluxDB configured; set influxdb_url (COPILOT_INFLUXDB_URL) or url: in the item")
    q = query.replace("$timeFilter", f"time >= {int(window[0])}s AND time <= {int(window[1])}s")
    params = {"db": item.database, "q": q, "epoch": "s"}
    auth = (cfg.username, cfg.password) if cfg.username else None
    headers = dict(cfg.headers)
    if cfg.token:
        headers["Authorization"] = f"Token {cfg.token}"
    verify: Any = False if cfg.insecure else (cfg.ca or True)
    try:
        response = httpx.get(f"{url}/query", params=params, auth=auth, headers=headers, timeout=cfg.timeout, verify=verify)
    except httpx.HTTPError as exc:
        raise CopilotError(f"item {item.name}: cannot reach InfluxDB at {url} ({type(exc).__name__}); check influxdb_url") from None
    if response.status_code in (401, 403):
        raise CopilotError(f"item {item.name}: InfluxDB at {url} rejected the credentials; set influxdb_username/password")
    try:
        body = response.json()
    except ValueError:
        raise CopilotError(f"item {item.name}: InfluxDB at {url} answered HTTP {response.status_code} without JSON") from None
    if body.get("error"):
        raise CopilotError(f"item {item.name}: InfluxQL error: {body['error']}; fix the query")
    out: list[Series] = []
    for result in body.get("results", []):
        if result.get("error"):
            raise CopilotError(f"item {item.name}: InfluxQL error: {result['error']}; fix the query")
        for series in result.get("series", []) or []:
            cols = series.get("columns", [])
            vi = next((i for i, c in enumerate(cols) if c != "time"), None)
            ti = cols.index("time") if "time" in cols else 0
            if vi is None:
                continue
            points = [[float(row[ti]), float(row[vi])] for row in series.get("values", []) if row[vi] is not None]
            out.append({"labels": dict(series.get("tags") or {}), "points": points})
    return out


async def query_series(item: MetricItem, values: dict[str, Any], window: tuple[float, float], settings: Any) -> tuple[list[Series], str]:
    if item.metric_source == "cloudwatch":
        from . import cloudwatch

        dims = {k: str(render(v, values)) for k, v in item.dimensions.items()}
        described = f"{item.namespace} {item.metric} {item.statistic}/{item.period}s " + ",".join(f"{k}={v}" for k, v in dims.items())
        return await asyncio.to_thread(cloudwatch.fetch, item, dims, window, settings), described
    query = render(item.query, values)
    fetch = _prometheus if item.metric_source == "prometheus" else _influx
    return await asyncio.to_thread(fetch, item, query, window, settings), query


def combine(series: list[Series], how: str) -> list[list[float]]:
    by_t: dict[float, list[float]] = {}
    for s in series:
        for t, v in s["points"]:
            by_t.setdefault(t, []).append(v)
    aggs: dict[str, Callable[[list[float]], float]] = {"sum": sum, "max": max, "avg": lambda xs: sum(xs) / len(xs)}
    agg = aggs[how]
    return [[t, agg(vs)] for t, vs in sorted(by_t.items())]


def outside(item: MetricItem, v: float) -> str | None:
    if item.normal_max is not None and v > item.normal_max:
        return "up"
    if item.normal_min is not None and v < item.normal_min:
        return "down"
    return None


def _range_text(item: MetricItem) -> str:
    if item.normal_min is not None and item.normal_max is not None:
        return f"{num(item.normal_min)}–{num(item.normal_max)}"
    if item.normal_max is not None:
        return f"< {num(item.normal_max)}"
    return f"> {num(item.normal_min)}"


def drill(item: MetricItem, series: list[Series], times: set[float]) -> list[dict[str, Any]]:
    """Tag values of the drill-down tag, those out of range first, then the largest at the bad times."""
    if not item.drilldown:
        return []
    peaks: dict[str, float] = {}
    for s in series:
        tag = s["labels"].get(item.drilldown)
        if tag is None:
            continue
        bad = [v for t, v in s["points"] if t in times] or [v for _, v in s["points"]]
        if bad:
            peaks[str(tag)] = max(peaks.get(str(tag), float("-inf")), max(bad))
    ranked = sorted(peaks.items(), key=lambda kv: (outside(item, kv[1]) is None, -kv[1]))
    return [{"value": k, "peak": v, "out_of_range": outside(item, v) is not None} for k, v in ranked[:MAX_DRILL]]


async def run_metric(item: MetricItem, values: dict[str, Any], window: tuple[float, float], settings: Any) -> ItemResult:
    series, query = await query_series(item, values, window, settings)
    full = dict(values, start=f"{window[0]:.0f}", end=f"{window[1]:.0f}")
    component = render(item.component, full) if item.component else item.name
    total = combine(series, item.aggregate)
    bad = [(t, v, outside(item, v)) for t, v in total if outside(item, v)]
    result = ItemResult(item.name, request={"source": item.metric_source, "query": query},
                        series=series, output=[{"points": len(total)}])
    if not total or not bad:
        return result
    direction = max(("up", "down"), key=lambda d: sum(1 for b in bad if b[2] == d))
    worst = max((b for b in bad if b[2] == direction), key=lambda b: b[1] if direction == "up" else -b[1])
    drilled = drill(item, series, {b[0] for b in bad})
    meaning = item.meaning_up if direction == "up" else item.meaning_down
    word = "rising" if direction == "up" else "falling"
    text = (f"{item.description}: {num(worst[1])}{item.unit} at {hhmm(worst[0])}, outside the normal range "
            f"({_range_text(item)}) for {len(bad)} of {len(total)} points")
    if meaning:
        text += f"; {word}: {meaning}"
    if drilled:
        text += f"; by {item.drilldown}: " + ", ".join(f"{d['value']} {num(d['peak'])}" for d in drilled[:5])
    limit = item.normal_max if direction == "up" else item.normal_min
    span = max(abs(limit or 0.0), 1e-9)
    score = 3.0 + min(7.0, abs(worst[1] - (limit or 0.0)) / span * 3.0)
    details = ItemEvidence(item=item.name, direction=direction, value=worst[1], at=worst[0], normal=_range_text(item),
                           times=[b[0] for b in bad][:50], values=[b[1] for b in bad][:50], meaning=meaning,
                           drilldown_tag=item.drilldown, drilldown=drilled, link=render(item.link, full) if item.link else None)
    result.findings.append(Finding(id="", source="metrics", component=component, signal=item.name, kind="out_of_range",
                                   summary=text, score=round(score, 2), onset=bad[0][0], details=details))
    result.drilldown = [d["value"] for d in drilled if d["out_of_range"]] or [d["value"] for d in drilled[:5]]
    result.output = [text]
    return result
