"""One time zone in the trace and the report: with `timezone` configured every time an
engineer reads (trace, detector sentences, verdict, report) is in it, the zone is named in
the headers, and JSON keeps ISO-8601 with the offset; UTC stays the default."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from copilot.cli import main
from copilot.commands import demo

QUESTION = "why is catalogue slow?"
OFFSET = re.compile(r"(?<=[ C])[+-]\d{2}:\d{2}")
CLOCK = re.compile(r"(?<![\d:])(\d{2}):(\d{2})(?![\d])")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("incident")
    parser = argparse.ArgumentParser(prog="copilot")
    demo.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "generate", "--fault", "cpu_saturation", "--seed", "3", "--out", str(out)])
    assert args.func(args) == 0
    return out


def _run(data_dir, tmp_path, monkeypatch, capsys, zone: str | None, *extra: str) -> tuple[str, str]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("COPILOT_PROMETHEUS_URL", "COPILOT_ALERTMANAGER_URL", "COPILOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    if zone:
        monkeypatch.setenv("COPILOT_TIMEZONE", zone)
    assert main(["--data", str(data_dir), "--query", QUESTION, "--offline", "--no-memory", *extra]) == 0
    captured = capsys.readouterr()
    return captured.err, captured.out  # the trace (stderr when not a terminal), the report


def _clocks(text: str) -> list[int]:
    """Every HH:MM in minutes, zone offsets (' +08:00', 'UTC+08:00') left out."""
    return [int(h) * 60 + int(m) for h, m in CLOCK.findall(OFFSET.sub("", text))]


def test_trace_and_report_print_every_time_in_the_configured_zone(data_dir, tmp_path, monkeypatch, capsys):
    utc = "".join(_run(data_dir, tmp_path, monkeypatch, capsys, None))
    shanghai = "".join(_run(data_dir, tmp_path, monkeypatch, capsys, "Asia/Shanghai"))
    assert "times in UTC" in utc and "Times: UTC" in utc  # the default, named
    assert shanghai.count("times in Asia/Shanghai (UTC+08:00)") == 1  # the trace's first line
    assert shanghai.count("Times: Asia/Shanghai (UTC+08:00)") == 1  # the report header
    # no bare UTC time anywhere else: detector sentences, tool outputs, verdict, report
    assert shanghai.replace("(UTC+08:00)", "").count("UTC") == 0
    assert "+08:00" in shanghai.split("Verdict", 1)[1].splitlines()[0]  # "since 2024-05-14 ... +08:00"
    # the same run, every clock time shifted by eight hours
    before, after = _clocks(utc), _clocks(shanghai)
    assert len(before) == len(after) > 20
    assert all(b == (a + 8 * 60) % (24 * 60) for a, b in zip(before, after))


def test_json_keeps_iso_times_with_the_offset(data_dir, tmp_path, monkeypatch, capsys):
    out = json.loads(_run(data_dir, tmp_path, monkeypatch, capsys, "Asia/Shanghai", "--format", "json", "--quiet")[1])
    assert out["timezone"] == "Asia/Shanghai"
    assert all(t.endswith("+08:00") for t in out["window_iso"])
    assert all(isinstance(f["onset"], (int, float)) for f in out["findings"] if f.get("onset") is not None)
    assert any("+08:00" in f["summary"] for f in out["findings"] if f["source"] == "alerts")
