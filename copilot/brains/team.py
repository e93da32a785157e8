"""The team brain: issue 5's roles over the pipeline's phases (copilot/pipeline.py) in the
one agent loop; with a model, the data-source agents and the RCA agent act (issue 15).

    host          describe_telemetry; the window and services read by rules (as offline)
    data-sources  the four detectors, concurrently (as offline); then the data-source
                  agents' ReAct loop (team_loop.py) over the read-only drill-down tools:
                  at most MAX_ROUNDS rounds of tool calls, deduplicated, which stop when a
                  round brings no new finding or the model calls no tool
    rca           rank_root_causes (rules), kb_search + similar_incidents, then the RCA
                  agent's ReAct loop over knowledge, memory and diagnosis items (at most
                  RCA_STEPS calls), which ends in a JSON ranking, validated against the data
    reflection    the rule checks plus one model verdict on the leading hypothesis
                  (keep / revise / demote), shown as its own step
    report        the five-section report (rules, evidence-linked) with a short model
                  summary in the user's language; a summary that cites no evidence is dropped

Rules are the guard and the floor (team_roles.floor): the model may add causes and
re-order them only with evidence ids that resolve to findings of the component and a
fault-kind signature that is present; otherwise the rules' leading cause stands. When the
model fails after it had answered, the rules finish the run and the report says so in one
line.

Knowledge questions: kb_search, then the model answers from the entries with [id]
citations, or says that the local knowledge base has no answer and answers from its
general knowledge; the answer ends with a line saying which source it used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Any, AsyncIterator, Callable

from ..config import Settings
from ..diagnosis import Diagnosis, RootCause, significant
from ..errors import ModelError, ModelUnreachable
from ..events import AnswerDelta, Event, ModelFailed, ThoughtDelta
from ..knowledge_answer import knowledge_answer
from ..source_names import local_only, named_note
from ..tools import ToolResult
from ..timefmt import hhmm_zone
from ..kinds import prompt_kinds
from ..prompts import load_prompt
from ..reflection import reflect
from ..report import render_markdown, summary_head
from . import team_inputs as inputs
from . import team_roles as roles
from ..pipeline import PLAN, ModelPolicy, Phase, RulePolicy, phase, tool_phases
from .base import Decision, RunState, StreamedThought, ToolCall
from .llm import fill
from .llm_client import ChatClient
from .offline import OfflineBrain, pending_steps, intent_kind, rule_ranking, write_report
from .team_loop import LoopBudget, RoleBrain, RoleLoop
from .team_model import Reply, RoleModel, read_json_object

MAX_ROUNDS = 3  # drill-down rounds at most
MAX_DRILL_CALLS = 2  # calls per round
RCA_STEPS = 3  # the RCA agent's model calls: up to two rounds of tools, then its ranking
LOOP_TOKENS = 24_000  # tokens a role's loop may spend
FOLLOWUP_STEPS = 3  # a follow-up's model calls: up to two rounds of look-ups, then its answer
AFTER_DRILL = 5  # steps a run needs after the drill-down: re-rank, knowledge, rca, reflection, report
_AGENT_OF = (("metric", "metrics"), ("prom", "metrics"), ("log", "logs"), ("trace", "traces"), ("change", "changes"))


@dataclass
class _Run:
    """What the team remembers across the steps of one run (kept in RunState.memory)."""

    state: RunState
    rounds: int = 0
    drilling: bool = True
    round_open: bool = False
    keys_before: set[tuple[str, str, str, str]] = field(default_factory=set)
    ranked_keys: frozenset[tuple[str, str, str, str]] | None = None
    drill_steps: list[int] = field(default_factory=list)  # indexes of the drill-down steps
    carry: list[str] = field(default_factory=list)  # notes for the next step's thought
    causes: list[RootCause] | None = None  # after the RCA agent
    final: list[RootCause] | None = None  # after reflection
    notes: list[str] = field(default_factory=list)  # reflection notes for the report
    novel: str = ""  # the novel-fault note for the leading cause
    model_ok: bool = False  # a model call has succeeded in this run
    model_error: str = ""  # set when the model failed mid-run; the rest is rules only
    loops: dict[str, RoleLoop] = field(default_factory=dict)  # the roles' ReAct loops
    cited: dict[str, list[str]] = field(default_factory=dict)  # component -> finding ids the model cited
    rule_lookups: bool = False  # a follow-up's rule look-ups have run


@dataclass
class _Followup:
    """What a follow-up step reads: the look-ups done so far and the rules' answer."""

    tz: tzinfo
    done: list[tuple[ToolCall, ToolResult]]  # the look-ups done, with their results
    lines: list[str]  # one line per look-up
    merged: dict[str, Any]  # the investigation's diagnosis with the look-ups' findings
    rules_answer: str


class TeamBrain:
    """The pipeline (copilot/pipeline.py) with the team's roles: the rules take the plan's
    phases (an OfflineBrain in the team's voice), the model is consulted at the decision
    points of pipeline.ModelPolicy. The brain keeps no state of a run: that is RunState.memory."""

    def __init__(self, settings: Settings, *, client: ChatClient | None = None,
                 plan: tuple[Phase, ...] = PLAN) -> None:
        self.settings = settings
        self.model = RoleModel(settings, client)
        self.label = settings.model or "default"
        self.plan = plan
        self.rules: RulePolicy = OfflineBrain(plan, voice="team")

    # -- helpers ---------------------------------------------------------------------
    def _lang(self, state: RunState) -> str:
        lang = self.settings.language if self.settings.language in ("en", "zh") else state.language
        return "zh" if lang == "zh" else "en"

    def _system(self, name: str, state: RunState, **values: str) -> str:
        language = load_prompt(f"team_language_{self._lang(state)}").strip()
        return fill(load_prompt(name), language=language, fault_kinds=prompt_kinds(), **values)

    async def _ask(
        self, run: _Run, thinking: StreamedThought, role: str, messages: list[dict[str, str]], *,
        schema: dict[str, Any] | None = None, stream_as: str = "thought",
    ) -> AsyncIterator[Event | Reply | None]:
        """One model call; yields events and then the Reply, or None when the model failed
        after earlier calls had worked (the run goes on with rules)."""
        async for item in self._guarded(run, thinking, self.model.ask(thinking.index, role, messages, schema=schema,
                                                                       stream_as=stream_as)):
            yield item

    async def _guarded(self, run: _Run, thinking: StreamedThought, items: AsyncIterator[Any],
                       on_failure: Callable[[], None] | None = None) -> AsyncIterator[Any]:
        """Pass a model call's items on (streamed thoughts joined to the step's thought); when
        the model fails after earlier calls had worked, say so once and yield None: the run
        goes on with rules. A failure on the first call is a setting to fix and is raised."""
        first = True
        try:
            async for item in items:
                if isinstance(item, ThoughtDelta):
                    yield thinking.streamed(item, first)
                    first = False
                else:
                    yield item
            run.model_ok = True
        except ModelError as exc:
            if on_failure is not None:
                on_failure()
            if not run.model_ok and not (isinstance(exc, ModelUnreachable) and state_has_rules(run.state)):
                raise  # a wrong setting (key, model name): one line to fix it
            run.model_error = str(exc)
            note = thinking.say(
                f"[规则] 模型调用失败（{exc}），其余步骤按规则完成。" if self._lang(run.state) == "zh"
                else f"[rules] The model failed ({exc}); the rest of the run follows the rules."
            )
            yield ModelFailed(str(exc), run.state.step_index)
            if note:
                yield note
            yield None

    @staticmethod
    async def _finish(thinking: StreamedThought, decision: Decision) -> AsyncIterator[Event | Decision]:
        """Close a step: when it streamed, the rest of the thought streams too, so the
        step's thought is exactly what the user watched arrive."""
        if thinking.text:
            delta = thinking.say(decision.thought)
            if delta:
                yield delta
            decision.thought = thinking.text
        yield decision

    def _warning(self, state: RunState, run: _Run) -> str:
        """The one line that says the model dropped out and the rules finished the run."""
        if self._lang(state) == "zh":
            return f"> ⚠ 模型 {self.label} 在排查途中不可用（{run.model_error}）；以下为规则得出的结果。\n\n"
        return f"> ⚠ The model {self.label} became unavailable mid-run ({run.model_error}); what follows is the rules' result.\n\n"

    @staticmethod
    def _run_for(state: RunState) -> _Run:
        """This run's memory, kept on the run (one brain may serve several runs at once)."""
        if not isinstance(state.memory, _Run):
            state.memory = _Run(state)
        return state.memory

    @staticmethod
    def _remaining(state: RunState) -> int:
        return state.max_steps - len(state.steps)

    async def ready(self) -> None:
        """Name the model before the run header is shown (the server's first model when none is set)."""
        if not self.model.model:
            self.label = await self.model.ensure_model()

    async def aclose(self) -> None:
        """Release the model connection (its HTTP client) when the run is over."""
        await self.model.client.close()

    # -- the step --------------------------------------------------------------------
    async def step(self, state: RunState) -> AsyncIterator[Event | Decision]:
        run = self._run_for(state)
        if not self.model.model:
            self.label = await self.model.ensure_model()
        thinking = StreamedThought(state.step_index)
        kind = intent_kind(state) if not state.steps else state.intent_kind
        if kind == "followup":
            async for item in self._followup(state, run, thinking):
                yield item
            return
        if kind == "knowledge" and not state.steps and "kb_search" in state.tools:
            yield self.rules.knowledge_search(state)
            return
        if kind == "knowledge":
            async for item in self._answer_question(state, run, thinking):
                yield item
            return
        async for item in self._investigate(state, thinking):
            yield item

    async def _investigate(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """One step of an investigation: the first phase of the pipeline with work left takes it."""
        model: ModelPolicy = self  # where the model is consulted (copilot/pipeline.py)
        phases = (
            self._rule_phase("describe"),  # the host: describe_telemetry (rules)
            self._rule_phase("detect"),  # the data-source agents' detectors (rules)
            self._drill_notes,  # what the last drill-down round brought, for this step's thought
            self._rule_phase("rank", finish=True),  # rank_root_causes (rules)
            model.drill_down,  # the data-source agents' drill-down (model)
            self._rerank,  # rank again when the drill-down found more (rules)
            self._rule_phase("consult", finish=True),  # kb_search + similar_incidents (rules)
            model.rank,  # the RCA agent's ranking (model, rules as floor)
            model.reflect,  # the verdict on the leading hypothesis (model)
            model.summarise,  # the report, with the model's summary
        )
        for take in phases:
            async for item in take(state, thinking):
                yield item
                if isinstance(item, Decision):
                    return

    def _rule_phase(self, name: str, *, finish: bool = False) -> Callable[[RunState, StreamedThought],
                                                                              AsyncIterator[Event | Decision]]:
        """A phase of the plan the rules take: its tools that apply and have not run, while a
        step is left for the answer (none when the plan leaves the phase out)."""
        async def take(state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
            found = phase(name, self.plan)
            if found is None or self._remaining(state) <= 1 or not pending_steps(found, state):
                return
            if name == "rank":
                self._run_for(state).ranked_keys = self._keys(state)
            phases = tool_phases(self.plan)
            decision = self.rules.phase_decision(state, found, phases.index(found) + 1, len(phases))
            if not finish:
                yield decision
                return
            async for item in self._finish(thinking, decision):
                yield item
        return take

    async def _drill_notes(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """Close the drill-down round the last step ran, and say what it brought."""
        run = self._run_for(state)
        if run.round_open:
            self._close_round(state, run)
        for note in run.carry:
            delta = thinking.say(note)
            if delta:
                yield delta
        run.carry = []

    async def _rerank(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """rank_root_causes again when the drill-down changed the findings since the ranking."""
        run = self._run_for(state)
        if phase("rank", self.plan) is None or "rank_root_causes" not in state.tools or self._remaining(state) <= 1 \
                or run.ranked_keys in (None, self._keys(state)):
            return
        run.ranked_keys = self._keys(state)
        decision = Decision(
            thought=("[规则] 下钻带来了新发现，重新排序根因。" if self._lang(state) == "zh"
                     else "[rules] The drill-down brought new findings; ranking the root causes again."),
            calls=[ToolCall("", "rank_root_causes", {}, "rca")], agent="rca")
        async for item in self._finish(thinking, decision):
            yield item

    # -- data-source agents: the drill-down --------------------------------------------
    @staticmethod
    def _keys(state: RunState) -> frozenset[tuple[str, str, str, str]]:
        return frozenset(roles.finding_key(f) for f in state.ctx.findings)

    def _may_drill(self, state: RunState, run: _Run, remaining: int) -> bool:
        return (run.drilling and not run.model_error and run.rounds < MAX_ROUNDS and bool(state.ctx.findings)
                and remaining > AFTER_DRILL and bool(inputs.drill_tools(state)))

    def _close_round(self, state: RunState, run: _Run) -> None:
        """After a drill-down round: drop findings that repeat earlier ones under new ids,
        and stop drilling when nothing new came back."""
        run.round_open = False
        zh = self._lang(state) == "zh"
        last = state.steps[-1] if state.steps else None
        fresh_ids = {f.id for r in (last.results if last else []) for f in r.findings}
        repeats = [f for f in state.ctx.findings if f.id in fresh_ids and roles.finding_key(f) in run.keys_before]
        if repeats:
            gone = {f.id for f in repeats}
            state.ctx.findings[:] = [f for f in state.ctx.findings if f.id not in gone]
        new = [f for f in state.ctx.findings if f.id in fresh_ids]
        if new:
            ids = ", ".join(f.id for f in new[:8])
            run.carry.append(f"[规则] 下钻得到新发现：{ids}。" if zh else f"[rules] The drill-down found something new: {ids}.")
        else:
            run.drilling = False
            run.carry.append("[规则] 本轮下钻没有新发现，停止下钻。" if zh
                             else "[rules] The drill-down round brought no new finding, so the drill-down stops.")
        if run.rounds >= MAX_ROUNDS:
            run.drilling = False

    def _loop(self, state: RunState, run: _Run, role: str) -> RoleLoop:
        loop = run.loops.get(role)
        if loop is not None:
            return loop
        remaining = state.max_steps - len(state.steps)
        if role == "data-sources":
            tools = inputs.drill_tools(state)
            system = self._system("drilldown", state)
            opening = self._sources_opening(state)
            steps = MAX_ROUNDS
        else:
            tools = inputs.rca_tools(state)
            components = inputs.known_components(state)
            system = self._system("rca", state, components=", ".join(components))
            opening = self._rca_opening(state)
            steps = max(1, min(RCA_STEPS, remaining - 2))  # leave reflection and the report their steps
        budget = LoopBudget(steps, tokens=LOOP_TOKENS, seconds=max(30.0, self.settings.time_budget / 4))
        brain = RoleBrain(self.settings, self.model.client, self.model.model, system, opening)
        loop = run.loops[role] = RoleLoop.open(role, state, tools, brain, budget)
        return loop

    async def _loop_step(self, state: RunState, run: _Run, loop: RoleLoop, thinking: StreamedThought,
                         intro: str) -> AsyncIterator[Event | Decision | None]:
        """One model call of a role's loop; yields events, then its Decision, or None when
        the model failed after earlier calls had worked (the run goes on with rules)."""
        say = thinking.say(intro)
        if say:
            yield say

        def close() -> None:
            loop.closed = True

        async for item in self._guarded(run, thinking, loop.step(state, thinking.index), on_failure=close):
            yield item

    def _sources_opening(self, state: RunState) -> str:
        ranking = rule_ranking(state)
        done = [c for s in state.steps for c in s.calls]
        return "\n\n".join([
            f"Question: {state.question}",
            f"Components: {', '.join(inputs.known_components(state))}",
            "Findings:\n" + inputs.findings_text(inputs.shown_findings(state.ctx.findings, ranking)),
            "Rule ranking:\n" + inputs.ranking_text(ranking),
            *inputs.alert_route_text(state),
            "Done already:\n" + "\n".join(f"- {c.name} {c.arguments}" for c in done),
        ])

    # -- data-source agents: the drill-down loop ---------------------------------------
    async def drill_down(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """pipeline.ModelPolicy: the data-source agents' next drill-down calls, or none (they stop)."""
        run = self._run_for(state)
        if not self._may_drill(state, run, self._remaining(state)):
            return
        decision: Decision | None = None
        async for item in self._drill(state, run, thinking):
            if isinstance(item, Decision):
                decision = item
            else:
                yield item
        if decision is not None:
            async for item in self._finish(thinking, decision):
                yield item

    async def _drill(self, state: RunState, run: _Run, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        zh = self._lang(state) == "zh"
        loop = self._loop(state, run, "data-sources")
        if loop.spent():
            run.drilling = False
            return
        decision: Decision | None = None
        async for item in self._loop_step(state, run, loop, thinking,
                                          "数据源智能体（模型）：" if zh else "Data-source agents (model):"):
            if isinstance(item, Decision):
                decision = item
            elif item is not None:
                yield item
        if decision is None:
            run.drilling = False
            return
        if not decision.calls:
            if decision.answer is None and not loop.spent():  # an unreadable reply: the loop asks again
                loop.took(state.step_index, decision.thought)
                yield Decision(thought="", agent="data-sources")
                return
            run.drilling = False
            note = "[规则] 数据源智能体：证据已足够，不再下钻。" if zh else "[rules] Data-source agents: the evidence is enough; no more drill-down."
            delta = thinking.say(note)
            if delta:
                yield delta
            return
        calls, skipped = self._drill_calls(state, loop, decision)
        if not calls:
            run.drilling = False
            loop.closed = True
            note = (f"[规则] 忽略无效或重复的下钻调用（{', '.join(skipped)}），不再下钻。" if zh
                    else f"[rules] Skipped drill-down calls that were unknown or repeated ({', '.join(skipped)}); no more drill-down.")
            delta = thinking.say(note)
            if delta:
                yield delta
            return
        run.rounds += 1
        run.round_open = True
        run.drill_steps.append(state.step_index)
        run.keys_before = set(self._keys(state))
        loop.took(state.step_index, decision.thought)
        what = ", ".join(f"{c.name}({', '.join(f'{k}={v}' for k, v in c.arguments.items())})" for c in calls)
        note = (f"下钻（第 {run.rounds}/{MAX_ROUNDS} 轮）：{what}。" if zh
                else f"Drill-down (round {run.rounds} of {MAX_ROUNDS}): {what}.")
        if skipped:
            note += f" (skipped: {', '.join(skipped)})"
        yield Decision(thought=note, calls=calls, agent="data-sources")

    @staticmethod
    def _drill_calls(state: RunState, loop: RoleLoop, decision: Decision) -> tuple[list[ToolCall], list[str]]:
        """The model's drill-down calls that may run (its own tools, a known component, not
        done before, at most MAX_DRILL_CALLS), and what was skipped and why."""
        components = inputs.known_components(state)
        seen = {inputs.call_key(c.name, c.arguments) for s in state.steps for c in s.calls}
        calls: list[ToolCall] = []
        skipped: list[str] = []
        for call in decision.calls:
            name, args = call.name, dict(call.arguments)
            if name not in loop.tool_names:
                skipped.append(name)
                continue
            if "component" in args:
                comp = roles.match_component(args["component"], components)
                if comp is None:
                    skipped.append(f"{name}({args['component']})")
                    continue
                args = dict(args, component=comp)
            key = inputs.call_key(name, args)
            if key in seen:
                skipped.append(f"{name} (already done)")
                continue
            if len(calls) >= MAX_DRILL_CALLS:
                skipped.append(f"{name} (more than {MAX_DRILL_CALLS} calls)")
                continue
            seen.add(key)
            calls.append(ToolCall(call.id, name, args, _agent_of(name)))
        return calls, skipped

    # -- the RCA agent ---------------------------------------------------------------
    def _rca_opening(self, state: RunState) -> str:
        rules = rule_ranking(state)
        findings = list(state.ctx.findings)
        entries = inputs.experiences(state)
        past = [r for r in state.results_of("similar_incidents") if r.status == "ok" and isinstance(r.data, list)]
        similar = [f"[{h.get('id', '')}] {h.get('summary', '')}" for r in past for h in r.data[:3]]
        similar += [f"[{r.get('id', '')}] {r.get('summary', '')} (recalled)" for r in state.recalled[:2]]
        around = [c.component for c in rules[:3]]
        return "\n\n".join([
            f"Question: {state.question}",
            "Findings:\n" + inputs.findings_text(inputs.shown_findings(findings, rules)),
            "Rule ranking:\n" + inputs.ranking_text(rules),
            "Call graph (caller->callee): " + inputs.graph_text(inputs.call_graph(state), around),
            "Knowledge base:\n" + ("\n".join(inputs.entry_line(e) for e in entries) or "(nothing relevant)") + "\n"
            + inputs.kb_fit_text(entries, rules),
            "Similar past incidents:\n" + ("\n".join(similar) or "(none)"),
        ])

    async def rank(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """pipeline.ModelPolicy: the RCA agent's tool calls, then its ranking (rules as floor)."""
        run = self._run_for(state)
        usable = not run.model_error and run.causes is None
        if usable and self._remaining(state) > 2 and (rule_ranking(state) or state.ctx.findings):
            async for item in self._rank_with_model(state, run, thinking):
                yield item

    async def _rank_with_model(self, state: RunState, run: _Run, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        zh = self._lang(state) == "zh"
        rules = rule_ranking(state)
        loop = self._loop(state, run, "rca")
        decision: Decision | None = None
        if not loop.spent():
            async for item in self._loop_step(state, run, loop, thinking, "RCA 智能体（模型）：" if zh else "RCA agent (model):"):
                if isinstance(item, Decision):
                    decision = item
                elif item is not None:
                    yield item
        if decision is not None and not decision.calls and decision.answer is None and not loop.spent():
            loop.took(state.step_index, decision.thought)  # an unreadable reply: the loop asks again
            yield Decision(thought="", agent="rca")
            return
        if decision is not None and decision.calls:
            calls = [c for c in decision.calls if c.name in loop.tool_names]
            dropped = [c.name for c in decision.calls if c.name not in loop.tool_names]
            if calls and not loop.spent():
                loop.took(state.step_index, decision.thought)
                what = ", ".join(f"{c.name}({', '.join(f'{k}={v}' for k, v in c.arguments.items())})" for c in calls)
                note = (f"RCA 智能体调用工具：{what}。" if zh else f"The RCA agent calls {what}.")
                if dropped:
                    note += f" (not its tools: {', '.join(dropped)})"
                async for item in self._finish(thinking, Decision(thought=note, calls=[replace(c, agent="rca") for c in calls],
                                                                  agent="rca")):
                    yield item
                return
            decision = None  # no usable call and no conclusion: the rules rank
        if decision is None or decision.answer is None:
            run.causes = rules
            note = ("[规则] RCA 智能体没有给出结论，沿用规则排序：" if zh
                    else "[rules] The RCA agent reached no conclusion, so I keep the rule ranking: ") + inputs.ranked_line(rules)
            async for item in self._finish(thinking, Decision(thought=note if decision is not None or not run.model_error else "",
                                                              agent="rca")):
                yield item
            return
        note = self._read_ranking(state, run, decision.answer)
        async for item in self._finish(thinking, Decision(thought=note, agent="rca")):
            yield item

    def _read_ranking(self, state: RunState, run: _Run, answer: str) -> str:
        """The RCA agent's concluding ranking, merged with the rules' and held to their floor
        (run.causes), with a novel fault's note (run.novel); returns the step's thought."""
        zh = self._lang(state) == "zh"
        rules = rule_ranking(state)
        components = inputs.known_components(state)
        findings = list(state.ctx.findings)
        data, problem = read_json_object(answer)
        model_causes, why = roles.read_rca(data, components, findings)
        problem = problem or why
        run.cited = roles.cited_evidence(data, components, findings)
        if model_causes:
            merged = roles.merge_rankings(model_causes, rules, findings=findings)
            causes, held = roles.floor(merged, rules, findings, run.cited)
            note = ("→ 模型与规则合并后的排序：" if zh else "→ ranking (model and rules combined): ") + inputs.ranked_line(causes)
            if held:
                note += (" [规则] " if zh else " [rules] ") + held
        else:
            causes = rules
            note = (f"[规则] 模型的排序不可用（{problem}），沿用规则排序：" if zh
                    else f"[rules] The model's ranking was unusable ({problem}), so I keep the rule ranking: ") + inputs.ranked_line(causes)
        run.causes = causes
        if causes:
            data = data or {}
            mechanism = str(data.get("mechanism") or "").strip()
            confirm = str(data.get("confirm") or "").strip()
            novel = causes[0].fault_type == "unknown" or (
                not inputs.kb_fits(inputs.experiences(state), causes[0].fault_type) and bool(data.get("novel")))
            if novel:
                run.novel = novel_note(zh, mechanism, confirm)
                note += " " + run.novel
        return note

    # -- reflection ------------------------------------------------------------------
    async def reflect(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """pipeline.ModelPolicy: the verdict on the leading hypothesis (keep, revise, demote)."""
        run = self._run_for(state)
        if run.final is None and run.causes is not None and not run.model_error and self._remaining(state) > 1:
            async for item in self._reflect(state, run, thinking):
                yield item

    async def _reflect(self, state: RunState, run: _Run, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        zh = self._lang(state) == "zh"
        findings = list(state.ctx.findings)
        reviewed, notes = reflect(run.causes or [], findings)
        run.final, run.notes = reviewed, notes
        if not reviewed:
            async for item in self._finish(thinking, Decision(thought="", agent="reflection")):
                yield item
            return
        user = _reflection_facts(state, reviewed, notes)
        components = inputs.known_components(state)
        schema = {
            "type": "object",
            "properties": {
                "thought": {"type": "string"},
                "verdict": {"type": "string", "enum": ["keep", "revise", "demote"]},
                "fault_type": {"type": "string", "enum": [*prompt_kinds().split(", "), ""]},
                "component": {"type": "string", "enum": [*components, ""]},
                "refuted_by": {"type": "string"},
            },
            "required": ["thought", "verdict"],
        }
        say = thinking.say("反思（模型）：" if zh else "Reflection (model):")
        if say:
            yield say
        reply: Reply | None = None
        async for asked in self._ask(run, thinking, "reflect", _chat(self._system("reflect", state), user), schema=schema):
            if isinstance(asked, Reply):
                reply = asked
            elif asked is not None:
                yield asked
        rules_said = ("规则检查：" if zh else "Rule checks: ") + " ".join(notes[:3])
        if reply is None:
            async for item in self._finish(thinking, Decision(thought=rules_said, agent="reflection")):
                yield item
            return
        final, verdict, outcome = roles.apply_verdict(reviewed, reply.data, findings, components)
        run.final = final
        refute = str((reply.data or {}).get("refuted_by") or "").strip()
        run.notes = notes + [f"model reflection: {verdict} ({outcome})" + (f"; would be refuted by: {refute}" if refute else "")]
        head = final[0]
        thought = (f"{rules_said} → {verdict}：{outcome}；当前首要假设 {head.component} / {head.fault_type}（{head.confidence:.2f}）。"
                   if zh else
                   f"{rules_said} → {verdict}: {outcome}; leading now: {head.component} / {head.fault_type} ({head.confidence:.2f}).")
        async for item in self._finish(thinking, Decision(thought=thought, agent="reflection")):
            yield item

    # -- the report agent --------------------------------------------------------------
    async def summarise(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """pipeline.ModelPolicy: the five-section report (rules), with the model's summary."""
        run = self._run_for(state)
        zh = self._lang(state) == "zh"
        if run.final is not None:
            causes, notes = run.final, run.notes
        else:  # no model ranking or reflection (step budget, or the model failed): the rules alone
            causes, notes = reflect(run.causes if run.causes is not None else rule_ranking(state), list(state.ctx.findings))
        findings = list(state.ctx.findings)
        offline, _ = reflect(rule_ranking(state), findings)  # what the rules alone answer: the floor
        causes, held = roles.floor(causes, offline, findings, run.cited)
        if held:
            notes = notes + [f"rules floor: {held}"]
        if causes and run.novel and run.causes and causes[0].component == run.causes[0].component:
            causes = [replace(causes[0], reasons=[run.novel] + causes[0].reasons)] + causes[1:]
        diagnosis = write_report(state, causes, notes)
        if run.model_error:
            diagnosis.answer = self._warning(state, run) + diagnosis.answer
        thought = ("[规则] 撰写五段式故障报告（每条结论都链接到证据），并由模型撰写摘要。" if zh
                   else "[rules] Writing the five-section report (every claim linked to its evidence); the model writes its summary.")
        if run.model_error or not causes:
            thought = "[规则] 撰写故障报告。" if zh else "[rules] Writing the incident report."
            async for item in self._finish(thinking, Decision(thought=thought, answer=diagnosis.answer,
                                                              diagnosis=diagnosis, agent="report")):
                yield item
            return
        reply: Reply | None = None
        async for asked in self._ask_summary(state, run, thinking, diagnosis):
            if isinstance(asked, Reply):
                reply = asked
            else:
                yield asked
        if reply is not None and reply.text:
            thought += self._take_summary(zh, reply.text, diagnosis)
        async for item in self._finish(thinking, Decision(thought=thought, answer=diagnosis.answer,
                                                          diagnosis=diagnosis, agent="report")):
            yield item

    async def _ask_summary(self, state: RunState, run: _Run, thinking: StreamedThought,
                           diagnosis: Diagnosis) -> AsyncIterator[Event | Reply]:
        """The model's summary, streamed as the answer after the report's head; then its Reply."""
        report = diagnosis.report
        head = summary_head(report)
        started = False
        async for asked in self._ask(run, thinking, "report", _chat(self._system("report", state), inputs.summary_facts(report, diagnosis)),
                                    stream_as="answer"):
            if isinstance(asked, AnswerDelta) and not started:
                started = True
                yield AnswerDelta(head + asked.text)
            elif asked is not None:
                yield asked

    def _take_summary(self, zh: bool, text: str, diagnosis: Diagnosis) -> str:
        """Put the model's summary into the report when it cites evidence; what the step's
        thought adds about what was dropped."""
        report = diagnosis.report
        valid = {f.id for f in diagnosis.findings}
        thought = ""
        summary, removed = roles.filter_citations(roles.trim_summary(text), valid)
        if summary and not roles.cited(summary, valid):
            summary = ""
            thought += ("（模型摘要未引用任何证据编号，已舍弃）" if zh
                        else " (the model's summary cited no evidence id, so it was dropped)")
        if summary:
            report["summary"] = summary
            report["summary_model"] = self.label
            diagnosis.answer = render_markdown(report)
        if removed:
            thought += (f"（已删除无证据支持的引用：{', '.join(removed)}）" if zh
                        else f" (dropped citations no finding backs: {', '.join(removed)})")
        return thought

    # -- follow-up questions --------------------------------------------------------------
    def _followup_opening(self, state: RunState, rules_answer: str) -> str:
        from ..diagnosis import Finding

        context = state.context or {}
        findings = [Finding.from_dict(f) for f in context.get("findings", []) if isinstance(f, dict)]
        causes = [RootCause.from_dict(c) for c in context.get("root_causes", []) if isinstance(c, dict)]
        summary = str((context.get("report") or {}).get("summary") or "")
        lines = [f"{f.id} ({f.source}, {f.component}, {hhmm_zone(f.onset) if f.onset else 'no onset'}): {f.summary}"
                 for f in inputs.shown_findings(findings, causes, 20)]
        history = [f"{t['role']}: {t['content'][:1500]}" for t in state.history[-4:]
                   if t.get("role") in ("user", "assistant") and t.get("content")]
        return "\n\n".join([
            *(["Conversation so far:\n" + "\n".join(history)] if history else []),
            f"Investigated question: {context.get('question', '')}",
            "Findings:\n" + (inputs.redact("\n".join(lines)) or "(none)"),
            "Root-cause ranking:\n" + inputs.ranking_text(causes),
            *([f"Report summary: {summary}"] if summary else []),
            "The rules' reading of the follow-up:\n" + rules_answer,
            f"Follow-up question: {state.question}",
        ])

    def _followup_loop(self, state: RunState, run: _Run, rules_answer: str) -> RoleLoop:
        from ..followup import LOOKUP_AGENTS, seed

        loop = run.loops.get("followup")
        if loop is None:
            seed(state.ctx.findings, state.context or {})  # look-ups number their findings after these
            tools = [t for t in (state.tools.get(n) for n in LOOKUP_AGENTS) if t is not None]
            budget = LoopBudget(FOLLOWUP_STEPS, tokens=LOOP_TOKENS, seconds=max(30.0, self.settings.time_budget / 4))
            brain = RoleBrain(self.settings, self.model.client, self.model.model, self._system("followup", state),
                              self._followup_opening(state, rules_answer))
            loop = run.loops["followup"] = RoleLoop.open("followup", state, tools, brain, budget)
        return loop

    async def _followup(self, state: RunState, run: _Run, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """A follow-up about the current investigation, as a bounded tool loop: the model may
        look data up (changes near a time, a component's logs or metrics) with the read-only
        detectors, and answers from the findings, ranking and what it looked up, citing ids.
        The rules' floor: the look-ups the rules map the question to run when the model made
        none, and the rules answer when the model cites nothing or fails."""
        zh = self._lang(state) == "zh"
        asked = self._followup_inputs(state)
        loop = self._followup_loop(state, run, asked.rules_answer)
        remaining = self._remaining(state)
        decision: Decision | None = None
        failed = ""
        if not loop.spent() and not run.model_error:
            try:
                async for item in self._loop_step(state, run, loop, thinking,
                                                  "追问（模型）：" if zh else "Follow-up (model):"):
                    if isinstance(item, Decision):
                        decision = item
                    elif item is not None:
                        yield item
            except ModelError as exc:  # the findings are here: the rules can still answer
                failed = str(exc)
        failed = failed or run.model_error
        step = (self._followup_lookups(state, run, loop, decision, asked) if remaining > 1 else None) \
            or self._followup_answer(state, loop, decision, failed, asked)
        if not step.thought and not step.calls and step.answer is None:
            yield step  # an unreadable reply: an empty step, and the loop asks again
            return
        async for item in self._finish(thinking, step):
            yield item

    def _followup_inputs(self, state: RunState) -> _Followup:
        from ..followup import answer_followup, lookup_line, with_lookups
        from ..timezones import local_zone

        tz = local_zone(state.ctx.settings)
        done = [(c, r) for s in state.steps for c, r in zip(s.calls, s.results)]
        lines = [lookup_line(c.name, c.arguments, r.status, r.output) for c, r in done]
        merged = with_lookups(state.context or {}, [f for _, r in done for f in r.findings])
        rules_answer = answer_followup(state.question, merged, self._lang(state), tz, lines)
        return _Followup(tz, done, lines, merged, rules_answer)

    def _followup_lookups(self, state: RunState, run: _Run, loop: RoleLoop, decision: Decision | None,
                          asked: _Followup) -> Decision | None:
        """The look-ups a follow-up takes this step: the model's (valid, not done before), else
        the rules' on the first step when the model made none; None: time to answer."""
        from ..followup import LOOKUP_AGENTS, lookups

        zh = self._lang(state) == "zh"
        done = {inputs.call_key(c.name, c.arguments) for c, _ in asked.done}
        if decision is not None and decision.calls:
            components = sorted({str(f.get("component")) for f in asked.merged.get("findings", []) if isinstance(f, dict)})
            calls: list[ToolCall] = []
            for call in decision.calls[:2]:
                args = dict(call.arguments)
                if call.name not in loop.tool_names:
                    continue
                if "component" in args:
                    comp = roles.match_component(args["component"], components)
                    if comp is None:
                        continue
                    args["component"] = comp
                if inputs.call_key(call.name, args) in done:
                    continue
                calls.append(ToolCall(call.id, call.name, args, LOOKUP_AGENTS[call.name]))
            if calls:
                loop.took(state.step_index, decision.thought)
                what = ", ".join(f"{c.name}({', '.join(f'{k}={v}' for k, v in c.arguments.items())})" for c in calls)
                return Decision(thought=f"追问需要补充查询：{what}。" if zh else f"The follow-up looks up: {what}.",
                                calls=calls, agent="host")
        wanted = [w for w in lookups(state.question, state.context or {}, set(loop.tool_names), asked.tz)
                  if inputs.call_key(w.tool, w.arguments) not in done]
        if asked.done or not wanted or run.rule_lookups:
            return None
        run.rule_lookups = True  # the floor: the data the question asks about is looked up
        if decision is not None and not loop.spent():
            loop.took(state.step_index, decision.thought)  # its next request carries the results
        what = ", ".join(w.tool for w in wanted)
        return Decision(thought=(f"[规则] 追问问到的数据需要补充查询：{what}。" if zh
                                 else f"[rules] The follow-up asks about data to look up: {what}."),
                        agent="host", calls=[ToolCall("", w.tool, w.arguments, w.agent) for w in wanted])

    def _followup_answer(self, state: RunState, loop: RoleLoop, decision: Decision | None, failed: str,
                         asked: _Followup) -> Decision:
        """The follow-up's answer: the model's when it cites a finding, else the rules'; or, for
        an unreadable reply with steps left, an empty step (the loop asks again)."""
        zh = self._lang(state) == "zh"
        if (decision is not None and decision.answer is None and not decision.calls and not loop.spent()
                and self._remaining(state) > 1 and not failed):
            loop.took(state.step_index, decision.thought)  # an unreadable reply: the loop asks again
            return Decision(thought="", agent="host")
        valid = {str(f.get("id")) for f in asked.merged.get("findings", []) if isinstance(f, dict)}
        text, removed = roles.filter_citations(decision.answer or "" if decision is not None else "", valid)
        if failed:
            answer = asked.rules_answer
            note = (f"[规则] 模型不可用（{failed}），根据已有发现作答。" if zh
                    else f"[rules] The model is unavailable ({failed}); the rules answer from the findings.")
        elif text and roles.cited(text, valid):
            looked = "".join(("\n- 查询 " if zh else "\n- Looked up ") + line for line in asked.lines)
            answer = text.rstrip() + "\n" + (looked.lstrip("\n") + "\n" if looked else "")
            note = ("根据当前排查的发现作答（未重新排查）。" if zh
                    else "Answered from the current investigation's findings (not investigated again).")
            if removed:
                note += f" (dropped citations no finding backs: {', '.join(removed)})"
        else:
            answer = asked.rules_answer
            note = ("[规则] 模型的回答没有引用任何发现，改用规则的回答。" if zh and decision is not None else
                    "[rules] The model's answer cited no finding, so the rules answer." if decision is not None else
                    "[规则] 根据已有发现作答。" if zh else "[rules] Answering from the findings.")
        return Decision(thought=note, answer=answer, diagnosis=Diagnosis(question=state.question, answer=answer),
                        agent="host")

    # -- knowledge questions -------------------------------------------------------------
    async def _answer_question(self, state: RunState, run: _Run, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        lang = self._lang(state)
        entries = inputs.experiences(state, 3)
        valid = {str(e.get("id")) for e in entries if e.get("id")}
        lines = "\n".join(inputs.entry_line(e, 500) for e in entries) or "(none: the local knowledge base returned nothing relevant)"
        user = f"Local knowledge base entries:\n{lines}\n\nQuestion: {state.question}"
        reply: Reply | None = None
        async for item in self._ask(run, thinking, "qa", _chat(self._system("qa", state), user), stream_as="answer"):
            if isinstance(item, Reply):
                reply = item
            elif item is not None:
                yield item
        text, removed = roles.filter_citations(reply.text if reply else "", valid)
        text, unusable = roles.usable_answer(text, lang)
        used = (roles.cited(text, valid) or roles.grounded_in(text, entries, inputs.entry_body)) if text else []
        local = local_only(state.question)  # "请参考local的数据源": never the model's general knowledge
        if not text or (local and not used):
            answer = knowledge_answer(state.question, entries, lang)
        elif entries and not used:  # the entries the rules would cite stay the answer; the model's text beside them
            answer = (knowledge_answer(state.question, entries, lang).rstrip() + "\n\n" + text.rstrip() + "\n\n"
                      + provenance(lang, [], True) + "\n")
        else:
            answer = text.rstrip() + "\n\n" + provenance(lang, used, bool(entries)) + "\n"
        thought = (f"根据知识库检索到的 {len(entries)} 条内容由模型作答。" if lang == "zh"
                   else f"The model answers from the {len(entries)} entries the knowledge base returned.")
        if local:
            thought += " " + named_note(lang)
        if removed:
            thought += f" (dropped citations of ids the knowledge base did not return: {', '.join(removed)})"
        if unusable:
            thought += f" ({unusable})"
        yield Decision(thought=thought, answer=answer, diagnosis=Diagnosis(question=state.question, answer=answer),
                       agent="host")


# -- small pure helpers ----------------------------------------------------------------
def state_has_rules(state: RunState) -> bool:
    """The rules have something to report: the detectors ran."""
    return any(c.name == "rank_root_causes" or c.name.startswith("detect_") for s in state.steps for c in s.calls)


def novel_note(zh: bool, mechanism: str, confirm: str) -> str:
    """A novel fault's mechanism, marked as a hypothesis with what would confirm it."""
    text = "知识库中没有匹配的经验，疑似新型故障。" if zh else "Nothing in the knowledge base fits: a novel fault."
    if mechanism:
        text += (f" 假设（未经证实）的机理：{mechanism}" if zh else f" Hypothesis (unconfirmed) of its mechanism: {mechanism}")
        text = text.rstrip("。.") + ("。" if zh else ".")
        if confirm:
            text += (f" 可证实该假设的证据：{confirm}" if zh else f" What would confirm it: {confirm}")
            text = text.rstrip("。.") + ("。" if zh else ".")
    return text


def _reflection_facts(state: RunState, reviewed: list[RootCause], notes: list[str]) -> str:
    """What the reflection call reads: the leading hypothesis, its evidence, the rule checks,
    the onsets and its neighbours in the call graph, and the runner-up."""
    findings = list(state.ctx.findings)
    top = reviewed[0]
    by_id = {f.id: f for f in findings}
    evidence = [by_id[e] for e in top.evidence if e in by_id][:6]
    own = [f for f in findings if f.component == top.component]
    onsets = [f.onset for f in significant(findings) if f.onset is not None and f.source != "changes"]
    own_onsets = [f.onset for f in own if f.onset is not None and f.source != "changes"]
    edges = inputs.call_graph(state)
    callers = sorted({a for a, b in edges if b == top.component})
    callees = sorted({b for a, b in edges if a == top.component})
    sick = {f.component for f in findings if f.source != "changes"}
    return "\n\n".join([
        f"Leading hypothesis: {top.component} / {top.fault_type} (confidence {top.confidence:.2f})",
        "Its evidence:\n" + inputs.findings_text(evidence or own[:6]),
        "Rule checks:\n" + "\n".join(f"- {n}" for n in notes[:3]),
        f"Earliest anomaly overall: {hhmm_zone(min(onsets)) if onsets else 'unknown'}; "
        f"first anomaly of {top.component}: {hhmm_zone(min(own_onsets)) if own_onsets else 'unknown'}",
        f"Callers of {top.component}: " + (", ".join(f"{c} ({'anomalous' if c in sick else 'healthy'})"
                                                for c in callers) or "none"),
        f"Callees of {top.component}: " + (", ".join(f"{c} ({'anomalous' if c in sick else 'healthy'})"
                                                for c in callees) or "none"),
        "Runner-up: " + (f"{reviewed[1].component} / {reviewed[1].fault_type} ({reviewed[1].confidence:.2f})"
                         if len(reviewed) > 1 else "none"),
    ])


def _chat(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _agent_of(tool: str) -> str:
    return next((agent for word, agent in _AGENT_OF if word in tool), "data-sources")


def provenance(lang: str, used: list[str], had_entries: bool) -> str:
    """The line that says where a knowledge answer came from: the entries it cites or
    visibly repeats, else the model's general knowledge."""
    if used:
        ids = ", ".join(f"[{i}]" for i in used)
        return f"*来源：本地知识库 {ids}*" if lang == "zh" else f"*Source: the local knowledge base {ids}.*"
    if had_entries:
        return ("*来源：模型的通用知识——本地知识库检索到的条目没有回答这个问题。*" if lang == "zh"
                else "*Source: the model's general knowledge; the local knowledge base's entries do not answer this.*")
    return ("*来源：模型的通用知识——本地知识库中没有相关内容。*" if lang == "zh"
            else "*Source: the model's general knowledge; the local knowledge base has nothing on this.*")
