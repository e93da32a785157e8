"""The investigation pipeline, in one place: the phases of a run in order, and the decision
points at which a brain (a policy: rules, or rules and a model) is consulted.

A run walks the phases top to bottom. A phase with tools is one step of the agent loop
(its tools run together, concurrently when read-only); a phase without tools is work a
brain does itself. Brains look phases up by name (`phase("detect")`), never by position,
so a plan with a phase left out or moved changes what they do.

    phase       the rules (brains/offline.py)           the model (brains/team.py, ModelPolicy)
    understand  intent_kind(): followup, knowledge, ...  -
    describe    describe_telemetry; agent_plan(),       -
                then the window and services (echoed)
    detect      the data-source agents' detectors       drill_down: the data-source agents
    rank        rank_root_causes                        (rules: again after a drill-down found more)
    consult     kb_search + similar_incidents           rank: the RCA agent, rules as floor
    reflect     reflection.reflect (rule checks)        reflect: keep, revise or demote
    report      write_report (five sections)            summarise: its summary of the report

The ReAct brain (brains/llm.py) does not walk this plan: the model picks every tool, and
its run ends in the same report stage (brains/report_stage.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, Protocol

if TYPE_CHECKING:
    from .brains.base import Decision, RunState, StreamedThought
    from .events import Event


@dataclass(frozen=True)
class PlanStep:
    """One tool of a phase, the agent that calls it, and why (said in the step's thought)."""

    tool: str
    agent: str
    why_en: str
    why_zh: str
    needs: str = ""  # a kind of data the run must hold ("platform", "database"), else the step is skipped


@dataclass(frozen=True)
class Phase:
    """One phase of the pipeline: its tools run together (concurrently when read-only)."""

    name: str
    agent: str  # the role that acts in it
    steps: tuple[PlanStep, ...] = ()  # no steps: the brain's own work, no tool call
    needs: str = ""  # what it reads, in one line
    produces: str = ""  # what it leaves for the phases after it, in one line


PLAN: tuple[Phase, ...] = (
    Phase("understand", "host",
          needs="the question (and, in a conversation, the investigation it follows)",
          produces="RunState.intent_kind: followup, knowledge, or an investigation (diagnose, report, ...)"),
    Phase("describe", "host", (
        PlanStep("describe_telemetry", "host", "see which components and signals the data holds, and when alerts fired",
                 "查看数据中有哪些组件和信号，以及告警何时触发"),
    ), needs="the collected telemetry",
        produces="components, signals and time range; then RunState.agent_plan, the window and the services"),
    Phase("detect", "data-sources", (
        PlanStep("detect_metric_anomalies", "metrics", "scan every metric series against its baseline",
                 "将每条指标序列与其基线比较，检测异常"),
        PlanStep("detect_log_anomalies", "logs", "mine log templates and look for new templates and error surges",
                 "挖掘日志模板，查找新模板和错误激增"),
        PlanStep("detect_trace_anomalies", "traces", "check call edges for latency, errors and lost spans",
                 "检查调用链各边的延迟、错误和丢点"),
        PlanStep("list_changes", "changes", "list deploys and config changes near the onset",
                 "列出异常开始前后的发布与配置变更"),
        PlanStep("detect_platform_faults", "platform", "check the Kubernetes state: pods, nodes, rollouts and events",
                 "检查 Kubernetes 状态：Pod、节点、发布与事件", needs="platform"),
        PlanStep("detect_database_faults", "database", "check the managed databases: storage, connections, replica lag, "
                 "failovers, CPU by query or maintenance, lock waits", "检查托管数据库：存储、连接数、复制延迟、故障切换、"
                 "SQL或维护任务导致的CPU升高、锁等待", needs="database"),
    ), needs="the agent plan, the window and the services",
        produces="findings (ctx.findings); with a model, more from the drill-down"),
    Phase("rank", "rca", (
        PlanStep("rank_root_causes", "rca", "combine the findings with the call graph and rank root causes",
                 "结合调用图综合各项发现，对根因排序"),
    ), needs="the findings and the call graph", produces="the rule ranking of root causes"),
    Phase("consult", "rca", (
        PlanStep("kb_search", "rca", "look up expert experience for the leading hypothesis",
                 "检索与首要假设相符的专家经验"),
        PlanStep("similar_incidents", "rca", "recall similar past incidents from memory",
                 "从记忆中召回相似的历史故障"),
    ), needs="the leading hypothesis", produces="knowledge entries and past incidents; with a model, its ranking"),
    Phase("reflect", "reflection", needs="the ranking and the findings",
          produces="the reviewed causes and the reflection notes"),
    Phase("report", "report", needs="the reviewed causes, findings, knowledge and recalled incidents",
          produces="the diagnosis: verdict and five-section report (with a model, its summary)"),
)


def phase(name: str, plan: tuple[Phase, ...] = PLAN) -> Phase | None:
    """The phase called `name` in `plan`, or None when the plan leaves it out."""
    return next((p for p in plan if p.name == name), None)


def tool_phases(plan: tuple[Phase, ...] = PLAN) -> tuple[Phase, ...]:
    """The phases that call tools, in order: each is one step of the agent loop."""
    return tuple(p for p in plan if p.steps)


class RulePolicy(Protocol):
    """The decision points the rules answer. OfflineBrain implements them; TeamBrain uses an
    OfflineBrain in the team's voice for them."""

    def phase_decision(self, state: RunState, phase: Phase, n: int, total: int) -> Decision:
        """Which tools of a phase run next (those that apply and have not run), and why."""
        ...

    def knowledge_search(self, state: RunState) -> Decision:
        """A knowledge question's first step: search the local knowledge base."""
        ...

    def followup(self, state: RunState) -> Decision:
        """A follow-up question: the look-ups it asks for, then the answer from the findings."""
        ...


class ModelPolicy(Protocol):
    """The decision points at which TeamBrain consults the model; the rules are the floor of
    each. Each streams events, then yields its Decision (none: the pipeline goes on)."""

    def drill_down(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """Which read-only tools the data-source agents call next, or that they stop."""
        ...

    def rank(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """The RCA agent's tool calls, then its ranking, merged with the rules' and held to their floor."""
        ...

    def reflect(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """The verdict on the leading hypothesis: keep, revise or demote."""
        ...

    def summarise(self, state: RunState, thinking: StreamedThought) -> AsyncIterator[Event | Decision]:
        """The report, with the model's summary of it (dropped when it cites no evidence)."""
        ...
