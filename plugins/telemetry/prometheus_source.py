"""The Prometheus source: a live Prometheus-compatible API read as telemetry.

For a window (with its baseline) it discovers which metrics carry a component label,
builds one server-side aggregated query per metric, fetches them concurrently and lays
them out as `MetricSeries` for the same detectors that read files:

    counter  (`*_total`, `*_count`)       sum by (<component>) (rate(m[r]))
             ... with a status label       + the 5xx rate: sum by (<component>) (rate(m{code=~"5.."}[r]))
    histogram (`*_bucket` with `le`)      histogram_quantile(0.9, sum by (le, <component>) (rate(m[r])))
    gauge    (anything else)              avg by (<component>) (m)

Firing alerts come from the `ALERTS` series Prometheus keeps for its own rules. Series of
Prometheus itself (go_*, prometheus_*, scrape_*, ...) are left out. At most `max_items`
series are fetched; when the cap is reached the source says so in `meta["capped"]`.
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from copilot.errors import CopilotError
from copilot.sources import SourceCheck, SourceQuery

from .model import Alert, MetricSeries, Telemetry
from .prometheus import DEFAULT_COMPONENT_LABELS, PrometheusClient, auto_step, matrix_to_series, name_of_query

INTERNAL = re.compile(r"^(go_|prometheus_|promhttp_|scrape_|net_conntrack_|alertmanager_|up$|ALERTS)")
STATUS_LABELS = ("code", "status", "status_code", "http_status", "response_code")
MAX_QUERIES = 200  # metric names queried at most
FETCH_WORKERS = 4  # concurrent range queries
QUANTILE = 0.9


@dataclass
class PrometheusSource:
    client: PrometheusClient
    component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS
    max_items: int = 2000
    name: str = "prometheus"
    kinds: frozenset[str] = field(default=frozenset({"metrics", "alerts"}))
    live: bool = True

    @property
    def label(self) -> str:
        return f"Prometheus at {self.client.shown}"

    # -- discovery -----------------------------------------------------------------------

    def _selectors(self, components: Sequence[str]) -> list[str]:
        names = "|".join(re.escape(c) for c in components)
        if names:
            return [f'{{{lab}=~"{names}"}}' for lab in self.component_labels if lab not in ("pod", "instance")] + \
                   [f'{{pod=~"({names})-.*"}}']
        return [f'{{{lab}!=""}}' for lab in self.component_labels]

    def discover(self, query: SourceQuery) -> dict[str, list[dict[str, str]]]:
        """Label sets per metric name, for series with a component label in the query's range."""
        components = list(query.components)
        selectors = self._selectors(components)
        counted = self.client.count_series(" or ".join(s for s in selectors), query.end)
        if counted is not None and counted > self.max_items * 20 and not components:
            raise CopilotError(
                f"{self.label} holds {counted} series with a component label; name the service in the question "
                f"(or raise prometheus_max_items) so the copilot fetches only its series")
        found: dict[str, list[dict[str, str]]] = {}
        for labels in self.client.series(selectors, query.start, query.end):
            name = labels.get("__name__", "")
            if name and not INTERNAL.match(name):
                found.setdefault(name, []).append(labels)
        return found

    def _component_label(self, label_sets: list[dict[str, str]]) -> str:
        for lab in self.component_labels:
            if sum(1 for s in label_sets if s.get(lab)) * 2 >= len(label_sets):
                return lab
        return ""

    def queries(self, found: dict[str, list[dict[str, str]]], rate_window: str) -> list[tuple[str, str, str]]:
        """(PromQL, metric name, component label) for every discovered metric."""
        out: list[tuple[str, str, str]] = []
        names = set(found)
        for name in sorted(names):
            sets = found[name]
            lab = self._component_label(sets)
            if not lab:
                continue
            by = f"by ({lab})"
            if name.endswith("_bucket") and any("le" in s for s in sets):
                q = f"histogram_quantile({QUANTILE}, sum by (le, {lab}) (rate({name}[{rate_window}])))"
                out.append((q, name_of_query(q), lab))
            elif name.endswith("_sum") and name[:-4] + "_bucket" in names:
                continue  # the histogram's quantile says more than its sum
            elif name.endswith(("_total", "_count")) or name.endswith("_created"):
                if name.endswith("_created"):
                    continue
                out.append((f"sum {by} (rate({name}[{rate_window}]))", name + "_rate", lab))
                status = next((s for s in STATUS_LABELS if any(s in x for x in sets)), "")
                if status:
                    out.append((f'sum {by} (rate({name}{{{status}=~"5.."}}[{rate_window}]))', name + "_errors_rate", lab))
            else:
                out.append((f"avg {by} ({name})", name, lab))
        return out[:MAX_QUERIES]

    # -- collection ----------------------------------------------------------------------

    def collect(self, query: SourceQuery) -> Telemetry:
        start, end = query.start, min(query.end, time.time())
        if end <= start:
            raise CopilotError(f"{self.label}: the window ends before it starts; check --since/--until")
        step = auto_step(start, end)
        rate_window = f"{int(max(4 * step, 60))}s"
        fetched = SourceQuery(start, end, query.window, query.components, query.max_items)
        planned = self.queries(self.discover(fetched), rate_window)
        tel = Telemetry(meta={"source": self.label})
        limit = query.max_items or self.max_items

        def run(item: tuple[str, str, str]) -> list[MetricSeries]:
            promql, metric, lab = item
            raw = self.client.query_range(promql, start, end, step)
            return matrix_to_series(raw, metric=metric, component_labels=(lab,), grid=(start, end, step))

        with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
            for series in pool.map(run, planned):
                for s in series:
                    if np.all(np.isnan(s.values)):
                        continue
                    if len(tel.metrics) >= limit:
                        tel.meta["capped"] = f"{self.label}: stopped at {limit} series (prometheus_max_items)"
                        break
                    tel.metrics.append(s)
        tel.alerts.extend(self.alerts(start, end, step))
        tel.meta["queries"] = len(planned)
        return tel

    def alerts(self, start: float, end: float, step: float) -> list[Alert]:
        """Alerts that fired in the range, from Prometheus' own ALERTS series (first firing sample)."""
        raw = self.client.query_range('ALERTS{alertstate="firing"}', start, end, step)
        out: list[Alert] = []
        for item in raw:
            labels = {k: str(v) for k, v in (item.get("metric") or {}).items()}
            values = [p for p in item.get("values") or [] if _finite(p[1])]
            if not values:
                continue
            component = next((labels[lab] for lab in self.component_labels if labels.get(lab)), "")
            out.append(Alert(float(values[0][0]), component, labels.get("alertname", "ALERTS"),
                             labels.get("severity", "warning"), labels.get("summary", ""), labels))
        return out

    def check(self) -> SourceCheck:
        now = time.time()
        try:
            self.client.request("query", {"query": "1"}, method="GET")
            found = self.discover(SourceQuery(now - 3600, now))
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        series = sum(len(v) for v in found.values())
        comps = {s.get(lab) for sets in found.values() for s in sets for lab in self.component_labels if s.get(lab)}
        return SourceCheck(self.name, self.label, True,
                           f"reachable; {series} series of {len(found)} metrics on {len(comps)} components in the last hour")


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v)) and float(v) > 0
    except (TypeError, ValueError):
        return False


def prometheus_source(settings: Any) -> PrometheusSource | None:
    """The source for `prometheus_url` (or a [sources.prometheus] table); None when unset."""
    table = (getattr(settings, "sources", None) or {}).get("prometheus", {})
    url = str(table.get("url") or getattr(settings, "prometheus_url", "") or "").strip()
    if not url:
        return None
    client = PrometheusClient.from_settings(settings, url=url, **{
        k: v for k, v in (("token", table.get("token")), ("ca", table.get("ca"))) if v})
    labels = getattr(settings, "prometheus_component_labels", None) or []
    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split(",")]
    cap = int(table.get("max_items") or 2000)
    return PrometheusSource(client, tuple(x for x in labels if x) or DEFAULT_COMPONENT_LABELS, cap)
