"""The scenario suite with a scripted model that proposes a confident wrong cause on every
request (and a reflection verdict to match, and a summary that cites nothing), beside the
offline run: the rules' floor must overrule it on every case.

    .venv/bin/python bench/wrong_model.py [--case NAME]...

It serves the scripted answers from tests/fake_openai.py (a real local HTTP server)."""

from __future__ import annotations

import json
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


def main(argv: list[str]) -> int:
    with WrongModel(models=["wrong-model"]) as server:
        return S.main([*argv, "--model", "wrong-model", "--base-url", server.base_url])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
