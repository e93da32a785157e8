"""Follow-up questions about the current investigation, answered from its findings and
ranking instead of re-running it ("could the 13:00 config change be the cause?").

The rules read the question for components, kinds of evidence (changes, logs, traces,
metrics) and clock times, pick the findings that match, and say how they relate to the
leading root cause: is it the same component, did it come before that component's first
anomaly, does the component show anything else. Every statement cites finding ids; when
the investigation holds nothing that matches, the answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timezone, tzinfo
from typing import Any

from .diagnosis import Finding, RootCause
from .intent import classify, match_services
from .timefmt import hhmm

TIME_RE = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)")
NEAR_S = 15 * 60  # a finding "at 13:00" began within this many seconds of it
SOURCE_WORDS = (
    ("changes", r"config|change|deploy|release|rollout|rollback|变更|配置|发布|上线|回滚"),
    ("logs", r"\blogs?\b|exception|日志|异常"),
    ("traces", r"trace|span|调用链|链路"),
    ("metrics", r"metric|cpu|memory|latency|disk|指标|内存|延迟|磁盘"),
)


LOOKUP_TOOLS = {"changes": "list_changes", "logs": "detect_log_anomalies", "metrics": "detect_metric_anomalies",
                "traces": "detect_trace_anomalies"}
LOOKUP_AGENTS = {"list_changes": "changes", "detect_log_anomalies": "logs", "detect_metric_anomalies": "metrics",
                 "detect_trace_anomalies": "traces", "get_metric_series": "metrics"}
LOOKUP_MARGIN_S = 30 * 60  # "the 13:00 change": the changes between 12:30 and 13:30
MAX_LOOKUPS = 3


@dataclass(frozen=True)
class Lookup:
    """A tool call a follow-up needs: the data it asks about, looked up again."""

    tool: str
    arguments: dict[str, Any]
    agent: str


def investigation_of(diagnosis: dict[str, Any] | None) -> dict[str, Any] | None:
    """The diagnosis a follow-up can be answered from (one with findings or causes)."""
    if not isinstance(diagnosis, dict):
        return None
    return diagnosis if diagnosis.get("findings") or diagnosis.get("root_causes") else None


def _at(ts: float | None, times: list[tuple[int, int]], zones: list[tzinfo]) -> bool:
    if ts is None:
        return False
    for zone in zones:
        moment = datetime.fromtimestamp(ts, zone)
        for h, m in times:
            asked = moment.replace(hour=h, minute=m, second=0, microsecond=0)
            if abs((moment - asked).total_seconds()) <= NEAR_S:
                return True
    return False


def matching(question: str, findings: list[Finding], zones: list[tzinfo]) -> tuple[list[Finding], dict[str, Any]]:
    """The findings the question is about, and what it asked for."""
    components = sorted({f.component for f in findings if f.component})
    named = match_services(question, components)
    sources = [s for s, pattern in SOURCE_WORDS if re.search(pattern, question, re.IGNORECASE)]
    if "changes" in sources:
        sources = ["changes"]  # "the config change's latency": the change is the subject
    times = [(int(h), int(m)) for h, m in TIME_RE.findall(question)]
    picked = [f for f in findings
              if (not named or f.component in named) and (not sources or f.source in sources)
              and (not times or _at(f.onset, times, zones))]
    return sorted(picked, key=lambda f: (f.onset or 0, -f.score)), {"components": named, "sources": sources, "times": times}


def about_investigation(question: str, diagnosis: dict[str, Any] | None) -> bool:
    """Whether a question is a follow-up on the current investigation: any question that is
    not a knowledge question, and a knowledge-shaped one that names a component the
    investigation saw ("what do the logs of cart say?")."""
    if investigation_of(diagnosis) is None:
        return False
    assert diagnosis is not None
    return classify(question) != "knowledge" or bool(match_services(question, _components(diagnosis)))


def _components(diagnosis: dict[str, Any]) -> list[str]:
    names = {str(f.get("component")) for f in diagnosis.get("findings", []) if isinstance(f, dict) and f.get("component")}
    names |= {str(c.get("component")) for c in diagnosis.get("root_causes", []) if isinstance(c, dict) and c.get("component")}
    return sorted(names)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="minutes")


def _asked_span(times: list[tuple[int, int]], window: list[float], tz: tzinfo) -> tuple[float, float]:
    """The span around the clock times asked, on the day of the investigation's window
    (the day whose reading lies closest to the window)."""
    days = {datetime.fromtimestamp(t, tz).date() for t in window}
    moments = []
    for h, m in times:
        candidates = [datetime.combine(d, time(h, m), tz).timestamp() for d in days]
        middle = (window[0] + window[1]) / 2
        moments.append(min(candidates, key=lambda ts: abs(ts - middle)))
    return min(moments) - LOOKUP_MARGIN_S, max(moments) + LOOKUP_MARGIN_S


def lookups(question: str, diagnosis: dict[str, Any], tools: Collection[str], tz: tzinfo | None = None) -> list[Lookup]:
    """The rules' mapping of a follow-up to tool calls: the kind of data it asks about
    (changes, logs, metrics, traces), for the components it names, around the clock times
    it names (else over the investigation's window). Nothing when it asks about no kind of data."""
    tz = tz or timezone.utc
    sources = [s for s, pattern in SOURCE_WORDS if re.search(pattern, question, re.IGNORECASE)]
    if "changes" in sources:
        sources = ["changes"]
    named = match_services(question, _components(diagnosis))
    times = [(int(h), int(m)) for h, m in TIME_RE.findall(question)]
    window = diagnosis.get("window")
    span: dict[str, Any] = {}
    if isinstance(window, list) and len(window) == 2 and all(isinstance(t, (int, float)) for t in window):
        lo, hi = _asked_span(times, window, tz) if times else (window[0], window[1])
        span = {"start": _iso(lo), "end": _iso(hi)}
    out: list[Lookup] = []
    for source in sources:
        tool = LOOKUP_TOOLS[source]
        if tool not in tools:
            continue
        if source in ("logs", "metrics") and named:
            out += [Lookup(tool, {"component": c, **span}, source) for c in named]
        else:
            out.append(Lookup(tool, dict(span), source))
    return out[:MAX_LOOKUPS]


def _signature(f: Finding) -> tuple[Any, ...]:
    return (f.source, f.component, f.kind, round(f.onset) if f.onset is not None else None)


def with_lookups(diagnosis: dict[str, Any], found: list[Finding]) -> dict[str, Any]:
    """The investigation with what the follow-up's look-ups found added (a finding the
    investigation already holds keeps its id)."""
    known = {_signature(Finding.from_dict(f)) for f in diagnosis.get("findings", []) if isinstance(f, dict)}
    ids = {f.get("id") for f in diagnosis.get("findings", []) if isinstance(f, dict)}
    new = [f for f in found if f.id not in ids and _signature(f) not in known]
    return {**diagnosis, "findings": list(diagnosis.get("findings", [])) + [f.to_dict() for f in new]}


def lookup_line(tool: str, arguments: dict[str, Any], status: str, output: str) -> str:
    """One look-up as the answer reports it: the call and the first line of its result."""
    args = ", ".join(f"{k}={v}" for k, v in arguments.items())
    first = next((line.strip() for line in output.splitlines() if line.strip()), status)
    return f"{tool}({args}): {first}"


def seed(findings: list[Finding], diagnosis: dict[str, Any]) -> None:
    """Put the investigation's findings into a follow-up run's findings, so that look-ups
    number theirs after them and date changes by the investigation's onset."""
    known = {f.id for f in findings}
    findings += [Finding.from_dict(f) for f in diagnosis.get("findings", []) if isinstance(f, dict) and f.get("id") not in known]


def answer_followup(question: str, diagnosis: dict[str, Any], lang: str, tz: tzinfo | None = None,
                    looked_up: list[str] | None = None) -> str:
    """The rules' answer to a follow-up, from the investigation's findings and ranking (and
    `looked_up`: one line per tool call the follow-up made, whose findings `diagnosis` holds)."""
    zh = lang == "zh"
    tz = tz or timezone.utc
    zones = [tz] if tz == timezone.utc else [tz, timezone.utc]
    findings = [Finding.from_dict(f) for f in diagnosis.get("findings", []) if isinstance(f, dict)]
    causes = [RootCause.from_dict(c) for c in diagnosis.get("root_causes", []) if isinstance(c, dict)]
    by_id = {f.id: f for f in findings}
    picked, asked = matching(question, findings, zones)
    top = causes[0] if causes else None
    if looked_up:
        lines = ["根据本次排查的发现及针对追问的补充查询（未重新排查）：" if zh
                 else "From this investigation's findings and look-ups for this question (not a new investigation):"]
        lines += [("查询 " if zh else "Looked up ") + line for line in looked_up]
    else:
        lines = ["根据本次排查的发现（未重新排查）：" if zh else "From this investigation's findings (not a new investigation):"]
    if top is not None:
        ev = ", ".join(e for e in top.evidence[:4] if e in by_id)
        lines.append((f"首要根因：{top.component} / {top.fault_type}（置信度 {top.confidence:.2f}）" if zh else
                      f"Leading root cause: {top.component} / {top.fault_type} (confidence {top.confidence:.2f})")
                     + (f" [{ev}]" if ev else "") + ("。" if zh else "."))
    filtered = bool(asked["components"] or asked["sources"] or asked["times"])
    if not filtered:
        alts = [f"{c.component} / {c.fault_type} ({c.confidence:.2f})" for c in causes[1:3]]
        if alts:
            lines.append(("其他候选：" if zh else "Other candidates: ") + "; ".join(alts) + ("。" if zh else "."))
        return "\n".join(lines) + "\n"
    if not picked:
        what = _asked_text(asked, zh)
        same_kind = [f for f in findings if not asked["sources"] or f.source in asked["sources"]][:4]
        if looked_up:
            lines.append(f"本次排查和补充查询都没有发现{what}。" if zh else f"Neither the investigation nor the look-ups found a {what}.")
        else:
            lines.append(f"本次排查没有发现{what}。" if zh else f"The investigation found no {what}.")
        if same_kind:
            lines.append(("它发现的同类证据：" if zh else "What it did find of that kind: ")
                         + "; ".join(f"[{f.id}] {f.summary} ({hhmm(f.onset, tz=tz)})" for f in same_kind))
        return "\n".join(lines) + "\n"
    lines.append("与问题相关的发现：" if zh else "Findings that match the question:")
    lines += [f"- [{f.id}] {f.summary} ({f.component}, {hhmm(f.onset, tz=tz)})" for f in picked[:4]]
    lines.append(_verdict(picked[0], top, causes, findings, zh, tz))
    return "\n".join(lines) + "\n"


def _asked_text(asked: dict[str, Any], zh: bool) -> str:
    names = {"changes": ("变更", "change"), "logs": ("日志异常", "log anomaly"), "traces": ("调用链异常", "trace anomaly"),
             "metrics": ("指标异常", "metric anomaly")}
    kind = names.get(asked["sources"][0], ("异常", "anomaly"))[0 if zh else 1] if asked["sources"] else ("异常" if zh else "finding")
    where = f"（组件 {', '.join(asked['components'])}）" if zh and asked["components"] else (
        f" on {', '.join(asked['components'])}" if asked["components"] else "")
    when = " ".join(f"{h:02d}:{m:02d}" for h, m in asked["times"])
    if zh:
        return f"{when} 前后的{kind}{where}" if when else f"{kind}{where}"
    return f"{kind}{where}" + (f" near {when}" if when else "")


def _verdict(f: Finding, top: RootCause | None, causes: list[RootCause], findings: list[Finding], zh: bool,
             tz: tzinfo) -> str:
    if top is None:
        return ("本次排查没有得出根因，无法判断它是否为原因。" if zh
                else "The investigation named no root cause, so the data cannot say whether it is the cause.")
    cite = ", ".join(e for e in top.evidence[:3] if any(x.id == e for x in findings))
    top_onsets = [x.onset for x in findings if x.component == top.component and x.source != "changes" and x.onset is not None]
    first = min(top_onsets) if top_onsets else None
    if f.component == top.component:
        if f.source != "changes" or first is None or f.onset is None:
            return (f"[{f.id}] 属于首要根因 {top.component}，是支持该结论的证据。" if zh
                    else f"[{f.id}] is on {top.component}, the leading root cause: it is part of that conclusion's evidence.")
        if f.onset <= first:
            return (f"它发生在 {top.component} 首次异常（{hhmm(first, tz=tz)}）之前，且就在首要根因上，因此可能是触发因素 [{f.id}, {cite}]。" if zh
                    else f"It touched {top.component}, the leading root cause, before that component's first anomaly at "
                         f"{hhmm(first, tz=tz)}, so it is consistent with being the trigger [{f.id}, {cite}].")
        return (f"它发生在 {top.component} 首次异常（{hhmm(first, tz=tz)}）之后，不可能是起因 [{f.id}]。" if zh
                else f"It came after {top.component}'s first anomaly at {hhmm(first, tz=tz)}, so it cannot have started it [{f.id}].")
    rank = next((i for i, c in enumerate(causes, 1) if c.component == f.component), None)
    own = [x for x in findings if x.component == f.component and x.source != "changes"]
    own_first = min((x.onset for x in own if x.onset is not None), default=None)
    order = ""
    if own_first is not None and first is not None and first < own_first:
        order = (f"{top.component} 的异常（{hhmm(first, tz=tz)}）早于 {f.component} 自身的异常（{hhmm(own_first, tz=tz)}），"
                 f"{f.component} 更像是受影响的一方。" if zh else
                 f" {top.component}'s anomalies began first ({hhmm(first, tz=tz)}); {f.component}'s own began at "
                 f"{hhmm(own_first, tz=tz)}, so it looks affected rather than the origin.")
    if rank is not None:
        return (f"{f.component} 在根因排序中排第 {rank} 位；{order}证据首先指向 {top.component} / {top.fault_type} [{cite}]。" if zh
                else f"{f.component} ranks #{rank} among the candidates.{order} The evidence points first at "
                     f"{top.component} / {top.fault_type} [{cite}].")
    if f.source == "changes" and not own:
        return (f"{f.component} 除了这次变更之外没有任何异常，数据中没有把它与本次故障联系起来的证据；证据指向 {top.component} / {top.fault_type} [{cite}]。" if zh
                else f"{f.component} shows no anomaly of its own besides this change, so nothing in the data links it to the "
                     f"incident; the evidence points at {top.component} / {top.fault_type} [{cite}].")
    return (f"{f.component} 不在根因候选中；证据指向 {top.component} / {top.fault_type} [{cite}]。" if zh
            else f"{f.component} is not among the root-cause candidates; the evidence points at "
                 f"{top.component} / {top.fault_type} [{cite}].")
