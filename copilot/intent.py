"""The host agent's reading of a request: what kind it is, and its parameters.

Kinds: diagnose (an incident), knowledge (a question for the knowledge base, the seed's
QAProxy), report (write/regenerate a report), workflow (run a named workflow), other.
Parameters: the time window (see timeparse), and the services/hosts the question names,
matched against the components the data sources know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from .timeparse import Window, parse_window

DEFAULT_WINDOW_MIN = 60.0
ONSET_PADDING_MIN = 15.0

_DIAGNOSE = re.compile(
    r"wrong|fail|error|slow|latenc|down|outage|incident|alert|spike|broken|timeout|why|root cause|diagnos|"
    r"investigat|degrad|5\d\d|oom|crash|high|full|exception|"
    r"故障|异常|报错|错误|失败|变慢|慢|延迟|告警|宕机|不可用|超时|根因|排查|诊断|怎么了|为什么|飙升|打满|写满|崩溃|重启|驱逐|卡住|起不来",
    re.I,
)
_KNOWLEDGE = re.compile(
    r"^(what is|what's|what does|what do|what are|how do i|how to|how can|explain|who|when should|is there a runbook|sop)|runbook|best practice|"
    r"what should i do|how should i|是什么|怎么做|怎么办|怎么处理|如何|谁|哪些|介绍|请参考|知识库|sop|手册|经验",
    re.I,
)
# "What is wrong?" asks about the systems now, not about a concept: always an investigation.
_STATUS = re.compile(
    r"\b(what('s| is| are)|anything|something|is (it|anything|something))\b.{0,12}\b(wrong|broken|going on|happening|"
    r"up with|the (problem|matter|issue))\b|\bwhat happened\b|\bhealth ?check\b|"
    r"出(了)?什么(问题|事|状况)|有(什么|啥)(问题|异常)|怎么回事|发生了什么|什么情况|哪里(出)?(问题|不对)|是否(正常|健康)|健康检查|"
    r"(?<!常见)(?<!常见的)(?<!一般)原因是什么|是什么原因",
    re.I,
)
_REPORT = re.compile(r"\b(write|generate|regenerate|draft)\b.*\breport\b|写.*报告|生成.*报告|故障报告", re.I)
_WORKFLOW = re.compile(r"\brun (the )?workflow\b|执行.*(工作流|流程)", re.I)


@dataclass
class Intent:
    kind: str
    window: Window | None = None
    services: list[str] = field(default_factory=list)
    stated_window: Window | None = None  # what the user said, before padding

    def echo(self, lang: str, tz: tzinfo | None) -> str:
        """The QAProxy-style echo of what was understood."""
        parts = []
        if self.window:
            span = self.window.describe(tz)
            parts.append(f"我将检查 {span} 的数据" if lang == "zh" else f"I will look at {span}")
            if self.stated_window and self.stated_window.start != self.window.start:
                parts[-1] += (
                    f"（比您说的时间提前 {ONSET_PADDING_MIN:.0f} 分钟，以捕捉异常起点）"
                    if lang == "zh"
                    else f" (starting {ONSET_PADDING_MIN:.0f} min before the time you gave, to catch the onset)"
                )
        if self.services:
            names = ", ".join(self.services)
            parts.append(f"重点关注 {names}" if lang == "zh" else f"focusing on {names}")
        if not parts:
            return ""
        return ("，".join(parts) + "。") if lang == "zh" else ("; ".join(parts) + ".")


def classify(question: str) -> str:
    from .source_names import without_source_clause

    question = without_source_clause(question)  # "请参考local的数据源" names a source; it asks nothing
    if _REPORT.search(question):
        return "report"
    if _WORKFLOW.search(question):
        return "workflow"
    if _STATUS.search(question):
        return "diagnose"
    diagnose = bool(_DIAGNOSE.search(question))
    knowledge = bool(_KNOWLEDGE.search(question))
    if knowledge and not re.search(r"since|last|past|today|以来|最近|过去|今天|昨天|\d{1,2}:\d{2}", question, re.I):
        return "knowledge"
    if diagnose:
        return "diagnose"
    return "knowledge" if knowledge else "other"


def match_services(question: str, components: list[str]) -> list[str]:
    """Components named in the question (whole words, case-insensitive; 'checkout' matches 'checkoutservice')."""
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_.-]{2,}", question)}
    out = []
    for comp in components:
        low = comp.lower()
        stem = re.sub(r"(-?service|-?svc|-\d+)$", "", low)
        if low in words or stem in words or any(w.startswith(stem) and len(stem) >= 4 for w in words):
            out.append(comp)
    return out


def understand(
    question: str,
    components: list[str],
    reference: datetime,
    data_range: tuple[float, float] | None = None,
) -> Intent:
    """Read the request. `reference` is "now" (the end of the data for a recorded incident)."""
    kind = classify(question)
    stated = parse_window(question, reference)
    window = stated
    if stated is not None:
        window = Window(stated.start - ONSET_PADDING_MIN * 60, stated.end, stated.text)
    elif kind == "diagnose":
        end = reference.timestamp()
        window = Window(end - DEFAULT_WINDOW_MIN * 60, end, "")
    if window is not None and data_range is not None:
        lo, hi = data_range
        window = Window(max(window.start, lo), min(max(window.end, window.start + 60), hi), window.text)
        if window.end <= window.start:
            window = None
    return Intent(kind, window, match_services(question, components), stated)


def flag_window(since: str, until: str, reference: datetime) -> tuple[float, float] | None:
    """--since / --until read with the same parser as questions ("14:05", "30m ago", ISO)."""
    from .errors import CopilotError

    since, until = (since or "").strip(), (until or "").strip()
    if not since and not until:
        return None
    end = reference.timestamp()
    if until:
        w = parse_window(f"at {until}", reference)
        if w is None:
            raise CopilotError(f"--until {until!r} is not a time; use HH:MM or 'YYYY-MM-DD HH:MM'")
        end = w.start
    start = end - 3600  # --until alone: the hour before it
    if since:
        w = parse_window(since if re.search(r"ago|last|past|最近|过去", since) else f"since {since}", reference)
        if w is None:
            raise CopilotError(f"--since {since!r} is not a time; use HH:MM, 'YYYY-MM-DD HH:MM', or '30 minutes ago'")
        start = w.start
    if end <= start:
        raise CopilotError(f"--until must be after --since (got {since!r} .. {until!r})")
    return (start, end)


# "why is orders slow", "is payment-api down", "orders 服务很慢": the name the question asks about
_ASKED_NAME = re.compile(
    r"\b(?:is|are|with|of|for|on|in|does|did)\s+(?:the\s+)?([A-Za-z][\w.-]{2,})\s+(?:service\s+|svc\s+|api\s+)?"
    r"(?:so\s+|very\s+|really\s+)?(?:slow|failing|down|broken|erroring|timing|unavailable|degraded|throwing|crashing|"
    r"returning|dropping|unhealthy|flapping|lagging|high|full|out)\b|"
    r"\bservice\s+([A-Za-z][\w.-]{2,})|"
    r"([A-Za-z][\w.-]{2,})\s*(?:服务|应用|集群)?\s*(?:很慢|变慢|慢|报错|失败|不可用|超时|挂了|异常|有问题)",
    re.I,
)
_NOT_NAMES = {"the", "it", "this", "that", "everything", "something", "anything", "system", "site", "app", "service",
              "latency", "traffic", "error", "errors", "cpu", "memory", "disk", "network", "what", "why", "there"}


def unknown_services(question: str, components: list[str]) -> list[str]:
    """Names the question asks about that match no component the data holds."""
    known = match_services(question, components)
    out: list[str] = []
    for m in _ASKED_NAME.finditer(question):
        name = next(g for g in m.groups() if g)
        low = name.lower()
        if low in _NOT_NAMES or any(low in k.lower() or k.lower() in low for k in known + components):
            continue
        if name not in out:
            out.append(name)
    return out
