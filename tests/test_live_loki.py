"""The Loki source against recorded responses of Loki's HTTP API (`/loki/api/v1/...`, the
shapes Loki 2.9/3.x returns), served by a local HTTP server that asserts what the source
pushed down. Also the shared client's behaviour: auth, retries on 429/5xx, the one-line
errors, the cap, environment proxies and a CA bundle."""

from __future__ import annotations

import base64

import httpx
import pytest

from copilot.config import Settings, load_settings
from copilot.errors import CopilotError
from copilot.sources import TelemetrySource
from copilot.plugins.sources.loki import LokiSource
from copilot.plugins.sources_plugin import plugin
from tests.http_stub import T0, Stub, open_source
from tests.http_stub import hour_query as query
from tests.servers import free_port, self_signed_cert

NS = 1_000_000_000
STATS = {"summary": {"bytesProcessedPerSecond": 1048576, "linesProcessedPerSecond": 4096, "totalBytesProcessed": 2048,
                     "totalLinesProcessed": 4, "execTime": 0.0021, "queueTime": 0.0001, "subqueries": 0,
                     "totalEntriesReturned": 4, "splits": 0, "shards": 0}}


def streams(*items):
    return {"status": "success", "data": {"resultType": "streams", "result": list(items), "stats": STATS}}


def stream(labels, *values):
    return {"stream": labels, "values": [[str(ns), line] for ns, line in values]}


CART = {"service_name": "cart", "pod": "cart-7d9f8b6c5d-x2k4p", "level": "error"}
PAYMENT = {"service_name": "payment", "namespace": "shop"}
PAGE1 = streams(
    stream(CART, ((T0 + 60) * NS, "redis timeout after 500ms"), ((T0 + 120) * NS, "redis timeout after 500ms")),
    stream(PAYMENT, ((T0 + 90) * NS, '{"level":"warn","msg":"slow upstream","latency_ms":812}')),
)
PAGE2 = streams(
    stream(CART, ((T0 + 120) * NS, "redis timeout after 500ms")),  # the page's edge again
    stream(PAYMENT, ((T0 + 150) * NS, "ERROR card declined by issuer")),
)


def source(url: str, **options) -> LokiSource:
    options.setdefault("retries", 2)
    return open_source(LokiSource, url, **options)


def test_components_and_window_are_pushed_down_and_lines_become_records():
    with Stub() as loki:
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1))
        tel = source(loki.url, selector='{namespace="shop"}').collect(query("cart", "payment"))
    (call,) = loki.calls("/loki/api/v1/query_range")
    assert call.params == {"query": '{namespace="shop", service_name=~"cart|payment"}', "start": str(T0 * NS),
                           "end": str((T0 + 3600) * NS), "limit": "5000", "direction": "forward"}
    assert [(r.timestamp, r.component, r.level, r.message, r.instance) for r in tel.logs] == [
        (T0 + 60, "cart", "ERROR", "redis timeout after 500ms", "cart-7d9f8b6c5d-x2k4p"),
        (T0 + 90, "payment", "WARN", "slow upstream", ""),  # level and message from the JSON line
        (T0 + 120, "cart", "ERROR", "redis timeout after 500ms", "cart-7d9f8b6c5d-x2k4p"),
    ]
    assert tel.meta["source"] == "loki" and "capped" not in tel.meta


def test_without_components_every_stream_of_the_component_label_is_read():
    with Stub() as loki:
        loki.route("GET", "/loki/api/v1/query_range", (200, streams()))
        source(loki.url, component_label="app").collect(query())
    assert loki.seen[0].params["query"] == '{app=~".+"}'


def test_pages_run_forward_until_the_window_is_covered_without_repeating_the_edge():
    with Stub() as loki:
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1), (200, PAGE2))
        tel = source(loki.url, page_size=3).collect(query())
    first, second = loki.calls("/loki/api/v1/query_range")
    assert first.params["limit"] == "3"
    assert second.params["start"] == str((T0 + 120) * NS)  # from the last line's timestamp, inclusive
    assert [r.timestamp for r in tel.logs] == [T0 + 60, T0 + 90, T0 + 120, T0 + 150]
    assert tel.logs[-1].level == "ERROR"  # a level word in the line


def test_the_cap_stops_the_fetch_and_is_said(caplog):
    with Stub() as loki:
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1), (200, PAGE2))
        tel = source(loki.url, page_size=3, max_items=2).collect(query())
    assert len(tel.logs) == 2
    assert loki.seen[0].params["limit"] == "2"
    assert tel.meta["capped"] == {"log lines": 2}
    assert tel.meta["warnings"] == ["loki: stopped at 2 log lines (the cap, loki_max_items); narrow the window "
                                    "or the components or raise loki_max_items"]
    assert "stopped at 2 log lines" in caplog.text


def test_bearer_token_from_a_file_and_a_tenant_header_are_sent(tmp_path):
    token = tmp_path / "token"
    token.write_text("t0ken-from-file\n")
    with Stub() as loki:
        loki.require = lambda seen: seen.headers.get("authorization") == "Bearer t0ken-from-file"
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1))
        tel = source(loki.url, token_file=str(token), header="X-Scope-OrgID: shop").collect(query())
    assert len(tel.logs) == 3
    assert loki.seen[0].headers["x-scope-orgid"] == "shop"


def test_basic_auth_from_settings_and_from_the_url():
    good = "Basic " + base64.b64encode(b"ops:pa55word").decode()
    with Stub() as loki:
        loki.require = lambda seen: seen.headers.get("authorization") == good
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1))
        assert len(source(loki.url, username="ops", password="pa55word").collect(query()).logs) == 3
        creds = loki.url.replace("http://", "http://ops:pa55word@")
        assert len(source(creds).collect(query()).logs) == 3
        with pytest.raises(CopilotError) as err:
            source(loki.url, username="ops", password="wrong-one").collect(query())
    message = str(err.value)
    assert message == (f"loki at {loki.url} refused the credentials (HTTP 401); set loki_token (COPILOT_LOKI_TOKEN), "
                       "loki_username and loki_password, or loki_header")
    assert "wrong-one" not in message


def test_429_then_200_honours_retry_after_and_500_then_200_is_retried():
    with Stub() as loki:
        route = loki.route("GET", "/loki/api/v1/query_range",
                           (429, "Ingestion rate limit exceeded", {"Retry-After": "0"}), (500, "boom"), (200, PAGE1))
        tel = source(loki.url).collect(query())
    assert route.calls == 3 and len(tel.logs) == 3


def test_persistent_503_gives_one_line_with_the_servers_words():
    with Stub() as loki:
        route = loki.route("GET", "/loki/api/v1/query_range", (503, "too many outstanding requests\n"))
        with pytest.raises(CopilotError) as err:
            source(loki.url).collect(query())
    assert route.calls == 3  # the first attempt and loki_retries = 2
    assert str(err.value) == (f"loki at {loki.url} failed with HTTP 503 after 3 attempts: too many outstanding "
                              "requests; check the server's health")


def test_connection_refused_and_unknown_host_say_to_check_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CopilotError) as err:
        source(url, retries=0).collect(query())
    assert str(err.value) == (f"loki at {url} is unreachable (connection refused, 1 attempt); check loki_url "
                              "(COPILOT_LOKI_URL) and that the server is up")

    def no_such_name(request):  # what the resolver says, without asking a real one
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    src = source("http://loki.invalid:3100", retries=0)
    src.transport = httpx.MockTransport(no_such_name)
    check = src.check()
    assert not check.ok
    assert check.detail == ("loki at http://loki.invalid:3100 is unreachable (cannot resolve loki.invalid, 1 attempt); "
                            "check loki_url (COPILOT_LOKI_URL) and that the server is up")


def test_wrong_path_bad_query_and_not_loki_are_one_line():
    with Stub() as stub:
        with pytest.raises(CopilotError) as err:
            source(stub.url + "/loki").collect(query())  # the prefix is doubled: /loki/loki/api/v1/...
        assert "was not found (HTTP 404: 404 page not found); check the path prefix in loki_url" in str(err.value)
        stub.route("GET", "/loki/api/v1/query_range",
                   (400, "parse error at line 1, col 2: syntax error: unexpected IDENTIFIER\n"))
        with pytest.raises(CopilotError) as err:
            source(stub.url, selector="{namespace=shop}").collect(query())
        assert str(err.value) == (f"loki at {stub.url} rejected the request (HTTP 400): parse error at line 1, "
                                  "col 2: syntax error: unexpected IDENTIFIER")
        stub.route("GET", "/loki/api/v1/query_range", (200, "<html><title>Grafana</title></html>"))
        with pytest.raises(CopilotError) as err:
            source(stub.url).collect(query())
        assert "/loki/api/v1/query_range is not a Loki API (HTTP 200, not JSON" in str(err.value)
    with pytest.raises(CopilotError) as err:
        source("http://x", selector="namespace=shop").collect(query())
    assert "loki_selector 'namespace=shop' must be a stream selector" in str(err.value)


def test_check_says_what_loki_holds_for_the_last_hour():
    with Stub() as loki:
        loki.require = lambda seen: seen.headers.get("authorization") == "Bearer abc123"
        loki.route("GET", "/loki/api/v1/labels", (200, {"status": "success", "data": ["level", "namespace", "service_name"]}))
        loki.route("GET", "/loki/api/v1/label/service_name/values", (200, {"status": "success", "data": ["cart", "payment"]}))
        loki.route("GET", "/loki/api/v1/query", (200, {"status": "success", "data": {
            "resultType": "vector", "result": [{"metric": {}, "value": [T0, "1204"]}], "stats": STATS}}))
        check = source(loki.url, token="abc123").check()
        assert check.ok, check.detail
        assert check.detail == "reachable, auth ok, 3 labels, 2 components by service_name (cart, payment), 1,204 log lines in the last hour"
        assert loki.calls("/loki/api/v1/query")[0].params["query"] == 'sum(count_over_time({service_name=~".+"}[1h]))'
        denied = source(loki.url).check()
    assert not denied.ok and "requires credentials (HTTP 401)" in denied.detail


def test_proxies_come_from_the_environment(monkeypatch):
    with Stub() as proxy:
        proxy.route("GET", "/loki/api/v1/query_range", (200, PAGE1))
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        tel = source("http://loki.internal:3100").collect(query())
    assert len(tel.logs) == 3
    assert proxy.seen[0].host == "loki.internal:3100"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_a_ca_bundle_trusts_a_self_signed_server_and_without_it_tls_fails(cert):
    with Stub(tls=cert) as loki:
        loki.route("GET", "/loki/api/v1/query_range", (200, PAGE1))
        assert len(source(loki.url, ca=cert[0]).collect(query()).logs) == 3
        assert len(source(loki.url, insecure="true").collect(query()).logs) == 3
        with pytest.raises(CopilotError) as err:
            source(loki.url, retries=0).collect(query())
    assert str(err.value).startswith(f"loki at {loki.url}: TLS verification failed (")
    assert str(err.value).endswith("set loki_ca to the CA bundle that signed it, or loki_insecure = true as a last resort")
    with pytest.raises(CopilotError) as err:
        source(loki.url, ca="/nonexistent/ca.pem").collect(query())
    assert "loki_ca '/nonexistent/ca.pem' is not a file" in str(err.value)


def test_the_plugin_opens_loki_from_the_environment_and_nothing_without_a_url(monkeypatch):
    assert all(make(Settings()) is None for make in plugin.sources)
    monkeypatch.setenv("COPILOT_LOKI_URL", "http://loki:3100")
    monkeypatch.setenv("COPILOT_LOKI_COMPONENT_LABEL", "app")
    opened = [s for s in (make(load_settings()) for make in plugin.sources) if s is not None]
    assert [s.name for s in opened] == ["loki"]
    assert isinstance(opened[0], TelemetrySource)
    assert opened[0].label == "Loki at http://loki:3100" and opened[0].live
    assert opened[0].logql(("cart",)) == '{app=~"cart"}'
