"""Run history (the seed's 故障管理): every workflow run recorded per step in LanceDB —
run id, workflow, input, step name, step input, raw output, output, the human's label and
suggested output, time — so a team can see and label what each step did.

One LanceDB table `workflow_steps` under `<data dir>/runs` (XDG_DATA_HOME/sre-copilot/runs).
A run's rows are added in one write (one table version: all of a run or none of it); writers on the local path take
an advisory file lock, like the knowledge store. Labels are single `update` calls.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ..config import data_dir
from ..errors import CopilotError

TABLE = "workflow_steps"
LABELS = ("confirmed", "wrong", "partial", "unclear")
log = logging.getLogger(__name__)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("workflow", pa.string()), ("question", pa.string()), ("input", pa.string()),
        ("step_index", pa.int32()), ("step", pa.string()), ("kind", pa.string()), ("target", pa.string()),
        ("status", pa.string()), ("step_input", pa.string()), ("raw_output", pa.string()), ("output", pa.string()),
        ("label", pa.string()), ("suggested", pa.string()), ("at", pa.float64()), ("labeled_at", pa.float64()),
    ])


def _sql(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class RunHistory:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else data_dir() / "runs"
        self._table: Any = None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".write.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def table(self, create: bool = False) -> Any:
        if self._table is None:
            from copilot.kb.lancedb_import import import_lancedb

            lancedb = import_lancedb()

            self.path.mkdir(parents=True, exist_ok=True)
            db = lancedb.connect(str(self.path))
            listed = db.list_tables()
            if TABLE in set(getattr(listed, "tables", listed)):
                self._table = db.open_table(TABLE)
            elif create:
                self._table = db.create_table(TABLE, schema=_schema(), exist_ok=True)
        return self._table

    def record(self, run: Any, question: str = "") -> int:
        """Add every step of a finished `WorkflowRun` in one write; returns the rows written."""
        now = time.time()
        given = json.dumps({"params": run.params, "window": list(run.window)}, ensure_ascii=False, default=str)
        rows = []
        for i, o in enumerate(run.outcomes):
            output = [f.to_dict() for f in o.findings] if o.findings else o.output
            rows.append({
                "run_id": run.run_id, "workflow": run.workflow, "question": question, "input": given,
                "step_index": i, "step": o.id, "kind": o.kind, "target": o.target, "status": o.status,
                "step_input": json.dumps(o.input, ensure_ascii=False, default=str)[:20000],
                "raw_output": (o.raw or o.error)[:20000],
                "output": json.dumps(output, ensure_ascii=False, default=str)[:20000],
                "label": "", "suggested": "", "at": now, "labeled_at": 0.0,
            })
        if not rows:
            return 0
        with self._lock():
            self.table(create=True).add(rows)
        return len(rows)

    def _rows(self, where: str | None = None) -> list[dict[str, Any]]:
        tbl = self.table()
        if tbl is None:
            return []
        query = tbl.search()
        if where:
            query = query.where(where)
        return query.limit(1_000_000).to_list()

    def runs(self, limit: int = 20, workflow: str = "") -> list[dict[str, Any]]:
        rows = self._rows(f"workflow = {_sql(workflow)}" if workflow else None)
        by_run: dict[str, dict[str, Any]] = {}
        for r in rows:
            run = by_run.setdefault(r["run_id"], {"run_id": r["run_id"], "workflow": r["workflow"], "at": r["at"],
                                                  "input": json.loads(r["input"]), "steps": 0, "errors": 0, "labels": 0,
                                                  "question": r["question"]})
            run["steps"] += 1
            run["errors"] += r["status"] == "error"
            run["labels"] += bool(r["label"])
        return sorted(by_run.values(), key=lambda x: -x["at"])[:limit]

    def resolve(self, run_id: str) -> str:
        ids = {r["run_id"] for r in self._rows()}
        hits = [i for i in ids if i.startswith(run_id)]
        if len(hits) != 1:
            raise CopilotError(f"no run {run_id!r}" if not hits else f"run id {run_id!r} is ambiguous; give more characters"
                               + ("; `copilot runs list` shows the runs" if not hits else ""))
        return hits[0]

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        rid = self.resolve(run_id)
        rows = sorted(self._rows(f"run_id = {_sql(rid)}"), key=lambda r: r["step_index"])
        for r in rows:
            for key in ("input", "step_input", "output"):
                try:
                    r[key] = json.loads(r[key])
                except (json.JSONDecodeError, TypeError):
                    pass
        return rows

    def label(self, run_id: str, step: str, label: str, suggested: str = "") -> dict[str, Any]:
        if label not in LABELS:
            raise CopilotError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
        rid = self.resolve(run_id)
        names = [r["step"] for r in self.steps(rid)]
        if step not in names:
            raise CopilotError(f"run {rid} has no step {step!r}; its steps: {', '.join(names)}")
        with self._lock():
            self.table().update(where=f"run_id = {_sql(rid)} AND step = {_sql(step)}",
                                values={"label": label, "suggested": suggested, "labeled_at": time.time()})
        return next(r for r in self.steps(rid) if r["step"] == step)


def recorder(settings: Any = None, question: str = "") -> Callable[[Any], None]:
    """An `on_finish` for run_workflow that records the run (a failure to record is logged,
    never fatal to the run)."""
    history = RunHistory()

    def on_finish(run: Any) -> None:
        try:
            history.record(run, question)
        except Exception as exc:  # the history must not break an incident investigation
            log.warning("run %s was not recorded: %s", run.run_id, exc)

    return on_finish
