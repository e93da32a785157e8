"""Tempo as a source of traces: `/api/search`, then `/api/traces/<id>` per trace.

The search (`start`/`end` in seconds, `limit` = `tempo_traces`) pushes the components
down as TraceQL `{ resource.service.name =~ "cart|payment" }`; each trace found is fetched
(concurrently, bounded) as OTLP/JSON (`batches` or `resourceSpans` -> scopeSpans ->
spans: startTimeUnixNano, endTimeUnixNano, status.code 2 = error, the `service.name`
resource attribute) and read by the same parser as OTLP files (plugins/telemetry/otlp.py),
up to `tempo_max_items` spans (said in meta["capped"] when reached).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from copilot.errors import CopilotError
from copilot.sources import SourceQuery
from copilot.plugins.telemetry.model import Span, Telemetry
from copilot.plugins.telemetry.otlp import spans_of

from .base import HOUR_S, HttpSource, regex_alternatives
from .http import Capped, SourceHttp

TRACES = 200


class TempoSource(HttpSource):
    name = "tempo"
    kind_label = "Tempo"
    kinds = frozenset({"traces"})

    def traceql(self, components: tuple[str, ...]) -> str:
        if not components:
            return str(self.option("traceql", "")).strip()
        return f'{{ resource.service.name =~ "{regex_alternatives(components)}" }}'

    def search(self, client: SourceHttp, start: float, end: float, limit: int,
               components: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        params = {"start": str(int(start)), "end": str(int(end) + (1 if end % 1 else 0)), "limit": str(limit)}
        q = self.traceql(components)
        if q:
            params["q"] = q
        body = client.get("/api/search", params=params)
        if not isinstance(body, dict) or "traces" not in body:
            raise CopilotError(f"{client.shown}/api/search is not a Tempo search answer; check tempo_url "
                               "(Tempo's HTTP port, 3200, with its base path)")
        return [t for t in body.get("traces") or [] if isinstance(t, dict) and t.get("traceID")]

    def trace(self, client: SourceHttp, trace_id: str) -> list[Span]:
        path = f"/api/traces/{quote(trace_id, safe='')}"
        body = client.get(path)
        if isinstance(body, dict) and isinstance(body.get("trace"), dict):  # /api/v2/traces shape
            body = body["trace"]
        if not isinstance(body, dict) or not ({"batches", "resourceSpans"} & set(body)):
            raise CopilotError(f"{client.shown}{path} is not an OTLP/JSON trace; check tempo_url")
        return spans_of(body.get("batches") or body.get("resourceSpans") or [], f"Tempo trace {trace_id}")

    def collect(self, query: SourceQuery) -> Telemetry:
        tel = Telemetry(meta={"source": self.name, "label": self.label})
        cap = Capped(self.name, "spans", self.cap(query))
        limit = max(1, int(self.option("traces", TRACES)))
        with self.client() as client:
            found = self.search(client, query.start, query.end, limit, query.components)
            ids = list(dict.fromkeys(str(t["traceID"]) for t in found))
            tel.meta["traces"] = len(ids)
            traces = self.concurrently(lambda tid: self.trace(client, tid), ids)
        return self.keep_traces(tel, cap, traces, "name fewer components, narrow the window, lower tempo_traces")

    def probe(self, client: SourceHttp, now: float) -> str:
        info = client.get("/api/status/buildinfo")
        version = info.get("version", "?") if isinstance(info, dict) else "?"
        values = client.get("/api/search/tag/service.name/values")
        services = sorted(str(v) for v in (values.get("tagValues") or [])) if isinstance(values, dict) else []
        limit = 500
        n = len(self.search(client, now - HOUR_S, now, limit))
        shown = ", ".join(services[:8]) + (", ..." if len(services) > 8 else "")
        return (f"Tempo {version}, {len(services)} services" + (f" ({shown})" if services else "")
                + f", {n}{'+' if n >= limit else ''} traces in the last hour")
