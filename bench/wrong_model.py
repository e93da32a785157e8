"""The scenario suite with a scripted model that proposes a confident wrong cause on every
request (and a reflection verdict to match, and a summary that cites nothing), beside the
offline run: the rules' floor must overrule it on every case.

    .venv/bin/python bench/wrong_model.py [--plausible] [--case NAME]...

`--plausible`: instead of a component that does not exist, the model reads each request and
names a real component of the findings with the wrong fault kind, citing that component's
real finding ids (on a healthy case: the component of the first finding) — the adversary a
small model actually is.

It serves the scripted answers from tests/fake_openai.py (a real local HTTP server)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copilot.bench import scenarios as S  # noqa: E402
from tests.fake_openai import FakeOpenAI, Scripted  # noqa: E402

WRONG = {"thought": "It is the database disk.", "verdict": "revise", "component": "db", "fault_type": "disk_full",
         "root_causes": [{"component": "db", "fault_type": "disk_full", "confidence": 1.0, "evidence": ["M1"]}]}


class WrongModel(FakeOpenAI):
    def _next(self) -> Scripted:
        return Scripted(content=json.dumps(WRONG))


FINDING = re.compile(r"^([A-Z]+\d+) \((\w+), ([^)]+)\): ", re.M)
RULE_TOP = re.compile(r"^1\. (\S+) / (\w+) ", re.M)


def plausible_wrong(messages: list[dict]) -> dict:
    """A real component and real ids, the wrong kind: the rules' top moved aside if possible."""
    text = "\n".join(str(m.get("content") or "") for m in messages)
    findings = FINDING.findall(text)
    top = RULE_TOP.search(text)
    rule_comp, rule_kind = (top.group(1), top.group(2)) if top else ("", "")
    comps = list(dict.fromkeys(c for _, _, c in findings))
    comp = next((c for c in comps if c != rule_comp), comps[0] if comps else "db")
    kind = "memory_leak" if rule_kind == "cpu_saturation" else "cpu_saturation"
    ids = [i for i, _, c in findings if c == comp][:3] or ["M1"]
    cause = {"component": comp, "fault_type": kind, "confidence": 1.0, "evidence": ids,
             "reasons": [f"{comp} is clearly the culprit"], "contradicting": []}
    return {"thought": f"It is {comp}.", "verdict": "revise", "component": comp, "fault_type": kind,
            "root_causes": [cause], "novel": False, "mechanism": "", "refuted_by": ""}


class PlausibleWrongModel(FakeOpenAI):
    def _next(self) -> Scripted:
        last = self.chat_requests[-1] if self.chat_requests else {}
        return Scripted(content=json.dumps(plausible_wrong(list(last.get("messages") or []))))


def main(argv: list[str]) -> int:
    if "--plausible" in argv:
        argv = [a for a in argv if a != "--plausible"]
        with PlausibleWrongModel(models=["plausible-wrong-model"]) as server:
            return S.main([*argv, "--model", "plausible-wrong-model", "--base-url", server.base_url])
    with WrongModel(models=["wrong-model"]) as server:
        return S.main([*argv, "--model", "wrong-model", "--base-url", server.base_url])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
