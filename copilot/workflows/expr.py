"""The small expression language of `if:` and `foreach:` — parsed with Python's `ast`
and evaluated by walking a whitelist of node types (never `eval`).

    steps.status.findings            a step's findings (list)
    len(steps.pods.drilldown) > 0    comparisons, and/or/not, len/any/all/min/max/count/flatten
    params.level == "high"
    steps.cpu.output[0]              subscripts; `step.x` is the same as `steps.x`
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Callable

from ..errors import CopilotError

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
        ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for v in value or []:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "any": any, "all": all, "min": min, "max": max, "count": len, "flatten": _flatten}
ROOTS = ("steps", "params", "each")


class ExprError(CopilotError):
    pass


def parse(text: str) -> ast.Expression:
    """Parse and check the expression; raise ExprError with what is not allowed."""
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {text!r} ({exc.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
                             ast.Constant, ast.Load, ast.List, ast.Tuple, ast.BinOp, *(_CMP), *(_ARITH))):
            continue
        if isinstance(node, ast.Name):
            if node.id not in ROOTS and node.id not in FUNCTIONS and node.id not in ("step", "true", "false", "null"):
                raise ExprError(f"unknown name {node.id!r} in {text!r}; start with steps.<id>, params.<name> or each")
            continue
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise ExprError(f"{node.attr!r} is not allowed in {text!r}")
            continue
        if isinstance(node, ast.Subscript):
            continue
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ExprError(f"only {', '.join(FUNCTIONS)} may be called in {text!r}")
            continue
        raise ExprError(f"{type(node).__name__} is not allowed in {text!r}; use comparisons, and/or/not, len()")
    return tree


def step_refs(tree: ast.Expression) -> set[str]:
    """The step ids an expression reads (steps.<id>...)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("steps", "step"):
            out.add(node.attr)
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in ("steps", "step")
                and isinstance(node.slice, ast.Constant)):
            out.add(str(node.slice.value))
    return out


def _get(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    if isinstance(obj, (list, tuple)) and isinstance(key, int):
        return obj[key] if -len(obj) <= key < len(obj) else None
    return None


def evaluate(tree: ast.Expression, scope: dict[str, Any]) -> Any:
    return _Evaluator(scope).ev(tree)


def _cannot(node: ast.AST) -> ExprError:
    return ExprError(f"cannot evaluate {ast.dump(node)[:60]}")


class _Evaluator:
    """Walks a parsed expression against `scope`: one method per kind of node (`_NODES`).
    A missing value is None; a comparison that cannot be made is false, arithmetic on it None."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    def ev(self, node: ast.AST) -> Any:
        method = _NODES.get(type(node))
        if method is None:
            raise _cannot(node)
        return method(self, node)

    def expression(self, node: ast.Expression) -> Any:
        return self.ev(node.body)

    def constant(self, node: ast.Constant) -> Any:
        return node.value

    def name(self, node: ast.Name) -> Any:
        if node.id == "step":
            return self.scope.get("steps")
        return {"true": True, "false": False, "null": None}.get(node.id, self.scope.get(node.id))

    def attribute(self, node: ast.Attribute) -> Any:
        return _get(self.ev(node.value), node.attr)

    def subscript(self, node: ast.Subscript) -> Any:
        return _get(self.ev(node.value), self.ev(node.slice))

    def sequence(self, node: ast.List | ast.Tuple) -> Any:
        return [self.ev(e) for e in node.elts]

    def unary(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            return not self.ev(node.operand)
        if isinstance(node.op, ast.USub):
            return -self.ev(node.operand)
        raise _cannot(node)

    def boolean(self, node: ast.BoolOp) -> Any:
        """`and` stops at the first false value, `or` at the first true one; the value is the result."""
        if not isinstance(node.op, (ast.And, ast.Or)):
            raise _cannot(node)
        is_and = isinstance(node.op, ast.And)
        result: Any = is_and
        for v in node.values:
            result = self.ev(v)
            if bool(result) != is_and:
                return result
        return result

    def compare(self, node: ast.Compare) -> Any:
        a = self.ev(node.left)
        for op, c in zip(node.ops, node.comparators):
            b = self.ev(c)
            try:
                if not _CMP[type(op)](a, b):
                    return False
            except TypeError:
                return False
            a = b
        return True

    def binary(self, node: ast.BinOp) -> Any:
        try:
            return _ARITH[type(node.op)](self.ev(node.left), self.ev(node.right))
        except (TypeError, ZeroDivisionError):
            return None

    def call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise _cannot(node)
        values = [self.ev(a) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*[v if v is not None else [] for v in values])
        except (TypeError, ValueError):
            return 0


_NODES: dict[type, Callable[[_Evaluator, Any], Any]] = {
    ast.Expression: _Evaluator.expression,
    ast.Constant: _Evaluator.constant,
    ast.Name: _Evaluator.name,
    ast.Attribute: _Evaluator.attribute,
    ast.Subscript: _Evaluator.subscript,
    ast.List: _Evaluator.sequence,
    ast.Tuple: _Evaluator.sequence,
    ast.UnaryOp: _Evaluator.unary,
    ast.BoolOp: _Evaluator.boolean,
    ast.Compare: _Evaluator.compare,
    ast.BinOp: _Evaluator.binary,
    ast.Call: _Evaluator.call,
}
