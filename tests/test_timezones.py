"""One time zone everywhere: settings `timezone` (UTC unless configured); every printed
time carries its zone or is ISO-8601 with the offset; a question's times are read in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from copilot.config import Settings, load_settings
from copilot.errors import ConfigError
from copilot.events import RunStarted
from copilot.session import live_window
from copilot.timeparse import Window
from copilot.timezones import format_time, iso_time, local_zone, zone_label
from copilot.trace import trace_line
from copilot.workflows.chatlog import parse_messages
from copilot.sessions.store import SessionStore
from copilot.tui.render import run_started_text
from copilot.tui.slash import session_line

ROOT = Path(__file__).resolve().parent.parent
T = datetime(2024, 5, 14, 12, 5, tzinfo=timezone.utc).timestamp()


def test_utc_unless_configured_and_the_zone_is_printed():
    settings = load_settings(env={})
    assert settings.timezone == "UTC" and zone_label(settings) == "UTC"
    assert format_time(T, settings) == "2024-05-14 12:05 UTC"
    assert iso_time(T, settings) == "2024-05-14T12:05:00+00:00"
    shanghai = load_settings(env={"COPILOT_TIMEZONE": "Asia/Shanghai"})
    assert format_time(T, shanghai) == "2024-05-14 20:05 +08:00"
    assert format_time(T, shanghai, date=False, seconds=True) == "20:05:00 +08:00"
    assert iso_time(T, shanghai) == "2024-05-14T20:05:00+08:00"
    assert zone_label(shanghai) == "Asia/Shanghai"


def test_a_misspelt_zone_is_one_line_when_settings_load():
    with pytest.raises(ConfigError, match="timezone 'Asia/Shanghia' is not an IANA zone name"):
        load_settings(env={"COPILOT_TIMEZONE": "Asia/Shanghia"})


def test_question_times_are_read_in_the_configured_zone():
    now = datetime(2024, 5, 14, 1, 0, tzinfo=timezone.utc).timestamp()  # 09:00 in Shanghai
    start, end = live_window("why is orders slow since 07:45?", Settings(timezone="Asia/Shanghai"), now)
    assert datetime.fromtimestamp(end, ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "09:00"
    # 07:45 in Shanghai, less the onset padding (ONSET_PADDING_MIN = 15) — not 07:45 UTC
    assert start == datetime(2024, 5, 14, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    utc_start, _ = live_window("why is orders slow since 07:45?", Settings(), now + 8 * 3600)
    assert utc_start == datetime(2024, 5, 14, 7, 30, tzinfo=timezone.utc).timestamp()


def test_windows_run_headers_and_session_lists_say_the_zone(tmp_path):
    shanghai = Settings(timezone="Asia/Shanghai")
    assert Window(T, T + 1800, "").describe(local_zone(shanghai)) == "2024-05-14 20:05–20:35 +08:00"
    assert Window(T, T + 1800, "").describe(local_zone(Settings())) == "2024-05-14 12:05–12:35 UTC"
    event = RunStarted("s1", "why?", "offline", 8, "files in /x", timezone="Asia/Shanghai")
    assert trace_line(event).splitlines()[0] == "» data: files in /x · times in Asia/Shanghai"
    assert run_started_text("s1", "offline", 8, "files in /x", "UTC").splitlines()[1] == "data: files in /x · times in UTC"
    store = SessionStore(tmp_path)
    store.append("20240514-120500-abcdef", RunStarted("20240514-120500-abcdef", "why?", "offline", 8, at=T))
    row = store.summary("20240514-120500-abcdef")
    assert "  2024-05-14 20:05 +08:00  " in session_line(row, shanghai)
    assert "  2024-05-14 12:05 UTC  " in session_line(row)


def test_chat_log_times_without_a_zone_are_read_in_the_configured_one(tmp_path):
    log = tmp_path / "chat.txt"
    log.write_text("[2024-05-14 20:05] alice: checkout errors since 20:00\n", encoding="utf-8")
    assert parse_messages(log)[0].at == datetime(2024, 5, 14, 20, 5, tzinfo=timezone.utc).timestamp()
    assert parse_messages(log, ZoneInfo("Asia/Shanghai"))[0].at == T


def copilot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = dict(os.environ, LANCE_LOG="error", PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "copilot", *args], capture_output=True, text=True, env=full,
                          timeout=120, cwd=ROOT)


def test_query_json_trace_and_sessions_list_carry_the_zone(tmp_path):
    env = {"COPILOT_TIMEZONE": "Asia/Shanghai"}
    r = copilot("--demo", "--query", "why is checkout slow?", "--offline", "--format", "json", "--no-memory", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["timezone"] == "Asia/Shanghai"
    start, end = out["window"]
    assert out["window_iso"] == [iso_time(start, Settings(timezone="Asia/Shanghai")),
                                 iso_time(end, Settings(timezone="Asia/Shanghai"))]
    assert all(t.endswith("+08:00") for t in out["window_iso"])
    assert "times in Asia/Shanghai" in r.stderr.splitlines()[0]
    listed = copilot("sessions", "list", env=env)
    line = next(x for x in listed.stdout.splitlines() if x.startswith(out["session_id"]))
    assert "+08:00" in line
    rows = json.loads(copilot("sessions", "list", "--json", env=env).stdout)
    assert next(r for r in rows if r["id"] == out["session_id"])["started_at"].endswith("+08:00")
