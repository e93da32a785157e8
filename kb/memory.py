"""The memory of diagnoses (copilot.memory.Memory on the knowledge store's incidents table).

Every finished diagnosis is saved with its symptom signature; a new investigation recalls
the past incidents closest in text and in signature. A human verdict (correct, or a
corrected root cause and fault kind) is recorded on the incident, and a confirmed or
corrected diagnosis becomes a proposed experience entry: the learning loop.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from copilot.diagnosis import FAULT_KINDS, Diagnosis, Finding
from copilot.kinds import is_kind
from copilot.errors import CopilotError
from copilot.timefmt import when as print_time
from copilot.faults import fault_info
from copilot.language import detect_language
from copilot.redact import redact, redact_obj

from . import schema as S
from .signature import signature, similarity
from .store import KnowledgeStore, sql_str

TEXT_WEIGHT = 0.35  # with findings, the signature carries the rest
CANDIDATES = 30
# A diagnosis a human confirmed or corrected outweighs an unverified one: it ranks as if
# this much more similar (an unverified memory is the copilot's own guess, possibly wrong).
VERIFIED_BONUS = 0.15
VERIFIED = ("correct", "corrected")


class KnowledgeMemory:
    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store

    @classmethod
    def from_settings(cls, settings: Any = None) -> "KnowledgeMemory":
        from .store import open_store

        return cls(open_store(settings))

    @classmethod
    def reader(cls, settings: Any = None) -> "KnowledgeMemory":
        """For `memory list` / `memory show`: reads a current snapshot when there is one
        (kb/snapshot.py), so no LanceDB import; only `list` and `get` may be called."""
        from copilot.config import Settings

        from .snapshot import StoreView
        from .store import open_store

        settings = settings or Settings()
        return cls(StoreView(settings, lambda: open_store(settings)))  # type: ignore[arg-type]

    @property
    def location(self) -> str:
        return self.store.location

    # -- save ---------------------------------------------------------------------------
    def save(self, diagnosis: Diagnosis) -> str:
        top = diagnosis.root_causes[0] if diagnosis.root_causes else None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        digest = hashlib.sha256(json.dumps(diagnosis.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:6]
        findings = sorted(diagnosis.findings, key=lambda f: -f.score)
        row = {
            "id": f"inc-{stamp}-{digest}",
            "origin": "memory",
            "question": diagnosis.question,
            "window_start": diagnosis.window[0] if diagnosis.window else None,
            "window_end": diagnosis.window[1] if diagnosis.window else None,
            "findings_summary": "\n".join(f.summary for f in findings[:12]),
            "signature": signature(diagnosis.findings),
            "components": sorted({f.component for f in diagnosis.findings if f.component}
                                 | {rc.component for rc in diagnosis.root_causes if rc.component}),
            "root_cause": top.component if top else "",
            "fault_kind": top.fault_type if top else "",
            "mitigation": "\n".join(diagnosis.mitigation),
            "answer": diagnosis.answer,
            "language": detect_language(diagnosis.question),
            "session_id": diagnosis.session_id,
            "model": diagnosis.model,
        }
        row = redact_obj(row)  # memory never stores a secret
        # the diagnosis is redacted as data, then serialised: redacting its JSON text again could
        # cut through an escaped quote and store JSON that no longer parses
        row["diagnosis_json"] = json.dumps(redact_obj(diagnosis.to_dict()), ensure_ascii=False, default=str)
        entry_id = self.store.put("incident", [row])[0]
        from .snapshot import refresh

        refresh(self.store)  # the next `memory list` reads the snapshot, not LanceDB
        return entry_id

    # -- recall -------------------------------------------------------------------------
    def recall(self, question: str, findings: list[Finding] | None = None, k: int = 3) -> list[dict[str, Any]]:
        import numpy as np

        if not self.store.has_table("incident") or self.store.count("incident") == 0:
            return []
        tbl = self.store.table("incident")
        tbl.checkout_latest()
        qvec = self.store.embedder.query(question or "incident")
        cands: dict[str, dict[str, Any]] = {}
        for row in tbl.search(qvec, vector_column_name="vector").distance_type("cosine").limit(CANDIDATES).to_list():
            cands[row["id"]] = row
        sig = signature(findings or [])
        if sig:
            tokens = ", ".join(sql_str(t) for t in sig)
            for row in tbl.search().where(f"array_has_any(signature, [{tokens}])").limit(CANDIDATES * 4).to_list():
                cands.setdefault(row["id"], row)
        scored = []
        for row in cands.values():
            text_sim = float(np.dot(qvec, np.asarray(row["vector"], dtype=np.float32)))
            if sig:
                score = TEXT_WEIGHT * text_sim + (1 - TEXT_WEIGHT) * similarity(sig, row["signature"] or [])
            else:
                score = text_sim
            scored.append((max(0.0, min(1.0, score)), row))
        scored.sort(key=lambda t: (-(t[0] + (VERIFIED_BONUS if t[1].get("verdict") in VERIFIED else 0.0)), t[1]["id"]))
        out: list[dict[str, Any]] = []
        seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        for score, row in scored:
            if len(out) >= k:
                break
            entry = S.to_entry("incident", row)
            # The same diagnosis of the same question, saved by repeated runs, is one memory.
            key = (str(entry.get("question", "")), str(entry.get("verdict_root_cause") or entry.get("root_cause", "")),
                   str(entry.get("verdict_fault_kind") or entry.get("fault_kind", "")))
            if key in seen:
                seen[key]["repeats"] += 1
                continue
            out.append({
                "id": row["id"],
                "summary": summary(entry),
                "similarity": round(score, 4),
                "diagnosis": entry.get("diagnosis", {}),
                "verdict": entry.get("verdict", ""),
                "root_cause": entry.get("verdict_root_cause") or entry.get("root_cause", ""),
                "fault_kind": entry.get("verdict_fault_kind") or entry.get("fault_kind", ""),
                "verified": entry.get("verdict") in VERIFIED,
                "labelled_at": entry.get("updated_at", "") if entry.get("verdict") in VERIFIED else "",
                "note": entry.get("verdict_note") or "",
                "repeats": 1,
            })
            seen[key] = out[-1]
        return out

    # -- browse and label ---------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        return sorted(self.store.list("incident"), key=lambda e: e["id"], reverse=True)

    def get(self, incident_id: str) -> dict[str, Any]:
        if not incident_id.startswith("inc-"):
            raise CopilotError(f"{incident_id!r} is not an incident id; ids look like inc-20240101-120000-ab12cd")
        entry = self.store.get(incident_id)
        if entry is None:
            raise CopilotError(f"no incident {incident_id!r}; run `copilot memory list` to see the ids")
        return entry

    def label(self, incident_id: str, correct: bool = False, root_cause: str = "", fault_kind: str = "",
              note: str = "") -> dict[str, Any]:
        """Record a human verdict: `correct`, or a corrected root cause and fault kind."""
        self.store.put("incident", [self._labelled(incident_id, correct, root_cause, fault_kind, note)])
        return self.get(incident_id)

    def label_and_learn(self, incident_id: str, correct: bool = False, root_cause: str = "", fault_kind: str = "",
                        note: str = "") -> tuple[dict[str, Any], str]:
        """`label`, then `learn`, as one commit (kb/journal.py): a kill keeps both or neither."""
        from . import journal
        from .validate import normalize

        row = self._labelled(incident_id, correct, root_cause, fault_kind, note)
        proposal = self.proposed_experience(incident_id, S.to_entry("incident", row))
        fields, problems = normalize("experience", proposal)
        if problems:
            raise CopilotError(f"cannot learn from {incident_id}: {problems[0][0]} {problems[0][1]}")
        ids = journal.commit(self.store, [journal.put("incident", [row]),
                                          journal.put("experience", [redact_obj(dict(fields, origin="learned"))])])
        return self.get(incident_id), ids[-1]

    def _labelled(self, incident_id: str, correct: bool, root_cause: str, fault_kind: str,
                  note: str) -> dict[str, Any]:
        """The incident's row with the verdict applied (not yet written)."""
        if correct == bool(root_cause or fault_kind):
            raise CopilotError("give either --correct or --root-cause X --fault-kind Y")
        if not correct and not (root_cause and fault_kind):
            raise CopilotError("a correction needs both --root-cause and --fault-kind")
        if fault_kind and fault_kind not in FAULT_KINDS and not is_kind(fault_kind):
            raise CopilotError(f"unknown fault kind {fault_kind!r}; use one of: {', '.join(FAULT_KINDS)}")
        self.get(incident_id)
        row = dict(self.store.get_row(incident_id) or {})
        row.pop("vector", None)
        row.update(
            verdict="correct" if correct else "corrected",
            verdict_root_cause="" if correct else root_cause,
            verdict_fault_kind="" if correct else fault_kind,
            verdict_note=redact(note),
            outcome=row.get("outcome") or "",
            updated_at=S.now_iso(),
        )
        return row

    def proposed_experience(self, incident_id: str, inc: dict[str, Any] | None = None) -> dict[str, Any]:
        """A confirmed or corrected diagnosis as an experience entry (not yet saved)."""
        inc = inc if inc is not None else self.get(incident_id)
        if inc.get("verdict") not in ("correct", "corrected"):
            raise CopilotError(f"{incident_id} has no verdict yet; label it with `copilot memory label` first")
        lang = inc.get("language") or "en"
        kind = inc.get("verdict_fault_kind") or inc.get("fault_kind") or "unknown"
        component = inc.get("verdict_root_cause") or inc.get("root_cause") or ""
        info = fault_info(kind)
        findings = [Finding.from_dict(f) for f in inc.get("diagnosis", {}).get("findings", [])]
        by_source = {src: "; ".join(f.summary for f in findings if f.source == src)[:600] for src in ("metrics", "logs", "traces")}
        cause = f"{component}: {info.name(lang)}" if component else info.name(lang)
        if inc.get("verdict_note"):
            cause += f" — {inc['verdict_note']}"
        return {
            "id": f"exp-learned-{incident_id.removeprefix('inc-')}",
            "kind": "experience",
            "fault_name": f"{info.name(lang)} ({component})" if component else info.name(lang),
            "fault_kind": kind if kind in FAULT_KINDS or is_kind(kind) else "",
            "root_cause": cause,
            "symptoms": by_source,
            # A corrected fault kind makes the diagnosed mitigation moot: use the catalogue's.
            "mitigation": (inc.get("mitigation") if inc["verdict"] == "correct" else "") or info.mitigation(lang),
            "services": [component] if component else list(inc.get("components", []))[:5],
            "tags": ["learned", kind],
            "language": lang,
            "source": f"incident {incident_id} ({inc['verdict']})",
            "author": _user(),
        }

    def learn(self, incident_id: str) -> str:
        """Save the proposed experience; returns its id."""
        from .validate import normalize

        fields, problems = normalize("experience", self.proposed_experience(incident_id))
        if problems:
            raise CopilotError(f"cannot learn from {incident_id}: {problems[0][0]} {problems[0][1]}")
        return self.store.put("experience", [redact_obj(dict(fields, origin="learned"))])[0]


def summary(entry: dict[str, Any]) -> str:
    when = entry.get("window_start")
    day = print_time(when) if when else (entry.get("created_at") or "")[:16]  # in the run's time zone
    rc = entry.get("verdict_root_cause") or entry.get("root_cause") or "?"
    fk = entry.get("verdict_fault_kind") or entry.get("fault_kind") or "?"
    verdict = f", verdict: {entry['verdict']}" if entry.get("verdict") else ""
    return f"{day} {entry.get('question', '')} -> {rc} ({fk}{verdict})"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_memory(settings: Any = None) -> KnowledgeMemory:
    """The factory copilot.session looks for: memory on the configured knowledge store."""
    return KnowledgeMemory.from_settings(settings)
