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
    def ev(node: ast.AST) -> Any:
        match node:
            case ast.Expression(body=body):
                return ev(body)
            case ast.Constant(value=value):
                return value
            case ast.Name(id=name):
                if name == "step":
                    return scope.get("steps")
                return {"true": True, "false": False, "null": None}.get(name, scope.get(name))
            case ast.Attribute(value=value, attr=attr):
                return _get(ev(value), attr)
            case ast.Subscript(value=value, slice=index):
                return _get(ev(value), ev(index))
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [ev(e) for e in elts]
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not ev(operand)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -ev(operand)
            case ast.BoolOp(op=ast.And(), values=values):
                result: Any = True
                for v in values:
                    result = ev(v)
                    if not result:
                        return result
                return result
            case ast.BoolOp(op=ast.Or(), values=values):
                result = False
                for v in values:
                    result = ev(v)
                    if result:
                        return result
                return result
            case ast.Compare(left=left, ops=ops, comparators=comps):
                a = ev(left)
                for op, c in zip(ops, comps):
                    b = ev(c)
                    try:
                        if not _CMP[type(op)](a, b):
                            return False
                    except TypeError:
                        return False
                    a = b
                return True
            case ast.BinOp(left=left, op=op, right=right):
                try:
                    return _ARITH[type(op)](ev(left), ev(right))
                except (TypeError, ZeroDivisionError):
                    return None
            case ast.Call(func=ast.Name(id=fn), args=args):
                values = [ev(a) for a in args]
                try:
                    return FUNCTIONS[fn](*[v if v is not None else [] for v in values])
                except (TypeError, ValueError):
                    return 0
        raise ExprError(f"cannot evaluate {ast.dump(node)[:60]}")

    return ev(tree)
