"""`copilot bench scenarios [SUITE]`: end-to-end investigations of the scenario suite.

The suite is data (tests/scenarios/<case>/scenario.yaml, see tests/scenarios/README.md):
a question, where its telemetry comes from (the demo generator at run time, a committed
`data/` folder, or none for knowledge questions), the expected root cause and fault kind,
and facts the report or answer must satisfy. Each case runs through the real Session
(offline unless a model is given) and is scored: component right, fault kind right, facts
satisfied, plus the report's consistency with the ranking. Memory (diagnoses, sessions)
lives in a temporary store per benchmark run unless --shared-memory is given, so runs do
not depend on each other or on the user's past incidents.

    python -m copilot.bench.scenarios [SUITE] [--case NAME]... [--limit N] [--json]
                                      [--model M] [--base-url URL] [--shared-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import AbstractSet, Any, Callable

from copilot.config import Settings, cache_dir, load_settings
from copilot.diagnosis import FAULT_KINDS
from copilot.errors import CopilotError

DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "tests" / "scenarios"
KINDS = ("diagnose", "knowledge")
TOP_KEYS = {"description", "kind", "question", "generate", "data", "settings", "expect", "known_issue", "notes"}
EXPECT_KEYS = {"component", "fault_kind", "start", "report", "window", "answer", "verdict", "category"}
VERDICTS = ("fault", "recovered", "healthy")
REPORT_FACTS = {"language", "prose_language", "faulty_components", "first_faulty_component", "onsets", "root_cause_section",
                "strongest_evidence_component", "mentions"}
WINDOW_FACTS = {"covers_truth", "echoed", "start", "padding_min", "minutes"}
ANSWER_FACTS = {"cites_any", "no_citations", "contains_any", "language", "no_report"}
KB_CITATION = re.compile(r"\[((?:exp|sop|inc|doc)-[\w.#-]+)\]")
FINDING_CITATION = re.compile(r"\[([A-Z]\d+)\]")
SECTION_HEADINGS = {"en": re.compile(r"^## ([1-5])\. ", re.M), "zh": re.compile(r"^## ([一二三四五])、", re.M)}


@dataclass
class Scenario:
    name: str
    path: Path
    kind: str
    question: str
    generate: dict[str, Any] | None = None
    data: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    known_issue: str = ""
    description: str = ""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


# -- loading --------------------------------------------------------------------------
def load_suite(root: str | Path | None = None, cases: list[str] | None = None) -> list[Scenario]:
    """Every <case>/scenario.yaml under `root`, sorted by name; `cases` keeps those whose
    name contains one of the given strings."""
    base = Path(root) if root else DEFAULT_SUITE
    if not base.is_dir():
        raise CopilotError(f"{base}: no scenario suite there; pass the folder that holds <case>/scenario.yaml")
    found = sorted(p.parent for p in base.glob("*/scenario.yaml"))
    if not found:
        raise CopilotError(f"{base}: no <case>/scenario.yaml files; see tests/scenarios/README.md")
    if cases:
        found = [p for p in found if any(c in p.name for c in cases)]
        if not found:
            raise CopilotError(f"no scenario name contains {', '.join(cases)}; run without --case to list them")
    return [load_scenario(p) for p in found]


def load_scenario(folder: Path) -> Scenario:
    where = folder / "scenario.yaml"
    raw = _read_scenario(where)

    def bad(msg: str) -> CopilotError:
        return CopilotError(f"{where}: {msg}")

    kind = _check_header(raw, bad)
    expect = _check_expect(raw, bad)
    gen, data = raw.get("generate"), raw.get("data")
    if gen is not None and data is not None:
        raise bad("give either 'generate' or 'data', not both")
    if gen is not None:
        gen = _generate_spec(gen, bad)
    data_dir = None
    if data is not None:
        data_dir = (folder / str(data)).resolve()
        if not data_dir.is_dir():
            raise bad(f"data: {data_dir} is not a directory")
    if kind == "diagnose":
        _check_telemetry(gen, data_dir, expect, bad)
    _check_expected_values(expect, bad)
    settings = raw.get("settings") or {}
    if not isinstance(settings, dict):
        raise bad("'settings' must be a mapping of setting names to values")
    return Scenario(folder.name, folder, kind, raw["question"].strip(), gen, data_dir, settings, expect,
                    str(raw.get("known_issue") or ""), str(raw.get("description") or ""))


def _read_scenario(where: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(where.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CopilotError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise CopilotError(f"{where}: expected a mapping with question, expect and generate/data")
    return raw


def _check_header(raw: dict[str, Any], bad: Callable[[str], CopilotError]) -> str:
    """Known keys, a question; the scenario's kind."""
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise bad(f"unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(TOP_KEYS))}")
    if not isinstance(raw.get("question"), str) or not raw["question"].strip():
        raise bad("'question' is missing; give the on-call question as text")
    kind = raw.get("kind", "diagnose")
    if kind not in KINDS:
        raise bad(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def _check_expect(raw: dict[str, Any], bad: Callable[[str], CopilotError]) -> dict[str, Any]:
    """The expected facts: known keys, and known facts under report, window and answer."""
    expect = raw.get("expect") or {}
    if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
        raise bad(f"'expect' takes only {', '.join(sorted(EXPECT_KEYS))}")
    for key, allowed in (("report", REPORT_FACTS), ("window", WINDOW_FACTS), ("answer", ANSWER_FACTS)):
        extra = set(expect.get(key) or {}) - allowed
        if extra:
            raise bad(f"expect.{key} has unknown fact {sorted(extra)[0]!r}; known: {', '.join(sorted(allowed))}")
    return expect


def _generate_spec(gen: Any, bad: Callable[[str], CopilotError]) -> dict[str, Any]:
    """The demo generator's fault, service (checked against the fault) and seed."""
    from copilot.demo import check_choice

    if not isinstance(gen, dict) or "fault" not in gen or set(gen) - {"fault", "service", "seed"}:
        raise bad("'generate' takes fault, service and seed, e.g. {fault: jvm_gc, service: checkout, seed: 11}")
    try:
        return {"fault": gen["fault"], "service": check_choice(gen["fault"], gen.get("service")),
                "seed": int(gen.get("seed", 7))}
    except (CopilotError, TypeError, ValueError) as exc:
        raise bad(f"generate: {exc}") from None


def _check_telemetry(gen: dict[str, Any] | None, data_dir: Path | None, expect: dict[str, Any],
                     bad: Callable[[str], CopilotError]) -> None:
    """A diagnose scenario has telemetry; committed data comes with the expected answer."""
    if gen is None and data_dir is None:
        raise bad("a diagnose scenario needs telemetry: 'generate' or 'data'")
    if gen is None and not ({"component", "fault_kind"} <= set(expect)) and expect.get("verdict") != "healthy":
        raise bad("with committed data, expect.component and expect.fault_kind are required")


def _check_expected_values(expect: dict[str, Any], bad: Callable[[str], CopilotError]) -> None:
    if expect.get("verdict") is not None and expect["verdict"] not in VERDICTS:
        raise bad(f"expect.verdict {expect['verdict']!r} is not one of {', '.join(VERDICTS)}")
    from copilot.kinds import is_kind

    if expect.get("fault_kind") is not None and expect["fault_kind"] not in FAULT_KINDS and not is_kind(expect["fault_kind"]):
        raise bad(f"expect.fault_kind {expect['fault_kind']!r} is not a fault kind (copilot/kinds.py)")


# -- telemetry and ground truth ---------------------------------------------------------
@dataclass
class Prepared:
    data_dir: Path | None
    question: str
    truth: dict[str, Any]
    values: dict[str, str] = field(default_factory=dict)  # the question's placeholders, filled in

    def fill(self, text: str) -> str:
        try:
            return text.format_map(self.values)
        except (KeyError, IndexError, ValueError) as exc:
            raise CopilotError(f"unknown placeholder {exc} in {text!r}; use {{generated_question}} or "
                               "{first_alert} (when the question uses it)") from None


def generated_dir(gen: dict[str, Any]) -> Path:
    """The generated incident, cached once per generator version and (fault, service, seed)."""
    from copilot.demo import GENERATOR_VERSION, generate

    target = cache_dir() / "scenarios" / GENERATOR_VERSION / f"{gen['fault']}-{gen['service']}-{gen['seed']}"
    if (target / "incident.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=target.parent))
    try:
        generate(tmp, gen["fault"], gen["service"], gen["seed"])
        try:
            tmp.rename(target)
        except OSError:  # a concurrent run generated the same bytes first
            if not (target / "incident.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def first_alert_hhmm(data_dir: Path) -> str:
    """HH:MM (UTC) of the earliest alert: what the on-call engineer saw fire."""
    from copilot.plugins.telemetry.files import load_directory

    alerts = load_directory(data_dir).alerts
    if not alerts:
        raise CopilotError(f"{data_dir}: the question uses {{first_alert}} but the data has no alerts")
    return datetime.fromtimestamp(min(a.timestamp for a in alerts), timezone.utc).strftime("%H:%M")


def prepare(sc: Scenario) -> Prepared:
    truth: dict[str, Any] = {}
    data_dir = sc.data
    if sc.generate is not None:
        data_dir = generated_dir(sc.generate)
        truth = json.loads((data_dir / "incident.json").read_text(encoding="utf-8"))  # scoring only
    for key in ("component", "fault_kind", "start", "verdict", "category"):
        if sc.expect.get(key) is not None:
            truth[key] = sc.expect[key]
    if sc.kind == "diagnose":
        from copilot.kinds import category_of

        truth.setdefault("verdict", "fault")
        truth.setdefault("category", category_of(truth.get("fault_kind") or "") if truth["verdict"] != "healthy" else "")
    values: dict[str, str] = {}
    if "{generated_question}" in sc.question:
        if data_dir is None or not (data_dir / "question.txt").exists():
            raise CopilotError(f"{sc.name}: {{generated_question}} needs generated telemetry")
        values["generated_question"] = (data_dir / "question.txt").read_text(encoding="utf-8").strip()
    if "{first_alert}" in sc.question + str(sc.expect.get("window", "")):
        if data_dir is None:
            raise CopilotError(f"{sc.name}: {{first_alert}} needs telemetry")
        values["first_alert"] = first_alert_hhmm(data_dir)
    prep = Prepared(data_dir, "", truth, values)
    try:
        prep.question = prep.fill(sc.question)
    except CopilotError as exc:
        raise CopilotError(f"{sc.name}: {exc}") from None
    return prep


# -- running --------------------------------------------------------------------------
@dataclass
class Outcome:
    question: str
    final: dict[str, Any] | None
    events: list[Any]
    tokens: int
    seconds: float
    failure: str = ""


async def investigate(sc: Scenario, prep: Prepared, base: Settings, memory_dir: Path | None) -> Outcome:
    from copilot.approval import DenyAll
    from copilot.events import FinalAnswer, RunFailed, StepLimitReached, Usage
    from copilot.session import Session

    overrides: dict[str, Any] = dict(sc.settings)
    overrides["data"] = str(prep.data_dir) if prep.data_dir else ""
    if memory_dir is not None:
        overrides.update(kb_uri=str(memory_dir / "lancedb"), sessions_dir=str(memory_dir / "sessions"))
    unknown = set(overrides) - set(Settings.__dataclass_fields__)
    if unknown:
        raise CopilotError(f"{sc.name}: unknown setting {sorted(unknown)[0]!r} in 'settings'")
    settings = replace(base, **overrides)
    session = Session(settings, approver=DenyAll())
    events: list[Any] = []
    final, failure, tokens = None, "", 0
    started = time.perf_counter()
    async for event in session.ask(prep.question):
        events.append(event)
        if isinstance(event, Usage):
            tokens += event.total_tokens
        elif isinstance(event, FinalAnswer):
            final = event.diagnosis
        elif isinstance(event, RunFailed) and final is None:
            failure = event.error
        elif isinstance(event, StepLimitReached):
            failure = failure or f"stopped: {event.reason} after {event.steps} steps"
    return Outcome(prep.question, final, events, tokens, time.perf_counter() - started, failure)


# -- scoring --------------------------------------------------------------------------
def report_section(markdown: str, number: int) -> str:
    """The text of report section `number` (1-5) in the rendered Markdown, any language."""
    heads = list(re.finditer(r"^## (?:([1-5])\. |([一二三四五])、)", markdown, re.M))
    zh = "一二三四五"
    for i, m in enumerate(heads):
        n = int(m.group(1)) if m.group(1) else zh.index(m.group(2)) + 1
        if n == number:
            end = heads[i + 1].start() if i + 1 < len(heads) else len(markdown)
            return markdown[m.start():end]
    return ""


def consistency_checks(diagnosis: dict[str, Any], call_ids: AbstractSet[str] = frozenset()) -> list[Check]:
    """What every incident report must satisfy, whatever the scenario: five sections; the
    report's root cause is the ranking's top; faulty components deduplicated and in rank
    order; every cited id a real finding (or tool call) id."""
    report = diagnosis.get("report") or {}
    answer = diagnosis.get("answer") or ""
    lang = report.get("language", "en")
    out: list[Check] = []
    numbers = set(SECTION_HEADINGS.get(lang, SECTION_HEADINGS["en"]).findall(answer))
    keys = ("alert_onsets", "faulty_components", "symptoms", "root_cause", "actions")
    missing = [k for k in keys if k not in report]
    out.append(Check("five sections", len(numbers) == 5 and not missing,
                     f"headings {sorted(numbers)}, missing keys {missing}" if missing or len(numbers) != 5 else ""))
    causes = diagnosis.get("root_causes") or []
    root = report.get("root_cause")
    top_ok = (not causes and root is None) or bool(
        causes and root and (root["component"], root["fault_type"]) == (causes[0]["component"], causes[0]["fault_type"]))
    out.append(Check("report root cause = top of ranking", top_ok,
                     "" if top_ok else f"report {root and (root['component'], root['fault_type'])}, ranking "
                     f"{causes and (causes[0]['component'], causes[0]['fault_type'])}"))
    names = [c["component"] for c in report.get("faulty_components", [])]
    out.append(Check("faulty components deduplicated", len(names) == len(set(names)), ", ".join(names)))
    rank = [c["component"] for c in causes]
    ranked_listed = [n for n in names if n in rank]
    in_order = ranked_listed == sorted(ranked_listed, key=rank.index) and (not names or not rank or names[0] == rank[0])
    out.append(Check("faulty components follow the ranking", in_order, "" if in_order else f"{names} vs ranking {rank}"))
    valid = {f["id"] for f in diagnosis.get("findings", [])} | set(call_ids)
    cited = set(FINDING_CITATION.findall(answer))
    for o in report.get("alert_onsets", []):
        cited.update(o.get("evidence", []))
    for c in report.get("faulty_components", []):
        cited.update(c.get("evidence", []))
    for g in report.get("symptoms", []):
        cited.update(i["evidence"] for i in g.get("items", []))
    if root:
        cited.update(root.get("evidence", []))
        for alt in root.get("alternatives", []):
            cited.update(alt.get("evidence", []))
    for a in (report.get("actions") or {}).get("now", []) + (report.get("actions") or {}).get("later", []):
        cited.update(a.get("evidence", []))
    cited.update(report.get("strongest_evidence", []))
    bogus = sorted(cited - valid)
    out.append(Check("every cited id is a real finding", not bogus, ", ".join(bogus)))
    return out


def _language_of(text: str) -> str:
    """The language an answer is written in (citations and component names aside)."""
    from copilot.language import detect_language

    return detect_language(KB_CITATION.sub("", text))


def _hhmm(ts: float, tz_name: str) -> datetime:
    from copilot.timezones import local_zone

    return datetime.fromtimestamp(ts, local_zone(Settings(timezone=tz_name)))


def _truth_start(truth: dict[str, Any]) -> float | None:
    start = truth.get("start")
    if start is None:
        return None
    if isinstance(start, (int, float)):
        return float(start)
    return datetime.fromisoformat(str(start).replace("Z", "+00:00")).timestamp()


def fact_checks(sc: Scenario, prep: Prepared, outcome: Outcome) -> list[Check]:
    """The scenario's expected facts about the report, the window and the answer."""
    diag = outcome.final or {}
    true_start = _truth_start(prep.truth)
    return (_report_checks(sc.expect.get("report") or {}, diag, true_start)
            + _window_checks(sc, prep, outcome, diag, true_start)
            + _answer_checks(sc.expect.get("answer") or {}, diag))


def _report_checks(rf: dict[str, Any], diag: dict[str, Any], true_start: float | None) -> list[Check]:
    report = diag.get("report") or {}
    answer = diag.get("answer") or ""
    out: list[Check] = []
    if "language" in rf:
        out.append(Check(f"report language {rf['language']}", report.get("language") == rf["language"], str(report.get("language"))))
    if "prose_language" in rf:
        out += _prose_checks(rf["prose_language"], answer)
    listed = [c["component"] for c in report.get("faulty_components", [])]
    for comp in rf.get("faulty_components", []):
        out.append(Check(f"faulty components list {comp}", comp in listed, ", ".join(listed)))
    if "first_faulty_component" in rf:
        first = listed[0] if listed else None
        out.append(Check(f"{rf['first_faulty_component']} listed first", first == rf["first_faulty_component"], str(first)))
    out += _onset_checks(rf.get("onsets") or {}, report, true_start)
    section4 = report_section(answer, 4)
    for text in rf.get("root_cause_section", []):
        out.append(Check(f"root-cause section names {text}", text in section4, section4[:160].replace("\n", " ")))
    if "strongest_evidence_component" in rf:
        comps = {f["id"]: f["component"] for f in diag.get("findings", [])}
        strongest = [comps.get(i) for i in report.get("strongest_evidence", [])]
        ok = bool(strongest) and strongest[0] == rf["strongest_evidence_component"]
        out.append(Check(f"strongest evidence on {rf['strongest_evidence_component']}", ok, str(strongest)))
    for text in rf.get("mentions", []):
        out.append(Check(f"report mentions {text!r}", text in answer))
    return out


def _prose_checks(language: str, answer: str) -> list[Check]:
    """The report's symptoms and root-cause sections are written in `language` (code, links aside)."""
    out: list[Check] = []
    for number, what in ((3, "symptoms"), (4, "root cause")):
        text = re.sub(r"`[^`]*`|\[[^\]]*\]|\([^)]*\)", "", report_section(answer, number))
        lang = _language_of(text)
        out.append(Check(f"{what} section written in {language}", lang == language,
                         f"{lang}: {text.strip().splitlines()[-1][:100] if text.strip() else ''}"))
    return out


def _onset_checks(onsets: Any, report: dict[str, Any], true_start: float | None) -> list[Check]:
    """Each source's alert onset is reported (and, with a tolerance, near the true fault start)."""
    if isinstance(onsets, list):
        onsets = {s: None for s in onsets}
    by_source = {o["source"]: o for o in report.get("alert_onsets", [])}
    out: list[Check] = []
    for source, tolerance in onsets.items():
        ts = (by_source.get(source) or {}).get("onset_ts")
        if tolerance is None or ts is None or true_start is None:
            out.append(Check(f"{source} onset reported", ts is not None, str((by_source.get(source) or {}).get("onset"))))
        else:
            off = (ts - true_start) / 60
            out.append(Check(f"{source} onset within {tolerance} min of the fault", abs(off) <= tolerance, f"{off:+.1f} min"))
    return out


def _window_checks(sc: Scenario, prep: Prepared, outcome: Outcome, diag: dict[str, Any],
                   true_start: float | None) -> list[Check]:
    from copilot.events import Thought

    wf = sc.expect.get("window") or {}
    window = diag.get("window")
    tz_name = str(sc.settings.get("timezone", ""))
    out: list[Check] = []
    if wf.get("covers_truth"):
        ok = bool(window and true_start is not None and window[0] <= true_start <= window[1])
        out.append(Check("window covers the fault onset", ok, str(window)))
    if "start" in wf:
        out.append(_window_start_check(wf, prep, window, tz_name))
    if "minutes" in wf:
        length = (window[1] - window[0]) / 60 if window else None
        ok = length is not None and abs(length - float(wf["minutes"])) <= 1.0
        out.append(Check(f"window is {wf['minutes']} min long", ok, f"{length}"))
    if wf.get("echoed"):
        thoughts = " ".join(e.text for e in outcome.events if isinstance(e, Thought))
        stamp = _hhmm(window[0], tz_name).strftime("%Y-%m-%d %H:%M") if window else "?"
        out.append(Check("the host echoes the window", bool(window) and stamp in thoughts, stamp))
    return out


def _window_start_check(wf: dict[str, Any], prep: Prepared, window: Any, tz_name: str) -> Check:
    """The window starts at the time the question asked, `padding_min` earlier."""
    pad = float(wf.get("padding_min", 0))
    ok, seen = False, "no window"
    if window:
        start = _hhmm(window[0] + pad * 60, tz_name)
        named = datetime.strptime(prep.fill(str(wf["start"])), "%H:%M")
        ok = (start.hour, start.minute) == (named.hour, named.minute)
        seen = f"window starts {start:%H:%M} + padding"
    return Check(f"window starts at the time asked ({prep.fill(str(wf['start']))}, {pad:g} min earlier)", ok, seen)


def _answer_checks(af: dict[str, Any], diag: dict[str, Any]) -> list[Check]:
    answer = diag.get("answer") or ""
    report = diag.get("report") or {}
    out: list[Check] = []
    kb_cited = KB_CITATION.findall(answer)
    if af.get("cites_any"):
        hits = [c for c in kb_cited if any(c.startswith(p) for p in af["cites_any"])]
        out.append(Check(f"cites one of {', '.join(af['cites_any'])}", bool(hits), ", ".join(kb_cited) or "no citations"))
    if af.get("no_citations"):
        out.append(Check("cites no knowledge entry", not kb_cited, ", ".join(kb_cited)))
    if af.get("contains_any"):
        low = answer.lower()
        ok = any(t.lower() in low for t in af["contains_any"])
        out.append(Check("answer says " + " / ".join(repr(t) for t in af["contains_any"][:2]), ok, answer[:120].replace("\n", " ")))
    if "language" in af:
        lang = _language_of(answer)
        out.append(Check(f"answer language {af['language']}", lang == af["language"], lang))
    if af.get("no_report"):
        out.append(Check("answered without an incident investigation", not diag.get("root_causes") and not report,
                         f"{len(diag.get('root_causes') or [])} root causes"))
    return out


def score(sc: Scenario, prep: Prepared, outcome: Outcome) -> dict[str, Any]:
    from copilot.events import ActionProposed, MemoryRecalled

    diag = outcome.final or {}
    causes = diag.get("root_causes") or []
    top = causes[0] if causes else {}
    truth = prep.truth
    result: dict[str, Any] = {
        "scenario": sc.name, "kind": sc.kind, "question": outcome.question,
        "language": _language_of(outcome.question), "known_issue": sc.known_issue,
        "truth": {k: truth.get(k) for k in ("component", "fault_kind", "start", "verdict", "category")}
        if sc.kind == "diagnose" else None,
        "verdict": diag.get("verdict"), "verdict_right": None, "category_right": None,
        "top": [top.get("component"), top.get("fault_type")] if top else None,
        "component_right": None, "kind_right": None,
        "model": diag.get("model", ""), "tokens": outcome.tokens, "seconds": round(outcome.seconds, 2),
        "failure": outcome.failure,
        "tool_calls": sum(isinstance(e, ActionProposed) for e in outcome.events),
        "recalled": [e.memory_id for e in outcome.events if isinstance(e, MemoryRecalled)],
    }
    checks: list[Check] = []
    if outcome.final is None:
        checks.append(Check("the run produced an answer", False, outcome.failure or "no final answer"))
    if sc.kind == "diagnose":
        result["component_right"] = top.get("component") == truth.get("component")
        result["kind_right"] = top.get("fault_type") == truth.get("fault_kind")
        if truth.get("verdict") == "healthy":  # nothing is wrong: right when nothing is named
            result["component_right"] = result["kind_right"] = not causes
        result["verdict_right"] = diag.get("verdict") == truth.get("verdict")
        result["category_right"] = (top.get("category") or "") == (truth.get("category") or "")
        if outcome.final is not None:
            calls = {e.call_id for e in outcome.events if isinstance(e, ActionProposed)}
            checks += consistency_checks(diag, calls)
    checks += fact_checks(sc, prep, outcome)
    result["checks"] = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]
    result["facts_passed"] = sum(c.ok for c in checks)
    result["facts_total"] = len(checks)
    parts = [result["component_right"], result["kind_right"], result["verdict_right"]] if sc.kind == "diagnose" else []
    parts += [c.ok for c in checks]
    result["accuracy"] = round(sum(bool(p) for p in parts) / len(parts), 3) if parts else 0.0
    result["passed"] = all(bool(p) for p in parts)
    return result


# -- the benchmark ----------------------------------------------------------------------
def base_settings(model: str | None = None, base_url: str | None = None, **flags: Any) -> Settings:
    """Offline unless a model or endpoint is given; then the configured model settings apply."""
    settings = load_settings({"model": model, "base_url": base_url, **flags})
    if not (model or base_url):
        settings.offline = True
    return settings


def run_suite(scenarios: list[Scenario], settings: Settings, *, shared_memory: bool = False,
              progress: Any = None) -> dict[str, Any]:
    started = time.perf_counter()
    memory_dir = None if shared_memory else Path(tempfile.mkdtemp(prefix="copilot-scenarios-"))
    results = []
    try:
        for sc in scenarios:
            prep = prepare(sc)
            outcome = asyncio.run(investigate(sc, prep, settings, memory_dir))
            results.append(score(sc, prep, outcome))
            if progress:
                progress(results[-1])
    finally:
        if memory_dir is not None:
            shutil.rmtree(memory_dir, ignore_errors=True)
    # The brain names the model it resolved (a bare --base-url asks the endpoint which it serves).
    used = sorted({r["model"] for r in results if r["model"]})
    return summarize(results, ", ".join(used) or settings.model_label, time.perf_counter() - started)


def summarize(results: list[dict[str, Any]], model: str, seconds: float) -> dict[str, Any]:
    diag = [r for r in results if r["kind"] == "diagnose"]

    def share(n: int, d: int) -> float | None:
        return round(n / d, 3) if d else None

    comp = sum(bool(r["component_right"]) for r in diag)
    kind = sum(bool(r["kind_right"]) for r in diag)
    facts = sum(r["facts_passed"] for r in results)
    facts_total = sum(r["facts_total"] for r in results)
    passed = sum(r["passed"] for r in results)

    def by(key: str) -> dict[str, dict[str, Any]]:
        """Accuracy per expected category / verdict: the share of its cases diagnosed right
        (component, fault kind and verdict)."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in diag:
            groups.setdefault((r["truth"] or {}).get(key) or "(none)", []).append(r)
        return {k: {"cases": len(v), "right": share(sum(bool(r["component_right"] and r["kind_right"]
                                                              and r.get("verdict_right", True)) for r in v), len(v)),
                    "verdict_right": share(sum(bool(r.get("verdict_right")) for r in v), len(v)),
                    "category_right": share(sum(bool(r.get("category_right")) for r in v), len(v))}
                for k, v in sorted(groups.items())}

    return {
        "benchmark": "scenarios", "model": model, "cases": len(results),
        "component_accuracy": share(comp, len(diag)), "fault_kind_accuracy": share(kind, len(diag)),
        "facts_satisfied": share(facts, facts_total), "scenarios_passed": passed,
        "verdict_accuracy": share(sum(bool(r.get("verdict_right")) for r in diag), len(diag)),
        "category_accuracy": share(sum(bool(r.get("category_right")) for r in diag), len(diag)),
        "per_category": by("category"), "per_verdict": by("verdict"),
        "accuracy": share(passed, len(results)),
        "tokens": sum(r["tokens"] for r in results), "seconds": round(seconds, 1),
        "per_case": results,
    }


def format_text(summary: dict[str, Any]) -> str:
    lines = [f"scenarios: {summary['cases']} cases, model {summary['model']}",
             f"{'scenario':34} {'lang':4} {'top (component / fault kind)':38} {'comp':>4} {'kind':>4} {'facts':>6} "
             f"{'acc':>5} {'tokens':>7} {'sec':>6}"]
    for r in summary["per_case"]:
        mark = lambda v: "-" if v is None else ("ok" if v else "NO")  # noqa: E731
        top = " / ".join(str(x) for x in r["top"]) if r["top"] else ("(answer)" if r["kind"] == "knowledge" else "(none)")
        name = r["scenario"] + (" *" if r["known_issue"] else "")
        lines.append(f"{name[:34]:34} {r['language']:4} {top[:38]:38} {mark(r['component_right']):>4} "
                     f"{mark(r['kind_right']):>4} {r['facts_passed']:>3}/{r['facts_total']:<2} {r['accuracy']:>5.0%} "
                     f"{r['tokens']:>7} {r['seconds']:>6.1f}")
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    lines += ["", f"overall: component {pct(summary['component_accuracy'])}, fault kind "
                  f"{pct(summary['fault_kind_accuracy'])}, facts {pct(summary['facts_satisfied'])}, "
                  f"scenarios passed {summary['scenarios_passed']}/{summary['cases']}; "
                  f"tokens {summary['tokens']}; {summary['seconds']} s",
              f"verdict {pct(summary.get('verdict_accuracy'))}, category {pct(summary.get('category_accuracy'))}"]
    for key, title in (("per_category", "per category"), ("per_verdict", "per verdict")):
        if summary.get(key):
            lines.append(f"{title}: " + "; ".join(f"{k} {pct(v['right'])} of {v['cases']}" for k, v in summary[key].items()))
    failed = [r for r in summary["per_case"] if not r["passed"]]
    if failed:
        lines += ["", "what failed (* = a known product issue, see the scenario's known_issue):"]
    for r in failed:
        if r["kind"] == "diagnose" and not (r["component_right"] and r["kind_right"]):
            lines.append(f"  {r['scenario']}: top {r['top']}, expected {r['truth']['component']} / {r['truth']['fault_kind']}")
        for c in r["checks"]:
            if not c["ok"]:
                lines.append(f"  {r['scenario']}: {c['name']} -- saw {c['detail'] or 'nothing'}")
        if r["failure"]:
            lines.append(f"  {r['scenario']}: {r['failure']}")
    return "\n".join(lines)


def side_by_side(offline: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """Per scenario, the offline run beside the model run, and where the model fell below."""
    by_name = {r["scenario"]: r for r in offline["per_case"]}
    rows, below = [], []
    for m in model["per_case"]:
        o = by_name.get(m["scenario"])
        if o is None:
            continue
        worse = [what for what, a, b in (("component", o["component_right"], m["component_right"]),
                                         ("kind", o["kind_right"], m["kind_right"]),
                                         ("facts", o["facts_passed"], m["facts_passed"])) if bool(a) and (b or 0) < a]
        if worse:
            below.append({"scenario": m["scenario"], "worse": worse})
        rows.append({"scenario": m["scenario"], "offline": o, "model": m})
    return {"benchmark": "scenarios", "offline": {k: v for k, v in offline.items() if k != "per_case"},
            "model": {k: v for k, v in model.items() if k != "per_case"}, "per_case": rows, "model_below_offline": below}


def format_side_by_side(both: dict[str, Any]) -> str:
    mark = lambda v: "-" if v is None else ("ok" if v else "NO")  # noqa: E731

    def cells(r: dict[str, Any]) -> str:
        top = " / ".join(str(x) for x in r["top"]) if r["top"] else ("(answer)" if r["kind"] == "knowledge" else "(none)")
        return (f"{top[:30]:30} {mark(r['component_right']):>4} {mark(r['kind_right']):>4} "
                f"{r['facts_passed']:>3}/{r['facts_total']:<2} {r['tool_calls']:>5} {r['tokens']:>7} {r['seconds']:>6.1f}")

    head = f"{'top (component / fault kind)':30} {'comp':>4} {'kind':>4} {'facts':>6} {'calls':>5} {'tokens':>7} {'sec':>6}"
    lines = [f"scenarios: {len(both['per_case'])} cases, offline beside model {both['model']['model']}",
             f"{'scenario':30} | offline: {head} | model: {head}"]
    for row in both["per_case"]:
        lines.append(f"{row['scenario'][:30]:30} | {'':9}{cells(row['offline'])} | {'':7}{cells(row['model'])}")
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    for label, s in (("offline", both["offline"]), ("model", both["model"])):
        lines.append(f"{label}: component {pct(s['component_accuracy'])}, fault kind {pct(s['fault_kind_accuracy'])}, "
                     f"facts {pct(s['facts_satisfied'])}, passed {s['scenarios_passed']}/{s['cases']}, "
                     f"tokens {s['tokens']}, {s['seconds']} s")
    below = both["model_below_offline"]
    lines.append("model below offline: " + ("none" if not below else
                 "; ".join(f"{b['scenario']} ({', '.join(b['worse'])})" for b in below)))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """The registry's entry point (`copilot bench scenarios [SUITE]`); with a model, the
    suite runs offline too and the two are printed side by side."""
    cases = getattr(args, "case", None) or None
    scenarios = load_suite(getattr(args, "path", None), cases)
    if getattr(args, "limit", None):
        scenarios = scenarios[: args.limit]
    flags = {k: getattr(args, k, None) for k in ("tool_protocol", "max_steps")}
    settings = base_settings(getattr(args, "model", None), getattr(args, "base_url", None), **flags)
    as_json = bool(getattr(args, "json", False))

    def progress(r: dict[str, Any]) -> None:
        if not as_json:
            state = "pass" if r["passed"] else "FAIL"
            print(f"  {state} {r['scenario']} ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)

    shared = bool(getattr(args, "shared_memory", False))
    summary = run_suite(scenarios, settings, shared_memory=shared, progress=progress)
    if settings.offline:
        print(json.dumps(summary, ensure_ascii=False, indent=2) if as_json else format_text(summary))
        return 0
    offline = run_suite(scenarios, replace(settings, offline=True), shared_memory=shared, progress=progress)
    both = side_by_side(offline, summary)
    print(json.dumps(both, ensure_ascii=False, indent=2) if as_json else format_side_by_side(both))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m copilot.bench.scenarios", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", default=None, help=f"the suite folder (default {DEFAULT_SUITE})")
    p.add_argument("--case", action="append", metavar="NAME", help="run the scenarios whose name contains NAME (repeatable)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="run only the first N scenarios")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--model", help="model name on the OpenAI-compatible endpoint (default: offline)")
    p.add_argument("--base-url", dest="base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8088/v1")
    p.add_argument("--tool-protocol", dest="tool_protocol", choices=("auto", "native", "text"))
    p.add_argument("--max-steps", dest="max_steps", type=int, metavar="N")
    p.add_argument("--shared-memory", dest="shared_memory", action="store_true",
                   help="use the configured memory store instead of a temporary one")
    args = p.parse_args(argv)
    try:
        return run(args)
    except CopilotError as exc:
        print(f"copilot: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
