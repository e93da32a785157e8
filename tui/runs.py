"""The run-history screen (F3 or /runs): the recorded workflow runs, the steps of the
selected one (input, output, raw output, label), and labelling a step (confirmed, wrong,
partial, unclear, with a suggested output) through a small form. Esc returns.

The store calls (copilot/workflows/history.py: LanceDB) run in worker threads while the
screen shows a loading state.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from copilot.errors import CopilotError

from .safe import safe_text

DETAIL_CHARS = 4000


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


def _json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return text[:DETAIL_CHARS] + ("…" if len(text) > DETAIL_CHARS else "")


def step_detail(step: dict[str, Any]) -> str:
    """What the detail pane shows for a step."""
    lines = [f"{step['step']} ({step['kind']}: {step['target']}) — {step['status']}",
             f"input: {_json(step['step_input'])}", f"output: {_json(step['output'])}"]
    if step.get("raw_output"):
        lines.append(f"raw output: {_json(step['raw_output'])}")
    if step.get("label"):
        lines.append(f"label: {step['label']}" + (f" → {step['suggested']}" if step.get("suggested") else ""))
    return "\n".join(lines)


class LabelForm(ModalScreen["tuple[str, str] | None"]):
    """The label of one step and, optionally, the output it should have given."""

    DEFAULT_CSS = """
    LabelForm { align: center middle; }
    LabelForm #label-form { width: 80; height: auto; padding: 0 2; border: thick $primary; background: $surface; }
    LabelForm #label-title { text-style: bold; margin: 0 0 1 0; }
    LabelForm #label-buttons { height: auto; align-horizontal: right; margin: 1 0; }
    LabelForm #label-buttons Button { margin-left: 2; }
    LabelForm #label-problem { color: $error; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "cancel", "Cancel")]

    def __init__(self, step: dict[str, Any]) -> None:
        super().__init__()
        self.step = step

    def compose(self) -> ComposeResult:
        from copilot.workflows.history import LABELS

        with Vertical(id="label-form"):
            yield Static(f"Label step {self.step['step']} (Ctrl+S saves, Esc cancels)", id="label-title", markup=False)
            yield Label("Label")
            yield Select([(x, x) for x in LABELS], prompt="(choose)", id="label-value", compact=True,
                         value=self.step.get("label") or Select.NULL)
            yield Label("Suggested output (optional)")
            yield Input(self.step.get("suggested") or "", id="label-suggested", compact=True)
            yield Static("", id="label-problem", markup=False)
            with Horizontal(id="label-buttons"):
                yield Button("Save (Ctrl+S)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        value = self.query_one("#label-value", Select).value
        if value is Select.NULL or not value:
            self.query_one("#label-problem", Static).update("choose a label first")
            return
        self.dismiss((str(value), self.query_one("#label-suggested", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunsScreen(Screen[None]):
    """Workflow runs (newest first), the selected run's steps, and a step's detail."""

    DEFAULT_CSS = """
    RunsScreen #runs-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunsScreen #runs { height: 40%; }
    RunsScreen #steps { height: 1fr; }
    RunsScreen #step-scroll { height: 30%; padding: 0 1; border-top: solid $primary; }
    RunsScreen #runs-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    RunsScreen #runs-status.-error { color: $error; text-style: bold; }
    """
    AUTO_FOCUS = "#runs"
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("tab", "switch_table", "Runs/Steps", show=True),
        Binding("l", "label", "Label step"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, history: Any = None) -> None:
        super().__init__()
        if history is None:
            from copilot.workflows.history import RunHistory

            history = RunHistory()
        self.history = history
        self.runs: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        self.run_id = ""
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Run history", id="runs-title", markup=False)
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="step-scroll"):
            yield Static("", id="step-detail", markup=False)
        yield Static("Loading the run history…", id="runs-status", markup=False)
        yield Footer()

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#runs-status", Static)
        widget.update(safe_text(text))
        widget.set_class(error, "-error")

    def on_mount(self) -> None:
        runs = self.query_one("#runs", DataTable)
        for key, label in (("run_id", "Run"), ("workflow", "Workflow"), ("params", "Parameters"), ("at", "When"),
                           ("steps", "Steps"), ("errors", "Errors"), ("labels", "Labelled")):
            runs.add_column(label, key=key)
        steps = self.query_one("#steps", DataTable)
        for key, label in (("step", "Step"), ("kind", "Kind"), ("target", "Target"), ("status", "Status"),
                           ("findings", "Findings"), ("label", "Label")):
            steps.add_column(label, key=key)
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#runs", DataTable).loading = True
        self.run_worker(self._load_runs(), name="runs", group="runs", exclusive=True, exit_on_error=False)

    async def _load_runs(self) -> None:
        import asyncio

        try:
            self.runs = await asyncio.to_thread(self.history.runs, 200)
        except (CopilotError, OSError) as exc:
            self.status(f"the run history cannot be read: {exc}", error=True)
            return
        finally:
            self.query_one("#runs", DataTable).loading = False
        table = self.query_one("#runs", DataTable)
        table.clear()
        for r in self.runs:
            params = ", ".join(f"{k}={v}" for k, v in (r["input"].get("params") or {}).items())
            table.add_row(r["run_id"], r["workflow"], safe_text(params), _when(r["at"]), str(r["steps"]),
                          str(r["errors"]), str(r["labels"]), key=r["run_id"])
        self.loaded = True
        self.status(f"{len(self.runs)} runs · Enter or the cursor shows a run's steps · l labels the selected step"
                    if self.runs else "no workflow runs yet: `copilot workflows run NAME` records one")
        if self.runs:
            await self._show_run(self.runs[0]["run_id"])

    async def _show_run(self, run_id: str, keep_row: int = 0) -> None:
        import asyncio

        self.run_id = run_id
        try:
            self.steps = await asyncio.to_thread(self.history.steps, run_id)
        except CopilotError as exc:
            self.status(str(exc), error=True)
            return
        table = self.query_one("#steps", DataTable)
        table.clear()
        for s in self.steps:
            found = len(s["output"]) if s["kind"] in ("item", "rules", "tool") and isinstance(s["output"], list) else ""
            table.add_row(s["step"], s["kind"], s["target"], s["status"], str(found),
                          (s["label"] + (" →" if s["suggested"] else "")) or "", key=s["step"])
        if self.steps:
            table.move_cursor(row=min(keep_row, len(self.steps) - 1))
            self._show_step(min(keep_row, len(self.steps) - 1))

    def _show_step(self, row: int) -> None:
        if 0 <= row < len(self.steps):
            self.query_one("#step-detail", Static).update(safe_text(step_detail(self.steps[row])))

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runs" and event.row_key.value and event.row_key.value != self.run_id:
            await self._show_run(str(event.row_key.value))
        elif event.data_table.id == "steps":
            self._show_step(event.cursor_row)

    def action_switch_table(self) -> None:
        target = "#steps" if self.focused is self.query_one("#runs", DataTable) else "#runs"
        self.query_one(target, DataTable).focus()

    def selected_step(self) -> tuple[int, dict[str, Any]] | None:
        row = self.query_one("#steps", DataTable).cursor_row
        return (row, self.steps[row]) if 0 <= row < len(self.steps) else None

    def action_label(self) -> None:
        picked = self.selected_step()
        if picked is None:
            self.status("no step selected", error=True)
            return
        row, step = picked

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.run_worker(self._save_label(row, step["step"], *result), name="label", group="label",
                                exclusive=True, exit_on_error=False)

        self.app.push_screen(LabelForm(step), callback=done)

    async def _save_label(self, row: int, step: str, label: str, suggested: str) -> None:
        import asyncio

        try:
            await asyncio.to_thread(self.history.label, self.run_id, step, label, suggested)
        except CopilotError as exc:
            self.status(str(exc), error=True)
            return
        await self._show_run(self.run_id, keep_row=row)
        self.query_one("#runs", DataTable).update_cell(self.run_id, "labels", str(sum(bool(s["label"]) for s in self.steps)))
        self.status(f"labelled {step} of run {self.run_id}: {label}" + (f" → {suggested}" if suggested else ""))

    def action_close(self) -> None:
        self.app.pop_screen()
