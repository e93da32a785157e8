"""The AWS CLI / API output shapes this plugin reads, turned into the telemetry model.

    aws cloudwatch get-metric-data        {"MetricDataResults": [{Id, Label, Timestamps, Values, StatusCode}]}
    aws cloudwatch get-metric-statistics  {"Label": metric, "Datapoints": [{Timestamp, Average|Maximum|..., Unit}]}
    aws rds describe-events               {"Events": [{SourceIdentifier, SourceType, Message, EventCategories, Date}]}
    aws pi get-resource-metrics           {"Identifier", "MetricList": [{Key: {Metric, Dimensions}, DataPoints}]}
    aws pi describe-dimension-keys        {"AlignedStartTime", "AlignedEndTime", "Keys": [{Dimensions, Total}]}
    aws rds describe-db-parameters        {"Parameters": [{ParameterName, ParameterValue, ...}]}  (max_connections)

The same functions read a file the CLI saved and a boto3 answer (times are then datetime
objects, not text). The resource a metric belongs to is `resource` (the folder the file is in,
or the instance a live query asked about) or else the first word of a label
`<resource> <metric>`. Anything else is one DataError line naming the place and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from copilot.errors import DataError
from copilot.redact import redact
from copilot.plugins.telemetry.model import Alert, ChangeEvent, MetricSeries
from copilot.plugins.telemetry.tables import parse_time

STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
SHAPES = "MetricDataResults (get-metric-data), Datapoints (get-metric-statistics), Events (rds describe-events), " \
         "MetricList (pi get-resource-metrics), Keys (pi describe-dimension-keys) or Parameters (rds describe-db-parameters)"
# RDS event categories that are alarms about the instance rather than things done to it.
ALERT_CATEGORIES = {"low storage": "critical", "failure": "critical"}
CHANGE_KINDS = {
    "failover": "failover", "availability": "restart", "maintenance": "maintenance",
    "configuration change": "config", "restoration": "restore", "recovery": "recovery",
    "read replica": "replica", "backup": "backup", "notification": "notification",
    "creation": "create", "deletion": "delete", "security patching": "maintenance",
}
_STORAGE_FULL = re.compile(r"storage[- ]full|storage (has been|is) exhausted|allocated storage has been exhausted"
                           r"|out of (disk|storage)|no space left", re.I)
SQL_MAX = 500  # Performance Insights itself returns at most 500 bytes of a statement


@dataclass
class TopKey:
    """One dimension key of `describe-dimension-keys`: a tokenized SQL or a wait event and its
    share of the database load (average active sessions) over [start, end]."""

    resource: str
    group: str  # db.sql_tokenized | db.wait_event | db.sql | db.user | ...
    name: str  # the statement, or the wait event name (Lock:transactionid, LWLock:BufferMapping, CPU)
    total: float
    start: float | None = None
    end: float | None = None
    wait_type: str = ""
    key_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Parsed:
    metrics: list[MetricSeries] = field(default_factory=list)
    changes: list[ChangeEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    top: list[TopKey] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resources: set[str] = field(default_factory=set)
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)  # resource -> parameter -> value

    def extend(self, other: "Parsed") -> None:
        self.metrics += other.metrics
        self.changes += other.changes
        self.alerts += other.alerts
        self.top += other.top
        self.warnings += other.warnings
        self.resources |= other.resources
        for res, values in other.parameters.items():
            self.parameters.setdefault(res, {}).update(values)


def shape_of(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for key, shape in (("MetricDataResults", "metric_data"), ("Datapoints", "metric_statistics"),
                       ("Events", "rds_events"), ("MetricList", "pi_metrics"), ("Keys", "pi_keys"),
                       ("Parameters", "db_parameters")):
        if key in doc:
            return shape
    return None


def parse(where: str, doc: Any, resource: str = "") -> Parsed:
    """Any of the shapes above; `where` names the file (or the API call) in errors."""
    shape = shape_of(doc)
    if shape is None:
        found = ", ".join(list(doc)[:5]) if isinstance(doc, dict) else type(doc).__name__
        raise DataError(f"{where}: not AWS CLI output this reads (found {found}); expected a top-level {SHAPES}")
    return {"metric_data": metric_data, "metric_statistics": metric_statistics, "rds_events": rds_events,
            "pi_metrics": pi_metrics, "pi_keys": pi_keys, "db_parameters": db_parameters}[shape](where, doc, resource)


def _list(where: str, doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{where}: {key} is {type(value).__name__}; expected a list as the AWS CLI prints it")
    return value


@lru_cache(maxsize=65536)
def _text_time(value: str) -> float:
    """Unix seconds of a timestamp as text (cached: every metric of a query shares its timestamps)."""
    try:
        return parse_time(value)
    except (ValueError, TypeError, OverflowError):
        return math.nan


def _time(where: str, field_name: str, value: Any) -> float:
    if isinstance(value, str):
        t = _text_time(value)
    else:
        try:
            t = parse_time(value)
        except (ValueError, TypeError, OverflowError):
            t = math.nan
    if value in (None, "") or not math.isfinite(t):
        raise DataError(f"{where}: {field_name} {str(value)[:40]!r} is not a time; expected ISO-8601 or unix seconds")
    return t


def _number(where: str, field_name: str, value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DataError(f"{where}: {field_name} {str(value)[:40]!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{where}: {field_name} {str(value)[:40]!r} is not a number") from None


def split_label(where: str, label: str, resource: str) -> tuple[str, str]:
    """(resource, metric) from a label: the folder's resource and the whole label, or
    `<resource> <metric>`."""
    label = label.strip()
    if resource:
        return resource, label
    head, _, rest = label.partition(" ")
    if not rest.strip():
        raise DataError(f"{where}: Label {label!r} does not name the resource; put the file in "
                        "cloudwatch/<resource>/ or label the query '<resource> <metric>'")
    return head, rest.strip()


def _series(component: str, metric: str, times: list[float], values: list[float], labels: dict[str, str]) -> MetricSeries:
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")  # get-metric-data answers newest first by default
    return MetricSeries(component, metric, t[order], v[order], labels)


def metric_data(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    out = Parsed()
    for n, result in enumerate(_list(where, doc, "MetricDataResults")):
        at = f"{where}: MetricDataResults[{n}]"
        if not isinstance(result, dict):
            raise DataError(f"{at} is not an object; expected {{Id, Label, Timestamps, Values, StatusCode}}")
        label = str(result.get("Label") or result.get("Id") or "").strip()
        if not label:
            raise DataError(f"{at} has neither Label nor Id; expected the shape get-metric-data prints")
        times = _list(at, result, "Timestamps")
        values = _list(at, result, "Values")
        if len(times) != len(values):
            raise DataError(f"{at} (Label {label!r}) has {len(times)} Timestamps but {len(values)} Values; "
                            "save the complete get-metric-data output")
        status = str(result.get("StatusCode") or "Complete")
        if status != "Complete":
            out.warnings.append(f"{where}: {label} came back {status}" + ("" if times else " with no data"))
        if not times:
            continue
        component, metric = split_label(at, label, resource)
        ts = [_time(at, f"Timestamps[{i}]", x) for i, x in enumerate(times)]
        vs = [_number(at, f"Values[{i}]", x) for i, x in enumerate(values)]
        out.metrics.append(_series(component, metric, ts, vs, {"source": "cloudwatch"}))
        out.resources.add(component)
    return out


def metric_statistics(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    out = Parsed()
    label = str(doc.get("Label") or "").strip()
    if not label:
        raise DataError(f"{where}: no Label; expected the shape get-metric-statistics prints (Label and Datapoints)")
    component, metric = split_label(where, label, resource)
    columns: dict[str, tuple[list[float], list[float]]] = {}
    unit = ""
    for n, point in enumerate(_list(where, doc, "Datapoints")):
        at = f"{where}: Datapoints[{n}]"
        if not isinstance(point, dict):
            raise DataError(f"{at} is not an object; expected {{Timestamp, Average|Maximum|..., Unit}}")
        if "Timestamp" not in point:
            raise DataError(f"{at} has no Timestamp; expected the shape get-metric-statistics prints")
        t = _time(at, "Timestamp", point["Timestamp"])
        unit = unit or str(point.get("Unit") or "")
        stats = {s: point[s] for s in STATISTICS if s in point}
        stats.update({str(k): v for k, v in (point.get("ExtendedStatistics") or {}).items()})
        if not stats:
            raise DataError(f"{at} has no statistic; expected one of {', '.join(STATISTICS)}")
        for stat, value in stats.items():
            ts, vs = columns.setdefault(stat, ([], []))
            ts.append(t)
            vs.append(_number(at, stat, value))
    for stat, (ts, vs) in columns.items():
        labels = {"source": "cloudwatch", "statistic": stat}
        if unit:
            labels["unit"] = unit
        out.metrics.append(_series(component, metric, ts, vs, labels))
    if columns:
        out.resources.add(component)
    return out


def rds_events(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    out = Parsed()
    for n, event in enumerate(_list(where, doc, "Events")):
        at = f"{where}: Events[{n}]"
        if not isinstance(event, dict):
            raise DataError(f"{at} is not an object; expected {{SourceIdentifier, SourceType, Message, EventCategories, Date}}")
        for key in ("Date", "Message"):
            if event.get(key) in (None, ""):
                raise DataError(f"{at} has no {key}; expected the shape `aws rds describe-events` prints")
        t = _time(at, "Date", event["Date"])
        component = str(event.get("SourceIdentifier") or resource or "").strip()
        if not component:
            raise DataError(f"{at} has no SourceIdentifier; expected the shape `aws rds describe-events` prints")
        categories = event.get("EventCategories") or []
        if not isinstance(categories, list):
            raise DataError(f"{at}: EventCategories is {type(categories).__name__}; expected a list")
        cats = [str(c).strip().lower() for c in categories]
        message = str(event["Message"])
        source_type = str(event.get("SourceType") or "")
        alarm = next((c for c in cats if c in ALERT_CATEGORIES), None)
        if alarm is not None or _STORAGE_FULL.search(message):
            name = "RDS " + (alarm or "low storage")
            out.alerts.append(Alert(t, component, name, ALERT_CATEGORIES.get(alarm or "low storage", "critical"), message,
                                    {"source": "rds", "source_type": source_type, "categories": ",".join(cats)}))
            out.resources.add(component)
            continue  # an alarm about the instance, not something done to it
        kind = next((CHANGE_KINDS[c] for c in cats if c in CHANGE_KINDS), "infra")
        out.changes.append(ChangeEvent(t, component, kind, message, "rds", f"rds-{component}-{int(t)}-{n}"))
        out.resources.add(component)
    return out


def pi_metrics(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    out = Parsed()
    component = resource or str(doc.get("Identifier") or "").strip()
    if not component:
        raise DataError(f"{where}: no Identifier; put the file in pi/<resource>/ or save the whole get-resource-metrics output")
    for n, item in enumerate(_list(where, doc, "MetricList")):
        at = f"{where}: MetricList[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("Key"), dict) or not item["Key"].get("Metric"):
            raise DataError(f"{at} has no Key.Metric; expected {{Key: {{Metric, Dimensions}}, DataPoints}}")
        key = item["Key"]
        labels = {"source": "pi"}
        dims = key.get("Dimensions") or {}
        if not isinstance(dims, dict):
            raise DataError(f"{at}: Key.Dimensions is {type(dims).__name__}; expected an object")
        labels.update({str(k): _dimension(str(k), v) for k, v in dims.items()})
        ts, vs = [], []
        for i, point in enumerate(_list(at, item, "DataPoints")):
            if not isinstance(point, dict) or "Timestamp" not in point:
                raise DataError(f"{at}: DataPoints[{i}] has no Timestamp; expected {{Timestamp, Value}}")
            ts.append(_time(at, f"DataPoints[{i}].Timestamp", point["Timestamp"]))
            vs.append(_number(at, f"DataPoints[{i}].Value", point.get("Value")))
        if ts:
            out.metrics.append(_series(component, str(key["Metric"]), ts, vs, labels))
    out.resources.add(component)
    return out


def _dimension(key: str, value: Any) -> str:
    text = redact(str(value)) if "statement" in key else str(value)
    return text[:SQL_MAX]


def group_of(dims: dict[str, Any]) -> str:
    """`db.sql_tokenized` from `db.sql_tokenized.statement`, the group a key's dimensions belong to."""
    for name in dims:
        parts = str(name).split(".")
        if len(parts) >= 3:
            return ".".join(parts[:2])
    return ""


def pi_keys(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    out = Parsed()
    if not resource:
        raise DataError(f"{where}: describe-dimension-keys output does not name its instance; put it in pi/<resource>/")
    start = _time(where, "AlignedStartTime", doc["AlignedStartTime"]) if doc.get("AlignedStartTime") else None
    end = _time(where, "AlignedEndTime", doc["AlignedEndTime"]) if doc.get("AlignedEndTime") else None
    for n, key in enumerate(_list(where, doc, "Keys")):
        at = f"{where}: Keys[{n}]"
        if not isinstance(key, dict) or not isinstance(key.get("Dimensions"), dict) or not key["Dimensions"]:
            raise DataError(f"{at} has no Dimensions; expected {{Dimensions: {{...}}, Total}}")
        dims = key["Dimensions"]
        group = group_of(dims)
        name = str(dims.get(f"{group}.statement") or dims.get(f"{group}.name") or dims.get(f"{group}.id") or "")
        if not name:
            raise DataError(f"{at}: Dimensions name no statement or wait event; group it by db.sql_tokenized or db.wait_event")
        total = _number(at, "Total", key.get("Total"))
        if math.isnan(total):
            raise DataError(f"{at} has no Total; expected the shape describe-dimension-keys prints")
        out.top.append(TopKey(resource, group, _dimension("statement", name) if "sql" in group else name, total,
                              start, end, str(dims.get(f"{group}.type") or ""), str(dims.get(f"{group}.id") or "")))
    out.resources.add(resource)
    return out


def db_parameters(where: str, doc: dict[str, Any], resource: str = "") -> Parsed:
    """The parameters of a DB parameter group; only numeric values are kept (a formula such as
    {DBInstanceClassMemory/9531392} is not a number here)."""
    out = Parsed()
    if not resource:
        raise DataError(f"{where}: describe-db-parameters output does not name its instance; put it in rds/<resource>/")
    values: dict[str, str] = {}
    for n, param in enumerate(_list(where, doc, "Parameters")):
        if not isinstance(param, dict) or not param.get("ParameterName"):
            raise DataError(f"{where}: Parameters[{n}] has no ParameterName; expected the shape describe-db-parameters prints")
        value = str(param.get("ParameterValue") or "").strip()
        if re.fullmatch(r"\d+(\.\d+)?", value):
            values[str(param["ParameterName"])] = value
    out.parameters[resource] = values
    return out
