"""Setting up is part of the job: `copilot init`, `--version`, shell completion, and the
flags every front end shares (`copilot --data DIR repl` and `copilot repl --data DIR`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from copilot.cli import build_parser, main, settings_from_args


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("copilot ") and out.split()[1][0].isdigit()


@pytest.mark.parametrize("argv", [["--data", "/d", "repl"], ["repl", "--data", "/d"]])
def test_data_flag_before_or_after_repl(argv):
    args = build_parser().parse_args(argv)
    assert args.command == "repl" and settings_from_args(args).data == "/d"


def test_since_until_and_demo_flags_reach_settings():
    args = build_parser().parse_args(["--since", "14:05", "--until", "14:40", "--demo", "--query", "x"])
    settings = settings_from_args(args)
    assert (settings.since, settings.until, settings.demo) == ("14:05", "14:40", True)


def test_flag_window_reads_clock_times_and_refuses_nonsense():
    from datetime import datetime, timezone

    from copilot.errors import CopilotError
    from copilot.intent import flag_window

    ref = datetime(2026, 3, 1, 15, 0, tzinfo=timezone.utc)
    start, end = flag_window("14:05", "14:40", ref)
    assert (datetime.fromtimestamp(start, timezone.utc).strftime("%H:%M"),
            datetime.fromtimestamp(end, timezone.utc).strftime("%H:%M")) == ("14:05", "14:40")
    assert flag_window("", "", ref) is None
    with pytest.raises(CopilotError, match="--since 'banana' is not a time"):
        flag_window("banana", "", ref)
    with pytest.raises(CopilotError, match="--until must be after --since"):
        flag_window("14:40", "14:05", ref)


def test_init_with_flags_checks_and_writes_a_commented_config(tmp_path, capsys, monkeypatch):
    from copilot.config import config_file, load_settings

    assert main(["init", "--alertmanager-url", "http://am.example:9093", "--no-check"]) == 0
    path = config_file()
    text = path.read_text()
    assert text.startswith("# SRE Copilot configuration") and '# prometheus_url = ""' in text
    assert tomllib.loads(text) == {"alertmanager_url": "http://am.example:9093"}
    assert load_settings(env={}).sources["alertmanager"]["url"] == "http://am.example:9093"
    # an existing config is kept unless --force
    assert main(["init", "--loki-url", "http://loki:3100", "--no-check"]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert tomllib.loads(path.read_text()) == {"alertmanager_url": "http://am.example:9093"}


def test_init_refuses_a_source_that_fails_its_check(capsys):
    from copilot.config import config_file
    from tests.test_prometheus_source import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert main(["init", "--prometheus-url", url]) == 1
    captured = capsys.readouterr()
    assert "FAIL Prometheus at" in captured.out and "failed their check" in captured.err
    assert not config_file().exists()


def test_init_without_a_terminal_or_flags_says_what_to_do(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert main(["init"]) == 1
    assert "needs a terminal to ask, or flags" in capsys.readouterr().err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_and_the_completer_answer(shell, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    script = subprocess.run([sys.executable, "-m", "copilot", "completion", shell], capture_output=True, text=True,
                            env=env, timeout=60)
    assert script.returncode == 0 and "copilot" in script.stdout and "_ARGCOMPLETE" in script.stdout
    out = tmp_path / "completions"
    env.update(_ARGCOMPLETE="1", COMP_LINE="copilot sour", COMP_POINT="12", _ARGCOMPLETE_STDOUT_FILENAME=str(out),
               _ARGCOMPLETE_SHELL=shell)
    subprocess.run([sys.executable, "-m", "copilot"], env=env, capture_output=True, timeout=60)
    assert "sources" in out.read_text()
