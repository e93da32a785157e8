"""Import knowledge from files: experiences as YAML, JSON or CSV; runbooks as Markdown or
text, split by heading into chunks.

Everything is parsed and checked first; one problem anywhere (reported as file, line and
field) means nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError

from . import schema as S
from .store import KnowledgeStore, new_id, slug
from .validate import normalize

EXPERIENCE_SUFFIXES = (".yaml", ".yml", ".json", ".csv")
RUNBOOK_SUFFIXES = (".md", ".markdown", ".txt")
MAX_CHUNK_CHARS = 2000
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


@dataclass
class ImportPlan:
    experiences: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # doc_id -> chunks
    problems: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def count(self) -> int:
        return len(self.experiences) + sum(len(c) for c in self.documents.values())


class ImportError_(CopilotError):
    """A malformed import: the message names the first problem and how many there are."""


def _entry_lines(text: str) -> tuple[list[int], list[dict[str, int]]]:
    """Line (1-based) of each entry and of each of its keys, from the YAML node tree."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return [], []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                root = value
                break
    if not isinstance(root, yaml.SequenceNode):
        return [], []
    starts, keys = [], []
    for item in root.value:
        starts.append(item.start_mark.line + 1)
        keys.append({k.value: k.start_mark.line + 1 for k, _ in item.value} if isinstance(item, yaml.MappingNode) else {})
    return starts, keys


def _entries_from_data(data: Any) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("experiences", "entries", "documents"):
            if isinstance(data.get(key), list):
                return data[key]
        return [data]
    return None


def _parse_structured(path: Path, text: str, plan: ImportPlan) -> None:
    import yaml

    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            plan.problems.append(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
            return
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            plan.problems.append(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}")
            return
    entries = _entries_from_data(data)
    if entries is None:
        plan.problems.append(f"{path}:1: expected a list of entries (or a mapping with 'experiences:')")
        return
    starts, key_lines = _entry_lines(text)
    for i, raw in enumerate(entries):
        line = starts[i] if i < len(starts) else 1
        where = f"{path}:{line}"
        if not isinstance(raw, dict):
            plan.problems.append(f"{where}: entry {i + 1} is not a mapping")
            continue
        kind = str(raw.get("kind") or "experience")
        fields, problems = normalize(kind, raw)
        for name, message in problems:
            key = name.split(".")[0]
            at = key_lines[i].get(key, line) if i < len(key_lines) else line
            plan.problems.append(f"{path}:{at}: entry {i + 1}: {name}: {message}")
        if not problems:
            if kind == "document":
                plan.documents.setdefault(fields.get("doc_id") or "sop-" + slug(fields["title"]), []).append(fields)
            else:
                plan.experiences.append(fields)


def _parse_csv(path: Path, text: str, plan: ImportPlan) -> None:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        plan.problems.append(f"{path}:1: empty CSV; the first row must name the fields")
        return
    for n, row in enumerate(reader, start=1):
        if None in row:
            plan.problems.append(f"{path}:{reader.line_num}: row {n} has more cells than the header")
            continue
        raw: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        symptoms = {k: raw.pop(f"symptoms_{k}") for k in ("metrics", "logs", "traces") if f"symptoms_{k}" in raw}
        if symptoms:
            raw["symptoms"] = symptoms
        fields, problems = normalize("experience", raw)
        for name, message in problems:
            plan.problems.append(f"{path}:{reader.line_num}: row {n}: {name}: {message}")
        if not problems:
            plan.experiences.append(fields)


def split_runbook(text: str, default_title: str) -> tuple[dict[str, Any], list[tuple[str, str]], list[str]]:
    """(front matter, [(section path, body)], problems) for a Markdown/text runbook."""
    import yaml

    meta: dict[str, Any] = {}
    problems: list[str] = []
    lines = text.splitlines()
    offset = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            return {}, [], ["1: front matter starts with '---' but never ends"]
        try:
            loaded = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            return {}, [], [f"{(mark.line + 2) if mark else 1}: front matter is not valid YAML"]
        if not isinstance(loaded, dict):
            return {}, [], ["2: front matter must be a mapping"]
        meta = loaded
        offset = end + 1
    title = str(meta.get("title") or "")
    sections: list[tuple[str, str]] = []
    path: list[str] = []
    stack: list[tuple[int, str]] = []
    current: list[str] = []

    def flush() -> None:
        body = "\n".join(current).strip()
        if body:
            sections.append((" > ".join(path) or title or default_title, body))
        current.clear()

    for line in lines[offset:]:
        m = HEADING.match(line)
        if m:
            flush()
            level, heading = len(m.group(1)), m.group(2).strip()
            if level == 1 and not title:
                title = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
            path[:] = [h for _, h in stack]
            continue
        current.append(line)
    flush()
    meta["title"] = title or default_title
    chunks: list[tuple[str, str]] = []
    for section, body in sections:
        while len(body) > MAX_CHUNK_CHARS:
            cut = body.rfind("\n\n", 0, MAX_CHUNK_CHARS)
            cut = cut if cut > 0 else MAX_CHUNK_CHARS
            chunks.append((section, body[:cut].strip()))
            body = body[cut:].strip()
        chunks.append((section, body))
    if not chunks:
        problems.append("1: the runbook has no text")
    return meta, chunks, problems


def _parse_runbook(path: Path, text: str, plan: ImportPlan, source_uri: str | None = None) -> None:
    meta, chunks, problems = split_runbook(text, path.stem.replace("-", " ").replace("_", " "))
    for p in problems:
        plan.problems.append(f"{path}:{p}")
    if problems:
        return
    doc_id = str(meta.pop("id", "") or "sop-" + (slug(path.stem) or "runbook"))
    if not doc_id.startswith("sop-"):
        plan.problems.append(f"{path}:2: id: must start with 'sop-'")
        return
    out = []
    for position, (section, body) in enumerate(chunks):
        raw = dict(meta, section=section, body=body, position=position, doc_id=doc_id,
                   source_uri=meta.get("source_uri") or source_uri or str(path))
        raw.pop("description", None)
        fields, found = normalize("document", raw)
        for name, message in found:
            plan.problems.append(f"{path}:1: {name}: {message}")
        if found:
            return
        fields["id"] = f"{doc_id}#{position}"
        out.append(fields)
    plan.documents[doc_id] = out


def parse_file(path: Path, plan: ImportPlan, source_uri: str | None = None) -> None:
    if not path.is_file():  # a FIFO or device would block the import forever
        plan.problems.append(f"{path}: not a regular file (a FIFO, device or socket); import files only")
        return
    try:
        text = path.read_text(encoding="utf-8-sig")  # a UTF-8 BOM is not part of the first field
    except UnicodeDecodeError as exc:
        plan.problems.append(f"{path}:1: not UTF-8 text (bad byte at offset {exc.start}); convert it first")
        return
    except OSError as exc:
        plan.problems.append(f"{path}: cannot read ({exc.strerror})")
        return
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        plan.problems.append(f"{path}:{line}: holds NUL bytes, not text; remove them")
        return
    plan.files += 1
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            _parse_csv(path, text, plan)
        elif suffix in EXPERIENCE_SUFFIXES:
            _parse_structured(path, text, plan)
        else:
            _parse_runbook(path, text, plan, source_uri)
    except RecursionError:
        plan.problems.append(f"{path}:1: nested too deeply; entries are flat mappings of fields")
    except csv.Error as exc:
        plan.problems.append(f"{path}: not a readable CSV ({exc}); split or trim the field")
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        plan.problems.append(f"{path}: a value cannot be read ({str(exc)[:120]}); quote it as text")


def plan_import(paths: list[Path]) -> ImportPlan:
    plan = ImportPlan()
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXPERIENCE_SUFFIXES + RUNBOOK_SUFFIXES)
            if not files:
                plan.problems.append(f"{path}: no .yaml, .json, .csv, .md or .txt files in this folder")
            for f in files:
                parse_file(f, plan)
        elif path.exists():
            if path.suffix.lower() not in EXPERIENCE_SUFFIXES + RUNBOOK_SUFFIXES:
                plan.problems.append(f"{path}: unsupported file type; use .yaml, .json, .csv, .md or .txt")
            else:
                parse_file(path, plan)
        else:
            plan.problems.append(f"{path}: no such file or folder")
    _check_duplicates(plan)
    return plan


def planned_rows(plan: ImportPlan) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, id, fields) of every entry the plan writes (ids derived as the store will)."""
    out = [("experience", e.get("id") or new_id("experience", _fields("experience", e)), e) for e in plan.experiences]
    out += [("document", c["id"], c) for chunks in plan.documents.values() for c in chunks]
    return out


def _fields(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    fields = S.blank(kind)
    fields.update({k: row[k] for k in S.FIELDS[kind] if k in row and row[k] is not None})
    return fields


def _check_duplicates(plan: ImportPlan) -> None:
    seen: dict[str, int] = {}
    for _, entry_id, _ in planned_rows(plan):
        seen[entry_id] = seen.get(entry_id, 0) + 1
    dupes = sorted(i for i, n in seen.items() if n > 1)
    if dupes:
        plan.problems.append(f"duplicate ids in this import: {', '.join(dupes[:10])}; give each entry its own id")


def conflicts(store: KnowledgeStore, plan: ImportPlan) -> list[str]:
    """Ids the plan would overwrite with different content (bundled entries included)."""
    out = []
    for kind, entry_id, row in planned_rows(plan):
        old = store.get_row(entry_id)
        if old is not None and old.get("content_hash") != S.content_hash(kind, _fields(kind, row)):
            out.append(entry_id)
    return out


def apply_plan(store: KnowledgeStore, plan: ImportPlan, origin: str = "import", replace: bool = True) -> list[str]:
    """Write a checked plan as one commit (kb/journal.py: a kill leaves the store before or
    after it); refuses (writing nothing) when the plan has problems, or, unless `replace`,
    when it would change an entry that already exists."""
    from . import journal

    if plan.problems:
        more = f" (and {len(plan.problems) - 1} more problems)" if len(plan.problems) > 1 else ""
        raise ImportError_(f"nothing imported: {plan.problems[0]}{more}")
    journal.recover(store)
    if not replace:
        taken = conflicts(store, plan)
        if taken:
            more = f" and {len(taken) - 5} more" if len(taken) > 5 else ""
            raise ImportError_(f"nothing imported: {', '.join(taken[:5])}{more} already exist with other content; "
                               "pass --replace to overwrite them, or give the entries new ids")
    ops = [journal.put("experience", [dict(r, origin=r.get("origin") or origin) for r in plan.experiences])]
    chunks = []
    for doc_id, doc_chunks in plan.documents.items():
        for old in store.rows("document", f"doc_id = '{doc_id.replace(chr(39), chr(39) * 2)}'"):
            if old["position"] >= len(doc_chunks):
                ops.append(journal.delete(old["id"]))
        chunks += [dict(c, origin=c.get("origin") or origin) for c in doc_chunks]
    ops.append(journal.put("document", chunks))
    return journal.commit(store, ops)


def import_paths(store: KnowledgeStore, paths: list[Path]) -> tuple[ImportPlan, list[str]]:
    plan = plan_import(paths)
    return plan, apply_plan(store, plan)
