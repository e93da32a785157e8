"""The live `cloudwatch` source through boto3 against recorded AWS API answers served from a
local HTTP server (boto3's endpoint_url pointed at it, fake credentials): CloudWatch speaks
the AWS JSON 1.0 protocol and Performance Insights JSON 1.1 (X-Amz-Target names the
operation; times are epoch seconds), RDS the query protocol with XML answers. The server checks what was asked (the instance, the window, the
metrics) and answers in the services' shapes; a refusal is one line."""

from __future__ import annotations

import http.server
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import pytest

boto3 = pytest.importorskip("boto3")  # the [aws] extra; the test extra installs it

from copilot.config import load_settings  # noqa: E402
from copilot.errors import CopilotError  # noqa: E402
from copilot.sources import SourceQuery  # noqa: E402
from copilot.plugins.cloud.detect import detect_database_faults  # noqa: E402
from copilot.plugins.cloud.plugin import cloud_source  # noqa: E402
from tests.aws_states import DB, MINUTES, ONSET, T0, curve, minutes  # noqa: E402
from tests.jsonserver import serve, stop  # noqa: E402

DBI = "db-LKCGOBK26374TPTDFXOIWVCPPM"
CPU = curve(22.0, lambda m: 97.0)
CONNS = curve(120.0)


def dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


class Aws:
    """Recorded answers per operation; every request kept for assertions."""

    def __init__(self, deny: str = "") -> None:
        self.seen: list[tuple[str, Any]] = []
        self.deny = deny

    def metric_data(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for q in body["MetricDataQueries"]:
            name = q["MetricStat"]["Metric"]["MetricName"]
            values = {"CPUUtilization": CPU, "DatabaseConnections": CONNS}.get(name)
            results.append({"Id": q["Id"], "Label": q["Label"], "StatusCode": "Complete",
                            "Timestamps": [dt(t) for t in minutes()] if values else [], "Values": values or []})
        return {"MetricDataResults": results, "Messages": []}

    def resource_metrics(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"AlignedStartTime": dt(T0), "AlignedEndTime": dt(T0 + MINUTES * 60), "Identifier": DBI,
                "MetricList": [{"Key": {"Metric": "db.load.avg"},
                                "DataPoints": [{"Timestamp": dt(t), "Value": 0.5 if t < ONSET else 3.9} for t in minutes()]}]}

    def dimension_keys(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["GroupBy"]["Group"] == "db.sql_tokenized":
            keys = [{"Dimensions": {"db.sql_tokenized.statement": "SELECT * FROM orders WHERE lower(customer_email) = ?",
                                    "db.sql_tokenized.id": "A1B2C3"}, "Total": 3.5},
                    {"Dimensions": {"db.sql_tokenized.statement": "SELECT 1", "db.sql_tokenized.id": "D4"}, "Total": 0.1}]
        else:
            keys = [{"Dimensions": {"db.wait_event.name": "CPU", "db.wait_event.type": "CPU"}, "Total": 3.6}]
        return {"AlignedStartTime": dt(ONSET), "AlignedEndTime": dt(T0 + MINUTES * 60), "Keys": keys}


def rds_xml(action: str, inner: str) -> bytes:
    return (f'<{action}Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><{action}Result>{inner}'
            f"</{action}Result><ResponseMetadata><RequestId>5e9a1c2d-0000-4000-8000-000000000000</RequestId>"
            f"</ResponseMetadata></{action}Response>").encode()


EVENTS = rds_xml("DescribeEvents", "<Events><Event><SourceIdentifier>orders-db</SourceIdentifier>"
                 "<SourceType>db-instance</SourceType><Message>Finished DB Instance backup</Message>"
                 "<EventCategories><EventCategory>backup</EventCategory></EventCategories>"
                 "<Date>2026-11-20T10:36:00.000Z</Date><SourceArn>arn:aws:rds:eu-west-1:123456789012:db:orders-db</SourceArn>"
                 "</Event></Events>")
INSTANCES = rds_xml("DescribeDBInstances", "<DBInstances><DBInstance><DBInstanceIdentifier>orders-db</DBInstanceIdentifier>"
                    f"<DBInstanceStatus>available</DBInstanceStatus><DbiResourceId>{DBI}</DbiResourceId>"
                    "<Engine>postgres</Engine><PerformanceInsightsEnabled>true</PerformanceInsightsEnabled>"
                    "</DBInstance></DBInstances>")


def handler(aws: Aws) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            target = self.headers.get("x-amz-target", "")
            if target:  # CloudWatch (JSON 1.0) and Performance Insights (JSON 1.1): X-Amz-Target names the operation
                op = target.rsplit(".", 1)[-1]
                body = json.loads(raw) if raw else {}
                aws.seen.append((op, body))
                ctype = self.headers.get("content-type", "application/x-amz-json-1.1")
                if op == aws.deny:
                    err = {"__type": "NotAuthorizedException", "Message": "User is not authorized to perform this action"}
                    return self.reply(400, json.dumps(err).encode(), ctype)
                answer = {"GetMetricData": aws.metric_data, "GetResourceMetrics": aws.resource_metrics,
                          "DescribeDimensionKeys": aws.dimension_keys}[op](body)
                return self.reply(200, json.dumps(answer, default=lambda d: d.timestamp()).encode(), ctype)
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}  # RDS: the query protocol, XML answers
            aws.seen.append((form["Action"], form))
            answer = {"DescribeEvents": EVENTS, "DescribeDBInstances": INSTANCES}[form["Action"]]
            self.reply(200, answer, "text/xml")

    return Handler


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "fake-secret",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)


def open_live(url: str):
    env = {"COPILOT_CLOUDWATCH_RESOURCES": DB, "COPILOT_CLOUDWATCH_REGION": "eu-west-1",
           "COPILOT_CLOUDWATCH_ENDPOINT_URL": url, "COPILOT_CLOUDWATCH_RETRIES": "1"}
    return cloud_source(load_settings({}, env=env))


def test_live_source_reads_metrics_events_and_insights_through_boto3(aws_env):
    aws = Aws()
    server, url = serve(handler(aws))
    try:
        source = open_live(url)
        assert source.live and source.label == f"AWS CloudWatch, RDS and Performance Insights in eu-west-1 ({DB})"
        query = SourceQuery(T0, T0 + MINUTES * 60, (ONSET - 900, T0 + MINUTES * 60))
        tel = source.collect(query)
        assert source.check().detail == f"reachable, 1 DB instances ({DB} available); Performance Insights on: {DB}"
    finally:
        stop(server)
    ops = [op for op, _ in aws.seen]
    assert ops[:5] == ["GetMetricData", "DescribeEvents", "DescribeDBInstances", "GetResourceMetrics", "DescribeDimensionKeys"]
    asked = aws.seen[0][1]
    assert asked["StartTime"] == T0 and asked["EndTime"] == T0 + MINUTES * 60
    metric = asked["MetricDataQueries"][0]["MetricStat"]
    assert metric["Metric"] == {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization",
                                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": DB}]}
    assert aws.seen[1][1]["SourceIdentifier"] == DB and aws.seen[3][1]["Identifier"] == DBI
    assert {b["GroupBy"]["Group"] for op, b in aws.seen if op == "DescribeDimensionKeys"} == {"db.sql_tokenized", "db.wait_event"}
    cpu = next(m for m in tel.metrics if m.metric == "CPUUtilization")
    assert cpu.component == DB and len(cpu.timestamps) == MINUTES and cpu.values[-1] == 97.0
    assert [c.description for c in tel.changes] == ["Finished DB Instance backup"]
    assert tel.meta["database"] == [DB] and tel.meta["pi_top"][0]["name"].startswith("SELECT * FROM orders")
    (finding,) = detect_database_faults(tel, query.window, (T0, ONSET - 900), lambda p: p + "1")
    assert finding.kind == "db_cpu_query" and finding.details.top_sql[0]["total"] == 3.5


def test_a_refused_permission_is_one_line_naming_it(aws_env):
    aws = Aws(deny="GetResourceMetrics")
    server, url = serve(handler(aws))
    try:
        with pytest.raises(CopilotError) as err:
            open_live(url).collect(SourceQuery(T0, T0 + MINUTES * 60))
    finally:
        stop(server)
    assert str(err.value).startswith(f"AWS refused Performance Insights GetResourceMetrics for {DB} (NotAuthorizedException); "
                                     "grant the read-only permission")


def test_missing_region_and_resources_are_config_errors(aws_env):
    with pytest.raises(CopilotError, match="no AWS region; set cloudwatch_region"):
        cloud_source(load_settings({}, env={"COPILOT_CLOUDWATCH_RESOURCES": DB})).collect(SourceQuery(T0, T0 + 60))
    with pytest.raises(CopilotError, match="cloudwatch_period must be"):
        cloud_source(load_settings({}, env={"COPILOT_CLOUDWATCH_RESOURCES": DB, "COPILOT_CLOUDWATCH_PERIOD": "45"}))
