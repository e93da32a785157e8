"""A root cause's reasons in the report's language, rendered from their codes.

Whoever names a cause says why with `copilot.reasons.reason(code, **values)`; this module
holds each code's sentence in English and in Chinese (`REASONS`), and the ranking's one-line
reason for each fault kind (`WHY`). A cited finding is written from the finding itself in
Chinese (same id); a reason with no code (a model's sentence) stays as it is.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from copilot.diagnosis import Finding, RootCause

from .findings import finding_sentence

Values = Mapping[str, Any]
Template = Callable[[Values], str]

# Why the ranking (plugins/detectors/rank.py `classify`) named a fault kind: key -> (English, Chinese).
WHY: dict[str, tuple[str, str]] = {
    "disk_full": ("its disk filled up (or writes fail for lack of space)", "磁盘被写满（或因空间不足导致写入失败）"),
    "memory_leak": ("its memory grows steadily without falling back", "内存持续增长，没有回落"),
    "jvm_gc": ("garbage-collection count and pause time rose", "GC 次数和停顿时间上升"),
    "cpu_saturation": ("its CPU is saturated while its request rate is normal", "CPU 打满，而请求量正常"),
    "code_exception": ("exceptions appear in its logs", "日志中出现异常"),
    "code_exception_after_change": ("exceptions appear in its logs after a recent change", "近期变更之后，它的日志中出现异常"),
    "network_loss": ("calls into it fail or go missing (retransmissions, lost spans) without exceptions in its logs",
                     "对它的调用失败或丢失（重传、span 丢失），而它的日志中没有异常"),
    "network_delay": ("calls into it got slower while its own CPU stayed normal", "对它的调用变慢，而它自身的 CPU 正常"),
    "traffic_surge": ("its request rate surged while its callers' did not: more traffic is entering here",
                      "它的请求量激增，而它的调用方没有，说明更多流量从这里进入"),
    "stopped_steps": ("it stopped taking steps its code always took (an early return or an exception)",
                      "它不再执行代码中一贯会执行的步骤（提前返回或抛出异常）"),
    "errors_after_change": ("errors start in it right after a change", "一次变更之后它随即开始报错"),
    "fails_itself": ("it fails requests itself while what it calls is healthy and its network shows no loss or delay",
                     "它自己让请求失败，而它调用的服务都正常，网络也没有丢包或延迟"),
    "unknown": ("its anomalies match no known fault signature", "它的异常与任何已知故障特征都不匹配"),
}


def _names(values: Values, sep: str) -> str:
    return sep.join(str(n) for n in values.get("names") or ())


def _over(values: Values, lang: str) -> str:
    over = values.get("over_zh") or values.get("over") if lang == "zh" else values.get("over")
    if not over:
        return "." if lang == "en" else ""
    return f" (over: {over})." if lang == "en" else f"（已结束：{over}）"


def _cause_text(values: Values, lang: str) -> str:
    text = str(values.get("text_zh") or values.get("text") or "") if lang == "zh" else str(values.get("text") or "")
    return f"{values['component']}：{text}{_over(values, lang)}" if lang == "zh" else \
        f"{values['component']}: {text}{_over(values, lang)}"


def _label(values: Values, lang: str) -> str:
    corrected = values.get("verdict") == "corrected"
    v = dict(values, sim=float(values.get("sim", 0.0)))
    if lang == "zh":
        return ("工程师于 {date} {what}了一个相符的历史故障：{component} / {kind}（{id}，相似度 {sim:.2f}）"
                .format(what="更正" if corrected else "确认", **v))
    return ("an engineer {what} a matching incident on {date}: {component} / {kind} ({id}, similarity {sim:.2f})"
            .format(what="corrected" if corrected else "confirmed", **v))


# code -> (English, Chinese)
REASONS: dict[str, tuple[Template, Template]] = {
    # "<component>: <why the fault kind>." — first among a cause's reasons
    "cause": (lambda v: f"{v['component']}: {WHY[v['why']][0]}.", lambda v: f"{v['component']}：{WHY[v['why']][1]}"),
    # the same, where the why is the namer's own text (platform and database plugins, declared kinds)
    "cause_text": (lambda v: _cause_text(v, "en"), lambda v: _cause_text(v, "zh")),
    "finding": (lambda v: f"{v['summary']} [{v['id']}]", lambda v: f"{v['summary']} [{v['id']}]"),
    "load_explains_cpu": (lambda v: "its CPU rise follows its request rate, so load explains it",
                          lambda v: "它的 CPU 上升与请求量同步，可由负载解释"),
    "callees_inherited": (
        lambda v: (f"its callees {_names(v, ', ')} are" if len(v["names"]) > 1 else f"its callee {_names(v, ', ')} is")
        + " anomalous too, so part of what it shows is inherited",
        lambda v: f"它的下游 {_names(v, '、')} 也有异常，它表现出的部分症状是从下游传导来的"),
    "callees_healthy": (lambda v: f"its callees ({_names(v, ', ')}) look healthy, so the problem starts here",
                        lambda v: f"它的下游（{_names(v, '、')}）均正常，问题从它这里开始"),
    "below_surge": (lambda v: f"it sits below the traffic surge at {v['at']}, which explains its load",
                    lambda v: f"它位于 {v['at']} 流量激增的下游，负载上升由此而来"),
    "not_calling_alerted": (lambda v: "the alerted component does not call it, so it cannot explain the alert",
                            lambda v: "告警组件并不调用它，它无法解释这条告警"),
    "symptom_uncorrelated": (
        lambda v: f"its symptom did not rise and fall with the alerted one (correlation {float(v['r']):.2f}), "
                  "so it moved on its own or was already off",
        lambda v: f"它的症状没有随告警指标一起起落（相关系数 {float(v['r']):.2f}），是自行波动或告警前就已异常"),
    "alerted_symptom": (lambda v: "it shows the alerted symptom", lambda v: "它表现出告警所指的症状"),
    "alerted_symptom_stops_here": (
        lambda v: "it shows the alerted symptom, and the symptom its callers show stops here: none of its callees shows it",
        lambda v: "它表现出告警所指的症状，调用方的症状到它这里为止：它的下游都没有这一症状"),
    "model_signature_missing": (lambda v: f"the model suggested {v['kind']}, but its signature is missing from the evidence",
                                lambda v: f"模型认为是 {v['kind']}，但证据中没有它的特征"),
    "revised_by_reflection": (lambda v: f"revised from {v['was']} by reflection", lambda v: f"经反思由 {v['was']} 修正而来"),
    "label_match": (lambda v: _label(v, "en"), lambda v: _label(v, "zh")),
    "experience_describes": (
        lambda v: f"the team's experience {v['id']} describes this cause ({v['hits']} of its symptoms match): {v['root_cause']}",
        lambda v: f"团队的专家经验 {v['id']} 描述了这一根因（{v['hits']} 条症状相符）：{v['root_cause']}"),
    "experience_matches": (lambda v: f"matches expert experience {v['id']}: {v['root_cause']}",
                           lambda v: f"与专家经验 {v['id']} 相符：{v['root_cause']}"),
}


def render(code: str, values: Values, lang: str) -> str:
    """The sentence of `code` with `values` in `lang` ("zh" or English). KeyError: unknown code."""
    en, zh = REASONS[code]
    return zh(values) if lang == "zh" else en(values)


def _reason_zh(reason: str, by_id: dict[str, Finding]) -> str:
    code = getattr(reason, "code", None)
    if code is None:
        return reason  # no code: a model's or a workflow's own sentence
    values = reason.values  # type: ignore[attr-defined]
    if code == "finding" and values.get("id") in by_id:
        return f"{finding_sentence(by_id[values['id']], 'zh')} [{values['id']}]"
    return render(code, values, "zh")


def cause_reasons(rc: RootCause, findings: list[Finding], lang: str = "en") -> list[str]:
    """The cause's reasons in `lang`, the cited finding ids kept (English: as ranked)."""
    if lang != "zh":
        return list(rc.reasons)
    by_id = {f.id: f for f in findings}
    return [_reason_zh(r, by_id) for r in rc.reasons]
