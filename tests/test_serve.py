"""`copilot serve`: alert webhooks -> one saved investigation -> one chat delivery, over real
HTTP (uvicorn on 127.0.0.1, a local webhook receiver), on the offline demo incident."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

import httpx  # noqa: E402

from copilot.cli import main  # noqa: E402
from copilot.config import load_settings  # noqa: E402
from copilot.demo import ensure_demo  # noqa: E402
from copilot.service.app import create_app  # noqa: E402
from tests.serve_helpers import Receiver, Served, alertmanager_payload, wait_for  # noqa: E402

TOKEN = "s3rve-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (labels in any order); 0 when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture
def demo():
    return ensure_demo()


def serve_settings(demo, receiver_url: str, **extra):
    return load_settings({"data": str(demo), "offline": True, "memory": False,
                          "notify_webhook_url": receiver_url, **extra})


def idle(base: str) -> bool:
    return httpx.get(f"{base}/healthz", headers=AUTH).json()["queue_depth"] == 0


def test_alert_posted_three_times_runs_once_saves_session_and_delivers_once(demo, tmp_path, capsys):
    truth = json.loads((demo / "incident.json").read_text())
    payload = alertmanager_payload(demo)
    with Receiver() as hook:
        app = create_app(serve_settings(demo, hook.url), token=TOKEN, ledger=tmp_path / "seen.txt")
        with Served(app) as srv:
            answers = [httpx.post(f"{srv.url}/alerts/alertmanager", json=payload, headers=AUTH) for _ in range(3)]
            assert [a.status_code for a in answers] == [202, 202, 202]
            assert answers[0].json()["queued"] is True
            assert [a.json()["duplicates"] for a in answers[1:]] == [1, 1]
            wait_for(lambda: hook.messages and idle(srv.url), 120, "the delivered report")
            metrics = httpx.get(f"{srv.url}/metrics", headers=AUTH).text
    assert len(hook.messages) == 1
    msg = hook.messages[0]
    assert {"session_id", "verdict", "root_causes", "report"} <= set(msg)
    assert msg["verdict"] == "fault"
    assert msg["root_causes"][0]["component"] == truth["component"]
    assert msg["root_causes"][0]["fault_type"] == truth["fault_kind"]
    assert "HighLatency" in msg["question"] and "2024-05-14 13:29 UTC" in msg["question"]
    assert msg["report"].startswith("# Incident report")
    assert msg["remediation"]["component"] == truth["component"] and msg["remediation"]["risk"] == "write"
    assert metric(metrics, "copilot_serve_alerts_received_total", source="alertmanager") == 3
    assert metric(metrics, "copilot_serve_alerts_duplicate_total", source="alertmanager") == 2
    assert metric(metrics, "copilot_serve_investigations_total", outcome="answered") == 1
    assert metric(metrics, "copilot_serve_investigation_duration_seconds_count") == 1
    assert metric(metrics, "copilot_serve_deliveries_total", target="webhook", outcome="ok") == 1
    assert metric(metrics, "copilot_serve_queue_depth") == 0
    # the session is saved where `copilot sessions list` finds it
    capsys.readouterr()
    assert main(["sessions", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == [msg["session_id"]]
    assert listed[0]["root_cause"].startswith(truth["component"])


def test_seen_alerts_survive_a_restart(demo, tmp_path):
    ledger = tmp_path / "seen.txt"
    payload = alertmanager_payload(demo)
    with Receiver() as hook:
        for _ in range(2):
            app = create_app(serve_settings(demo, hook.url), token=TOKEN, ledger=ledger)
            with Served(app) as srv:
                httpx.post(f"{srv.url}/alerts/alertmanager", json=payload, headers=AUTH).raise_for_status()
                wait_for(lambda: hook.messages and idle(srv.url), 120, "the delivered report")
    assert len(hook.messages) == 1


def test_every_endpoint_needs_the_token(demo, tmp_path):
    app = create_app(serve_settings(demo, ""), token=TOKEN, ledger=tmp_path / "seen.txt")
    with Served(app) as srv:
        for method, path in (("GET", "/healthz"), ("GET", "/metrics"), ("POST", "/alerts/alertmanager"),
                             ("POST", "/alerts/grafana"), ("GET", "/sessions/x/report")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                r = httpx.request(method, srv.url + path, headers=headers, json={} if method == "POST" else None)
                assert r.status_code == 401, (method, path, headers)
                assert r.headers["www-authenticate"] == "Bearer"
        health = httpx.get(f"{srv.url}/healthz", headers=AUTH)
        assert health.status_code == 200 and health.json() == {"status": "ok", "queue_depth": 0}
        metrics = httpx.get(f"{srv.url}/metrics", headers=AUTH).text
    assert metric(metrics, "copilot_serve_requests_rejected_total", reason="unauthorized") == 15


def test_oversized_and_malformed_bodies_are_refused(demo, tmp_path):
    app = create_app(serve_settings(demo, ""), token=TOKEN, max_body=4096, ledger=tmp_path / "seen.txt")
    big = b'{"alerts": [' + b" " * 5000 + b"]}"
    with Served(app) as srv:
        declared = httpx.post(f"{srv.url}/alerts/alertmanager", content=big, headers=AUTH)
        assert declared.status_code == 413

        def chunks():
            for i in range(0, len(big), 1000):
                yield big[i:i + 1000]

        streamed = httpx.post(f"{srv.url}/alerts/alertmanager", content=chunks(), headers=AUTH)
        assert streamed.status_code == 413
        bad = httpx.post(f"{srv.url}/alerts/alertmanager", content=b"{not json", headers=AUTH)
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
        empty = httpx.post(f"{srv.url}/alerts/alertmanager", json={"alerts": []}, headers=AUTH)
        assert empty.status_code == 400 and "alerts" in empty.json()["error"]
        nameless = httpx.post(f"{srv.url}/alerts/grafana", json={"alerts": [{"labels": {}}]}, headers=AUTH)
        assert nameless.status_code == 400 and "alertname" in nameless.json()["error"]
        assert idle(srv.url)


def test_grafana_webhook_investigates_too(demo, tmp_path):
    payload = alertmanager_payload(demo)
    payload.update({"orgId": 1, "title": "[FIRING:1] HighLatency", "state": "alerting", "message": "latency",
                    "version": "1", "groupKey": "{}/{}:{alertname=\"HighLatency\"}"})
    payload["alerts"][0].update({"values": {"B": 0.31}, "valueString": "[ var='B' value=0.31 ]"})
    with Receiver() as hook:
        app = create_app(serve_settings(demo, hook.url), token=TOKEN, ledger=tmp_path / "seen.txt")
        with Served(app) as srv:
            r = httpx.post(f"{srv.url}/alerts/grafana", json=payload, headers=AUTH)
            assert r.status_code == 202 and r.json()["queued"]
            wait_for(lambda: hook.messages and idle(srv.url), 120, "the delivered report")
            report = httpx.get(f"{srv.url}/sessions/{hook.messages[0]['session_id']}/report", headers=AUTH)
    assert len(hook.messages) == 1 and hook.messages[0]["verdict"] == "fault"
    assert report.status_code == 200 and report.text == hook.messages[0]["report"]


def test_resolved_alert_starts_no_investigation(demo, tmp_path):
    with Receiver() as hook:
        app = create_app(serve_settings(demo, hook.url), token=TOKEN, ledger=tmp_path / "seen.txt")
        with Served(app) as srv:
            r = httpx.post(f"{srv.url}/alerts/alertmanager", json=alertmanager_payload(demo, "resolved"), headers=AUTH)
            assert r.status_code == 202 and r.json()["queued"] is False and r.json()["new"] == 1
            assert idle(srv.url)
    assert hook.messages == []


def test_serve_refuses_to_start_without_a_token(capsys):
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "COPILOT_SERVE_TOKEN" in err and "Traceback" not in err
    assert main(["serve", "--port", "0", "--no-auth", "--host", "0.0.0.0"]) == 1
    assert "loopback" in capsys.readouterr().err


def test_failed_investigation_is_delivered_as_a_failure_and_counted(tmp_path):
    gone = tmp_path / "unmounted-telemetry"
    gone.mkdir()
    with Receiver() as hook:
        app = create_app(serve_settings(gone, hook.url), token=TOKEN, ledger=tmp_path / "seen.txt")
        gone.rmdir()  # the data went away after the service started
        with Served(app) as srv:
            payload = alertmanager_payload(ensure_demo())
            assert httpx.post(f"{srv.url}/alerts/alertmanager", json=payload, headers=AUTH).status_code == 202
            wait_for(lambda: hook.messages and idle(srv.url), 120, "the failure report")
            metrics = httpx.get(f"{srv.url}/metrics", headers=AUTH).text
    (msg,) = hook.messages
    assert msg["verdict"] == "unknown" and msg["root_causes"] == []
    assert msg["summary"].startswith("The investigation failed") and "no such directory" in msg["summary"]
    assert metric(metrics, "copilot_serve_investigation_failures_total") == 1
    assert metric(metrics, "copilot_serve_investigations_total", outcome="failed") == 1
