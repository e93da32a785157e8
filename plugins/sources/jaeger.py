"""Jaeger as a source of traces: the query service's HTTP API (the one its UI uses).

`/api/services` lists the services; `/api/traces?service=&start=&end=&limit=` (times in
microseconds) is asked once per service of the question (all services when none is named;
`jaeger_skip_services` drops Jaeger's own), concurrently and bounded. Each trace's spans
(`references` CHILD_OF -> parent, `processes[processID].serviceName` -> component,
`duration` in µs, tags `error=true` or `http.status_code>=500` -> error) become `Span`
records, traces de-duplicated across services, up to `jaeger_max_items` spans (said in
meta["capped"] when reached).
"""

from __future__ import annotations

from typing import Any

from copilot.errors import CopilotError
from copilot.sources import SourceQuery
from copilot.plugins.telemetry.model import Span, Telemetry
from copilot.plugins.telemetry.tables import service_of

from .base import HOUR_S, HttpSource
from .http import Capped, SourceHttp

SKIP = ("jaeger-query", "jaeger-all-in-one", "jaeger-collector")
TRACES_PER_SERVICE = 200
INSTANCE_TAGS = ("k8s.pod.name", "hostname", "host.name", "ip")


class JaegerSource(HttpSource):
    name = "jaeger"
    kind_label = "Jaeger"
    kinds = frozenset({"traces"})

    def services(self, client: SourceHttp) -> list[str]:
        body = client.get("/api/services")
        if not isinstance(body, dict) or "data" not in body:
            raise CopilotError(f"{client.shown}/api/services is not a Jaeger query API; check jaeger_url "
                               "(the query service, port 16686, with its base path)")
        skip = set(self.list_option("skip_services", SKIP))
        return sorted(s for s in body.get("data") or [] if s not in skip)

    def traces(self, client: SourceHttp, service: str, start: float, end: float, limit: int) -> list[dict[str, Any]]:
        body = client.get("/api/traces", params={"service": service, "start": str(int(start * 1e6)),
                                                 "end": str(int(end * 1e6)), "limit": str(limit)})
        if not isinstance(body, dict):
            raise CopilotError(f"{client.shown}/api/traces did not answer a JSON object; is jaeger_url a Jaeger query API?")
        return [t for t in body.get("data") or [] if isinstance(t, dict)]

    def collect(self, query: SourceQuery) -> Telemetry:
        tel = Telemetry(meta={"source": self.name, "label": self.label})
        cap = Capped(self.name, "spans", self.cap(query))
        limit = max(1, int(self.option("traces_per_service", TRACES_PER_SERVICE)))
        with self.client() as client:
            known = self.services(client)
            wanted = [s for s in query.components if s in known] if query.components else known
            tel.meta["services"] = wanted
            answers = self.concurrently(lambda s: self.traces(client, s, query.start, query.end, limit), wanted)
        seen: set[str] = set()
        unique = []
        for trace in (t for answer in answers for t in answer):
            tid = str(trace.get("traceID", ""))
            if tid not in seen:
                seen.add(tid)
                unique.append(trace)
        return self.keep_traces(tel, cap, map(trace_spans, unique),
                                "name fewer components, narrow the window, lower jaeger_traces_per_service")

    def probe(self, client: SourceHttp, now: float) -> str:
        services = self.services(client)
        sample = services[:5]
        limit = 50
        counts = [len(self.traces(client, s, now - HOUR_S, now, limit)) for s in sample]
        more = "+" if any(c >= limit for c in counts) else ""
        shown = ", ".join(services[:8]) + (", ..." if len(services) > 8 else "")
        return (f"{len(services)} services" + (f" ({shown})" if services else "")
                + (f", {sum(counts)}{more} traces in the last hour for {', '.join(sample)}" if sample else ""))


def _tag(tags: list[dict[str, Any]] | None, key: str) -> Any:
    for t in tags or []:
        if t.get("key") == key:
            return t.get("value")
    return None


def failed(tags: list[dict[str, Any]] | None) -> bool:
    if str(_tag(tags, "error")).lower() == "true":
        return True
    if str(_tag(tags, "otel.status_code")).upper() == "ERROR":
        return True
    code = _tag(tags, "http.status_code") or _tag(tags, "http.response.status_code")
    try:
        return int(code) >= 500
    except (TypeError, ValueError):
        return False


def trace_spans(trace: dict[str, Any]) -> list[Span]:
    """Spans of one trace of Jaeger's API (`data[]` of /api/traces)."""
    processes = trace.get("processes") or {}
    out = []
    for sp in trace.get("spans") or []:
        refs = sp.get("references") or []
        parent = next((r for r in refs if r.get("refType") == "CHILD_OF"), refs[0] if refs else None)
        process = sp.get("process") or processes.get(sp.get("processID", "")) or {}
        instance = next((str(v) for k in INSTANCE_TAGS if (v := _tag(process.get("tags"), k))), "")
        out.append(Span(str(sp.get("traceID") or trace.get("traceID", "")), str(sp.get("spanID", "")),
                        str(parent.get("spanID", "")) if parent else "", service_of(str(process.get("serviceName") or "unknown")),
                        str(sp.get("operationName", "")), float(sp.get("startTime", 0)) / 1e6,
                        float(sp.get("duration", 0)) / 1e3, "error" if failed(sp.get("tags")) else "ok", instance))
    return out
