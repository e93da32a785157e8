"""The real thing: a real Alertmanager (Debian `prometheus-alertmanager`) whose webhook
receiver is `copilot serve` (the real CLI in a subprocess). An alert posted to
Alertmanager's v2 API leads to one saved session and one message at a local webhook
receiver, even though Alertmanager repeats the notification every couple of seconds."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

import httpx  # noqa: E402

from copilot.cli import main  # noqa: E402
from copilot.demo import ensure_demo  # noqa: E402
from tests.serve_helpers import Receiver, demo_alert, wait_for  # noqa: E402
from tests.test_serve import metric  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
TOKEN = "am-to-copilot-token"

pytestmark = pytest.mark.skipif(ALERTMANAGER is None, reason="Alertmanager is not installed "
                                "(Debian package prometheus-alertmanager; .ci/run installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tmp_path: Path, demo: Path, hook_url: str) -> tuple[subprocess.Popen, str, Path]:
    log = tmp_path / "serve.log"
    env = {**os.environ, "COPILOT_SERVE_TOKEN": TOKEN, "COPILOT_NOTIFY_WEBHOOK_URL": hook_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot", "serve", "--port", "0", "--data", str(demo), "--offline", "--no-memory"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))

    def listening() -> str | None:
        if proc.poll() is not None:
            raise AssertionError(f"copilot serve exited: {log.read_text()}")
        found = re.search(r"listening on (http://\S+)", log.read_text())
        return found.group(1) if found else None

    return proc, wait_for(listening, 60, "copilot serve to listen"), log


def start_alertmanager(tmp_path: Path, serve_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(f"""
route:
  receiver: copilot
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: copilot
    webhook_configs:
      - url: {serve_url}/alerts/alertmanager
        send_resolved: false
        http_config:
          authorization:
            type: Bearer
            credentials: {TOKEN}
""", encoding="utf-8")
    log = tmp_path / "alertmanager.log"
    proc = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"alertmanager exited: {log.read_text()}")
        try:
            return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 30, "alertmanager to be ready")
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_alertmanager_to_copilot_serve_delivers_once_despite_repeats(tmp_path, capsys):
    demo = ensure_demo()
    truth = json.loads((demo / "incident.json").read_text())
    alert = demo_alert(demo)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with Receiver() as hook:
        serve, serve_url, serve_log = start_serve(tmp_path, demo, hook.url)
        am = None
        try:
            am, am_url = start_alertmanager(tmp_path, serve_url)
            ends = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
            posted = httpx.post(f"{am_url}/api/v2/alerts", json=[{
                "labels": {"alertname": alert["name"], "service": alert["component"], "severity": alert["severity"]},
                "annotations": {"description": alert["description"]},
                "startsAt": alert["timestamp"], "endsAt": ends,
            }])
            assert posted.status_code == 200, posted.text

            def repeated_after_delivery() -> bool:
                text = httpx.get(f"{serve_url}/metrics", headers=auth).text
                # delivered, and Alertmanager has since sent the same group at least twice more
                return bool(hook.messages) and metric(text, "copilot_serve_alerts_duplicate_total",
                                                      source="alertmanager") >= 2
            wait_for(repeated_after_delivery, 120, "delivery and two repeats from Alertmanager")
            metrics = httpx.get(f"{serve_url}/metrics", headers=auth).text
            health = httpx.get(f"{serve_url}/healthz", headers=auth).json()
        finally:
            if am is not None:
                stop(am)
            stop(serve)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal for the default exit status
    assert serve.returncode in (0, -signal.SIGTERM) and "Traceback" not in serve_log.read_text(), serve_log.read_text()
    assert len(hook.messages) == 1
    msg = hook.messages[0]
    assert msg["verdict"] == "fault" and msg["root_causes"][0]["component"] == truth["component"]
    assert msg["alerts"][0]["name"] == alert["name"]
    assert metric(metrics, "copilot_serve_investigations_total", outcome="answered") == 1
    assert metric(metrics, "copilot_serve_alerts_received_total", source="alertmanager") >= 3
    assert health["queue_depth"] == 0
    capsys.readouterr()
    assert main(["sessions", "list", "--json"]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [msg["session_id"]]
