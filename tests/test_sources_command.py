"""`copilot sources`: configured sources listed and checked, text and --json, exit 1 when a
check fails. Loki answers recorded responses from a local server; Elasticsearch is a port
nobody listens on."""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import copilot.plugin_manager as plugins_module
from copilot.cli import main
from tests.http_stub import Stub
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def live_sources_registered(monkeypatch):
    """The entry point as pyproject.toml declares it, also before the package is reinstalled."""
    real = plugins_module._entry_points

    def entry_points():
        found = list(real())
        if not any(e.name == "live-sources" for e in found):
            found.append(EntryPoint("live-sources", "copilot.plugins.sources_plugin:plugin", plugins_module.GROUP))
        return found

    monkeypatch.setattr(plugins_module, "_entry_points", entry_points)


def test_pyproject_registers_the_plugin():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["sre_copilot.plugins"]
    assert declared["live-sources"] == "copilot.plugins.sources_plugin:plugin"


def serve_loki(stub: Stub) -> None:
    stub.route("GET", "/loki/api/v1/labels", (200, {"status": "success", "data": ["service_name"]}))
    stub.route("GET", "/loki/api/v1/label/service_name/values", (200, {"status": "success", "data": ["cart"]}))
    stub.route("GET", "/loki/api/v1/query", (200, {"status": "success", "data": {
        "resultType": "vector", "result": [{"metric": {}, "value": [1715691600, "17"]}]}}))


def test_nothing_configured_says_the_demo_is_used(capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no sources configured") and "bundled demo" in out


def test_every_configured_source_is_checked_and_a_failure_exits_1(monkeypatch, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    with Stub() as loki:
        serve_loki(loki)
        monkeypatch.setenv("COPILOT_LOKI_URL", loki.url)
        monkeypatch.setenv("COPILOT_LOKI_TOKEN", "sekrit-token")
        monkeypatch.setenv("COPILOT_ELASTICSEARCH_URL", dead)
        monkeypatch.setenv("COPILOT_ELASTICSEARCH_RETRIES", "0")
        assert main(["sources", "--json"]) == 1
        answer = json.loads(capsys.readouterr().out)
        assert main(["sources"]) == 1
        text = capsys.readouterr().out
    checks = {c["name"]: c for c in answer["sources"]}
    assert set(checks) == {"loki", "elasticsearch"} and answer["ok"] is False
    assert checks["loki"] == {"name": "loki", "label": f"Loki at {loki.url}", "ok": True,
                              "detail": "reachable, auth ok, 1 labels, 1 components by service_name (cart), "
                                        "17 log lines in the last hour"}
    assert checks["elasticsearch"]["ok"] is False
    assert checks["elasticsearch"]["detail"] == (f"elasticsearch at {dead} is unreachable (connection refused, 1 attempt); "
                                                 "check elasticsearch_url (COPILOT_ELASTICSEARCH_URL) and that the "
                                                 "server is up")
    lines = text.splitlines()
    assert lines[0] == f"data: Loki at {loki.url} + Elasticsearch at {dead}"  # what an investigation reads
    assert len(lines) == 3
    assert any(line.startswith("loki           ok    Loki at") for line in lines)
    assert any(line.startswith("elasticsearch  FAIL  Elasticsearch at") for line in lines)
    assert "sekrit-token" not in text


def test_a_bad_setting_is_a_failed_row_not_a_crash(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COPILOT_JAEGER_URL", "http://jaeger:16686")
    monkeypatch.setenv("COPILOT_JAEGER_TOKEN_FILE", str(tmp_path / "missing-token"))
    assert main(["sources", "--json"]) == 1
    (check,) = json.loads(capsys.readouterr().out)["sources"]
    assert check["name"] == "jaeger" and not check["ok"]
    assert check["detail"].startswith("jaeger source: jaeger_token_file") and "cannot be read" in check["detail"]
