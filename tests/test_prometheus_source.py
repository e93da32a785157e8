"""The Prometheus source against a real Prometheus: the test writes two hours of history as
OpenMetrics text, backfills it with `promtool tsdb create-blocks-from openmetrics`, and starts
`prometheus` on a free port under a VictoriaMetrics-style path prefix. A second server, with
TLS and basic auth from a web config, checks credentials and CA handling. Only a tiny HTTP
server that answers 503 stands in for an overloaded upstream, to check the retries."""

from __future__ import annotations

import base64
import http.server
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from copilot.config import Settings
from copilot.errors import CopilotError
from copilot.tools import ToolContext, ToolRegistry
from copilot.plugins.prometheus_plugin import NOT_CONFIGURED, plugin
from copilot.plugins.telemetry.prometheus import (
    PrometheusClient,
    load_range,
    matrix_to_series,
    quantile_by,
    rate_by,
)

pytestmark = pytest.mark.skipif(
    not (shutil.which("prometheus") and shutil.which("promtool")),
    reason="needs the prometheus and promtool binaries (Debian package `prometheus`; .ci/run installs it)",
)

PREFIX = "/select/0/prometheus"
SCRAPE = 30  # seconds between generated samples
SERVICES = ("frontend", "cart", "payment")
INSTANCES = ("a:8080", "b:8080")
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0)
USER = "copilot"
PASSWORD = "s3cret"
PASSWORD_BCRYPT = "$2b$04$791Xt7DhlosbC6DAnJjHPuwZBD2HoyTTituQgFEQucYPqRtOJDRKW"  # bcrypt of PASSWORD, cost 4


# -- the history ------------------------------------------------------------------------------

class History:
    """Two hours of metrics with one incident: cart starts failing and payment slows down."""

    def __init__(self) -> None:
        now = time.time()
        self.end = float(int(now // 60) * 60 - 300)
        self.start = self.end - 2 * 3600
        self.fault = self.end - 30 * 60
        self.ts = np.arange(self.start, self.end + 1, SCRAPE, dtype=float)
        self.rng = np.random.default_rng(7)

    def error_rate(self, service: str) -> np.ndarray:
        """Errors per second per instance."""
        return np.where((self.ts >= self.fault) & (service == "cart"), 5.0, 0.1)

    def ok_rate(self, service: str) -> np.ndarray:
        return 10.0 + self.rng.uniform(-0.5, 0.5, len(self.ts))

    def latency_shares(self, service: str) -> np.ndarray:
        """Per sample, the share of requests in each latency bucket (the last one is +Inf)."""
        fast = np.array([0.6, 0.35, 0.04, 0.01, 0.0, 0.0])
        slow = np.array([0.0, 0.02, 0.08, 0.85, 0.05, 0.0])
        return np.where(((self.ts >= self.fault) & (service == "payment"))[:, None], slow, fast)

    def openmetrics(self) -> tuple[str, dict[tuple[str, str, str], np.ndarray]]:
        lines: list[str] = []
        counters: dict[tuple[str, str, str], np.ndarray] = {}
        lines.append("# TYPE http_requests counter")
        for svc in SERVICES:
            for inst in INSTANCES:
                for code, rate in (("200", self.ok_rate(svc)), ("500", self.error_rate(svc))):
                    total = np.round(np.cumsum(rate * SCRAPE))
                    counters[(svc, inst, code)] = total
                    lines += [f'http_requests_total{{service="{svc}",instance="{inst}",code="{code}"}} {v:.0f} {t:.0f}'
                              for t, v in zip(self.ts, total)]
        lines.append("# TYPE http_request_duration_seconds histogram")
        for svc in SERVICES:
            per_bucket = self.latency_shares(svc) * 300.0  # 10 req/s over 30 s
            cum = np.cumsum(np.cumsum(per_bucket, axis=1), axis=0)  # cumulative over le, then over time
            labels = [f"{b:g}" for b in BUCKETS] + ["+Inf"]
            for j, le in enumerate(labels):
                lines += [f'http_request_duration_seconds_bucket{{service="{svc}",le="{le}"}} {v:.0f} {t:.0f}'
                          for t, v in zip(self.ts, cum[:, j])]
            lines += [f'http_request_duration_seconds_count{{service="{svc}"}} {v:.0f} {t:.0f}'
                      for t, v in zip(self.ts, cum[:, -1])]
        lines.append("# TYPE process_cpu_usage gauge")
        for svc, pod in (("cart", "cart-7d9f8b6c5d-x2k4p"), ("payment", "payment-5b6c7d8f9g-q4w5z")):
            cpu = 30 + self.rng.normal(0, 1, len(self.ts))
            lines += [f'process_cpu_usage{{pod="{pod}"}} {v:.3f} {t:.0f}' for t, v in zip(self.ts, cpu)]
        lines.append("# TYPE shop_visitors gauge")
        for svc, days in (("frontend", (1, 0)), ("promo", (0,))):  # promo has no history a day back
            for day in days:
                ts = self.ts - day * 86400
                ramp = 100 + 80 * np.clip((self.ts - self.fault) / 1800, 0, 1)  # every day at this hour
                v = ramp * (1 + 0.01 * self.rng.normal(size=len(ts)))
                lines += [f'shop_visitors{{service="{svc}"}} {x:.2f} {t:.0f}' for t, x in zip(ts, v)]
        lines.append("# TYPE session_active gauge")
        for user in range(250):  # high cardinality: one series per user
            lines += [f'session_active{{user="u{user}"}} 1 {t:.0f}' for t in self.ts[::4]]
        lines.append("# EOF")
        return "\n".join(lines) + "\n", counters


# -- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(workdir: Path, data: Path, port: int, extra: list[str], probe) -> subprocess.Popen:
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    log = open(workdir / "prometheus.log", "w")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=error", *extra],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
        try:
            if probe():
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("prometheus did not become ready in 15 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def history() -> History:
    return History()


@pytest.fixture(scope="module")
def prom(tmp_path_factory, history):
    workdir = tmp_path_factory.mktemp("prometheus")
    text, counters = history.openmetrics()
    (workdir / "history.om").write_text(text)
    data = workdir / "data"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(workdir / "history.om"),
                    str(data)], check=True, capture_output=True, timeout=60)
    port = free_port()
    url = f"http://127.0.0.1:{port}{PREFIX}"
    proc = start_prometheus(workdir, data, port, [f"--web.external-url={url}"],
                            lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    yield {"url": url, "counters": counters}
    stop(proc)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A Prometheus behind TLS (self-signed) and basic auth, as on a jump host."""
    if not shutil.which("openssl"):
        pytest.skip("needs openssl to make a test certificate")
    workdir = tmp_path_factory.mktemp("prometheus_tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=workdir, check=True, capture_output=True)
    (workdir / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    proc = start_prometheus(workdir, workdir / "data", port, [f"--web.config.file={workdir / 'web.yml'}"],
                            lambda: httpx.get(f"{url}/-/ready", verify=False, timeout=1).status_code in (200, 401))
    yield {"url": url, "ca": str(workdir / "cert.pem"), "port": port}
    stop(proc)


def client(url: str, **kw) -> PrometheusClient:
    kw.setdefault("retries", 1)
    kw.setdefault("backoff", 0.01)
    return PrometheusClient(url, **kw)


# -- the client -------------------------------------------------------------------------------

def test_query_range_returns_the_backfilled_samples(prom, history):
    sel = 'http_requests_total{service="cart",instance="a:8080",code="200"}'
    with client(prom["url"]) as c:
        matrix = c.query_range(sel, history.start, history.end, 60)
    assert len(matrix) == 1
    got = {float(t): float(v) for t, v in matrix[0]["values"]}
    expected = dict(zip(history.ts, prom["counters"][("cart", "a:8080", "200")]))
    assert len(got) == len(history.ts[::2])
    assert all(got[t] == expected[t] for t in got)


def test_instant_query_and_server_side_aggregation(prom, history):
    q = rate_by("http_requests_total", ["service"], "2m", 'code="500"')
    assert q == 'sum by (service) (rate(http_requests_total{code="500"}[2m]))'
    with client(prom["url"]) as c:
        after = c.query(q, history.end)["result"]
        before = c.query(q, history.fault - 600)["result"]
    rate_after = {r["metric"]["service"]: float(r["value"][1]) for r in after}
    rate_before = {r["metric"]["service"]: float(r["value"][1]) for r in before}
    assert set(rate_after) == set(SERVICES)  # three series cross the wire, not twelve
    assert rate_after["cart"] == pytest.approx(2 * 5.0, rel=0.05)  # two instances at 5 errors/s
    assert rate_before["cart"] == pytest.approx(2 * 0.1, rel=0.2)
    assert rate_after["frontend"] == pytest.approx(2 * 0.1, rel=0.2)


def test_histogram_quantile_pushdown_through_the_loader(prom, history):
    q = quantile_by("http_request_duration_seconds", 0.9, ["service"], "2m")
    with client(prom["url"]) as c:
        series = load_range(c, q, history.start + 600, history.end, 60, metric="latency_p90")
    by = {s.component: s for s in series}
    assert set(by) == set(SERVICES)
    pay = by["payment"]
    assert pay.metric == "latency_p90" and pay.labels == {}
    before = pay.values[pay.timestamps < history.fault - 180]
    after = pay.values[pay.timestamps > history.fault + 180]
    assert np.nanmax(before) <= 0.1 < 0.25 <= np.nanmin(after) <= 0.5
    assert np.nanmax(by["frontend"].values) <= 0.1


def test_loader_puts_every_series_on_the_query_grid(prom, history):
    start, end, step = history.start - 600, history.end + 120, 60.0  # wider than the data: gaps become NaN
    with client(prom["url"]) as c:
        raw = c.query_range("process_cpu_usage", start, end, step)
    series = matrix_to_series(raw, grid=(start, end, step))
    assert {s.component for s in series} == {"cart", "payment"}  # from the pod names, replica suffix dropped
    assert all(s.labels["pod"].startswith(s.component + "-") for s in series)
    assert len({s.timestamps.tobytes() for s in series}) == 1
    grid = series[0].timestamps
    assert grid[0] == start and grid[-1] == end and np.all(np.diff(grid) == step)
    assert np.isnan(series[0].values[0]) and not np.isnan(series[0].values[len(grid) // 2])


def test_series_and_label_discovery(prom, history):
    with client(prom["url"]) as c:
        found = c.series('http_requests_total{service="cart"}', history.start, history.end)
        names = c.labels(start=history.start, end=history.end)
        services = c.label_values("service", start=history.start, end=history.end)
        metrics = c.label_values("__name__", "{service=\"payment\"}", history.start, history.end)
    assert sorted((s["instance"], s["code"]) for s in found) == sorted((i, c_) for i in INSTANCES for c_ in ("200", "500"))
    assert {"service", "instance", "code", "le", "pod", "user", "__name__"} <= set(names)
    assert services == sorted(SERVICES + ("promo",))  # promo only reports shop_visitors
    assert metrics == ["http_request_duration_seconds_bucket", "http_request_duration_seconds_count", "http_requests_total"]


def test_refuses_to_pull_high_cardinality_raw_series(prom, history):
    with client(prom["url"]) as c:
        assert c.count_series("session_active", history.end) == 250
        with pytest.raises(CopilotError, match=r"yields 250 series.*sum by"):
            load_range(c, "session_active", history.start, history.end, max_series=100)
        assert len(load_range(c, "sum(session_active)", history.start, history.end, max_series=100)) == 1


def test_bad_promql_reports_the_servers_error(prom):
    with client(prom["url"]) as c, pytest.raises(CopilotError) as err:
        c.query("sum(rate(http_requests_total[5m])")
    assert "Prometheus rejected the request" in str(err.value) and "parse error" in str(err.value)


def test_missing_path_prefix_is_a_404_with_a_hint(prom):
    bare = prom["url"].removesuffix(PREFIX)
    with client(bare) as c, pytest.raises(CopilotError, match="HTTP 404.*path prefix"):
        c.query("up")


def test_connection_refused_names_the_url_and_the_setting():
    url = f"http://127.0.0.1:{free_port()}"
    with client(url) as c, pytest.raises(CopilotError) as err:
        c.query("up")
    msg = str(err.value)
    assert url in msg and "prometheus_url" in msg and "2 attempts" in msg and "\n" not in msg


# -- credentials and TLS against the secured server --------------------------------------------

def test_missing_and_wrong_credentials_are_401_messages(secured):
    with client(secured["url"], ca=secured["ca"]) as c, pytest.raises(CopilotError, match="requires credentials .HTTP 401"):
        c.query("vector(1)")
    wrong = f"https://{USER}:nope@127.0.0.1:{secured['port']}"
    with client(wrong, ca=secured["ca"]) as c, pytest.raises(CopilotError) as err:
        c.query("vector(1)")
    assert "rejected the credentials (HTTP 401)" in str(err.value) and "nope" not in str(err.value)


def test_credentials_and_ca_bundle_reach_the_secured_server(secured):
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with client(secured["url"], token=basic, ca=secured["ca"]) as c:
        assert c.query("vector(42)")["result"][0]["value"][1] == "42"
    in_url = f"https://{USER}:{PASSWORD}@127.0.0.1:{secured['port']}"
    with client(in_url, insecure=True) as c:
        assert c.query("vector(7)")["result"][0]["value"][1] == "7"


def test_untrusted_certificate_points_at_prometheus_ca(secured):
    with client(secured["url"], token="anything") as c, pytest.raises(CopilotError, match="not trusted.*prometheus_ca"):
        c.query("vector(1)")
    with pytest.raises(CopilotError, match="prometheus_ca .* is not a file"):
        client(secured["url"], ca="/nonexistent/ca.pem").query("vector(1)")


def test_bearer_token_becomes_the_authorization_header():
    assert client("http://p:9090", token="abc").auth_headers() == {"Authorization": "Bearer abc"}
    assert client("http://p:9090", token="Basic eHk6eg==").auth_headers() == {"Authorization": "Basic eHk6eg=="}
    assert client("http://p:9090").auth_headers() == {}


# -- retries ----------------------------------------------------------------------------------

class _Flaky(http.server.BaseHTTPRequestHandler):
    failures = 0
    calls = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).calls <= type(self).failures:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            body = b'{"status":"error","errorType":"unavailable","error":"overloaded"}'
        else:
            self.send_response(200)
            body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def flaky():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Flaky.calls = 0
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_5xx_is_retried_until_it_succeeds(flaky):
    _, url = flaky
    _Flaky.failures = 2
    with client(url, retries=3) as c:
        assert c.query("up") == {"resultType": "vector", "result": []}
    assert _Flaky.calls == 3


def test_5xx_gives_up_after_the_retries_with_the_servers_error(flaky):
    _, url = flaky
    _Flaky.failures = 99
    with client(url, retries=2) as c, pytest.raises(CopilotError, match="overloaded"):
        c.query("up")
    assert _Flaky.calls == 3


# -- the tools --------------------------------------------------------------------------------

def registry() -> ToolRegistry:
    reg = ToolRegistry()
    for t in plugin.tools:
        t.plugin = plugin.name
        reg.add(t)
    return reg


def tool_ctx(url: str, **kw) -> ToolContext:
    return ToolContext(settings=Settings(prometheus_url=url, prometheus_timeout=10.0), **kw)


async def test_tools_without_a_url_answer_no_data():
    reg = registry()
    assert set(reg.names()) == {"prom_query", "prom_series", "prom_labels", "prom_detect"}
    for name, args in (("prom_query", {"query": "up"}), ("prom_labels", {}), ("prom_series", {"match": "up"})):
        for ctx in (ToolContext(), ToolContext(settings=Settings())):
            result = await reg.invoke(name, args, ctx)
            assert (result.status, result.output) == ("no_data", NOT_CONFIGURED)


async def test_prom_query_summarises_series_and_when_they_deviated(prom, history):
    q = 'sum by (service) (rate(http_requests_total{code="500"}[2m]))'
    result = await registry().invoke(
        "prom_query", {"query": q, "start": str(history.start), "end": str(history.end), "step": "1m"},
        tool_ctx(prom["url"]))
    assert result.status == "ok", result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("3 series") and "1 deviated" in lines[0]
    assert lines[1].startswith("cart http_requests_total_rate: ") and "deviated from" in lines[1]
    onset = result.data["series"][0]["deviation"]["onset"]
    assert abs(onset - history.fault) <= 180
    assert all("no deviation" in line for line in lines[2:])


async def test_prom_query_errors_are_readable(prom, history):
    reg = registry()
    bad = await reg.invoke("prom_query", {"query": "rate(http_requests_total)"}, tool_ctx(prom["url"]))
    assert bad.status == "error" and "range vector" in bad.output
    wide = await reg.invoke("prom_query", {"query": "session_active", "end": str(history.end)}, tool_ctx(prom["url"]))
    assert wide.status == "error" and "sum by" in wide.output
    down = await reg.invoke("prom_query", {"query": "up"}, tool_ctx(f"http://127.0.0.1:{free_port()}"))
    assert down.status == "error" and "cannot reach Prometheus" in down.output


async def test_prom_detect_finds_the_incident(prom, history):
    reg = registry()
    ctx = tool_ctx(prom["url"])
    q = 'sum by (service) (rate(http_requests_total{code="500"}[2m]))'
    args = {"query": q, "start": str(history.fault - 900), "end": str(history.end)}
    result = await reg.invoke("prom_detect", args, ctx)
    assert result.status == "ok", result.output
    assert [f.component for f in result.findings] == ["cart"]
    top = result.findings[0]
    assert top.id == "M1" and top.source == "metrics" and top.details.direction == "up"
    assert abs(top.onset - history.fault) <= 180 and top.details.query == q
    lat = await reg.invoke("prom_detect", {**args, "query": quantile_by("http_request_duration_seconds", 0.9)}, ctx)
    assert [f.component for f in lat.findings] == ["payment"]
    assert lat.findings[0].signal == "http_request_duration_p90_seconds"
    assert "ms" not in lat.findings[0].summary and " s) at " in lat.findings[0].summary


async def test_prom_detect_compares_with_the_same_hours_a_day_earlier(prom, history):
    result = await registry().invoke("prom_detect", {"query": "shop_visitors", "start": str(history.fault - 900),
                                                     "end": str(history.end)}, tool_ctx(prom["url"]))
    assert result.status == "ok", result.output
    # both ramp up at this hour; only frontend's history shows it happens every day
    assert [f.component for f in result.findings] == ["promo"], result.output


async def test_prom_series_and_prom_labels(prom, history):
    reg = registry()
    ctx = tool_ctx(prom["url"], window=(history.start, history.end))
    series = await reg.invoke("prom_series", {"match": '{service="payment"}'}, ctx)
    assert series.status == "ok" and series.data["count"] == 2 * 2 + 6 + 1
    assert series.output.splitlines()[1].startswith("http_request_duration_seconds_bucket: 6 series")
    names = await reg.invoke("prom_labels", {}, ctx)
    assert names.status == "ok" and "'service'" in names.output and names.data["component_label"] == "service"
    values = await reg.invoke("prom_labels", {"label": "service"}, ctx)
    assert values.data["values"] == sorted(SERVICES + ("promo",))
    nothing = await reg.invoke("prom_series", {"match": "no_such_metric"}, ctx)
    assert nothing.status == "no_data"


def test_tool_times_accept_relative_clock_and_iso_forms():
    from copilot.plugins.prometheus_plugin import parse_time

    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert parse_time("now", now) == now
    assert parse_time("now-1h", now) == parse_time("-60m", now) == parse_time("1h ago", now) == now - 3600
    assert parse_time("22:00", now) == now - 800  # today, earlier
    assert parse_time("23:00", now) == now - 800 + 3600 - 86400  # not yet today: yesterday
    assert parse_time("2023-11-14T22:00:00Z", now) == parse_time(1_699_999_200, now) == now - 800
    with pytest.raises(CopilotError, match="not a time"):
        parse_time("yesterday-ish", now)


def test_range_queries_run_concurrently_and_bounded():
    """A stand-in of the Prometheus HTTP API (series discovery, count, range queries) that
    holds each range query until FETCH_WORKERS are in flight: the source must reach that many
    at once (concurrent) and never more (bounded). A sequential source would stall the first
    query until the guard gives up, and the test would fail on `most == 1`."""
    import urllib.parse

    from copilot.sources import SourceQuery
    from copilot.plugins.telemetry.prometheus import PrometheusClient
    from copilot.plugins.telemetry.prometheus_source import FETCH_WORKERS, PrometheusSource
    from tests.jsonserver import reply_json, serve, stop as stop_server

    metrics = [f"app_metric_{i}" for i in range(10)]
    state = {"inflight": 0, "most": 0, "released": False, "ranges": 0}
    cond = threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            path = self.path.split("?")[0]
            if path == "/api/v1/series":
                data = [{"__name__": m, "service": s} for m in metrics for s in ("cart", "orders")]
            elif path == "/api/v1/query":
                data = {"resultType": "vector", "result": [{"metric": {}, "value": [0, "20"]}]}
            elif path == "/api/v1/query_range":
                with cond:
                    state["inflight"] += 1
                    state["ranges"] += 1
                    state["most"] = max(state["most"], state["inflight"])
                    if state["inflight"] >= FETCH_WORKERS:
                        state["released"] = True
                    cond.notify_all()
                    cond.wait_for(lambda: state["released"], timeout=10)  # a guard, not a timing
                    state["inflight"] -= 1
                start = float(form["start"][0])
                data = {"resultType": "matrix", "result": [] if "ALERTS" in form["query"][0] else [
                    {"metric": {"service": "cart"}, "values": [[start + 60 * i, "1"] for i in range(5)]}]}
            else:
                reply_json(self, 404, {"status": "error", "error": "not found"})
                return
            reply_json(self, 200, {"status": "success", "data": data})

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    server, url = serve(Handler)
    try:
        source = PrometheusSource(PrometheusClient(url=url))
        now = time.time()
        tel = source.collect(SourceQuery(now - 3600, now))
    finally:
        stop_server(server)
    assert tel.meta["queries"] == len(metrics) and state["ranges"] == len(metrics) + 1  # + the ALERTS query
    assert state["most"] == FETCH_WORKERS
    assert len(tel.metrics) == len(metrics)
