"""Seeing: sparklines beside metric findings (report and REPL; ASCII when plain), and the
self-contained HTML report, opened in headless Chromium with a screenshot kept."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from copilot.charts import ASCII, BLOCKS, sparkline
from copilot.cli import main
from copilot.demo import ensure_demo
from copilot.events import FindingReported, RunStarted
from copilot.tui.render import Renderer


@pytest.fixture
def session(capsys):
    demo = ensure_demo()
    question = (demo / "question.txt").read_text().strip()
    assert main(["--query", question, "--offline", "--no-memory", "--quiet", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return out, json.loads((demo / "incident.json").read_text())


def test_sparkline_shapes():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == BLOCKS
    rising = sparkline(range(100), width=10, plain=True)
    assert len(rising) == 10 and rising[0] == ASCII[0] and rising[-1] == ASCII[-1] and set(rising) <= set(ASCII)
    assert sparkline([3, 3, 3]) == BLOCKS[4] * 3
    assert sparkline([1, math.nan, 2]) == f"{BLOCKS[0]} {BLOCKS[-1]}"
    assert sparkline([]) == "" and sparkline([math.nan]) == ""


def test_report_sparklines_beside_metric_findings_ascii_when_dumb(session, capsys, monkeypatch):
    out, truth = session
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["report", out["session_id"]]) == 0
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines() if re.search(r"\[M\d+\] `[^`]+`$", ln)]
    assert lines, text
    for ln in lines:
        spark = ln.rsplit("`", 2)[-2]
        assert set(spark) <= set(ASCII + " ")
    top = next(ln for ln in lines if truth["component"] in ln and "rose" in ln)
    spark = top.rsplit("`", 2)[-2]
    assert ASCII.index(spark[-1]) > ASCII.index(spark[0])  # the series rose
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert main(["report", out["session_id"]]) == 0
    text = capsys.readouterr().out
    assert any(ch in text for ch in BLOCKS[1:]), text


def test_repl_prints_a_sparkline_beside_a_metric_finding(session):
    out, _ = session
    finding = next(f for f in out["findings"] if f["source"] == "metrics")
    stream = io.StringIO()
    r = Renderer(stream, color=False)
    r.handle(RunStarted("s", "q", "offline", 8, data=str(ensure_demo())))
    r.handle(FindingReported(1, finding))
    r.handle(FindingReported(1, {"id": "L1", "source": "logs", "summary": "a log finding"}))
    lines = stream.getvalue().splitlines()
    at = next(i for i, ln in enumerate(lines) if finding["summary"] in ln)
    spark = lines[at].rsplit("  ", 1)[-1]
    assert len(spark) == 24 and set(spark) <= set(ASCII + " ")
    assert lines[at + 1].endswith("a log finding")


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_report_is_self_contained_with_charts_timeline_and_graph(session, tmp_path):
    out, truth = session
    path = tmp_path / "report.html"
    assert main(["report", out["session_id"], "--format", "html", "-o", str(path)]) == 0
    page = path.read_text()
    parser = Tags()
    parser.feed(page)
    tags = parser.tags
    # no external assets: no src/href to anything, no scripts
    assert not [a for t, a in tags if a.get("src") or (a.get("href") and not a["href"].startswith("#"))]
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe")]
    charts = [a for t, a in tags if t == "svg" and a.get("class") == "chart"]
    assert 1 <= len(charts) <= 6
    assert page.count('class="onset"') == len(charts) and page.count('class="baseline"') == len(charts)
    assert 'class="alert"' in page and 'class="timeline"' in page
    suspects = [a for t, a in tags if t == "g" and "suspect" in a.get("class", "")]
    assert [a["data-component"] for a in suspects] == [truth["component"]]
    assert "<h2>4. Most likely root cause</h2>" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium; .ci/run installs it)")
def test_html_report_renders_in_headless_chromium(session, tmp_path):
    out, truth = session
    page = tmp_path / "report.html"
    shot = tmp_path / "report.png"  # kept as the test artifact
    assert main(["report", out["session_id"], "--format", "html", "-o", str(page)]) == 0
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") >= 3 and f'data-component="{truth["component"]}"' in dom.stdout
    done = subprocess.run(flags + ["--window-size=1100,2400", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page compresses to a few KB
    print(f"screenshot: {shot}")
