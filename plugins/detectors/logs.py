"""Log anomaly detection per component: new templates, template bursts, error surges.

Every message is reduced to its template (`logparse.mine_templates`, learnt from the
baseline and the window together so both use the same templates). Then, per component:
- new_template: a template seen in the window and never in the baseline;
- template_burst: a template whose rate in the window is far above its baseline rate
  (Poisson test, expressed as the equivalent number of standard deviations);
- error_surge: error lines (level ERROR/FATAL or exception-like wording) of one
  template, rising the same way.
Scores are on the robust-sigma scale the other detectors use, so they can be ranked
together.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from copilot.diagnosis import Finding
from copilot.evidence import LogEvidence
from copilot.timefmt import hhmm as _hhmm
from copilot.plugins.telemetry.model import LogRecord

_ERROR_LEVELS = {"ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "SEVERE", "EMERG", "ALERT", "PANIC"}
_ERROR_WORDS = re.compile(
    r"exception|traceback|panic|fatal|\berror\b|\bfail(?:ed|ure)?\b|timed? ?out|no space left|"
    r"out of memory|\boom\b|refused|unreachable|segfault|stack overflow|killed|denied",
    re.IGNORECASE,
)
# A plain-text line carries its level in the header ("2023-01-29 08:43:12.123 ERROR 1 ---
# [exec-5] c.a.OrderService : ...", "[INFO] ..."): the first upper-case level word
# standing alone within the first HEADER_CHARS characters, where headers end in the
# common Java, Python and Go formats. Read only when the collector gave no level.
_HEADER_LEVEL = re.compile(
    r"(?<![\w.\-])(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|EMERG|ALERT|PANIC)"
    r"(?![\w.\-])"
)
HEADER_CHARS = 64
MIN_SCORE = 4.0  # robust sigmas; below this a burst is not reported
MIN_COUNT = 3  # lines; fewer are never a burst or surge
MAX_FINDINGS_PER_COMPONENT = 5
LOG_BUDGET = 10_000  # lines mined at most per call (about 1.5 s on one core); beyond it, see `thin`


def thin(records: list[LogRecord], budget: int | None = None) -> list[LogRecord]:
    """At most about `budget` records: every error-level line, and the same random share
    of the others in the baseline and in the window (chosen by a hash of the line, so the
    same input thins the same way). Thinning both periods alike keeps a Poisson rate
    comparison valid (a thinned Poisson count is Poisson), it only loses power, and
    error lines, the rare ones that matter most, are all kept."""
    budget = LOG_BUDGET if budget is None else budget
    if len(records) <= budget:
        return records
    errors = [level_of(r) in _ERROR_LEVELS for r in records]
    keep_share = max(budget - sum(errors), budget // 10) / max(len(records) - sum(errors), 1)
    cut = int(min(keep_share, 1.0) * 2**32)
    return [r for r, err in zip(records, errors)
            if err or zlib.crc32(f"{r.timestamp}|{r.component}|{r.message}".encode("utf-8", "replace")) < cut]


@dataclass
class _Stats:
    template: str
    window: int = 0
    baseline: int = 0
    errors_window: int = 0
    errors_baseline: int = 0
    onset: float | None = None
    error_onset: float | None = None
    examples: list[str] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)


def level_of(record: LogRecord) -> str:
    """The record's level, or the level its plain-text header shows, or ""."""
    if record.level:
        return record.level.upper()
    m = _HEADER_LEVEL.search(record.message, 0, HEADER_CHARS)
    return m.group(0) if m else ""


def is_error(record: LogRecord, template: str) -> bool:
    level = level_of(record)
    if level in _ERROR_LEVELS:
        return True
    if level in {"DEBUG", "INFO", "TRACE"}:
        return bool(re.search(r"exception|traceback|no space left", template, re.IGNORECASE))
    return bool(_ERROR_WORDS.search(template))


def poisson_sigma(observed: int, expected: float) -> float:
    """How surprising `observed` counts are under Poisson(expected), in sigmas.

    Uses the Anscombe variance-stabilised difference 2(sqrt(x+3/8) - sqrt(mu+3/8)),
    which is roughly standard normal under the null and behaves for small counts."""
    return 2.0 * (math.sqrt(observed + 0.375) - math.sqrt(max(expected, 0.0) + 0.375))


def detect_log_anomalies(
    records: list[LogRecord],
    window: tuple[float, float],
    baseline: tuple[float, float] | None,
    next_id: Callable[[str], str],
    budget: int | None = None,
) -> list[Finding]:
    """Findings about log templates in `window` compared with `baseline`.

    When `baseline` is None, the records before the window are the baseline. More than
    `budget` lines (default LOG_BUDGET) are thinned first (see `thin`)."""
    from copilot.plugins.detectors.logparse import mine_templates

    w0, w1 = window
    if baseline is None:
        before = [r.timestamp for r in records if r.timestamp < w0]
        baseline = (min(before), w0) if before else (w0, w0)
    b0, b1 = baseline
    used = [r for r in records if (w0 <= r.timestamp <= w1) or (b0 <= r.timestamp < b1)]
    if not used:
        return []
    used = thin(used, budget)
    used.sort(key=lambda r: r.timestamp)
    templates = [m.template for m in mine_templates([r.message for r in used])]
    window_len = max(w1 - w0, 1.0)
    base_len = max(b1 - b0, 0.0)

    where = _baseline_details(baseline, w0)
    period = _period(where)
    per_comp: dict[str, dict[str, _Stats]] = defaultdict(dict)
    for record, template in zip(used, templates):
        stats = per_comp[record.component or "unknown"].setdefault(template, _Stats(template))
        error = is_error(record, template)
        if w0 <= record.timestamp <= w1:
            stats.window += 1
            if stats.onset is None:
                stats.onset = record.timestamp
            if len(stats.examples) < 3:
                stats.examples.append(record.message)
            if error:
                stats.errors_window += 1
                if stats.error_onset is None:
                    stats.error_onset = record.timestamp
                if len(stats.error_examples) < 3:
                    stats.error_examples.append(record.message)
        else:
            stats.baseline += 1
            stats.errors_baseline += int(error)

    findings: list[Finding] = []
    for component in sorted(per_comp):
        candidates = []
        # a component with no records in the baseline (its logs were not collected then)
        # has nothing to compare with: none of its templates can be called new
        logged_before = any(stats.baseline for stats in per_comp[component].values())
        for stats in per_comp[component].values():
            candidates.extend(_judge(component, stats, window_len, base_len if logged_before else 0.0))
        candidates.sort(key=lambda c: -c[0])
        for score, kind, stats, sentence_parts in candidates[:MAX_FINDINGS_PER_COMPONENT]:
            findings.append(_finding(next_id("L"), component, stats, score, sentence_parts, period, where))
    findings.sort(key=lambda f: -f.score)
    return findings


def _judge(component: str, s: _Stats, window_len: float, base_len: float):
    out = []
    scale = window_len / base_len if base_len > 0 else 0.0
    has_baseline = base_len > 0
    if s.errors_window >= MIN_COUNT or (s.errors_window and not s.errors_baseline and has_baseline):
        expected = s.errors_baseline * scale
        score = poisson_sigma(s.errors_window, expected)
        if score >= MIN_SCORE or (s.errors_baseline == 0 and s.errors_window >= MIN_COUNT):
            out.append((max(score, MIN_SCORE), "error_surge", s, ("errors", s.errors_window, s.errors_baseline)))
            return out  # the surge already says everything about this template
    if has_baseline and s.window and s.baseline == 0:
        score = poisson_sigma(s.window, 0.0)
        out.append((max(score, MIN_SCORE if s.window >= MIN_COUNT else score), "new_template", s,
                    ("new", s.window, 0)))
        return out
    if has_baseline and s.window >= MIN_COUNT:
        expected = s.baseline * scale
        score = poisson_sigma(s.window, expected)
        if score >= MIN_SCORE and s.window >= 2 * max(expected, 1.0):
            out.append((score, "template_burst", s, ("burst", s.window, s.baseline)))
    return out


def _baseline_details(baseline: tuple[float, float], window_start: float) -> dict[str, Any]:
    """The baseline period as data, kept in each finding's details: its length in whole
    minutes (None when there is no baseline) and whether it ends where the window starts."""
    b0, b1 = baseline
    if b1 <= b0:
        return {"baseline_minutes": None, "baseline_adjacent": False}
    return {"baseline_minutes": round((b1 - b0) / 60), "baseline_adjacent": abs(b1 - window_start) <= 60}


def _period(where: dict[str, Any]) -> str:
    """How the sentences name the baseline: "the previous hour", "the previous 20 min"."""
    minutes = where["baseline_minutes"]
    if minutes is None:
        return "the baseline"
    if not where["baseline_adjacent"]:
        return f"the {minutes}-minute baseline"
    if minutes == 60:
        return "the previous hour"
    if minutes % 60 == 0:
        return f"the previous {minutes // 60} hours"
    return f"the previous {minutes} min"


def _short(template: str, limit: int = 100) -> str:
    return template if len(template) <= limit else template[: limit - 3] + "..."


def _finding(fid: str, component: str, s: _Stats, score: float, parts, period: str,
             where: dict[str, Any]) -> Finding:
    what, count, base = parts
    score = round(float(score), 2)  # printed as stored
    t = _short(s.template)
    if what == "errors":
        onset = s.error_onset
        sentence = (f"{component} logged {count} errors '{t}' since {_hhmm(onset)}, "
                    + (f"{base} in {period}" if base else f"none in {period}") + ".")
        examples = s.error_examples
    elif what == "new":
        onset = s.onset
        sentence = (f"{component} logged a new message '{t}' {count} "
                    f"{'time' if count == 1 else 'times'} since {_hhmm(onset)}, never seen in {period}.")
        examples = s.examples
    else:
        onset = s.onset
        sentence = (f"{component} logged '{t}' {count} times since {_hhmm(onset)}, "
                    f"against {base} in {period} ({score:.1f} sigma).")
        examples = s.examples
    return Finding(
        id=fid,
        source="logs",
        component=component,
        signal=s.template,
        kind={"errors": "error_surge", "new": "new_template", "burst": "template_burst"}[what],
        summary=sentence,
        score=score,
        onset=onset,
        details=LogEvidence(template=s.template, count=count, baseline_count=base, examples=examples[:3], **where),
    )
