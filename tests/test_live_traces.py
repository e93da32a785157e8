"""The Jaeger and Tempo sources against recorded responses of their documented HTTP APIs
(Jaeger query `/api/services`, `/api/traces`; Tempo `/api/search`, `/api/traces/<id>` in
OTLP/JSON, `/api/status/buildinfo`), served by a local HTTP server that asserts what was
pushed down."""

from __future__ import annotations

import base64

import pytest

from copilot.errors import CopilotError
from copilot.sources import TelemetrySource
from copilot.plugins.sources.jaeger import JaegerSource
from copilot.plugins.sources.tempo import TempoSource
from tests.http_stub import T0, Stub, open_source
from tests.http_stub import hour_query as query

US = 1_000_000


def jaeger_span(trace, span, op, start_us, dur_us, process, parent=None, tags=()):
    return {"traceID": trace, "spanID": span, "flags": 1, "operationName": op,
            "references": [{"refType": "CHILD_OF", "traceID": trace, "spanID": parent}] if parent else [],
            "startTime": start_us, "duration": dur_us,
            "tags": [{"key": "span.kind", "type": "string", "value": "server"}, *tags],
            "logs": [], "processID": process, "warnings": None}


PROCESSES = {"p1": {"serviceName": "frontend", "tags": [{"key": "hostname", "type": "string", "value": "frontend-6d4f"}]},
             "p2": {"serviceName": "cart", "tags": [{"key": "ip", "type": "string", "value": "10.0.0.7"}]}}
TRACE_A = {"traceID": "6bb4d9c1c4c0ea4a", "processes": PROCESSES, "warnings": None, "spans": [
    jaeger_span("6bb4d9c1c4c0ea4a", "6bb4d9c1c4c0ea4a", "HTTP GET /checkout", (T0 + 60) * US, 250_000, "p1",
                tags=[{"key": "http.status_code", "type": "int64", "value": 500}]),
    jaeger_span("6bb4d9c1c4c0ea4a", "1a2b3c4d5e6f7081", "GetCart", (T0 + 60) * US + 1000, 240_000, "p2",
                parent="6bb4d9c1c4c0ea4a", tags=[{"key": "error", "type": "bool", "value": True}]),
]}
TRACE_B = {"traceID": "0af7651916cd43dd", "processes": {"p1": PROCESSES["p2"]}, "warnings": None, "spans": [
    jaeger_span("0af7651916cd43dd", "0af7651916cd43dd", "GetCart", (T0 + 120) * US, 3_000, "p1"),
]}


def jaeger_traces(*traces):
    return {"data": list(traces), "total": 0, "limit": 0, "offset": 0, "errors": None}


def jaeger(url: str, **options) -> JaegerSource:
    return open_source(JaegerSource, url, **options)


def serve_jaeger(stub: Stub) -> None:
    stub.route("GET", "/api/services", (200, {"data": ["cart", "frontend", "jaeger-all-in-one"], "total": 3,
                                              "limit": 0, "offset": 0, "errors": None}))
    by_service = {"frontend": jaeger_traces(TRACE_A), "cart": jaeger_traces(TRACE_A, TRACE_B)}
    stub.route("GET", "/api/traces", lambda seen: (200, by_service.get(seen.params["service"], jaeger_traces())))


def test_jaeger_asks_each_service_of_the_question_for_the_window_in_microseconds():
    with Stub() as stub:
        serve_jaeger(stub)
        tel = jaeger(stub.url, traces_per_service=50).collect(query("frontend", "nosuch"))
    (call,) = stub.calls("/api/traces")
    assert call.params == {"service": "frontend", "start": str(T0 * US), "end": str((T0 + 3600) * US), "limit": "50"}
    assert [(s.component, s.operation, s.parent_id, s.status, s.duration_ms, s.instance) for s in tel.spans] == [
        ("frontend", "HTTP GET /checkout", "", "error", 250.0, "frontend-6d4f"),  # http.status_code 500
        ("cart", "GetCart", "6bb4d9c1c4c0ea4a", "error", 240.0, "10.0.0.7"),  # error=true, CHILD_OF
    ]
    assert tel.spans[0].start == T0 + 60 and tel.spans[0].trace_id == "6bb4d9c1c4c0ea4a"


def test_jaeger_without_components_reads_every_service_but_its_own_and_dedupes_traces():
    with Stub() as stub:
        serve_jaeger(stub)
        tel = jaeger(stub.url).collect(query())
    assert sorted(s.params["service"] for s in stub.calls("/api/traces")) == ["cart", "frontend"]
    assert len(tel.spans) == 3  # trace A came from both services, once
    assert tel.spans[-1].status == "ok"


def test_jaeger_cap_counts_spans_and_is_said():
    with Stub() as stub:
        serve_jaeger(stub)
        tel = jaeger(stub.url, max_items=2).collect(query("cart"))
    assert len(tel.spans) == 2 and tel.meta["capped"] == {"spans": 2}
    assert "jaeger_traces_per_service" in tel.meta["warnings"][0]


def test_jaeger_errors_and_check():
    with Stub() as stub:
        serve_jaeger(stub)
        stub.route("GET", "/api/traces", (400, {"data": None, "total": 0, "limit": 0, "offset": 0,
                                                "errors": [{"code": 400, "msg": "parameter 'service' is required"}]}))
        with pytest.raises(CopilotError) as err:
            jaeger(stub.url).collect(query("cart"))
        assert str(err.value) == f"jaeger at {stub.url} rejected the request (HTTP 400): parameter 'service' is required"
        serve_jaeger(stub)
        check = jaeger(stub.url, header="Authorization: Bearer j-token").check()
        assert stub.seen[-1].headers["authorization"] == "Bearer j-token"
    assert check.ok, check.detail
    assert check.detail == ("reachable, auth ok, 2 services (cart, frontend), 3 traces in the last hour "
                            "for cart, frontend")


# -- Tempo ------------------------------------------------------------------------------------

TRACE_HEX = "2f3e0cee77ae5dc9c17ade3689eb2e54"
ROOT_HEX, CHILD_HEX = "563d623c76514f8e", "8f2a1c4b7d3e9a10"


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def attr(key, value):
    return {"key": key, "value": {"stringValue": value}}


def otlp_span(span_hex, parent_hex, name, start_s, dur_ms, error=False):
    span = {"traceId": b64(TRACE_HEX), "spanId": b64(span_hex), "name": name, "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": str(int(start_s * 1e9)), "endTimeUnixNano": str(int(start_s * 1e9 + dur_ms * 1e6)),
            "attributes": [attr("http.method", "GET")], "status": {}}
    if parent_hex:
        span["parentSpanId"] = b64(parent_hex)
    if error:
        span["status"] = {"code": "STATUS_CODE_ERROR", "message": "upstream reset"}
    return span


TEMPO_TRACE = {"batches": [
    {"resource": {"attributes": [attr("service.name", "frontend"), attr("k8s.pod.name", "frontend-6d4f-abcde")]},
     "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.flask", "version": "0.45b0"},
                     "spans": [otlp_span(ROOT_HEX, "", "GET /checkout", T0 + 60, 250)]}]},
    {"resource": {"attributes": [attr("service.name", "cart")]},
     "scopeSpans": [{"scope": {"name": "io.opentelemetry.grpc-1.6", "version": "2.3.0-alpha"},
                     "spans": [otlp_span(CHILD_HEX, ROOT_HEX, "GetCart", T0 + 60.001, 240, error=True)]}]},
]}
SEARCH = {"traces": [{"traceID": TRACE_HEX, "rootServiceName": "frontend", "rootTraceName": "GET /checkout",
                      "startTimeUnixNano": str((T0 + 60) * 1_000_000_000), "durationMs": 250,
                      "spanSet": {"spans": [{"spanID": ROOT_HEX, "startTimeUnixNano": str((T0 + 60) * 1_000_000_000),
                                             "durationNanos": "250000000"}], "matched": 1},
                      "spanSets": [{"spans": [{"spanID": ROOT_HEX, "startTimeUnixNano": str((T0 + 60) * 1_000_000_000),
                                               "durationNanos": "250000000"}], "matched": 1}]}],
          "metrics": {"inspectedTraces": 12, "inspectedBytes": "48213", "completedJobs": 1, "totalJobs": 1}}


def tempo(url: str, **options) -> TempoSource:
    options.setdefault("retries", 2)
    return open_source(TempoSource, url, **options)


def serve_tempo(stub: Stub) -> None:
    stub.route("GET", "/api/search", (200, SEARCH))
    stub.route("GET", f"/api/traces/{TRACE_HEX}", (200, TEMPO_TRACE))


def test_tempo_searches_the_window_with_traceql_and_reads_each_trace_as_otlp():
    with Stub() as stub:
        stub.require = lambda seen: seen.headers.get("x-scope-orgid") == "shop"
        serve_tempo(stub)
        tel = tempo(stub.url, header="X-Scope-OrgID: shop", traces=20).collect(query("cart", "frontend"))
    (search,) = stub.calls("/api/search")
    assert search.params == {"start": str(T0), "end": str(T0 + 3600), "limit": "20",
                             "q": '{ resource.service.name =~ "cart|frontend" }'}
    assert [(s.component, s.operation, s.trace_id, s.span_id, s.parent_id, s.status, s.instance) for s in tel.spans] == [
        ("frontend", "GET /checkout", TRACE_HEX, ROOT_HEX, "", "ok", "frontend-6d4f-abcde"),
        ("cart", "GetCart", TRACE_HEX, CHILD_HEX, ROOT_HEX, "error", ""),
    ]
    assert tel.spans[1].duration_ms == pytest.approx(240.0)
    assert tel.meta["traces"] == 1


def test_tempo_without_components_sends_no_traceql_and_retries_429_then_500():
    with Stub() as stub:
        serve_tempo(stub)
        stub.route("GET", "/api/search", (429, "rate limited", {"Retry-After": "0"}), (500, "internal"), (200, SEARCH))
        tel = tempo(stub.url).collect(query())
    assert "q" not in stub.calls("/api/search")[0].params
    assert len(stub.calls("/api/search")) == 3 and len(tel.spans) == 2


def test_tempo_cap_and_persistent_503():
    with Stub() as stub:
        serve_tempo(stub)
        tel = tempo(stub.url, max_items=1).collect(query())
        assert tel.spans == [] and tel.meta["capped"] == {"spans": 1}
        stub.route("GET", f"/api/traces/{TRACE_HEX}", (503, "upstream connect error or disconnect/reset before headers"))
        with pytest.raises(CopilotError) as err:
            tempo(stub.url).collect(query())
    assert str(err.value) == (f"tempo at {stub.url} failed with HTTP 503 after 3 attempts: upstream connect error or "
                              "disconnect/reset before headers; check the server's health")


def test_tempo_check_and_the_v2_trace_shape():
    with Stub() as stub:
        serve_tempo(stub)
        stub.route("GET", f"/api/traces/{TRACE_HEX}", (200, {"trace": {"resourceSpans": TEMPO_TRACE["batches"]},
                                                             "status": "complete"}))
        assert len(tempo(stub.url).collect(query()).spans) == 2
        stub.route("GET", "/api/status/buildinfo", (200, {"version": "2.4.1", "revision": "9b0f9a2", "branch": "HEAD",
                                                          "buildUser": "", "buildDate": "", "goVersion": "go1.22.1"}))
        stub.route("GET", "/api/search/tag/service.name/values", (200, {"tagValues": ["frontend", "cart"],
                                                                        "metrics": {"inspectedBytes": "0"}}))
        check = tempo(stub.url).check()
    assert check.ok, check.detail
    assert check.detail == "reachable, no auth, Tempo 2.4.1, 2 services (cart, frontend), 1 traces in the last hour"
    assert isinstance(tempo("http://tempo:3200"), TelemetrySource)
