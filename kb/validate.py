"""Check and normalise an entry a person wrote (import file, `kb add`, `kb edit`).

Problems are collected as (field, message) pairs so the importer can report file, line
and field for each one.
"""

from __future__ import annotations

from typing import Any

from copilot.diagnosis import FAULT_KINDS
from copilot.kinds import CATEGORIES, KindError, all_kinds, category_tag, check_kind, is_kind
from copilot.language import detect_language

from . import schema as S

REQUIRED = {"experience": ("fault_name", "root_cause", "mitigation"), "document": ("title", "body")}
# Written by `kb export` / `kb list --json`; accepted back on import, not stored as fields.
READ_ONLY = {"kind", "origin", "edited", "updated_at", "score"}
# Column names of the seed talk's experience table (故障诊断经验), accepted in CSV/YAML.
ALIASES = {
    "故障名称": "fault_name", "根因描述": "root_cause", "故障止损措施": "mitigation",
    "故障根源": "tags", "name": "fault_name", "fault": "fault_name", "kind_of_fault": "fault_kind",
}
LANGUAGES = ("en", "zh")

Problem = tuple[str, str]


def _as_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        sep = ";" if ";" in value else ","
        return [v.strip() for v in value.split(sep) if v.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    return None


def normalize(kind: str, raw: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Return (row fields incl. optional id/created_at, problems)."""
    if kind not in ("experience", "document"):
        return {}, [("kind", f"{kind!r} entries cannot be imported; use experience or document")]
    data = {ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in raw.items()}
    out = S.blank(kind)
    problems = _unknown_fields(kind, data)
    problems += _typed_fields(kind, data, out)
    if kind == "experience":
        problems += _symptoms(data.get("symptoms"), out)
    problems += [(name, "is required and empty") for name in REQUIRED[kind] if not out.get(name)]
    problems += _fault_kind(kind, out)
    problems += _language(kind, out)
    problems += _identity(kind, data, out)
    return out, problems


def _unknown_fields(kind: str, data: dict[str, Any]) -> list[Problem]:
    known = set(S.FIELDS[kind]) | {"id", "created_at"} | READ_ONLY
    if kind == "experience":
        known |= {"symptoms"}
    return [(key, f"unknown field; known fields: {', '.join(sorted(set(S.FIELDS[kind]) | {'id'}))}")
            for key in data if key not in known]


def _typed_fields(kind: str, data: dict[str, Any], out: dict[str, Any]) -> list[Problem]:
    """Each given field converted to its column's type into `out`; the ones that cannot be."""
    problems: list[Problem] = []
    for name, typ in S.FIELDS[kind].items():
        if name not in data or data[name] is None:
            continue
        value, problem = _typed(typ, data[name])
        if problem:
            problems.append((name, problem))
        else:
            out[name] = value
    return problems


def _typed(typ: Any, value: Any) -> tuple[Any, str]:
    """(the value as a `typ` column holds it, ''), or (None, what is wrong)."""
    if typ == S.LIST:
        listed = _as_list(value)
        if listed is None:
            return None, "must be a list of strings or a comma-separated string"
        return listed, ""
    if typ == S.INT:
        try:
            return int(value), ""
        except (TypeError, ValueError):
            return None, f"must be a whole number, got {value!r}"
    if typ == S.FLOAT:
        try:
            return float(value), ""
        except (TypeError, ValueError):
            return None, f"must be a number, got {value!r}"
    if isinstance(value, (dict, list)):
        return None, "must be text, not a list or mapping"
    return str(value).strip(), ""


def _symptoms(symptoms: Any, out: dict[str, Any]) -> list[Problem]:
    """An experience's symptoms: a mapping of metrics/logs/traces, or text (the metrics)."""
    problems: list[Problem] = []
    if isinstance(symptoms, dict):
        for key in symptoms:
            if key not in S.SYMPTOM_KEYS:
                problems.append((f"symptoms.{key}", f"unknown; use {', '.join(S.SYMPTOM_KEYS)}"))
        for key in S.SYMPTOM_KEYS:
            if symptoms.get(key):
                out[f"symptoms_{key}"] = str(symptoms[key]).strip()
    elif isinstance(symptoms, str):
        out["symptoms_metrics"] = symptoms.strip()
    elif symptoms is not None:
        problems.append(("symptoms", "must be a mapping with metrics/logs/traces, or text"))
    return problems


def _fault_kind(kind: str, out: dict[str, Any]) -> list[Problem]:
    """A known fault kind, or a new one an experience defines with a tag category:<name>."""
    kind_value = out.get("fault_kind", "")
    if not kind_value or kind_value in FAULT_KINDS or is_kind(kind_value):
        return []
    category = category_tag(out.get("tags") or [])
    if kind == "experience" and category:  # an experience may define a new kind: tags [category:<name>]
        try:
            check_kind(kind_value, category, "fault_kind")
        except KindError as exc:
            return [("fault_kind", str(exc).split(": ", 1)[1])]
        return []
    return [("fault_kind", f"{kind_value!r} is not a fault kind; use one of {', '.join(sorted(all_kinds()))}, "
             "leave it empty, or define it in an experience with a tag category:<"
             + "|".join(CATEGORIES) + ">")]


def _language(kind: str, out: dict[str, Any]) -> list[Problem]:
    """en or zh; detected from the text when not given."""
    lang = out.get("language", "")
    if lang and lang not in LANGUAGES:
        return [("language", f"{lang!r}: use en or zh")]
    if not lang:
        out["language"] = detect_language(S.search_text(kind, out))
    return []


def _identity(kind: str, data: dict[str, Any], out: dict[str, Any]) -> list[Problem]:
    """The id (with the kind's prefix) and the creation time, when given."""
    problems: list[Problem] = []
    entry_id = data.get("id")
    if entry_id:
        if not isinstance(entry_id, str) or not entry_id.startswith(S.ID_PREFIX[kind]):
            problems.append(("id", f"must start with {S.ID_PREFIX[kind]!r}"))
        else:
            out["id"] = entry_id
    if data.get("created_at"):
        out["created_at"] = str(data["created_at"])
    return problems
