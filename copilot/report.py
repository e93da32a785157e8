"""The incident report: five sections, every claim linked to the finding behind it.

1. when each kind of alert/anomaly began (metrics, logs, traces, changes, alerts)
2. the faulty components, deduplicated and sorted (most suspect first)
3. how each signal misbehaved, with numbers
4. the most likely root cause, from the anomalies and the ranking
5. recommended actions now, and improvements for later

`build_report` returns a JSON-ready dict; `render_markdown` writes it in the user's
language (en or zh). Nothing is stated that no finding supports. With a model, the
report may also carry `summary`: a few model-written sentences, rendered first, whose
citations the brain has checked against the real finding ids.
"""

from __future__ import annotations

from typing import Any, TypedDict

from .diagnosis import SIGNAL_SOURCES, Diagnosis, Finding, significant
from .evidence import PlatformEvidence
from .faults import CATALOGUE, fault_info, kind_experience
from .phrases import cause_reasons, finding_sentence
from .reflection import localize_note
from .timefmt import when, zone_header

MAX_SYMPTOMS_PER_SOURCE = 5

_L: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Incident report",
        "data": "Data",
        "times": "Times",
        "s1": "1. When each kind of anomaly began",
        "s2": "2. Faulty components (deduplicated, most suspect first)",
        "s3": "3. How each signal misbehaved",
        "s4": "4. Most likely root cause",
        "s5": "5. Recommended actions",
        "now": "Now",
        "later": "Later",
        "none": "no anomaly found",
        "no_data": "the data holds no {what}",
        "what": {"metrics": "metrics", "logs": "logs", "traces": "traces", "changes": "change events",
                 "alerts": "alerts", "platform": "Kubernetes state", "database": "database data"},
        "no_cause": "The evidence is not enough to name a root cause.",
        "novel": "No known fault signature fits; this looks like a novel fault. The strongest evidence:",
        "confidence": "confidence",
        "alternatives": "Other candidates",
        "reflection": "Reflection",
        "recalled": "Similar past incidents",
        "sources": {"metrics": "Metrics", "logs": "Logs", "traces": "Traces", "changes": "Changes", "alerts": "Alerts",
                    "platform": "Platform (Kubernetes)", "database": "Databases"},
        "verdict": "Verdict",
        "states": {"fault": "fault — something is wrong now", "recovered": "recovered — it happened and is over",
                   "healthy": "healthy — nothing is wrong"},
        "since": {"fault": "since", "recovered": "over since"},
        "ruled_out": "Ruled out (not causes)",
        "healthy_cause": "Nothing is wrong: no root cause.",
        "category": "category",
        "experience": "Matches expert experience",
        "kb": "Knowledge base",
        "summary": "Summary",
        "more": "(+{n})",
        "colon": ": ",
        "comma": ", ",
        "comma_clause": ", ",
        "semicolon": "; ",
        "paren": (" (", ")"),
    },
    "zh": {
        "title": "故障报告",
        "data": "数据",
        "times": "时区",
        "s1": "一、各类告警/异常的开始时间",
        "s2": "二、故障组件列表（已去重，按可疑程度排序）",
        "s3": "三、各类信号的异常具体表现",
        "s4": "四、最可能的故障根因",
        "s5": "五、推荐采取的措施和未来改进的方向",
        "now": "当前措施",
        "later": "改进方向",
        "none": "未发现异常",
        "no_data": "数据中没有{what}",
        "what": {"metrics": "性能指标", "logs": "日志", "traces": "调用链", "changes": "变更事件",
                 "alerts": "告警", "platform": "Kubernetes 状态", "database": "数据库数据"},
        "no_cause": "现有证据不足以确定根因。",
        "novel": "没有已知故障特征与之匹配，疑似新型故障。最显著的证据：",
        "confidence": "置信度",
        "alternatives": "其他候选",
        "reflection": "反思",
        "recalled": "相似历史故障",
        "sources": {"metrics": "性能指标", "logs": "日志", "traces": "调用链", "changes": "变更事件", "alerts": "告警",
                    "platform": "平台（Kubernetes）", "database": "数据库"},
        "verdict": "结论",
        "states": {"fault": "故障中（当前仍有问题）", "recovered": "已恢复（发生过，现已结束）", "healthy": "正常（没有问题）"},
        "since": {"fault": "开始于", "recovered": "恢复于"},
        "ruled_out": "已排除（非根因）",
        "healthy_cause": "系统正常：没有根因。",
        "category": "类别",
        "experience": "匹配专家经验",
        "kb": "知识库",
        "summary": "摘要",
        "more": "（另有 {n} 条）",
        "colon": "：",
        "comma": "、",
        "comma_clause": "，",
        "semicolon": "；",
        "paren": ("（", "）"),
    },
}


class RootSection(TypedDict):
    """The report's root-cause section (section 2): the top-ranked cause."""

    component: str
    fault_type: str
    category: str
    experience: str
    fault_name: str
    confidence: float
    reasons: list[str]
    evidence: list[str]
    alternatives: list[dict[str, Any]]


def fmt_time(ts: float | None) -> str | None:
    return None if ts is None else when(ts, seconds=True)


def _by_source(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {s: [] for s in SIGNAL_SOURCES}
    for f in findings:
        out.setdefault(f.source, []).append(f)
    return out


def _status(source: str, items: list[Finding], held: dict[str, bool]) -> str:
    """`found` (findings), `nothing_found` (the data held the signal and nothing was
    wrong), `no_data` (the data holds none of it) or `unknown` (not recorded)."""
    if items:
        return "found"
    if source not in held:
        return "unknown"
    return "nothing_found" if held[source] else "no_data"


def _nothing(t: dict[str, Any], source: str, status: str | None) -> str:
    """What the report says of a signal without findings."""
    if status == "no_data":
        return str(t["no_data"]).format(what=t["what"].get(source, source))
    return str(t["none"])


def build_report(
    diagnosis: Diagnosis,
    lang: str = "en",
    *,
    knowledge: list[dict[str, Any]] | None = None,
    reflection: list[str] | None = None,
    recalled: list[dict[str, Any]] | None = None,
    data: str = "",
) -> dict[str, Any]:
    lang = lang if lang in _L else "en"
    shown = [f for f in diagnosis.findings if f.kind != "ruled_out"]  # red herrings go in "ruled out" only
    groups = _by_source(shown)
    for source, present in diagnosis.data_held.items():
        if present:  # a signal the data held gets its line even when nothing was wrong in it
            groups.setdefault(source, [])
    strong = _by_source(significant(shown))
    onsets = []
    held = diagnosis.data_held
    for source, items in groups.items():
        timed = [(f.onset, f) for f in strong.get(source, []) if f.onset is not None]
        first = min(timed, key=lambda t: t[0])[1] if timed else None
        onsets.append({
            "source": source,
            "onset": fmt_time(first.onset) if first else None,
            "onset_ts": first.onset if first else None,
            "evidence": [first.id] if first else [],
            "count": len(items),
            "status": _status(source, items, held),
        })

    rank_order = {rc.component: i for i, rc in enumerate(diagnosis.root_causes)}
    components: dict[str, dict[str, Any]] = {}
    for f in shown:
        if f.source == "changes" and f.component not in rank_order:
            continue  # a change alone does not make a component faulty
        entry = components.setdefault(f.component, {"component": f.component, "sources": set(), "evidence": [], "score": 0.0})
        entry["sources"].add(f.source)
        entry["evidence"].append(f.id)
        entry["score"] = max(entry["score"], f.score)
    faulty = sorted(
        components.values(),
        key=lambda e: (rank_order.get(e["component"], len(rank_order)), -e["score"], e["component"]),
    )
    faulty_out = [
        {"component": e["component"], "sources": sorted(e["sources"]), "evidence": e["evidence"][:6]} for e in faulty
    ]

    symptoms = []
    for source, items in groups.items():
        strongest = sorted(items, key=lambda f: -f.score)[:MAX_SYMPTOMS_PER_SOURCE]
        symptoms.append({
            "source": source,
            "items": [{"text": finding_sentence(f, lang), "evidence": f.id, "component": f.component} for f in strongest],
            "more": max(0, len(items) - len(strongest)),
            "status": _status(source, items, held),
        })

    if not diagnosis.verdict and not diagnosis.verdict_detail:  # a brain that stated none: decide here
        from .verdict import decide

        v = decide(diagnosis.root_causes, diagnosis.findings)
        diagnosis.verdict, diagnosis.verdict_detail = v.state, v.to_dict()
    verdict = {"state": diagnosis.verdict, **diagnosis.verdict_detail}
    root: RootSection | None = None
    if diagnosis.root_causes:
        top = diagnosis.root_causes[0]
        info = fault_info(top.fault_type)
        root = {
            "component": top.component,
            "fault_type": top.fault_type,
            "category": top.category,
            "experience": top.experience,
            "fault_name": info.name(lang),
            "confidence": top.confidence,
            "reasons": cause_reasons(top, diagnosis.findings, lang),
            "evidence": list(top.evidence),
            "alternatives": [
                {"component": rc.component, "fault_type": rc.fault_type, "confidence": rc.confidence, "evidence": rc.evidence[:4]}
                for rc in diagnosis.root_causes[1:3]
            ],
        }

    now: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    if root:
        info = fault_info(root["fault_type"])
        # Expert experience of the same fault kind beats the built-in catalogue's line.
        matching = [e for e in (knowledge or []) if e.get("fault_kind") == root["fault_type"] and e.get("mitigation")]
        # One entry is enough: prefer the one in the report's language (the KB holds both).
        matching.sort(key=lambda e: e.get("language", lang) != lang)
        if not matching and root["fault_type"] not in CATALOGUE:
            # a kind a plugin or the team defined: its bundled experience holds the commands
            own = kind_experience(root["fault_type"], lang)
            matching = [own] if own else []
        if matching:
            for entry in matching[:1]:
                now.append({"text": fill_commands(str(entry["mitigation"]).strip(), diagnosis, root), "evidence": root["evidence"][:3],
                            "source": entry.get("id", "")})
        else:
            now.append({"text": fill_commands(info.mitigation(lang), diagnosis, root), "evidence": root["evidence"][:3]})
        later.append({"text": info.improvement(lang), "evidence": []})
    return {
        "language": lang,
        "question": diagnosis.question,
        "data": data,
        "timezone": zone_header(),  # every time in the report's text is in it
        "verdict": verdict,
        "ruled_out": list(verdict.get("ruled_out", [])),
        "alert_onsets": onsets,
        "faulty_components": faulty_out,
        "symptoms": symptoms,
        "root_cause": root,
        "strongest_evidence": [f.id for f in sorted(diagnosis.findings, key=lambda f: -f.score)[:3]],
        "actions": {"now": now, "later": later},
        "reflection": [localize_note(note, lang) for note in reflection or []],
        "recalled": [
            {"id": r.get("id", ""), "summary": r.get("summary", ""), "similarity": r.get("similarity", 0.0)}
            for r in (recalled or [])
        ],
    }


def fill_commands(text: str, diagnosis: Diagnosis, root: RootSection) -> str:
    """Proposed kubectl commands with the cause's own namespace, workload, pod and node;
    proposed AWS CLI commands with the cause's own database instance."""
    by_id = {f.id: f for f in diagnosis.findings}
    if "INSTANCE" in text and any(e in by_id and by_id[e].source == "database" for e in root["evidence"]):
        import re as _re

        text = _re.sub(r"\bINSTANCE\b", root["component"], text)
    if "kubectl" not in text:
        return text
    lead = next((by_id[e] for e in root["evidence"] if e in by_id and by_id[e].source == "platform"), None)
    if lead is None:
        return text
    d = lead.details if isinstance(lead.details, PlatformEvidence) else PlatformEvidence()
    names = {"NS": d.namespace, "POD": d.pod, "NODE": d.node or (root["component"] if root["fault_type"].startswith("node_") else None),
             "NEW_RS": d.new_replicaset, "NAME": d.deployment or root["component"]}
    import re as _re

    for key, value in names.items():
        if value:
            text = _re.sub(rf"\b{key}\b", str(value), text)
    return text


def _spark(report: dict[str, Any], finding_id: str) -> str:
    """The finding's sparkline (copilot/charts.py), when the caller added `sparklines` to the report."""
    line = (report.get("sparklines") or {}).get(finding_id)
    return f" `{line}`" if line else ""


def _cite(ids: list[str]) -> str:
    return " " + " ".join(f"[{i}]" for i in ids) if ids else ""


def summary_head(report: dict[str, Any]) -> str:
    """The Markdown that precedes the summary's text: the title, the question and the
    summary heading (a brain streams the summary after it, so the final report starts
    with what was streamed)."""
    t = _L.get(report.get("language", "en"), _L["en"])
    lines = [f"# {t['title']}", ""]
    if report.get("question"):
        lines += [f"> {report['question']}", ""]
    if report.get("data"):
        lines += [f"*{t['data']}*{t['colon']}{report['data']}", ""]
    if report.get("timezone"):
        lines += [f"*{t['times']}*{t['colon']}{report['timezone']}", ""]
    lines += [f"## {t['summary']}", "", ""]
    return "\n".join(lines)


def _paren(t: dict[str, Any], text: str) -> str:
    return f"{t['paren'][0]}{text}{t['paren'][1]}"


def _md_header(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    """The title, question, data, time zone and model summary."""
    colon = t["colon"]
    lines = [f"# {t['title']}", ""]
    if report.get("question"):
        lines += [f"> {report['question']}", ""]
    if report.get("data"):
        lines += [f"*{t['data']}*{colon}{report['data']}", ""]
    if report.get("timezone"):
        lines += [f"*{t['times']}*{colon}{report['timezone']}", ""]
    if report.get("summary"):  # a short model-written summary (its citations are checked by the brain)
        lines += [f"## {t['summary']}", "", str(report["summary"]).strip(), ""]
    return lines


def _md_verdict(verdict: dict[str, Any], t: dict[str, Any], lang: str) -> list[str]:
    if not verdict.get("state"):
        return []
    since = verdict.get("since")
    since_text = (f"{_paren(t, t['since'][verdict['state']] + ' ' + fmt_time(since))}"
                  if since and verdict["state"] in t["since"] else "")
    lines = [f"**{t['verdict']}**{t['colon']}**{t['states'].get(verdict['state'], verdict['state'])}**{since_text}"]
    zh_reasons = verdict.get("reasons_zh") if lang == "zh" else None
    reasons = zh_reasons or verdict.get("reasons", [])
    lines += [f"- {reason}" for reason in reasons]
    lines.append("")
    return lines


def _md_onsets(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    lines = [f"## {t['s1']}", ""]
    for o in report["alert_onsets"]:
        name = t["sources"].get(o["source"], o["source"])
        lines.append(f"- **{name}**{t['colon']}{o['onset'] or _nothing(t, o['source'], o.get('status'))}{_cite(o['evidence'])}")
    lines.append("")
    return lines


def _md_components(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    lines = [f"## {t['s2']}", ""]
    if report["faulty_components"]:
        for c in report["faulty_components"]:
            srcs = t["comma"].join(t["sources"].get(s, s) for s in c["sources"])
            lines.append(f"- `{c['component']}`{_paren(t, srcs)}{_cite(c['evidence'][:3])}")
    else:
        lines.append(f"- {t['none']}")
    lines.append("")
    return lines


def _md_symptoms(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    colon = t["colon"]
    lines = [f"## {t['s3']}", ""]
    for group in report["symptoms"]:
        name = t["sources"].get(group["source"], group["source"])
        if not group["items"]:
            lines.append(f"- **{name}**{colon}{_nothing(t, group['source'], group.get('status'))}")
            continue
        lines.append(f"- **{name}**{colon.rstrip()}")
        for item in group["items"]:
            lines.append(f"  - {item['text']} [{item['evidence']}]{_spark(report, item['evidence'])}")
        if group["more"]:
            lines.append(f"  - {t['more'].format(n=group['more'])}")
    lines.append("")
    return lines


def _md_cause_head(report: dict[str, Any], t: dict[str, Any], verdict: dict[str, Any]) -> list[str]:
    """The root cause named (with its reasons), a novel fault, or why none is named."""
    root = report.get("root_cause")
    if root and root["fault_type"] != "unknown":
        category = f"{t['comma_clause']}{t['category']} `{root['category']}`" if root.get("category") else ""
        lines = [
            f"**`{root['component']}` — {root['fault_name']}{_paren(t, '`' + root['fault_type'] + '`')}**{category}{t['comma_clause']}"
            f"{t['confidence']} {root['confidence']:.2f}{_cite(root['evidence'][:4])}"
        ]
        if root.get("experience"):
            lines.append(f"- {t['experience']}{t['colon']}{root['experience']}")
        return lines + [f"- {reason}" for reason in root["reasons"]]
    if root:
        lines = [f"{t['novel']} `{root['component']}`{_cite(report.get('strongest_evidence', []))}"]
        return lines + [f"- {reason}" for reason in root["reasons"]]
    return [t["healthy_cause"] if verdict.get("state") == "healthy" else t["no_cause"]]


def _md_cause_tail(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    """Other candidates, what was ruled out, and the reflection's notes."""
    colon = t["colon"]
    lines: list[str] = []
    root = report.get("root_cause")
    if root and root["alternatives"]:
        alts = t["semicolon"].join(f"`{a['component']}` / `{a['fault_type']}`{_paren(t, format(a['confidence'], '.2f'))}"
                                   for a in root["alternatives"])
        lines.append(f"\n{t['alternatives']}{colon}{alts}")
    if report.get("ruled_out"):
        lines += ["", f"*{t['ruled_out']}*{colon.rstrip()}"]
        lines += [f"- `{r['component']}`{colon}{r['text']}{_cite(r.get('evidence', [])[:3])}" for r in report["ruled_out"]]
    if report.get("reflection"):
        lines += ["", f"*{t['reflection']}*{colon.rstrip()}"]
        lines += [f"- {note}" for note in report["reflection"]]
    return lines


def _md_actions(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    colon = t["colon"]
    lines = [f"## {t['s5']}", ""]
    for label, key in ((t["now"], "now"), (t["later"], "later")):
        for action in report["actions"][key]:
            src = _paren(t, f"{t['kb']}{colon}{action['source']}") if action.get("source") else ""
            lines.append(f"- **{label}**{colon}{action['text']}{_cite(action['evidence'])}{src}")
    if report.get("recalled"):
        lines += ["", f"*{t['recalled']}*{colon.rstrip()}"]
        lines += [f"- {r['id']}: {r['summary']} ({r['similarity']:.2f})" for r in report["recalled"]]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    lang = report.get("language", "en")
    t = _L.get(lang, _L["en"])
    verdict: dict[str, Any] = report.get("verdict") or {}
    lines = _md_header(report, t) + _md_verdict(verdict, t, lang)
    lines += _md_onsets(report, t) + _md_components(report, t) + _md_symptoms(report, t)
    lines += [f"## {t['s4']}", ""] + _md_cause_head(report, t, verdict) + _md_cause_tail(report, t) + [""]
    lines += _md_actions(report, t)
    return "\n".join(lines).rstrip() + "\n"
