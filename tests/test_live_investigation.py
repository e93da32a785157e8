"""A new user's first run against a live system: only COPILOT_PROMETHEUS_URL is set, no --data.

A real Prometheus holds three hours of a small shop's metrics (backfilled with promtool) in
which `orders` slows down 25 minutes before now and an alert fires on it. The copilot must
investigate that Prometheus, not the bundled demo, name `orders`, cite the alert, and say in
its JSON and trace which data it read. With nothing configured, every front end says
"bundled demo"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from copilot.config import load_settings
from copilot.sources import SourceQuery, select_sources
from copilot.plugins.telemetry.prometheus import PrometheusClient
from copilot.plugins.telemetry.prometheus_source import PrometheusSource
from tests.test_prometheus_source import free_port, start_prometheus, stop

needs_prometheus = pytest.mark.skipif(
    not (shutil.which("prometheus") and shutil.which("promtool")),
    reason="needs the prometheus and promtool binaries (Debian package `prometheus`; .ci/run installs it)",
)

STEP = 30
SERVICES = ("frontend", "orders", "payments", "catalog")
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Shop:
    """Three hours up to five minutes ago; orders' latency jumps 25 minutes before now."""

    def __init__(self) -> None:
        self.end = float(int(time.time() // 60) * 60 - 300)
        self.start = self.end - 3 * 3600
        self.fault = self.end - 20 * 60
        self.ts = np.arange(self.start, self.end + 1, STEP, dtype=float)
        self.rng = np.random.default_rng(11)

    def openmetrics(self) -> str:
        lines = ["# TYPE http_requests counter"]
        for svc in SERVICES:
            for code, rate in (("200", 20.0), ("500", 0.05)):
                noisy = rate * (1 + 0.05 * self.rng.normal(size=len(self.ts)))
                total = np.cumsum(np.clip(noisy, 0, None) * STEP)
                lines += [f'http_requests_total{{service="{svc}",code="{code}"}} {v:.0f} {t:.0f}'
                          for t, v in zip(self.ts, total)]
        lines.append("# TYPE http_request_duration_seconds histogram")
        fast = np.array([0.55, 0.35, 0.08, 0.02, 0.0, 0.0, 0.0])
        slow = np.array([0.0, 0.02, 0.05, 0.13, 0.6, 0.2, 0.0])
        for svc in SERVICES:
            jitter = 1 + 0.05 * self.rng.normal(size=len(self.ts))
            shares = np.where(((self.ts >= self.fault) & (svc == "orders"))[:, None], slow, fast)
            per_bucket = shares * (20.0 * STEP) * jitter[:, None]
            cum = np.cumsum(np.cumsum(per_bucket, axis=1), axis=0)
            for j, le in enumerate([f"{b:g}" for b in BUCKETS] + ["+Inf"]):
                lines += [f'http_request_duration_seconds_bucket{{service="{svc}",le="{le}"}} {v:.0f} {t:.0f}'
                          for t, v in zip(self.ts, cum[:, j])]
            lines += [f'http_request_duration_seconds_count{{service="{svc}"}} {v:.0f} {t:.0f}'
                      for t, v in zip(self.ts, cum[:, -1])]
        lines.append("# TYPE process_resident_memory_bytes gauge")
        for svc in SERVICES:
            mem = 300e6 * (1 + 0.01 * self.rng.normal(size=len(self.ts)))
            lines += [f'process_resident_memory_bytes{{service="{svc}"}} {v:.0f} {t:.0f}' for t, v in zip(self.ts, mem)]
        lines.append("# TYPE ALERTS gauge")
        firing = self.ts[self.ts >= self.fault + 180]
        lines += [f'ALERTS{{alertname="HighLatency",alertstate="firing",service="orders",severity="page"}} 1 {t:.0f}'
                  for t in firing]
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def shop() -> Shop:
    return Shop()


@pytest.fixture(scope="module")
def live_prom(tmp_path_factory, shop):
    workdir = tmp_path_factory.mktemp("live_prom")
    (workdir / "shop.om").write_text(shop.openmetrics())
    data = workdir / "data"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(workdir / "shop.om"),
                    str(data)], check=True, capture_output=True, timeout=120)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_prometheus(workdir, data, port, [], lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    yield url
    stop(proc)


def run_copilot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "copilot", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(tmp_path / "cache")), LANCE_LOG="error")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    env.update(extra)
    return env


@needs_prometheus
def test_source_discovers_series_and_aggregates_on_the_server(live_prom, shop):
    source = PrometheusSource(PrometheusClient(live_prom))
    tel = source.collect(SourceQuery(shop.end - 7200, shop.end, (shop.end - 3600, shop.end)))
    by_metric = {(m.component, m.metric) for m in tel.metrics}
    assert ("orders", "http_request_duration_p90_seconds") in by_metric
    assert ("orders", "http_requests_total_rate") in by_metric
    assert ("orders", "http_requests_total_errors_rate") in by_metric
    assert {c for c, _ in by_metric} == set(SERVICES)
    # one series per component and metric crossed the wire, not one per bucket
    assert len(tel.metrics) == len(SERVICES) * 5  # p90, two request rates, 5xx rate, memory
    assert [(a.component, a.name) for a in tel.alerts] == [("orders", "HighLatency")]
    check = source.check()
    assert check.ok and "series" in check.detail


@needs_prometheus
def test_a_cap_on_series_is_said(live_prom, shop):
    source = PrometheusSource(PrometheusClient(live_prom), max_items=3)
    tel = source.collect(SourceQuery(shop.end - 7200, shop.end))
    assert len(tel.metrics) == 3 and "stopped at 3 series" in tel.meta["capped"]


@needs_prometheus
def test_query_investigates_the_configured_prometheus_not_the_demo(live_prom, shop, tmp_path):
    env = clean_env(tmp_path, COPILOT_PROMETHEUS_URL=live_prom)
    proc = run_copilot(["--query", "why is orders slow?", "--offline", "--format", "json", "--no-memory"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["data"]["demo"] is False
    assert [s["name"] for s in out["data"]["sources"]] == ["prometheus"]
    assert live_prom in out["data"]["label"]
    assert out["root_causes"][0]["component"] == "orders"
    alerts = [f for f in out["findings"] if f["source"] == "alerts"]
    assert alerts and alerts[0]["component"] == "orders" and "HighLatency" in alerts[0]["summary"]
    assert f"» data: Prometheus at {live_prom}" in proc.stderr.splitlines()[0]
    assert "bundled demo" not in proc.stdout and "catalogue" not in proc.stdout


@needs_prometheus
def test_data_beats_configured_sources(live_prom, tmp_path):
    from copilot.demo import generate

    data = tmp_path / "incident"
    generate(data, "memory_leak", "cart", seed=3)
    settings = load_settings({"data": str(data)}, env={"COPILOT_PROMETHEUS_URL": live_prom})
    from copilot.plugin_manager import load_plugins

    selection = select_sources(settings, load_plugins().source_factories)
    assert [s.name for s in selection.sources] == ["files"] and not selection.demo


@needs_prometheus
def test_a_question_naming_its_source_reads_that_source_only(live_prom, tmp_path):
    """--data holds a cart memory leak, Prometheus an orders latency incident: the question
    decides which one answers, and the trace says so."""
    from copilot.demo import generate

    data = tmp_path / "incident"
    generate(data, "memory_leak", "cart", seed=3)
    env = clean_env(tmp_path, COPILOT_PROMETHEUS_URL=live_prom)
    base = ["--offline", "--format", "json", "--no-memory", "--data", str(data)]
    local = run_copilot(["--query", "what is wrong?", *base], env, tmp_path)
    assert local.returncode == 0, local.stderr[-2000:]
    assert [s["name"] for s in json.loads(local.stdout)["data"]["sources"]] == ["files"]
    for question in ("what is wrong? answer from Prometheus", "用 prometheus 的数据看看出了什么问题"):
        proc = run_copilot(["--query", question, *base], env, tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout)
        assert [s["name"] for s in out["data"]["sources"]] == ["prometheus"] and out["data"]["named"] == ["prometheus"]
        assert out["root_causes"][0]["component"] == "orders"
        assert "cart" not in {f["component"] for f in out["findings"]}
        assert proc.stderr.splitlines()[0].startswith(
            f"» data: Prometheus at {live_prom} — only this source, as the question asks")


def test_a_named_source_that_is_not_configured_is_one_line(tmp_path):
    env = clean_env(tmp_path)
    proc = run_copilot(["--query", "orders 为什么变慢，请参考 prometheus 的数据源", "--offline", "--no-memory", "--quiet"],
                       env, tmp_path)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == ["copilot: error: the question asks for the prometheus data source, which is not configured; "
                     "set prometheus_url (COPILOT_PROMETHEUS_URL), or ask without naming a source"], proc.stderr


def test_nothing_configured_means_the_bundled_demo_said_everywhere(tmp_path):
    env = clean_env(tmp_path)
    proc = run_copilot(["--query", "what is wrong?", "--offline", "--format", "json", "--no-memory"], env, tmp_path)
    out = json.loads(proc.stdout)
    assert out["data"]["demo"] is True and out["data"]["label"].startswith("bundled demo")
    assert proc.stderr.splitlines()[0].startswith("» data: bundled demo")
    md = run_copilot(["--query", "what is wrong?", "--offline", "--format", "markdown", "--no-memory", "--quiet"],
                     env, tmp_path)
    assert "*Data*: bundled demo" in md.stdout


def test_an_unreachable_source_is_one_line_exit_1(tmp_path):
    env = clean_env(tmp_path, COPILOT_PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}")
    proc = run_copilot(["--query", "why is orders slow?", "--offline", "--no-memory", "--quiet"], env, tmp_path)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "prometheus_url" in lines[0] and "Traceback" not in proc.stderr


@needs_prometheus
def test_sources_command_checks_each_configured_source(live_prom, tmp_path):
    env = clean_env(tmp_path, COPILOT_PROMETHEUS_URL=live_prom)
    proc = run_copilot(["sources", "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["data"] == f"Prometheus at {live_prom}" and out["ok"] is True
    (check,) = out["sources"]
    assert check["name"] == "prometheus" and check["ok"] and "4 components" in check["detail"]
    bad = run_copilot(["sources"], clean_env(tmp_path, COPILOT_PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert bad.returncode == 1 and "prometheus  FAIL" in bad.stdout and "prometheus_url" in bad.stdout


@pytest.fixture(scope="module")
def live_am(tmp_path_factory, shop):
    from tests.test_live_alertmanager import BINARY, iso, start_alertmanager

    if not BINARY:
        pytest.skip("needs prometheus-alertmanager (Debian package; .ci/run installs it)")
    workdir = tmp_path_factory.mktemp("live_am")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_alertmanager(workdir, port, [], lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    alert = {"labels": {"alertname": "OrdersP90Slow", "service": "orders", "severity": "page"},
             "annotations": {"summary": "orders p90 latency above 400 ms"}, "startsAt": iso(shop.fault + 120)}
    httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()
    yield url
    stop(proc)


@needs_prometheus
def test_prometheus_and_alertmanager_together_cite_the_firing_alert(live_prom, live_am, tmp_path):
    env = clean_env(tmp_path, COPILOT_PROMETHEUS_URL=live_prom, COPILOT_ALERTMANAGER_URL=live_am)
    proc = run_copilot(["--query", "why is orders slow?", "--offline", "--format", "json", "--no-memory"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert sorted(s["name"] for s in out["data"]["sources"]) == ["alertmanager", "prometheus"]
    assert out["root_causes"][0]["component"] == "orders"
    cited = {f["id"]: f for f in out["findings"] if f["source"] == "alerts"}
    assert any("OrdersP90Slow" in f["summary"] for f in cited.values())
    assert "OrdersP90Slow" in json.dumps(out["report"])
