"""Loki as a source of logs: LogQL `GET /loki/api/v1/query_range`.

The query is built from `loki_selector` (default: none) and `loki_component_label`
(default `service_name`, which Loki 3 sets on every stream): the components of the
question are pushed down as `{service_name=~"cart|payment"}`, the window as start/end in
nanoseconds; pages of `limit` lines run forward until the window is covered or
`loki_max_items` is reached (said in meta["capped"]). Each stream's labels name the
component (the first of `loki_component_labels` present; pod names lose their replica
suffix); each `[ns, line]` becomes a `LogRecord` whose level comes from a `level` /
`detected_level` label, a JSON line's own level, or a level word in the line.
`/loki/api/v1/labels` (and a count_over_time) answer check().
"""

from __future__ import annotations

import re
from typing import Any

from copilot.errors import CopilotError
from copilot.sources import SourceQuery
from copilot.plugins.telemetry.files import _guess_level, norm_level
from copilot.plugins.telemetry.model import LogRecord, Telemetry
from copilot.plugins.telemetry.tables import service_of, unwrap_log_message

from .base import HOUR_S, HttpSource, regex_alternatives
from .http import Capped, SourceHttp

DEFAULT_COMPONENT_LABEL = "service_name"
READ_LABELS = ("service_name", "service", "app", "app_kubernetes_io_name", "component", "job", "container", "pod")
LEVEL_LABELS = ("level", "detected_level", "severity", "lvl", "loglevel")
INSTANCE_LABELS = ("pod", "instance", "host", "hostname", "node_name")
PAGE = 5000  # Loki's default max_entries_limit_per_query
QUERY_RANGE = "/loki/api/v1/query_range"
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LokiSource(HttpSource):
    name = "loki"
    kind_label = "Loki"
    kinds = frozenset({"logs"})

    @property
    def component_label(self) -> str:
        label = str(self.option("component_label", DEFAULT_COMPONENT_LABEL)).strip()
        if not _LABEL_NAME.match(label):
            raise CopilotError(f"loki_component_label {label!r} is not a label name")
        return label

    def logql(self, components: tuple[str, ...] = ()) -> str:
        """The stream selector: the configured one, narrowed to the components."""
        selector = str(self.option("selector", "")).strip()
        if selector and not (selector.startswith("{") and selector.endswith("}")):
            raise CopilotError(f"loki_selector {selector!r} must be a stream selector like {{namespace=\"shop\"}}")
        matchers = [selector[1:-1].strip()] if selector and selector[1:-1].strip() else []
        label = self.component_label
        if components:
            matchers.append(f'{label}=~"{regex_alternatives(components)}"')
        elif not matchers:
            matchers.append(f'{label}=~".+"')
        return "{" + ", ".join(matchers) + "}"

    def collect(self, query: SourceQuery) -> Telemetry:
        tel = Telemetry(meta={"source": self.name, "label": self.label})
        cap = Capped(self.name, "log lines", self.cap(query))
        logql = self.logql(query.components)
        read = (self.component_label,) + tuple(x for x in self.list_option("component_labels", READ_LABELS)
                                                if x != self.component_label)
        page = max(1, int(self.option("page_size", PAGE)))
        start, end = int(query.start * 1e9), int(query.end * 1e9)
        edge: set[tuple[str, int, str]] = set()  # lines already taken at the page's last timestamp
        with self.client() as client:
            while start < end and not cap.reached:
                limit = min(page, cap.left + len(edge)) or 1
                params = {"query": logql, "start": str(start), "end": str(end), "limit": str(limit),
                          "direction": "forward"}
                entries = streams(client.get(QUERY_RANGE, params=params), client)
                fresh = [e for e in entries if (e[2], e[0], e[3]) not in edge]
                for ts, labels, key, line in fresh:
                    if not cap.take():
                        break
                    tel.logs.append(record(ts, labels, line, read))
                if len(entries) < limit or cap.reached:
                    break
                last = entries[-1][0]
                edge = {(k, t, ln) for t, _, k, ln in entries if t == last} | (edge if last == start else set())
                start = last if fresh else last + 1  # no progress: step past a timestamp fuller than a page
        cap.say(tel.meta)
        tel.meta["query"] = logql
        return tel

    def probe(self, client: SourceHttp, now: float) -> str:
        span = {"start": str(int((now - HOUR_S) * 1e9)), "end": str(int(now * 1e9))}
        labels = _data(client.get("/loki/api/v1/labels", params=span), client) or []
        label = self.component_label
        values = _data(client.get(f"/loki/api/v1/label/{label}/values", params=span), client) or []
        count = _data(client.get("/loki/api/v1/query", params={
            "query": f"sum(count_over_time({self.logql()}[1h]))", "time": span["end"]}), client) or {}
        result = (count.get("result") or []) if isinstance(count, dict) else []
        try:
            lines = int(float(result[0]["value"][1])) if result else 0
        except (KeyError, IndexError, TypeError, ValueError):
            lines = 0
        shown = ", ".join(values[:8]) + (", ..." if len(values) > 8 else "")
        return (f"{len(labels)} labels, {len(values)} components by {label}" + (f" ({shown})" if values else "")
                + f", {lines:,} log lines in the last hour")


def _data(body: Any, client: SourceHttp) -> Any:
    if not isinstance(body, dict) or body.get("status") != "success":
        raise CopilotError(f"{client.shown} answered without status \"success\"; is loki_url a Loki API?")
    return body.get("data")


def streams(body: Any, client: SourceHttp) -> list[tuple[int, dict[str, str], str, str]]:
    """(ns, labels, stream key, line) of a query_range answer, in time order."""
    data = _data(body, client) or {}
    if data.get("resultType") != "streams":
        raise CopilotError(f"Loki answered a {data.get('resultType')!r}, not log streams; loki_selector must select "
                           "logs, not a metric query")
    out = []
    for stream in data.get("result") or []:
        labels = {str(k): str(v) for k, v in (stream.get("stream") or {}).items()}
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        for value in stream.get("values") or []:
            extra = value[2] if len(value) > 2 and isinstance(value[2], dict) else {}
            meta = {**labels, **{str(k): str(v) for part in extra.values() if isinstance(part, dict)
                                 for k, v in part.items()}}
            out.append((int(value[0]), meta, key, str(value[1])))
    out.sort(key=lambda e: e[0])
    return out


def record(ns: int, labels: dict[str, str], line: str, component_labels: tuple[str, ...]) -> LogRecord:
    component = ""
    for name in component_labels:
        if labels.get(name):
            component = service_of(labels[name]) if name == "pod" else labels[name]
            break
    level = next((norm_level(labels[k]) for k in LEVEL_LABELS if labels.get(k) and norm_level(labels[k])), "")
    message, inner = unwrap_log_message(line)
    level = level or norm_level(inner) or _guess_level(message)
    instance = next((labels[k] for k in INSTANCE_LABELS if labels.get(k)), "")
    return LogRecord(ns / 1e9, component, message, level, instance)
