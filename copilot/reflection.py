"""Reflection: check each leading hypothesis against the evidence before answering.

For every candidate root cause: does the fault kind's expected signature appear in the
component's own findings, did its onset come first, and is there any evidence at all?
A hypothesis that fails a check is demoted (its confidence lowered and the ranking
re-sorted); each check leaves a plain note for the trace and the report.

Notes are structured (`Note`: the cause, its checks, the verdict) and written in English
or Chinese from that structure. `reflect` returns the English text (what the trace and a
model read); `localize_note` turns a note of either language into the report's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .diagnosis import Finding, RootCause, significant
from .faults import CATALOGUE

# What each fault kind should leave behind in the component's own findings.
SIGNATURES: dict[str, re.Pattern[str]] = {
    "cpu_saturation": re.compile(r"cpu", re.I),
    "memory_leak": re.compile(r"mem|heap|rss|oom", re.I),
    "disk_full": re.compile(r"disk|fs_|filesystem|no space|inode", re.I),
    "jvm_gc": re.compile(r"gc|garbage|heap", re.I),
    "network_delay": re.compile(r"rtt|latency|lat_|delay|duration|p9\d", re.I),
    "network_loss": re.compile(r"retrans|loss|drop|lost|timeout|reset|error", re.I),
    "traffic_surge": re.compile(r"request|qps|rps|rate|lod|workload|traffic", re.I),
    "code_exception": re.compile(r"error|exception|fail|panic|deploy|traceback|5\d\d", re.I),
}

ONSET_TOLERANCE_S = 120.0

# One sentence per check, per language; {kind} is the fault kind, {minutes} a lag.
CHECKS: dict[str, dict[str, str]] = {
    "no_evidence": {"en": "no finding of its own supports it", "zh": "没有它自身的发现支持"},
    "signature_present": {"en": "the {kind} signature is present", "zh": "具备{kind}的特征"},
    "signature_missing": {"en": "the expected {kind} signature is missing", "zh": "缺少{kind}应有的特征"},
    "began_first": {"en": "its anomalies began first", "zh": "它的异常最先出现"},
    "began_late": {"en": "its anomalies began {minutes} min after the earliest one", "zh": "它的异常比最早的异常晚 {minutes} 分钟出现"},
}
VERDICTS: dict[str, dict[str, str]] = {"kept": {"en": "kept", "zh": "保留"}, "demoted": {"en": "demoted", "zh": "降级"}}
# The note around the checks: component, fault kind, the checks joined, the verdict.
FRAMES: dict[str, tuple[str, str]] = {"en": ("{component} / {fault_type}: {checks} -> {verdict}.", "; "),
                                      "zh": ("{component} / {fault_type}：{checks} → {verdict}", "；")}


@dataclass(frozen=True)
class Check:
    code: str  # a key of CHECKS
    minutes: int | None = None  # began_late: the lag behind the earliest anomaly


@dataclass(frozen=True)
class Note:
    component: str
    fault_type: str
    checks: tuple[Check, ...]
    verdict: str  # kept | demoted

    def text(self, lang: str = "en") -> str:
        lang = lang if lang in FRAMES else "en"
        frame, sep = FRAMES[lang]
        checks = sep.join(_check_text(c, self.fault_type, lang) for c in self.checks)
        return frame.format(component=self.component, fault_type=self.fault_type, checks=checks,
                            verdict=VERDICTS[self.verdict][lang])


def _kind_name(kind: str, lang: str) -> str:
    info = CATALOGUE.get(kind)
    return info.name(lang) if lang == "zh" and info else kind


def _check_text(check: Check, fault_type: str, lang: str) -> str:
    return CHECKS[check.code][lang].format(kind=_kind_name(fault_type, lang), minutes=check.minutes)


def _text(f: Finding) -> str:
    return f"{f.source} {f.signal} {f.kind} {f.summary}"


def review(causes: list[RootCause], findings: list[Finding], top_n: int = 3) -> tuple[list[RootCause], list[Note]]:
    """Return the re-ranked causes and one structured note per cause checked."""
    if not causes:
        return [], []
    by_id = {f.id: f for f in findings}
    # Changes precede incidents by design; the onset race is between anomalies.
    # Weak blips (a 3-sigma wobble an hour early) do not get to date the incident.
    onsets = [f.onset for f in significant(findings) if f.onset is not None and f.source != "changes"]
    earliest = min(onsets) if onsets else None
    revised: list[RootCause] = []
    notes: list[Note] = []
    for rank, cause in enumerate(causes):
        if rank >= top_n:
            revised.append(cause)
            continue
        own = [by_id[e] for e in cause.evidence if e in by_id] or [f for f in findings if f.component == cause.component]
        factor = 1.0
        checks: list[Check] = []
        if not own:
            factor *= 0.5
            checks.append(Check("no_evidence"))
        pattern = SIGNATURES.get(cause.fault_type)
        if pattern is not None and own:
            if any(pattern.search(_text(f)) for f in own):
                checks.append(Check("signature_present"))
            else:
                factor *= 0.6
                checks.append(Check("signature_missing"))
        own_onsets = [f.onset for f in own if f.onset is not None and f.source != "changes"]
        if earliest is not None and own_onsets:
            lag = min(own_onsets) - earliest
            if lag <= ONSET_TOLERANCE_S:
                checks.append(Check("began_first"))
            else:
                factor *= 0.8
                checks.append(Check("began_late", round(lag / 60)))
        notes.append(Note(cause.component, cause.fault_type, tuple(checks), "kept" if factor >= 0.999 else "demoted"))
        revised.append(replace(cause, confidence=round(cause.confidence * factor, 3)))
    head = sorted(revised[:top_n], key=lambda c: -c.confidence)
    return head + revised[top_n:], notes


def reflect(causes: list[RootCause], findings: list[Finding], top_n: int = 3) -> tuple[list[RootCause], list[str]]:
    """Return the re-ranked causes and one (English) note per check made."""
    revised, notes = review(causes, findings, top_n)
    return revised, [n.text("en") for n in notes]


# -- reading a note back (a saved report, another language) ------------------------------
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    groups = {"{kind}": r"(?P<kind>.+?)", "{minutes}": r"(?P<minutes>-?\d+)", "{component}": r"(?P<component>.+?)",
              "{fault_type}": r"(?P<fault_type>\w+)", "{checks}": r"(?P<checks>.*)", "{verdict}": r"(?P<verdict>.+?)"}
    return re.compile("^" + "".join(groups.get(p, re.escape(p)) for p in parts) + "$")


_FRAME_RE = {lang: _pattern(frame) for lang, (frame, _) in FRAMES.items()}
_CHECK_RE = {(code, lang): _pattern(text) for code, by in CHECKS.items() for lang, text in by.items()}


def parse_note(text: str) -> Note | None:
    """The structured note behind a note's text in any language (None: not a note that
    `reflect` writes, e.g. a model's own reflection)."""
    for lang, frame in _FRAME_RE.items():
        m = frame.match(text.strip())
        if not m:
            continue
        verdict = next((v for v, by in VERDICTS.items() if by[lang] == m["verdict"]), None)
        checks = [_parse_check(part, m["fault_type"], lang) for part in m["checks"].split(FRAMES[lang][1])]
        if verdict is not None and all(c is not None for c in checks):
            return Note(m["component"], m["fault_type"], tuple(checks), verdict)  # type: ignore[arg-type]
    return None


def _parse_check(text: str, fault_type: str, lang: str) -> Check | None:
    for (code, check_lang), pattern in _CHECK_RE.items():
        m = pattern.match(text) if check_lang == lang else None
        if m and m.groupdict().get("kind", _kind_name(fault_type, lang)) == _kind_name(fault_type, lang):
            minutes = m.groupdict().get("minutes")
            return Check(code, int(minutes) if minutes is not None else None)
    return None


# The team brain's line about a model's verdict (see copilot/brains/team.py and team_roles.py).
_MODEL_NOTE = re.compile(r"^model reflection: (?P<verdict>keep|revise|demote) \((?P<outcome>.*?)\)(?:; would be refuted by: (?P<refute>.*))?$")
_MODEL_VERDICT_ZH = {"keep": "维持", "revise": "修正", "demote": "降级"}
_MODEL_OUTCOMES_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?P<a>\S+) / (?P<k>\w+) kept$"), "维持 {a} / {k}"),
    (re.compile(r"^(?P<a>\S+) demoted$"), "{a} 被降级"),
    (re.compile(r"^revised to (?P<a>\S+) / (?P<k>\w+)$"), "改判为 {a} / {k}"),
    (re.compile(r"^fault kind revised to (?P<k>\w+)$"), "故障类型改判为 {k}"),
    (re.compile(r"^no readable verdict; the rule checks stand$"), "模型没有给出可读的结论，以规则检查为准"),
    (re.compile(r"^the suggested (?P<a>\S+) has no finding of its own; kept (?P<b>\S+)$"), "模型建议的 {a} 没有自身的发现支持，维持 {b}"),
    (re.compile(r"^the suggested (?P<k>\w+) leaves no signature in (?P<a>\S+)'s findings; kept$"), "{a} 的发现中没有模型建议的 {k} 的特征，维持原判"),
)


def _model_note_zh(text: str) -> str | None:
    m = _MODEL_NOTE.match(text.strip())
    if not m:
        return None
    outcome = m["outcome"]
    for pattern, zh in _MODEL_OUTCOMES_ZH:
        o = pattern.match(outcome)
        if o:
            outcome = zh.format(**o.groupdict())
            break
    line = f"模型反思：{_MODEL_VERDICT_ZH[m['verdict']]}（{outcome}）"
    return line + (f"；可推翻该结论的证据：{m['refute']}" if m["refute"] else "")


def localize_note(text: str, lang: str) -> str:
    """A reflection note in `lang`: the rule checks' notes are rewritten from their
    structure; a note this module cannot read stays as it is."""
    note = parse_note(text)
    if note is not None:
        return note.text(lang)
    if lang == "zh":
        return _model_note_zh(text) or text
    return text
