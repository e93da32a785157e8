"""The offline brain: a deterministic, rule-based investigation over the same tools.

Used when no model is configured (air-gapped jump hosts) or with `--offline`. It walks the
pipeline (copilot/pipeline.py) a senior SRE would: look at what telemetry exists, let each
data-source agent scan its signal, rank root causes, consult the knowledge base and memory,
reflect on the leading hypothesis, then write the report. Its thoughts say plainly that they
come from rules, not from a model; the team brain uses it, in its own voice, for the same
rule phases.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Literal

from ..diagnosis import Diagnosis, Finding, RootCause
from ..events import Event
from ..alert_routing import alert_list, route_alerts
from ..evidence import AlertEvidence, ItemEvidence
from ..faults import CATALOGUE, fault_info
from ..intent import Intent, classify, flag_window, understand, unknown_services
from ..knowledge_answer import knowledge_answer
from ..source_names import local_only, named_note
from ..learning import apply_labels
from ..timezones import local_zone
from ..report import build_report, render_markdown
from ..reflection import reflect
from ..pipeline import PLAN as PLAN, Phase as Phase, PlanStep as PlanStep  # re-exported: their old home
from .base import Decision, RunState, ToolCall


_PREFIX = {"en": "[rules] ", "zh": "[规则] "}


Voice = Literal["offline", "team"]  # how a phase's thought is worded: the offline run's, or the team's


def intent_kind(state: RunState) -> str:
    """The pipeline's first phase: the kind of question (RunState.intent_kind), read once."""
    if not state.intent_kind:
        from ..followup import about_investigation

        state.intent_kind = "followup" if about_investigation(state.question, state.context) else classify(state.question)
    return state.intent_kind


class OfflineBrain:
    label = "offline"

    def __init__(self, plan: tuple[Phase, ...] = PLAN, voice: Voice = "offline") -> None:
        self.plan = plan
        self.voice = voice

    async def step(self, state: RunState) -> AsyncIterator[Event | Decision]:
        if not state.steps:
            kind = intent_kind(state)
            if kind == "followup":
                yield self.followup(state)
                return
            if kind == "knowledge" and "kb_search" in state.tools:
                yield self.knowledge_search(state)
                return
        elif state.intent_kind == "followup":
            yield self.followup(state)  # the follow-up's look-ups are done: the answer
            return
        if state.intent_kind == "knowledge" and state.results_of("kb_search"):
            yield self._answer_from_knowledge(state)
            return
        phases = [p for p in self.plan if any(step_applies(st, state) for st in p.steps)]
        pending = [p for p in phases if pending_steps(p, state)]
        # Always keep one step for the answer.
        if pending and state.max_steps - len(state.steps) > 1:
            yield self.phase_decision(state, pending[0], len(phases) - len(pending) + 1, len(phases))
            return
        yield self._conclude(state)  # reflect, then report

    def phase_decision(self, state: RunState, phase: Phase, n: int, total: int) -> Decision:
        """The calls of one plan phase (its tools not yet run), with the thought that explains
        them; the first phase after describe_telemetry also echoes the window and services."""
        lang = state.language
        done = {c.name for s in state.steps for c in s.calls}
        todo = pending_steps(phase, state)
        thought = self._thought(lang, n, total, todo)
        if done == {"describe_telemetry"}:
            plan = agent_plan(state)
            chosen = plan.thought(lang) if plan is not None else ""
            if chosen:
                thought = f"{thought} {chosen}"
            echo = self._understand(state)
            if echo:
                prefix = _PREFIX[lang if lang in _PREFIX else "en"]
                thought = f"{prefix}{echo} {thought[len(prefix):]}"
        calls = [ToolCall("", st.tool, self._arguments(st.tool, state), st.agent) for st in todo]
        return Decision(thought=thought, calls=calls, agent=phase.agent)

    def followup(self, state: RunState) -> Decision:
        """A follow-up question, answered from the current investigation's findings; when it
        asks about a kind of data (the 13:00 changes, cart's logs), that data is looked up
        first (one step of tool calls), and the answer reads both."""
        from ..followup import answer_followup, lookup_line, lookups, seed, with_lookups

        zh = state.language == "zh"
        context = state.context or {}
        tz = local_zone(state.ctx.settings)
        if not state.steps:
            wanted = lookups(state.question, context, set(state.tools.names()), tz)
            if wanted and state.max_steps > 1:
                seed(state.ctx.findings, context)
                what = ", ".join(w.tool for w in wanted)
                thought = (f"{_PREFIX['zh']}这是对当前排查的追问，它问到的数据需要补充查询：{what}；随后结合已有发现作答，不重新排查。"
                           if zh else
                           f"{_PREFIX['en']}A follow-up on the current investigation that asks about data to look up: "
                           f"{what}; then answering with the investigation's findings, not investigating again.")
                return Decision(thought=thought, calls=[ToolCall("", w.tool, w.arguments, w.agent) for w in wanted],
                                agent="host")
        done = [(c, r) for s in state.steps for c, r in zip(s.calls, s.results)]
        lines = [lookup_line(c.name, c.arguments, r.status, r.output) for c, r in done]
        merged = with_lookups(context, [f for _, r in done for f in r.findings])
        answer = answer_followup(state.question, merged, state.language, tz, lines)
        thought = (f"{_PREFIX['zh']}这是对当前排查的追问：根据已有的发现和根因排序作答，不重新排查。"
                   if zh else
                   f"{_PREFIX['en']}A follow-up on the current investigation: answering from its findings and ranking "
                   "instead of investigating again.")
        return Decision(thought=thought, answer=answer, diagnosis=Diagnosis(question=state.question, answer=answer),
                        agent="host")

    def knowledge_search(self, state: RunState) -> Decision:
        """The host's first step for a knowledge question: search the local knowledge base."""
        thought = (
            f"{_PREFIX['zh']}这是一个知识问题，先检索本地知识库。"
            if state.language == "zh"
            else f"{_PREFIX['en']}This is a knowledge question; I search the local knowledge base first."
        )
        return Decision(thought=thought, calls=[ToolCall("", "kb_search", {"query": state.question, "k": 3})], agent="host")

    def _understand(self, state: RunState) -> str:
        """The host reads the window and services from the question, and echoes them."""
        described = state.results_of("describe_telemetry")
        data = described[-1].data if described and isinstance(described[-1].data, dict) else {}
        components = [str(c) for c in data.get("components", [])]
        span = data.get("time_range") or []
        data_range = (float(span[0]), float(span[1])) if len(span) == 2 else None
        tz = local_zone(state.ctx.settings)
        reference = datetime.fromtimestamp(min(time.time(), data_range[1]) if data_range else time.time(), tz)
        intent = understand(state.question, components, reference, data_range)
        if intent.window is not None:
            state.ctx.window = (intent.window.start, intent.window.end)
        settings = state.ctx.settings
        flagged = flag_window(getattr(settings, "since", ""), getattr(settings, "until", ""), reference)
        if flagged is not None:
            state.ctx.window = flagged
        state.ctx.cache["services"] = intent.services  # a tool input: collect reads it
        notes = data_notes(state.language, intent, unknown_services(state.question, components), components,
                           data_range, tz)
        state.data_notes = notes
        return " ".join([intent.echo(state.language, tz)] + notes).strip()

    def _answer_from_knowledge(self, state: RunState) -> Decision:
        lang = state.language
        entries = knowledge_entries(state)
        answer = knowledge_answer(state.question, entries, lang)
        thought = (
            f"{_PREFIX['zh']}根据知识库检索结果作答，并注明出处。"
            if lang == "zh"
            else f"{_PREFIX['en']}Answering from what the knowledge base returned, with citations."
        )
        if local_only(state.question):
            thought += " " + named_note(lang)
        diagnosis = Diagnosis(question=state.question, answer=answer)
        return Decision(thought=thought, answer=answer, diagnosis=diagnosis, agent="host")

    def _thought(self, lang: str, n: int, total: int, todo: list[PlanStep]) -> str:
        """The phase's thought in this brain's voice: the team's names every step's agent."""
        team = self.voice == "team"
        named = team or len(todo) > 1
        if lang == "zh":
            jobs = "；".join(f"{st.agent}：{st.why_zh}" if named else st.why_zh for st in todo)
            if team:
                return f"{_PREFIX['zh']}标准排查步骤：{jobs}。"
            return f"{_PREFIX['zh']}未配置模型，按标准排查计划执行（第 {n}/{total} 步）：{jobs}。"
        jobs = "; ".join(f"{st.agent} agent: {st.why_en}" if named else st.why_en for st in todo)
        if team:
            return f"{_PREFIX['en']}Standard step: {jobs}."
        return f"{_PREFIX['en']}No model configured, so I follow the standard investigation plan (step {n} of {total}): {jobs}."

    def _arguments(self, tool: str, state: RunState) -> dict[str, Any]:
        if tool in ("kb_search", "similar_incidents"):
            top = _top_cause(state)
            if tool == "kb_search":
                query = state.question
                if top:  # a kind the catalogue does not know (a plugin's, e.g. db_storage_full) is searched by its words
                    query = fault_info(top.fault_type).name(state.language) if top.fault_type in CATALOGUE \
                        else top.fault_type.replace("_", " ")
                if top:
                    query = f"{query} {top.component}"
                if top and any(e.startswith("K") for e in top.evidence[:1]):
                    # a platform fault: the team's experiences of that fault differ by cause; read more of them
                    return {"query": query, "k": 8, "kind": "experience"}
                return {"query": query, "k": 3}
            return {"query": state.question, "k": 3}
        return {}

    def _conclude(self, state: RunState) -> Decision:
        reviewed, notes = reflect(rule_ranking(state), list(state.ctx.findings))
        # A human label on a matching past incident outweighs the rules (copilot/learning.py).
        reviewed = apply_labels(reviewed, signature_recalls(state), list(state.ctx.findings))
        diagnosis = write_report(state, reviewed, notes)
        lang = state.language
        if reviewed:
            top = reviewed[0]
            thought = (
                f"{_PREFIX['zh']}反思：已对照证据检查首要假设（{top.component} / {top.fault_type}），撰写报告。"
                if lang == "zh"
                else f"{_PREFIX['en']}Reflection: checked the leading hypothesis ({top.component} / {top.fault_type}) "
                "against the evidence; writing the report."
            )
        else:
            thought = (
                f"{_PREFIX['zh']}没有发现足够的异常来确定根因，撰写报告。"
                if lang == "zh"
                else f"{_PREFIX['en']}The detectors found too little to name a root cause; writing what was seen."
            )
        return Decision(thought=thought, answer=diagnosis.answer, diagnosis=diagnosis, agent="report")


SIGNAL_AGENTS = ("metrics", "logs", "traces", "changes")  # the data-source agents the host may leave out
_ASKED_SIGNALS = (
    ("metrics", r"\bmetrics?\b|指标"),
    ("logs", r"\blogs?\b|日志"),
    ("traces", r"\btraces?\b|\bspans?\b|调用链|链路"),
)


@dataclass(frozen=True)
class AgentPlan:
    """The data-source agents the host starts, why the others stay idle, and where the
    firing alerts point (agent -> alerts; copilot/alert_routing.py)."""

    idle: dict[str, str]  # agent -> reason ("no", "question") it is not started
    alerted: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # agent -> (alert, component)
    unheld: tuple[str, ...] = ()  # alerted agents whose signal the run does not hold

    def thought(self, lang: str) -> str:
        zh = lang == "zh"
        parts_out: list[str] = []
        if self.alerted:
            names = _AGENT_NAMES_ZH if zh else {}
            routes = [f"{names.get(a, a)}（{alert_list(al, lang)}）" if zh else f"{a} ({alert_list(al, lang)})"
                      for a, al in self.alerted.items()]
            parts_out.append(f"告警指向：{'；'.join(routes)}。" if zh else f"The firing alerts point to: {'; '.join(routes)}.")
        if self.unheld:
            what = "、".join(_AGENT_NAMES_ZH.get(a, a) for a in self.unheld) if zh else ", ".join(self.unheld)
            parts_out.append(f"数据中没有告警所指的{what}信号，这些告警只能从其他信号判断。" if zh
                             else f"The data holds no {what} signal the alerts point to; those alerts are judged "
                             "from the other signals.")
        if self.idle:
            why = {"no": ("数据中没有该信号", "the data holds none of its signal"),
                   "question": ("问题只问其他信号", "the question asks about other signals only")}
            parts = [f"{agent}（{why[r][0]}）" if zh else f"{agent} ({why[r][1]})" for agent, r in self.idle.items()]
            parts_out.append(f"主控按问题和数据选择智能体，不启动：{'、'.join(parts)}。" if zh
                             else f"The host starts only the agents the question and data call for; not started: "
                             f"{', '.join(parts)}.")
        return " ".join(parts_out)


_AGENT_NAMES_ZH = {"metrics": "指标", "logs": "日志", "traces": "调用链", "changes": "变更", "platform": "Kubernetes",
                   "database": "数据库"}


def agent_plan(state: RunState) -> AgentPlan | None:
    """The host's choice of data-source agents once describe_telemetry has run: an agent
    whose signal the data does not hold is not started (no spans: no trace agent, a
    Kubernetes-only dump: none of the four), and a question that names some signals
    only ("what do the logs of payment say since 10:00?") starts those agents only.
    None before describe_telemetry (then every agent may run)."""
    if state.agent_plan is not None:
        return state.agent_plan
    described = [r for r in state.results_of("describe_telemetry") if r.status == "ok" and isinstance(r.data, dict)]
    if not described:
        return None
    data = described[-1].data
    held = {"metrics": bool(data.get("metric_families")), "logs": bool(data.get("logs")),
            "traces": bool(data.get("spans")), "changes": bool(data.get("changes"))}
    asked = {agent for agent, pattern in _ASKED_SIGNALS if re.search(pattern, state.question, re.IGNORECASE)}
    idle = {agent: "no" for agent in SIGNAL_AGENTS if not held[agent]}
    if asked and any(held[a] for a in asked):
        idle.update({agent: "question" for agent in SIGNAL_AGENTS if agent not in asked and agent not in idle})
    holds = {**held, "platform": run_holds(state, "platform"), "database": run_holds(state, "database")}
    route = route_alerts((f.signal, f.component, (f.details.description or "")
                          if isinstance(f.details, (AlertEvidence, ItemEvidence)) else "")
                         for f in state.ctx.findings if f.source == "alerts")
    unheld = tuple(a for a in route.agents() if not holds.get(a, True))
    plan = state.agent_plan = AgentPlan(idle, {a: al for a, al in route.by_agent.items() if holds.get(a, True)},
                                        unheld)
    return plan


def pending_steps(phase: Phase, state: RunState) -> list[PlanStep]:
    """The steps of a phase that apply to this run and whose tool has not run yet."""
    done = {c.name for s in state.steps for c in s.calls}
    return [st for st in phase.steps if step_applies(st, state) and st.tool not in done]


def step_applies(step: PlanStep, state: RunState) -> bool:
    """A step runs when its tool is registered, the host's agent plan starts its agent and,
    for a step that `needs` a kind of data, when the run holds it: describe_telemetry
    reported it ("platform") or the collected telemetry's meta has it ("database")."""
    if step.tool not in state.tools:
        return False
    plan = agent_plan(state) if step.agent in SIGNAL_AGENTS else None
    if plan is not None and step.agent in plan.idle:
        return False
    return not step.needs or run_holds(state, step.needs)


def run_holds(state: RunState, kind: str) -> bool:
    """Whether the run holds a kind of data ("platform", "database"): describe_telemetry
    reported it, or the collected telemetry's meta has it."""
    described = state.results_of("describe_telemetry")
    data = described[-1].data if described and isinstance(described[-1].data, dict) else {}
    if data.get(kind):
        return True
    telemetry = state.ctx.cache.get("telemetry")
    return telemetry is not None and bool(getattr(telemetry, "meta", {}).get(kind))


def write_report(state: RunState, causes: list[RootCause], notes: list[str]) -> Diagnosis:
    """The diagnosis with its five-section report, from reviewed causes and reflection notes."""
    findings: list[Finding] = list(state.ctx.findings)
    # An expert experience whose symptoms match the evidence describes the cause (and is cited).
    from ..experience_match import apply as apply_experience

    causes = apply_experience(causes, findings, knowledge_entries(state), state.language)
    diagnosis = Diagnosis(
        question=state.question,
        answer="",
        root_causes=causes,
        findings=findings,
        window=state.ctx.window,
    )
    telemetry = state.ctx.cache.get("telemetry")
    held = getattr(telemetry, "held", None)
    if callable(held):  # which signals the data holds: "nothing found" is said only of data that was read
        diagnosis.data_held = held()
    if any(state.results_of(tool) for tool in DETECTORS):  # a verdict only on data the detectors looked at
        apply_verdict(diagnosis, state.ctx)
    else:
        diagnosis.verdict_detail = {"state": ""}  # nothing examined: no verdict (the run says so)
    if diagnosis.verdict == "healthy":
        diagnosis.root_causes = causes = []
    if causes:
        diagnosis.mitigation = [fault_info(causes[0].fault_type).mitigation(state.language)]
    report = build_report(
        diagnosis, state.language, knowledge=knowledge_entries(state), reflection=notes,
            recalled=recalled_incidents(state),
        data=" — ".join(x for x in [state.ctx.data_label, " ".join(state.data_notes)] if x)
    )
    diagnosis.report = report
    diagnosis.answer = render_markdown(report)
    return diagnosis


DETECTORS = ("detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies", "detect_platform_faults")


def apply_verdict(diagnosis: Diagnosis, ctx: Any) -> None:
    """State the verdict (fault, recovered, healthy) and what was ruled out (copilot/verdict.py)."""
    from ..verdict import decide, missing_series

    tel = ctx.cache.get("telemetry") if ctx is not None else None
    missing = missing_series(tel) if tel is not None else {}
    v = decide(diagnosis.root_causes, diagnosis.findings, missing_metrics=missing)
    diagnosis.verdict = v.state
    diagnosis.verdict_detail = v.to_dict()


def rule_ranking(state: RunState) -> list[RootCause]:
    """The latest ranking rank_root_causes produced in this run."""
    for result in reversed(state.results_of("rank_root_causes")):
        if isinstance(result.data, dict) and result.data.get("root_causes"):
            return [RootCause.from_dict(r) for r in result.data["root_causes"]]
    return []


def _top_cause(state: RunState) -> RootCause | None:
    ranking = rule_ranking(state)
    return ranking[0] if ranking else None


def knowledge_entries(state: RunState) -> list[dict[str, Any]]:
    """Entries the knowledge tools returned, for the report's actions and citations."""
    out: list[dict[str, Any]] = []
    for name in ("kb_search", "similar_incidents"):
        for result in state.results_of(name):
            if result.status == "ok" and isinstance(result.data, list):
                out.extend(x for x in result.data if isinstance(x, dict))
            elif result.status == "ok" and isinstance(result.data, dict):
                out.extend(x for x in result.data.get("results", []) if isinstance(x, dict))
    return out


SIGNATURE_RECALL_MIN = 0.6


def signature_recalls(state: RunState) -> list[dict[str, Any]]:
    """Every past incident `similar_incidents` recalled in this run (by symptom signature
    when findings existed), with its verdict fields."""
    return [hit for result in state.results_of("similar_incidents") if result.status == "ok"
            and isinstance(result.data, list) for hit in result.data if isinstance(hit, dict)]


def recalled_incidents(state: RunState) -> list[dict[str, Any]]:
    """Past incidents worth naming in the report: recalled by the question at the start, or
    by symptom signature through `similar_incidents`; one line per incident."""
    out: dict[str, dict[str, Any]] = {r["id"]: r for r in state.recalled if r.get("id")}
    for result in state.results_of("similar_incidents"):
        if result.status == "ok" and isinstance(result.data, list):
            for hit in result.data:
                if isinstance(hit, dict) and hit.get("id") and float(hit.get("similarity", 0)) >= SIGNATURE_RECALL_MIN:
                    out.setdefault(hit["id"], hit)
    return sorted(out.values(), key=lambda r: -float(r.get("similarity", 0)))[:3]


def data_notes(lang: str, intent: Intent, unknown: list[str], components: list[str],
               data_range: tuple[float, float] | None, tz: Any) -> list[str]:
    """What the question asked for that the data does not hold, said plainly (nothing is
    silently substituted)."""
    notes: list[str] = []
    held = ", ".join(components[:12]) + (", ..." if len(components) > 12 else "")
    if unknown:
        names = ", ".join(unknown)
        notes.append(f"数据中没有名为 {names} 的组件（现有：{held}），因此检查全部组件。" if lang == "zh" else
                     f"The data holds no component named {names} (it holds: {held}), so I look at all of them.")
    stated = intent.stated_window
    if stated is not None and data_range is not None and (stated.end < data_range[0] or stated.start > data_range[1]):
        span = f"{datetime.fromtimestamp(data_range[0], tz):%Y-%m-%d %H:%M}–{datetime.fromtimestamp(data_range[1], tz):%H:%M}"
        notes.append(f"您说的时间（{stated.text}）不在数据范围内；数据覆盖 {span}。" if lang == "zh" else
                     f"The time you gave ({stated.text}) is outside the data, which covers {span}.")
    return notes
