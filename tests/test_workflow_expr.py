"""The `if:` / `foreach:` expression language evaluated node by node (copilot/workflows/expr.py)."""

import ast

import pytest

from copilot.workflows.expr import ExprError, evaluate, parse

SCOPE = {
    "steps": {"pods": {"findings": [1, 2], "output": [[1], [2, [3]]], "none": None}},
    "params": {"level": "high", "n": 3},
    "each": "e",
}


@pytest.mark.parametrize("text, value", [
    ("steps.pods.findings", [1, 2]),
    ("step.pods.findings", [1, 2]),  # `step` is `steps`
    ("steps.missing.findings", None),  # a missing path is None, not an error
    ("steps.pods.output[-1][1]", [3]),
    ("steps.pods.output[9]", None),
    ("len(steps.pods.findings) > 1", True),
    ("1 < params.n < 5", True),
    ("1 < params.n < 2", False),
    ("1 < steps.pods.none", False),  # a comparison that cannot be made is false
    ("params.level == 'high' and each in ['e']", True),
    ("params.n not in [1, 2]", True),
    ("steps.pods.none and 1", None),  # `and` gives the first false value
    ("1 and 2 and 3", 3),
    ("0 or '' or steps.pods.findings", [1, 2]),  # `or` gives the first true value
    ("0 or ''", ""),
    ("not steps.pods.none", True),
    ("-params.n * 2 + 1", -5),
    ("params.n / 0", None),  # arithmetic that cannot be done is None
    ("params.n + 'a'", None),
    ("count(steps.missing.findings)", 0),  # a function given None reads it as []
    ("max([])", 0),  # a function that fails is 0
    ("flatten(steps.pods.output)", [1, 2, 3]),
    ("[1, params.n]", [1, 3]),
    ("true and not false and null == null", True),
])
def test_evaluate(text, value):
    assert evaluate(parse(text), SCOPE) == value


@pytest.mark.parametrize("text", ["+1", "~1", "steps.x.y()"])
def test_a_node_outside_the_language_is_refused_when_evaluated(text):
    with pytest.raises(ExprError, match="cannot evaluate"):
        evaluate(ast.parse(text, mode="eval"), SCOPE)


def test_parse_refuses_what_evaluate_cannot_do():
    with pytest.raises(ExprError, match="only len"):
        parse("steps.x.y()")
    with pytest.raises(ExprError, match="unknown name"):
        parse("os.system")
