"""CloudWatch metric-registry entries (`source: cloudwatch`): live through boto3 against a local
HTTP server speaking the CloudWatch API (AWS JSON 1.0: POST /, X-Amz-Target
`GraniteServiceVersion20100801.GetMetricData`, epoch-second timestamps, NextToken pages), and
offline from saved `aws cloudwatch get-metric-data` output (ISO timestamps, newest first as the
CLI prints them by default). No network."""

from __future__ import annotations

import http.server
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")  # the [aws] extra; the test extra installs it

from copilot.cli import main  # noqa: E402
from copilot.config import Settings  # noqa: E402
from copilot.errors import CopilotError  # noqa: E402
from copilot.workflows.yamlspec import SpecError, parse_spec  # noqa: E402
from copilot.plugins.items.catalog import Catalog, parse_item, run_item  # noqa: E402
from tests.jsonserver import serve, stop  # noqa: E402

T0 = 1_790_000_000.0 - (1_790_000_000 % 60)
POINTS = 30
HOT_FROM = 24  # the last 6 minutes are hot
CPU = [35.0 + (i % 3) for i in range(HOT_FROM)] + [91.0 + i for i in range(POINTS - HOT_FROM)]
TIMES = [T0 + 60 * i for i in range(POINTS)]
WINDOW = (T0, T0 + 60 * POINTS)

ENTRY = """\
name: orders_db_cpu
kind: metric
description: CPU of the orders database
source: cloudwatch
params:
  db: {type: string, required: true}
namespace: AWS/RDS
metric: CPUUtilization
dimensions: {DBInstanceIdentifier: "${db}"}
statistic: Maximum
period: 60
normal: {max: 80}
meaning: {up: "queries queue on CPU; look at the top SQL"}
unit: "%"
component: ${db}
"""

RULES = """\
name: db_rules
kind: rules
description: database rules
params:
  db: {type: string, required: true}
rules:
  - {name: cpu_high, metric: orders_db_cpu, when: above, threshold: 85, for: 5m}
"""


class CloudWatch:
    """Answers GetMetricData in two pages (NextToken) and keeps every request."""

    def __init__(self, deny: bool = False) -> None:
        self.seen: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.deny = deny

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.deny:
            return 400, {"__type": "com.amazonaws.cloudwatch#AccessDenied",
                         "Message": "User is not authorized to perform: cloudwatch:GetMetricData"}
        (query,) = body["MetricDataQueries"]
        dims = {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}
        values = CPU if dims.get("DBInstanceIdentifier") == "orders-db" else [20.0] * POINTS
        half = POINTS // 2
        first = "NextToken" not in body
        part = slice(0, half) if first else slice(half, POINTS)
        page: dict[str, Any] = {"MetricDataResults": [{"Id": query["Id"], "Label": query["Label"], "StatusCode": "Complete",
                                                       "Timestamps": TIMES[part], "Values": values[part]}],
                                "Messages": []}
        if first:
            page["NextToken"] = "page-2"
        return 200, page


def handler(cw: CloudWatch) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {"target": self.headers.get("x-amz-target", ""), "type": self.headers.get("content-type", "")}
            body = json.loads(raw)
            cw.seen.append((headers, body))
            if headers["target"] != "GraniteServiceVersion20100801.GetMetricData":
                code, answer = 400, {"__type": "UnknownOperationException", "Message": headers["target"]}
            else:
                code, answer = cw.answer(body)
            out = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    return Handler


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "fake-secret",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)


def _parse(text: str, name: str = "x.yaml"):
    return parse_item(parse_spec(text, name))


def _live(url: str) -> Settings:
    return Settings(sources={"cloudwatch": {"region": "eu-west-1", "endpoint_url": url, "retries": 1}})


async def test_live_entry_asks_getmetricdata_and_reads_every_page(aws_env):
    cw = CloudWatch()
    server, url = serve(handler(cw))
    try:
        item = _parse(ENTRY)
        result = await run_item(item, {"db": "orders-db"}, WINDOW, settings=_live(url))
        calm = await run_item(item, {"db": "orders-db-replica"}, WINDOW, settings=_live(url))
    finally:
        stop(server)
    headers, asked = cw.seen[0]
    assert headers == {"target": "GraniteServiceVersion20100801.GetMetricData", "type": "application/x-amz-json-1.0"}
    assert asked["StartTime"] == WINDOW[0] and asked["EndTime"] == WINDOW[1]
    stat = asked["MetricDataQueries"][0]["MetricStat"]
    assert stat == {"Metric": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization",
                               "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]},
                    "Period": 60, "Stat": "Maximum"}
    assert cw.seen[1][1]["NextToken"] == "page-2"  # the second page was fetched
    (f,) = result.findings
    assert f.component == "orders-db" and f.source == "metrics" and f.details.direction == "up"
    assert f.onset == TIMES[HOT_FROM] and f.details.values == CPU[HOT_FROM:]
    assert "outside the normal range (< 80.0) for 6 of 30 points" in f.summary
    assert "rising: queries queue on CPU" in f.summary
    assert result.request["source"] == "cloudwatch"
    assert result.request["query"] == "AWS/RDS CPUUtilization Maximum/60s DBInstanceIdentifier=orders-db"
    assert calm.findings == [] and len(calm.series[0]["points"]) == POINTS


async def test_rule_group_over_a_cloudwatch_entry(aws_env):
    cw = CloudWatch()
    server, url = serve(handler(cw))
    try:
        catalog = Catalog({"orders_db_cpu": _parse(ENTRY), "db_rules": _parse(RULES)})
        catalog.check_references()
        result = await run_item(catalog.get("db_rules"), {"db": "orders-db"}, WINDOW, settings=_live(url), catalog=catalog)
    finally:
        stop(server)
    (f,) = result.findings
    assert f.details.rule == "cpu_high" and f.details.values == CPU[HOT_FROM:]
    assert f.details.times == TIMES[HOT_FROM:]


async def test_a_refusal_is_one_line_naming_the_permission(aws_env):
    server, url = serve(handler(CloudWatch(deny=True)))
    try:
        with pytest.raises(CopilotError) as err:
            await run_item(_parse(ENTRY), {"db": "orders-db"}, WINDOW, settings=_live(url))
    finally:
        stop(server)
    assert str(err.value).startswith("AWS refused CloudWatch GetMetricData for item orders_db_cpu (AccessDenied)")
    assert "\n" not in str(err.value)


def _save_cli_output(root: Path) -> None:
    """What `aws cloudwatch get-metric-data ... > cloudwatch/orders-db/cpu.json` leaves: ISO
    timestamps, newest first (the CLI's default ScanBy)."""
    folder = root / "cloudwatch" / "orders-db"
    folder.mkdir(parents=True)
    iso = [datetime.fromtimestamp(t, tz=timezone.utc).isoformat() for t in TIMES]
    doc = {"MetricDataResults": [
        {"Id": "m0", "Label": "CPUUtilization", "Timestamps": iso[::-1], "Values": CPU[::-1], "StatusCode": "Complete"},
        {"Id": "m1", "Label": "FreeableMemory", "Timestamps": iso[::-1], "Values": [1e9] * POINTS, "StatusCode": "Complete"}],
        "Messages": []}
    (folder / "cpu.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")


def test_offline_entry_reads_saved_cli_output_through_items_run(tmp_path, capsys, monkeypatch):
    conf = Path(__import__("os").environ["XDG_CONFIG_HOME"]) / "sre-copilot" / "items"
    conf.mkdir(parents=True)
    (conf / "orders-db-cpu.yaml").write_text(ENTRY, encoding="utf-8")
    _save_cli_output(tmp_path / "incident")
    start = datetime.fromtimestamp(WINDOW[0], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    end = datetime.fromtimestamp(WINDOW[1], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COPILOT_TIMEZONE", "UTC")
    code = main(["items", "run", "orders_db_cpu", "--param", "db=orders-db", "--data", str(tmp_path / "incident"),
                 "--since", start, "--until", end, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (f,) = json.loads(out)["findings"]
    assert f["component"] == "orders-db" and f["details"]["values"] == CPU[HOT_FROM:]
    assert f["onset"] == TIMES[HOT_FROM]


async def test_offline_without_the_resource_finds_nothing(tmp_path):
    _save_cli_output(tmp_path)
    result = await run_item(_parse(ENTRY), {"db": "payments-db"}, WINDOW, settings=Settings(data=str(tmp_path)))
    assert result.findings == [] and result.series == []


@pytest.mark.parametrize("change, where", [
    (("statistic: Maximum", "statistic: Biggest"), "x.yaml:10: statistic: use one of: Average"),
    (("period: 60", "period: 45"), "x.yaml:11: period: must be 1, 5, 10, 30 or a multiple of 60 seconds"),
    (('"${db}"', '"${dbname}"'), "x.yaml:9: dimensions: ${dbname} is not a parameter"),
    (("namespace: AWS/RDS\n", "query: up\nnamespace: AWS/RDS\n"), "x.yaml:7: query: a cloudwatch metric has no query"),
    (("source: cloudwatch", "source: prometheus\nquery: up"), "x.yaml:8: namespace: only a cloudwatch metric has namespace"),
])
def test_bad_cloudwatch_entries_name_line_and_field(change, where):
    with pytest.raises(SpecError) as err:
        _parse(ENTRY.replace(*change))
    assert str(err.value).startswith(where)
