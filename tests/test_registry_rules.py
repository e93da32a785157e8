"""Metric registry entries and rule groups against real servers: an InfluxDB 1.x (Debian
`influxdb`) started on a free port with a temporary config and fed over HTTP /write, and a
Prometheus (Debian `prometheus`) backfilled with promtool, as tests/test_prometheus_source.py does."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from copilot.config import Settings
from copilot.workflows.yamlspec import parse_spec
from copilot.plugins.items.catalog import Catalog, parse_item, run_item
from tests.test_prometheus_source import free_port, start_prometheus, stop

STEP = 60
END = float(int(time.time() // 60) * 60 - 600)
START = END - 3600
BAD_FROM = END - 8 * STEP  # the last 9 minutes of n2 are hot


def _wait(proc: subprocess.Popen, log: Path, probe, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if probe():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not answer in 20 s")


@pytest.fixture(scope="module")
def influx(tmp_path_factory):
    if not shutil.which("influxd"):
        pytest.skip("needs influxd (Debian package `influxdb`; .ci/run installs it)")
    work = tmp_path_factory.mktemp("influx")
    port, rpc = free_port(), free_port()
    conf = work / "influxdb.conf"
    conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{work}/meta"
  logging-enabled = false
[data]
  dir = "{work}/data"
  wal-dir = "{work}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[continuous_queries]
  enabled = false
""")
    log = work / "influxd.log"
    proc = subprocess.Popen(["influxd", "-config", str(conf)], stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    _wait(proc, log, lambda: httpx.get(f"{url}/ping", timeout=1).status_code == 204, "influxd")
    httpx.post(f"{url}/query", data={"q": "CREATE DATABASE metrics"}, timeout=10).raise_for_status()
    lines = []
    t, i = START, 0
    while t <= END:
        i += 1
        for node in ("n1", "n2", "n3"):
            value = 95.0 + (t - BAD_FROM) / 60 if node == "n2" and t >= BAD_FROM else 40.0 + i % 3
            lines.append(f"escloud_es_pod,escluster=es1,node={node} value={value} {int(t)}")
        lines.append(f"escloud_es_pod,escluster=es2,node=m1 value=20 {int(t)}")
        t += STEP
    r = httpx.post(f"{url}/write", params={"db": "metrics", "precision": "s"}, content="\n".join(lines), timeout=30)
    assert r.status_code == 204, r.text
    yield url
    stop(proc)


CPU_ITEM = """\
name: es_pod_cpu
kind: metric
description: ES pod CPU usage
source: influxdb
database: metrics
params:
  escluster: {type: string, required: true}
query: SELECT max("value") FROM "escloud_es_pod" WHERE "escluster" = '${escluster}' AND $timeFilter GROUP BY time(1m), "node"
tags: {escluster: "${escluster}"}
drilldown: node
normal: {max: 85}
meaning: {up: "CPU使用率过高: find the hot nodes, then machine or workload", down: ""}
link: https://grafana.example/d/es?var-cluster=${escluster}
unit: "%"
component: ${escluster}
"""

RULES = """\
name: es_rules
kind: rules
description: ES CPU rules
params:
  escluster: {type: string, required: true}
component: ${escluster}
rules:
  - name: cpu_high
    metric: es_pod_cpu
    when: above
    threshold: 85
    for: 5m
    summary: CPU above 85% for 5 consecutive minutes
  - name: cpu_very_long
    metric: es_pod_cpu
    when: above
    threshold: 85
    for: 30m
  - name: cpu_climbing
    metric: es_pod_cpu
    when: rate_above
    threshold: 0.5
    points: 3
"""


def _parse(text: str, name: str = "x.yaml"):
    return parse_item(parse_spec(text, name))


def _settings(**sources) -> Settings:
    return Settings(sources={k: {"url": v} for k, v in sources.items()})


async def test_influx_metric_finds_the_hot_node_with_the_registry_meaning(influx):
    item = _parse(CPU_ITEM)
    result = await run_item(item, {"escluster": "es1"}, (START, END), settings=_settings(influxdb=influx))
    assert len(result.findings) == 1
    f = result.findings[0]
    assert f.component == "es1" and f.source == "metrics" and f.details.direction == "up"
    assert "CPU使用率过高" in f.summary and "n2" in f.summary and "< 85" in f.summary
    assert result.drilldown == ["n2"]
    assert f.onset == BAD_FROM and f.details.values[0] == 95.0
    assert len(f.details.times) == 9
    assert f.details.link == "https://grafana.example/d/es?var-cluster=es1"
    calm = await run_item(item, {"escluster": "es2"}, (START, END), settings=_settings(influxdb=influx))
    assert calm.findings == [] and len(calm.series) == 1


async def test_rule_group_over_influx_fires_with_values_and_times(influx):
    catalog = Catalog({"es_pod_cpu": _parse(CPU_ITEM), "es_rules": _parse(RULES)})
    catalog.check_references()
    result = await run_item(catalog.get("es_rules"), {"escluster": "es1"}, (START, END),
                            settings=_settings(influxdb=influx), catalog=catalog)
    by_rule = {}
    for f in result.findings:
        by_rule.setdefault(f.details.rule, []).append(f)
    assert set(by_rule) == {"cpu_high", "cpu_climbing"}  # 9 hot minutes are not 30
    high = by_rule["cpu_high"][0]
    assert high.component == "n2" and high.onset == BAD_FROM
    assert high.details.times == [BAD_FROM + i * STEP for i in range(9)]
    assert high.details.values == [95.0 + i for i in range(9)]
    assert high.summary.startswith("CPU above 85% for 5 consecutive minutes")
    assert [f.component for f in by_rule["cpu_climbing"]] == ["n2"]  # 40, 41, 42, 40 ... never 3 rises in a row
    assert result.drilldown == ["n2"]


async def test_absent_rule_and_a_bad_query_are_clear(influx):
    missing = _parse(CPU_ITEM.replace("name: es_pod_cpu", "name: gone").replace("escloud_es_pod", "no_such_measurement"))
    rules = _parse("name: r\nkind: rules\ndescription: d\nparams: {escluster: {type: string, required: true}}\n"
                   "rules:\n  - {name: quiet, metric: gone, when: absent}\n")
    catalog = Catalog({"gone": missing, "r": rules})
    result = await run_item(rules, {"escluster": "es1"}, (START, END), settings=_settings(influxdb=influx), catalog=catalog)
    assert [f.kind for f in result.findings] == ["absent"]
    broken = _parse(CPU_ITEM.replace('SELECT max("value")', "SELEC max(value)"))
    with pytest.raises(Exception, match="InfluxQL error"):
        await run_item(broken, {"escluster": "es1"}, (START, END), settings=_settings(influxdb=influx))


def test_rule_referencing_an_unknown_metric_names_the_line():
    from copilot.workflows.yamlspec import SpecError

    catalog = Catalog({"es_rules": _parse(RULES, "/t/rules.yaml")})
    with pytest.raises(SpecError) as err:
        catalog.check_references()
    assert str(err.value).startswith("/t/rules.yaml:9: rules[0].metric: no metric or item named 'es_pod_cpu'")


# -- Prometheus ---------------------------------------------------------------------------

PENDING = """\
name: pending_pods
kind: metric
description: Pending pods in the cluster
source: prometheus
params:
  cluster: {type: string, required: true}
query: pending_pods{cluster="${cluster}", status="Pending"}
tags: {cluster: "${cluster}", status: Pending}
drilldown: psm
aggregate: sum
normal: {max: 10}
meaning: {up: "pods wait for resources: investigate and intervene now", down: "recovering: watch until 0"}
component: ${cluster}
"""


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip("needs prometheus and promtool (Debian package `prometheus`; .ci/run installs it)")
    work = tmp_path_factory.mktemp("prom_registry")
    lines = ["# TYPE pending_pods gauge"]
    for psm in ("svc.a", "svc.b", "svc.c"):
        t = START - 3600
        while t <= END:
            v = 25 if psm == "svc.b" and t >= END - 15 * STEP else 1
            lines.append(f'pending_pods{{cluster="c1",status="Pending",psm="{psm}"}} {v} {t:.0f}')
            t += STEP
    lines.append("# EOF")
    (work / "h.om").write_text("\n".join(lines) + "\n")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(work / "h.om"),
                    str(work / "data")], check=True, capture_output=True, timeout=60)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_prometheus(work, work / "data", port, [], lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    yield url
    stop(proc)


async def test_prometheus_metric_drills_down_to_the_psm(prom):
    item = _parse(PENDING)
    result = await run_item(item, {"cluster": "c1"}, (START, END), settings=Settings(prometheus_url=prom))
    assert len(result.findings) == 1
    f = result.findings[0]
    assert f.component == "c1" and f.details.value == 27.0  # 25 + 1 + 1
    assert "pods wait for resources" in f.summary and result.drilldown == ["svc.b"]
    assert f.onset == END - 15 * STEP
    calm = await run_item(item, {"cluster": "c2"}, (START, END), settings=Settings(prometheus_url=prom))
    assert calm.findings == [] and calm.series == []


async def test_rule_over_prometheus_metric(prom):
    rules = _parse("name: pod_rules\nkind: rules\ndescription: d\nparams: {cluster: {type: string, required: true}}\n"
                   "rules:\n  - {name: many_pending, metric: pending_pods, when: above, threshold: 10, for: 10m}\n")
    catalog = Catalog({"pending_pods": _parse(PENDING), "pod_rules": rules})
    result = await run_item(rules, {"cluster": "c1"}, (START, END), settings=Settings(prometheus_url=prom), catalog=catalog)
    assert [f.component for f in result.findings] == ["svc.b"]
    assert result.findings[0].details.values == [25.0] * 16
