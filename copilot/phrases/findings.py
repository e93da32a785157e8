"""One finding as one sentence, in English (the detector's own) or Chinese (written here
from the finding's structured fields, with the detector's number formats)."""

from __future__ import annotations

import math
from typing import Any, Callable, TypeGuard

from copilot.diagnosis import Finding
from copilot.evidence import AlertEvidence, ChangeEvidence, ItemEvidence, LogEvidence, MetricEvidence, TraceEvidence
from copilot.timefmt import hhmm, when as day_hhmm


# -- numbers and times, formatted as the detectors format them ---------------------------
def num(v: Any) -> str:
    """A metric value: whole numbers from 100, one decimal from 1, else 3 significant digits."""
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 1 else f"{v:.3g}"


def _number(v: object) -> TypeGuard[float]:
    """A finite int or float (not a bool); a guard, so callers may use the value as a number."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(template: str, limit: int = 100) -> str:
    return template if len(template) <= limit else template[: limit - 3] + "..."


def _code(text: str) -> str:
    """Verbatim data (a log template, a description) as a Markdown code span."""
    tick = "``" if "`" in text else "`"
    pad = " " if tick == "``" else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def sigma(f: Finding) -> str:
    """The score as the detectors print it: one decimal of the stored (rounded) score."""
    return f"{f.score:.1f}"


def _at(ts: float | None, fmt: str) -> str:
    """A time clause, or nothing when the detector could not date the finding."""
    return fmt.format(hhmm(ts)) if ts is not None else ""


# -- metrics -----------------------------------------------------------------------------
def _metric_zh(f: Finding) -> str | None:
    d = f.details
    if not isinstance(d, MetricEvidence):
        return None
    base, peak, after = d.baseline, d.peak, d.after
    if not _number(base) or not _number(peak):
        return None
    u = d.unit or ""
    us = f" {u}" if u else ""
    instance = (d.labels or {}).get("instance")
    # "payment 的 disk_usage 在 ..."; no space after a closing full-width parenthesis
    who = f"{f.component} 的 {f.signal}" + (f"（{instance}）" if instance else " ")
    up = (d.direction or "up") == "up"
    side = "高于" if up else "低于"
    if d.test == "beta-binomial" and _number(d.failing_after) and _number(d.requests):
        return (f"{who}自 {hhmm(f.onset)} 起 {int(d.requests)} 个请求中失败 {d.failing_after:.2%}"
                f"（基线 {d.failing_before:.2%}），按每请求失败数的贝塔二项检验为 {sigma(f)} sigma")
    if f.kind == "trend":
        slope = d.slope_per_min or 0.0
        move, to = ("持续上升", "升到") if slope >= 0 else ("持续下降", "降到")
        return (f"{who}自 {hhmm(f.onset)} 起{move}，从 {num(base)} {to} {num(peak)}{us}"
                f"（每分钟 {slope:+.2g}{us}），{side}基线 {sigma(f)} sigma")
    ref = after if f.kind == "level_shift" else peak
    change = "上升" if up else "下降"
    if abs(base) > 1e-9 and _number(ref) and ref / base > 0:
        r = ref / base
        change = (f"升至原来的 {r:.1f} 倍" if r >= 1.5 else f"{change} {abs(r - 1) * 100:.0f}%" if r > 0.67
                  else f"降至正常水平的 {r * 100:.0f}%")
    spike = "出现尖峰，" if f.kind == "spike" else ""
    return (f"{who}在 {hhmm(f.onset)} {spike}{change}（{num(base)} -> {num(ref)}{us}），"
            f"{side}{'前一天同一时段' if d.seasonal else '基线'} {sigma(f)} sigma")


# -- logs --------------------------------------------------------------------------------
def _period_zh(f: Finding) -> str:
    """The baseline period of a log finding, named as the log detector names it: "此前 1 小时"
    when it directly precedes the window, "20 分钟的基线期" when it does not."""
    d = f.details
    minutes, adjacent = (d.baseline_minutes, d.baseline_adjacent) if isinstance(d, LogEvidence) else (None, None)
    if not _number(minutes):
        return "基线期"
    m = round(minutes)
    if adjacent is not True:
        return f"{m} 分钟的基线期"
    return f"此前 {m // 60} 小时" if m and m % 60 == 0 else f"此前 {m} 分钟"


def _logs_zh(f: Finding) -> str | None:
    d = f.details
    if not isinstance(d, LogEvidence):
        return None
    count, base = d.count, d.baseline_count
    template = d.template or f.signal
    if not isinstance(count, int) or not isinstance(base, int) or not template:
        return None
    t = _code(_short(str(template)))
    period = _period_zh(f)
    since = _at(f.onset, "自 {} 起")
    if f.kind == "error_surge":
        return (f"{f.component} {since}记录了 {count} 条错误日志 {t}，"
                + (f"{period}内只有 {base} 条" if base else f"{period}内没有出现过"))
    if f.kind == "new_template":
        return f"{f.component} {since}出现新日志 {t}，共 {count} 次，{period}内从未出现过"
    if f.kind == "template_burst":
        return f"{f.component} {since}记录 {t} {count} 次，{period}内为 {base} 次（{sigma(f)} sigma）"
    return None


# -- traces ------------------------------------------------------------------------------
def _x(after: Any, before: Any) -> str:
    return f"{after / max(before, 1e-9):.1f}"


def _traces_zh(f: Finding) -> str | None:
    d = f.details
    if not isinstance(d, TraceEvidence):
        return None
    s = f"{sigma(f)} sigma"
    caller, callee = d.caller or "", d.callee if d.callee is not None else f.component
    if f.kind == "latency_origin" and _number(b := d.self_ms_before) and _number(w := d.self_ms_after):
        return (f"延迟源自 {f.component} 自身：{_at(f.onset, '{} 起')}它每次调用的自身耗时增至 {_x(w, b)} 倍"
                f"（中位数 {b:.1f} -> {w:.1f} ms），{s}，并非来自其下游")
    if f.kind == "network_latency" and _number(b := d.wire_ms_before) and _number(w := d.wire_ms_after):
        return (f"调用 {f.component} 的网络耗时{_at(f.onset, '在 {} ')}增至 {_x(w, b)} 倍（调用方客户端 span 与 "
                f"{f.component} 服务端 span 之间的中位数 {b:.1f} -> {w:.1f} ms），{s}")
    if f.kind == "latency" and caller and _number(b := d.ms_before) and _number(w := d.ms_after):
        return f"{caller}->{callee} 的调用变慢至 {_x(w, b)} 倍（中位数 {b:.1f} -> {w:.1f} ms），{s}"
    if f.kind == "call_path_change" and d.blamed_by_callers and d.callers:
        since = _at(f.onset, "自 {} 起")
        requests = d.requests if d.requests is not None else "?"
        return (f"{'、'.join(d.callers)} 调用 {f.component} 后随即中止请求（{since}共 {requests} 个请求"
                f"被截断）：{f.component} 返回了错误或不可用的结果，说明其代码中出现了提前返回或异常，{s}")
    pb, pw = d.ratio_before, d.ratio_after
    if not _number(pb) or not _number(pw):
        return None
    if f.kind == "errors" and caller:
        return f"{caller}->{callee} 的调用失败率为 {pw:.1%}（基线 {pb:.1%}），{s}"
    if f.kind == "error_origin":
        return (f"错误源自 {f.component}：{_at(f.onset, '自 {} 起')}它有 {pw:.1%} 的 span 失败，而其下游调用均未失败"
                f"（基线 {pb:.1%}），{s}")
    if f.kind == "call_path_change" and d.operation:
        missing = "、".join(_code(str(m)) for m in d.missing or ())
        return (f"{f.component} 处理 {_code(str(d.operation))} 时中途退出：{_at(f.onset, '自 {} 起')}它有 {pw:.1%} "
                f"的请求缺少以往会执行的步骤（基线 {pb:.1%}）" + (f"，缺少 {missing}" if missing else "")
                + f"；说明其代码中出现了提前返回或异常，{s}")
    if f.kind == "call_path_change":
        return (f"{f.component} 跳过了以往必经的步骤：{_at(f.onset, '自 {} 起')}它有 {pw:.1%} 的 span 缺少基线期内"
                f"都会发起的调用（基线 {pb:.1%}），说明其代码中出现了提前返回或异常，{s}")
    if f.kind == "lost_spans" and caller:
        return (f"{caller} 对 {callee} 的调用{_at(f.onset, '自 {} 起')}有 {pw:.1%} 缺失（基线 {pb:.1%}）："
                f"调用中断或 span 丢失，{s}")
    if f.kind == "orphan_spans":
        return (f"{f.component} 有 {pw:.1%} 的 span 找不到父 span（基线 {pb:.1%}）：{f.component} 的上游有 span 丢失，{s}")
    return None


# -- changes and alerts ------------------------------------------------------------------
# What a change did, with its author as the subject, and without one.
CHANGE_VERBS_ZH = {"deploy": "发布了 {c}", "config": "修改了 {c} 的配置", "rollback": "回滚了 {c}", "restart": "重启了 {c}",
                   "scale": "对 {c} 做了扩缩容", "migration": "迁移了 {c}", "feature_flag": "修改了 {c} 的特性开关"}
CHANGE_NOUNS_ZH = {"deploy": "发布", "config": "配置变更", "rollback": "回滚", "restart": "重启", "scale": "扩缩容",
                   "migration": "迁移", "feature_flag": "特性开关变更"}
SEVERITY_ZH = {"critical": "严重", "error": "错误", "warning": "警告", "warn": "警告", "info": "提示", "page": "紧急"}


def _changes_zh(f: Finding) -> str | None:
    d = f.details
    if not isinstance(d, ChangeEvidence):
        return None
    minutes, onset = d.minutes_before_onset, d.onset
    if f.onset is None or not _number(minutes) or not _number(onset):
        return None
    kind = f.kind.lower()
    if d.author:
        what = f"{d.author} " + CHANGE_VERBS_ZH.get(kind, "对 {c} 做了变更（" + _code(f.kind) + "）").replace("{c}", f.component)
    else:
        what = f"{f.component} 进行了" + CHANGE_NOUNS_ZH.get(kind, f"变更（{_code(f.kind)}）")
    when = (f"比异常开始（{hhmm(onset)}）早 {minutes:.0f} 分钟" if minutes >= 0.5
            else f"在异常开始（{hhmm(onset)}）之后 {-minutes:.0f} 分钟" if minutes <= -0.5
            else f"与异常开始（{hhmm(onset)}）同时")
    desc = str(d.description or "").strip()
    return f"{hhmm(f.onset)} {what}，{when}" + (f"：{_code(desc)}" if desc else "")


def _alerts_zh(f: Finding) -> str | None:
    d = f.details  # an alert's, or a diagnosis item's that reports as an alert
    desc = str(d.description or "").strip() if isinstance(d, (AlertEvidence, ItemEvidence)) else ""
    severity = str(d.severity or "") if isinstance(d, AlertEvidence) else ""
    sev = f"（{SEVERITY_ZH.get(severity.lower(), severity)}）" if severity else ""
    when = f"{day_hhmm(f.onset)} " if f.onset is not None else ""
    return f"{when}{f.component} 触发告警 {_code(f.signal)}{sev}" + (f"：{_code(desc)}" if desc else "")


_ZH: dict[str, Callable[[Finding], str | None]] = {
    "metrics": lambda f: _metric_zh(f) if f.kind in ("level_shift", "spike", "trend") else None,
    "logs": _logs_zh,
    "traces": _traces_zh,
    "changes": _changes_zh,
    "alerts": _alerts_zh,
}


def finding_sentence(f: Finding, lang: str = "en") -> str:
    """The finding in one sentence: the detector's own in English; in Chinese, written from
    its structured fields (the English one where a kind has no Chinese form)."""
    if lang != "zh":
        return f.summary
    render = _ZH.get(f.source)
    try:
        text = render(f) if render else None
    except (KeyError, TypeError, ValueError, ZeroDivisionError):  # details of an unexpected shape
        text = None
    return text or f.summary
