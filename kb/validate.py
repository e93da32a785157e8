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
    problems: list[Problem] = []
    if kind not in ("experience", "document"):
        return {}, [("kind", f"{kind!r} entries cannot be imported; use experience or document")]
    data = {ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in raw.items()}
    out = S.blank(kind)
    known = set(S.FIELDS[kind]) | {"id", "created_at"} | READ_ONLY
    if kind == "experience":
        known |= {"symptoms"}
    for key in data:
        if key not in known:
            problems.append((key, f"unknown field; known fields: {', '.join(sorted(set(S.FIELDS[kind]) | {'id'}))}"))
    for name, typ in S.FIELDS[kind].items():
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if typ == S.LIST:
            listed = _as_list(value)
            if listed is None:
                problems.append((name, "must be a list of strings or a comma-separated string"))
            else:
                out[name] = listed
        elif typ == S.INT:
            try:
                out[name] = int(value)
            except (TypeError, ValueError):
                problems.append((name, f"must be a whole number, got {value!r}"))
        elif typ == S.FLOAT:
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                problems.append((name, f"must be a number, got {value!r}"))
        elif isinstance(value, (dict, list)):
            problems.append((name, "must be text, not a list or mapping"))
        else:
            out[name] = str(value).strip()
    if kind == "experience":
        symptoms = data.get("symptoms")
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
    for name in REQUIRED[kind]:
        if not out.get(name):
            problems.append((name, "is required and empty"))
    kind_value = out.get("fault_kind", "")
    if kind_value and kind_value not in FAULT_KINDS and not is_kind(kind_value):
        category = category_tag(out.get("tags") or [])
        if kind == "experience" and category:  # an experience may define a new kind: tags [category:<name>]
            try:
                check_kind(kind_value, category, "fault_kind")
            except KindError as exc:
                problems.append(("fault_kind", str(exc).split(": ", 1)[1]))
        else:
            problems.append(("fault_kind", f"{kind_value!r} is not a fault kind; use one of {', '.join(sorted(all_kinds()))}, "
                             "leave it empty, or define it in an experience with a tag category:<"
                             + "|".join(CATEGORIES) + ">"))
    lang = out.get("language", "")
    if lang and lang not in LANGUAGES:
        problems.append(("language", f"{lang!r}: use en or zh"))
    elif not lang:
        out["language"] = detect_language(S.search_text(kind, out))
    entry_id = data.get("id")
    if entry_id:
        if not isinstance(entry_id, str) or not entry_id.startswith(S.ID_PREFIX[kind]):
            problems.append(("id", f"must start with {S.ID_PREFIX[kind]!r}"))
        else:
            out["id"] = entry_id
    if data.get("created_at"):
        out["created_at"] = str(data["created_at"])
    return out, problems
