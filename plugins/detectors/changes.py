"""Changes near the onset: deploys and config changes, ranked by closeness.

A change shortly before the onset is the classic cause; one after it is weaker evidence
(it may be a mitigation or a coincidence). Closeness decays exponentially with a time
constant of `TAU_S`; the score is 10 x closeness (10 = at the onset, before it).
"""

from __future__ import annotations

import math
from typing import Callable

from copilot.diagnosis import Finding
from copilot.evidence import ChangeEvidence

from ..telemetry.model import ChangeEvent
from .metrics import hhmm

TAU_S = 15 * 60
AFTER_WEIGHT = 0.3
MIN_SCORE = 0.1  # about 80 min before the onset


def closeness(change_ts: float, onset: float) -> float:
    dt = onset - change_ts
    if dt >= 0:
        return math.exp(-dt / TAU_S)
    return AFTER_WEIGHT * math.exp(dt / TAU_S)


def detect_changes(
    changes: list[ChangeEvent],
    window: tuple[float, float],
    onset: float,
    next_id: Callable[[str], str],
    lookback_s: float = 6 * 3600,
) -> list[Finding]:
    """Findings for changes from `lookback_s` before the window to its end, closest to `onset` first."""
    picked = [c for c in changes if window[0] - lookback_s <= c.timestamp <= window[1]]
    scored = sorted(((10 * closeness(c.timestamp, onset), c) for c in picked), key=lambda p: (-p[0], p[1].timestamp))
    out = []
    for score, c in scored:
        if score < MIN_SCORE:
            continue
        minutes = (onset - c.timestamp) / 60
        when = f"{minutes:.0f} min before" if minutes >= 0.5 else f"{-minutes:.0f} min after" if minutes <= -0.5 else "at"
        who = f" by {c.author}" if c.author else ""
        out.append(Finding(
            next_id("C"), "changes", c.component, c.id or c.description[:40], c.kind,
            f"{c.kind} on {c.component} at {hhmm(c.timestamp)}{who}, {when} the onset ({hhmm(onset)}): {c.description}",
            round(score, 2), c.timestamp,
            ChangeEvidence(minutes_before_onset=round(minutes, 1), description=c.description, author=c.author, onset=onset),
        ))
    return out
