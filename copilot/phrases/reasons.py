"""A root cause's reasons in the report's language.

The ranking (plugins/detectors/rank.py) gives each cause plain English reasons: first
"<component>: <why the fault kind>.", then the strongest findings ("<summary> [id]"), then
notes on the call graph, the alert and the onset order. In Chinese the first is written
from the cause's fault kind, each finding line from the finding itself (same id), and the
notes from what they state (components, counts); a line that is already Chinese (a
model's) or that nothing here can read stays as it is.
"""

from __future__ import annotations

import re
from typing import Callable

from copilot.diagnosis import Finding, RootCause
from copilot.language import detect_language

from .findings import finding_sentence

# Why the ranking named each fault kind, in Chinese (the English is rank.py's WHY).
WHY_ZH: dict[str, str] = {
    "disk_full": "磁盘被写满（或因空间不足导致写入失败）",
    "memory_leak": "内存持续增长，没有回落",
    "jvm_gc": "GC 次数和停顿时间上升",
    "cpu_saturation": "CPU 打满，而请求量正常",
    "code_exception": "日志中出现异常",
    "network_loss": "对它的调用失败或丢失（重传、span 丢失），而它的日志中没有异常",
    "network_delay": "对它的调用变慢，而它自身的 CPU 正常",
    "traffic_surge": "它的请求量激增，而它的调用方没有，说明更多流量从这里进入",
    "unknown": "它的异常与任何已知故障特征都不匹配",
}
# Variants of a kind's reason that say something more, recognised by their English words.
WHY_VARIANTS_ZH: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("code_exception", re.compile(r"stopped taking steps"), "它不再执行代码中一贯会执行的步骤（提前返回或抛出异常）"),
    ("code_exception", re.compile(r"errors start in it right after a change"), "一次变更之后它随即开始报错"),
    ("code_exception", re.compile(r"after a recent change"), "近期变更之后，它的日志中出现异常"),
)


def _names(text: str) -> str:
    return "、".join(n.strip() for n in text.split(","))


# The ranking's notes (rank.py, team_roles.py) and what each says in Chinese.
NOTES_ZH: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^its CPU rise follows its request rate, so load explains it$"),
     lambda m: "它的 CPU 上升与请求量同步，可由负载解释"),
    (re.compile(r"^its callees? (?P<n>.+?) (?:is|are) anomalous too, so part of what it shows is inherited$"),
     lambda m: f"它的下游 {_names(m['n'])} 也有异常，它表现出的部分症状是从下游传导来的"),
    (re.compile(r"^its callees \((?P<n>.+)\) look healthy, so the problem starts here$"),
     lambda m: f"它的下游（{_names(m['n'])}）均正常，问题从它这里开始"),
    (re.compile(r"^it sits below the traffic surge at (?P<at>.+?), which explains its load$"),
     lambda m: f"它位于 {m['at']} 流量激增的下游，负载上升由此而来"),
    (re.compile(r"^the alerted component does not call it, so it cannot explain the alert$"),
     lambda m: "告警组件并不调用它，它无法解释这条告警"),
    (re.compile(r"^it shows the alerted symptom, and (?P<k>\d+) of its callers show it too$"),
     lambda m: f"它表现出告警所指的症状，且有 {m['k']} 个调用方也是如此"),
    (re.compile(r"^it shows the alerted symptom, and the symptom its callers show stops here: none of its callees shows it$"),
     lambda m: "它表现出告警所指的症状，调用方的症状到它这里为止：它的下游都没有这一症状"),
    (re.compile(r"^it shows the alerted symptom$"), lambda m: "它表现出告警所指的症状"),
    (re.compile(r"^its symptom did not rise and fall with the alerted one \(correlation (?P<r>[\d.]+)\), "
                r"so it moved on its own or was already off$"),
     lambda m: f"它的症状没有随告警指标一起起落（相关系数 {m['r']}），是自行波动或告警前就已异常"),
    (re.compile(r"^revised from (?P<x>.+?) by reflection$"), lambda m: f"经反思由 {m['x']} 修正而来"),
    (re.compile(r"^an engineer (?P<v>corrected|confirmed) a matching incident on (?P<d>\S+): (?P<c>.+?) / (?P<k>\w+) "
                r"\((?P<id>\S+), similarity (?P<s>[\d.]+)\)$"),
     lambda m: f"工程师于 {m['d']} {'更正' if m['v'] == 'corrected' else '确认'}了一个相符的历史故障：{m['c']} / {m['k']}"
               f"（{m['id']}，相似度 {m['s']}）"),
    (re.compile(r"^the model suggested (?P<k>\w+), but its signature is missing from the evidence$"),
     lambda m: f"模型认为是 {m['k']}，但证据中没有它的特征"),
)
_CITED = re.compile(r"^(?P<text>.*\S)\s+\[(?P<id>[A-Za-z]+\d+)\]$", re.S)


def why_zh(fault_type: str, why_en: str) -> str | None:
    for kind, pattern, zh in WHY_VARIANTS_ZH:
        if kind == fault_type and pattern.search(why_en):
            return zh
    return WHY_ZH.get(fault_type)


def _reason_zh(reason: str, first: bool, rc: RootCause, by_id: dict[str, Finding]) -> str:
    if detect_language(reason) == "zh":
        return reason
    head = f"{rc.component}: "
    if first and reason.startswith(head):
        why = why_zh(rc.fault_type, reason[len(head):])
        if why:
            return f"{rc.component}：{why}"
    cited = _CITED.match(reason)
    if cited and cited["id"] in by_id:
        return f"{finding_sentence(by_id[cited['id']], 'zh')} [{cited['id']}]"
    for pattern, zh in NOTES_ZH:
        m = pattern.match(reason.strip().rstrip("."))
        if m:
            return zh(m)
    return reason


def cause_reasons(rc: RootCause, findings: list[Finding], lang: str = "en") -> list[str]:
    """The cause's reasons in `lang`, the cited finding ids kept (English: as ranked)."""
    if lang != "zh":
        return list(rc.reasons)
    by_id = {f.id: f for f in findings}
    # a model-written line may come first (team brain); the ranking's own headline follows it
    headline = next((i for i, r in enumerate(rc.reasons) if r.startswith(f"{rc.component}: ")), -1)
    return [_reason_zh(r, i == headline, rc, by_id) for i, r in enumerate(rc.reasons)]
