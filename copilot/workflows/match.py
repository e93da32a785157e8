"""Chat-ops, offline: match a plain question to a workflow and read its parameters.

Search: the question's words (English words, Chinese character pairs; stop words out)
against each workflow's name, description, examples and parameter words; the time parser
reads the window; "集群 c1" / "cluster c1" / "service=cart" fill parameters. A workflow
matches only when every required parameter was found; a bundled example only when the
question names it ("pod pending").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from .loader import Workflow
from .params import Param

VALUE = r"([A-Za-z0-9][A-Za-z0-9_.:\-/]*)"
_STOP_PAIRS = {"帮我", "我看", "看看", "一下", "请问", "什么", "怎么", "为什", "么有", "我们", "你们", "看一", "查一", "帮忙"}
MIN_SCORE = 1.0
EXAMPLE_WEIGHT = 1.5


def words(text: str) -> set[str]:
    from copilot.kb.stopwords import STOP_WORDS

    low = text.lower()
    out = set(re.findall(r"[a-z][a-z0-9_]{1,}", low))
    for run in re.findall(r"[\u4e00-\u9fff]+", low):
        out |= {run[i:i + 2] for i in range(len(run) - 1)}
        if len(run) == 1:
            out.add(run)
    return out - set(STOP_WORDS) - _STOP_PAIRS


@dataclass
class WorkflowMatch:
    workflow: Workflow
    params: dict[str, Any]
    window: tuple[float, float] | None
    score: float
    language: str
    matched_words: list[str] = field(default_factory=list)
    complete: bool = True  # every required parameter has a value

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow.name, "params": self.params, "window": list(self.window) if self.window else None,
                "score": self.score, "language": self.language, "matched": self.matched_words}


def names_it(question: str, wf: Workflow) -> bool:
    """Does the question name the workflow ("pod pending", "pod-pending", "disk full")?"""
    low = re.sub(r"[\s_-]+", " ", question.lower())
    return re.sub(r"[\s_-]+", " ", wf.name.lower()) in low


def extract_param(question: str, param: Param) -> Any:
    """The value the question gives a parameter, or None."""
    from copilot.kb.stopwords import STOP_WORDS

    if param.type == "enum":
        for value in param.values:
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", question, re.I):
                return value
        return None
    pattern = VALUE if param.type == "string" else r"(\d+)"
    for word in sorted(param.words(), key=len, reverse=True):
        boundary = r"(?<![A-Za-z0-9_])" if re.match(r"[A-Za-z]", word) else ""
        for m in re.finditer(rf"{boundary}{re.escape(word)}(?:s|es)?\s*(?:[:：=]|名为|叫|是|为)?\s*{pattern}", question, re.I):
            value = m.group(1).rstrip(".:,")
            if value.lower() in STOP_WORDS or not value:
                continue
            return param.coerce(value) if param.type == "int" else value
    return None


def match_workflow(question: str, workflows: Iterable[Workflow] | dict[str, Workflow], language: str, *,
                   reference: datetime | None = None, complete_only: bool = True) -> WorkflowMatch | None:
    """The best workflow for the question with its parameters, or None (no word in common,
    or a required parameter the question does not give; `complete_only=False` keeps such a
    workflow, for a model to read its parameters: see extract.py)."""
    from ..timeparse import parse_window

    flows = list(workflows.values()) if isinstance(workflows, dict) else list(workflows)
    asked = words(question)
    if not asked:
        return None
    best: WorkflowMatch | None = None
    for wf in flows:
        if wf.bundled and not names_it(question, wf):
            continue
        about = words(" ".join([wf.name.replace("-", " ").replace("_", " "), wf.description]))
        for p in wf.params.values():
            about |= words(" ".join(p.words()))
        shared = asked & about
        example_shared: set[str] = set()
        for ex in wf.examples:
            example_shared |= asked & words(ex)
        score = len(shared) + EXAMPLE_WEIGHT * len(example_shared - shared)
        if score < MIN_SCORE:
            continue
        values: dict[str, Any] = {}
        complete = True
        for name, p in wf.params.items():
            try:
                got = extract_param(question, p)
            except Exception:  # a value of the wrong type is not this parameter
                got = None
            if got is not None:
                values[name] = got
            elif p.required and p.default is None:
                complete = False
        if not complete and complete_only:
            continue
        if best is None or score > best.score:
            window = None
            if reference is not None:
                w = parse_window(question, reference)
                window = (w.start, w.end) if w else None
            best = WorkflowMatch(wf, values, window, float(score), language, sorted(shared | example_shared), complete)
    return best
