"""The knowledge screen (F2 or /kb): expert experiences and SOP runbooks.

The Experiences tab is a table with hybrid search (copilot.kb.search: meaning and keywords,
English or Chinese), add and edit through a form that validates with copilot.kb.validate (errors
are shown beside the fields and nothing is written), and delete with a confirmation. The
Runbooks tab lists each runbook with its sections and previews the selected one as
Markdown. Esc returns to the conversation.

Opening LanceDB costs a second or two, so every store call runs in a worker thread while
the screen shows a loading state; `KnowledgeBase` holds those calls and nothing of the UI.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    Markdown,
    OptionList,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from copilot.errors import CopilotError
from copilot.terminal_text import sanitize_terminal

from .safe import safe_markdown, safe_text

COLUMNS: tuple[tuple[str, str, int], ...] = (  # key, label, width (0: shares what is left)
    ("fault_name", "Fault", 22),
    ("fault_kind", "Kind", 14),
    ("root_cause", "Root cause", 0),
    ("mitigation", "Mitigation", 0),
    ("language", "Lang", 4),
    ("source", "Source", 16),
)
CELL_PADDING = 2  # DataTable pads each cell by one column on either side
FALLBACK_HITS = 5  # shown when no entry passes the relevance test


# ---------------------------------------------------------------- store calls (no UI)

class KnowledgeBase:
    """The store calls the screen makes; synchronous, run in worker threads."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from copilot.kb.store import open_store

            self._store = open_store(self.settings)
        return self._store

    @property
    def location(self) -> str:
        return self.store.location

    def experiences(self) -> list[dict[str, Any]]:
        return self.store.list("experience")

    def runbook_chunks(self) -> list[dict[str, Any]]:
        return self.store.list("document")

    def search(self, query: str) -> tuple[list[dict[str, Any]], bool]:
        """(entries, close): the relevant experiences, or the nearest few when none is."""
        from copilot.kb.search import search

        hits = search(self.store, query, kind="experience", k=20)
        relevant = [h for h in hits if h.get("relevant")]
        return (relevant, True) if relevant else (hits[:FALLBACK_HITS], False)

    def save(self, fields: dict[str, Any], old_id: str | None = None) -> str:
        """Write an experience; an edit keeps the entry's id, creation time and origin
        (a bundled entry stays bundled, so upgrades know the user changed it)."""
        from copilot.kb.schema import now_iso

        row = dict(fields)
        if old_id:
            old = self.store.get_row(old_id)
            if old is None:
                raise CopilotError(f"{old_id} no longer exists; it was removed meanwhile")
            for key in ("id", "created_at", "origin", "bundled_version", "bundled_hash"):
                row[key] = old.get(key, "")
        row["origin"] = row.get("origin") or "user"
        row["updated_at"] = now_iso()
        return self.store.put("experience", [row])[0]

    def delete(self, entry_id: str) -> int:
        from copilot.kb.seed import forget_bundled

        row = self.store.get_row(entry_id)
        removed = self.store.delete(entry_id)
        if removed and (row or {}).get("origin") == "bundled":
            forget_bundled(self.store, entry_id)
        return removed


# ---------------------------------------------------------------- text helpers

def column_widths(total: int) -> list[int]:
    """Widths that fit the table into `total` columns (the flexible ones at least 16; a
    narrower terminal scrolls the table sideways)."""
    fixed = sum(w for _, _, w in COLUMNS) + CELL_PADDING * len(COLUMNS) + 2  # + a scrollbar
    flexible = [key for key, _, w in COLUMNS if not w]
    share = max(16, (total - fixed) // max(len(flexible), 1))
    return [w or share for _, _, w in COLUMNS]


def one_line(value: Any, width: int) -> Text:
    """Plain text (never markup) on one line, cut with an ellipsis to `width` terminal
    cells (a CJK character takes two)."""
    text = Text(" ".join(sanitize_terminal(str(value or "")).split()))
    text.truncate(width, overflow="ellipsis")
    return text


def experience_detail(entry: dict[str, Any]) -> str:
    """The highlighted experience in full, below the table."""
    symptoms = entry.get("symptoms") or {}
    origin = entry.get("origin", "")
    if entry.get("edited"):
        origin += ", edited"
    lines = [f"{entry['fault_name']}  [{entry['id']}, {origin}]",
             f"Root cause: {entry['root_cause']}"]
    lines += [f"In {key}: {symptoms[key]}" for key in ("metrics", "logs", "traces") if symptoms.get(key)]
    lines.append(f"Mitigation: {entry['mitigation']}")
    tags = ", ".join(entry.get("services", []) + entry.get("tags", []))
    if tags:
        lines.append(f"Services and tags: {tags}")
    return "\n".join(lines)


def group_runbooks(chunks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Chunks by runbook id, each runbook's chunks in order."""
    books: dict[str, list[dict[str, Any]]] = {}
    for chunk in sorted(chunks, key=lambda c: (c["doc_id"], c["position"])):
        books.setdefault(chunk["doc_id"], []).append(chunk)
    return books


def _heading(chunk: dict[str, Any]) -> tuple[int, str]:
    path = [p.strip() for p in chunk["section"].split(" > ") if p.strip()]
    return min(len(path), 6), (path[-1] if path else chunk["title"])


def runbook_markdown(chunks: list[dict[str, Any]]) -> str:
    """A whole runbook put back together from its chunks."""
    first = chunks[0]
    parts = [f"# {first['title']}", f"Runbook `{first['doc_id']}`, from {first.get('source_uri') or 'no source'}"]
    shown: set[str] = {first["title"]}
    for chunk in chunks:
        level, title = _heading(chunk)
        if chunk["section"] not in shown:
            parts.append(f"{'#' * max(level, 2)} {title}")
            shown.add(chunk["section"])
        parts.append(chunk["body"])
    return "\n\n".join(parts)


def chunk_markdown(chunk: dict[str, Any]) -> str:
    _, title = _heading(chunk)
    head = f"# {chunk['title']}" if title == chunk["title"] else f"# {chunk['title']}\n\n## {title}"
    return f"{head}\n\nSection `{chunk['id']}`\n\n{chunk['body']}"


# ---------------------------------------------------------------- the form

FORM_TEXT_FIELDS: tuple[tuple[str, str], ...] = (  # field, label (* required)
    ("fault_name", "Fault name *"),
    ("root_cause", "Root cause *"),
    ("symptoms.metrics", "How it shows in metrics"),
    ("symptoms.logs", "How it shows in logs"),
    ("symptoms.traces", "How it shows in traces"),
    ("mitigation", "Mitigation *"),
    ("services", "Services (comma-separated)"),
    ("tags", "Tags (comma-separated)"),
    ("source", "Source"),
    ("author", "Author"),
)


def _dom_id(field: str) -> str:
    return "f-" + field.replace(".", "-").replace("_", "-")


def form_values(entry: dict[str, Any] | None) -> dict[str, str]:
    """The form's initial text per field: an entry's values, or defaults for a new one."""
    if entry is None:
        return {"source": "manual", "author": _whoami()}
    values: dict[str, str] = {}
    for field, _ in FORM_TEXT_FIELDS:
        if field.startswith("symptoms."):
            values[field] = (entry.get("symptoms") or {}).get(field.split(".", 1)[1], "")
        elif isinstance(entry.get(field), list):
            values[field] = ", ".join(entry[field])
        else:
            values[field] = str(entry.get(field) or "")
    values["fault_kind"] = entry.get("fault_kind") or ""
    values["language"] = entry.get("language") or ""
    return values


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class ExperienceForm(ModalScreen["dict[str, Any] | None"]):
    """Add or edit an experience. Save validates with copilot.kb.validate; problems are shown under
    their fields and the form stays open, so nothing is written until they are fixed."""

    DEFAULT_CSS = """
    ExperienceForm { align: center middle; }
    ExperienceForm #form { width: 90%; max-width: 110; height: 90%; padding: 0 2;
                           border: thick $primary; background: $surface; }
    ExperienceForm #form-title { text-style: bold; margin: 0 0 1 0; }
    ExperienceForm #fields { height: 1fr; }
    ExperienceForm .field-label { margin-top: 1; color: $text-muted; }
    ExperienceForm Input, ExperienceForm Select { margin: 0 1; }
    ExperienceForm .field-error { color: $error; display: none; }
    ExperienceForm .field-error.-shown { display: block; }
    ExperienceForm #form-problems { color: $error; text-style: bold; height: auto; }
    ExperienceForm #form-buttons { height: auto; align-horizontal: right; margin: 1 0; }
    ExperienceForm #form-buttons Button { margin-left: 2; }
    """
    AUTO_FOCUS = "#f-fault-name"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, entry: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.values = form_values(entry)

    def compose(self) -> ComposeResult:
        from copilot.diagnosis import FAULT_KINDS

        if self.entry is None:
            title = "Add an experience (Ctrl+S saves, Esc cancels)"
        else:
            kept = " It is bundled: your edit is kept when sre-copilot upgrades." \
                if self.entry.get("origin") == "bundled" else ""
            title = f"Edit {self.entry['id']} (Ctrl+S saves, Esc cancels).{kept}"
        with Vertical(id="form"):
            yield Static(title, id="form-title", markup=False)
            with VerticalScroll(id="fields"):
                for field, label in FORM_TEXT_FIELDS[:2]:
                    yield from self._text_field(field, label)
                yield Label("Fault kind", classes="field-label")
                yield Select([(k, k) for k in FAULT_KINDS], prompt="(none)", id=_dom_id("fault_kind"), compact=True,
                             value=self.values.get("fault_kind") or Select.NULL)
                yield Static("", classes="field-error", id=_dom_id("fault_kind") + "-error")
                for field, label in FORM_TEXT_FIELDS[2:]:
                    yield from self._text_field(field, label)
                yield Label("Language", classes="field-label")
                yield Select([("English (en)", "en"), ("Chinese (zh)", "zh")], prompt="(detect)", compact=True,
                             id=_dom_id("language"), value=self.values.get("language") or Select.NULL)
                yield Static("", classes="field-error", id=_dom_id("language") + "-error")
            yield Static("", id="form-problems")
            with Horizontal(id="form-buttons"):
                yield Button("Save (Ctrl+S)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def _text_field(self, field: str, label: str) -> ComposeResult:
        yield Label(label, classes="field-label")
        yield Input(self.values.get(field, ""), id=_dom_id(field), compact=True)
        yield Static("", classes="field-error", id=_dom_id(field) + "-error")

    def raw(self) -> dict[str, Any]:
        """What the form holds, in the shape copilot.kb.validate reads."""
        raw: dict[str, Any] = {"symptoms": {}}
        for field, _ in FORM_TEXT_FIELDS:
            value = self.query_one("#" + _dom_id(field), Input).value
            if field.startswith("symptoms."):
                raw["symptoms"][field.split(".", 1)[1]] = value
            else:
                raw[field] = value
        for field in ("fault_kind", "language"):
            choice = self.query_one("#" + _dom_id(field), Select).value
            raw[field] = "" if choice is Select.NULL else str(choice)
        if self.entry is not None:
            raw["id"] = self.entry["id"]
        return raw

    def show_problems(self, problems: list[tuple[str, str]]) -> None:
        for error in self.query(".field-error").results(Static):
            error.update("")
            error.remove_class("-shown")
        first = None
        for field, message in problems:
            matches = self.query("#" + _dom_id(field) + "-error")
            if matches:
                matches.first(Static).update(safe_text(f"{field}: {message}"))
                matches.first(Static).add_class("-shown")
                first = first or field
        summary = "; ".join(f"{f}: {m}" for f, m in problems)
        self.query_one("#form-problems", Static).update(
            safe_text(f"Not saved. {summary}" if problems else ""))
        if first:
            self.query_one("#" + _dom_id(first)).focus()

    def action_save(self) -> None:
        from copilot.kb.validate import normalize

        fields, problems = normalize("experience", self.raw())
        self.show_problems(problems)
        if not problems:
            self.dismiss(fields)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter in a field saves; it must not reach the app's question box
        self.action_save()


class ConfirmDelete(ModalScreen[bool]):
    """y deletes, n or Esc keeps."""

    DEFAULT_CSS = """
    ConfirmDelete { align: center middle; }
    ConfirmDelete #confirm { width: 70%; max-width: 90; height: auto; padding: 1 2;
                             border: thick $error; background: $surface; }
    ConfirmDelete #confirm-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmDelete #confirm-buttons Button { margin-left: 2; }
    """
    AUTO_FOCUS = "#keep"
    BINDINGS = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n", "answer(False)", "Keep"),
        Binding("escape", "answer(False)", "Keep", show=False),
    ]

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        bundled = self.entry.get("origin") == "bundled"
        note = " It is bundled; upgrades will not bring it back." if bundled else ""
        with Vertical(id="confirm"):
            yield Static(f"Delete {self.entry['id']} ({self.entry['fault_name']})?{note}", id="confirm-title",
                         markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Delete (y)", id="delete", variant="error")
                yield Button("Keep (n)", id="keep", variant="primary")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")


# ---------------------------------------------------------------- the screen

class KnowledgeScreen(Screen[None]):
    """Experiences (search, add, edit, delete) and runbooks (list, preview)."""

    DEFAULT_CSS = """
    KnowledgeScreen #kb-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    KnowledgeScreen TabbedContent { height: 1fr; }
    KnowledgeScreen #kb-search { margin: 0; }
    KnowledgeScreen #experiences { height: 1fr; }
    KnowledgeScreen #experience-detail { height: auto; max-height: 30%; padding: 0 1;
                                         border-top: solid $primary; color: $text-muted; }
    KnowledgeScreen #runbooks { width: 40; height: 1fr; }
    KnowledgeScreen #runbook-scroll { height: 1fr; padding: 0 1; }
    KnowledgeScreen #kb-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    KnowledgeScreen #kb-status.-error { color: $error; text-style: bold; }
    """
    AUTO_FOCUS = "#kb-search"
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("slash", "focus_search", "Search"),
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("t", "switch_tab", "Experiences/Runbooks"),
    ]

    def __init__(self, settings: Any, kb: KnowledgeBase | None = None) -> None:
        super().__init__()
        self.kb = kb or KnowledgeBase(settings)
        self.entries: dict[str, dict[str, Any]] = {}  # shown rows by id, in table order
        self.books: dict[str, list[dict[str, Any]]] = {}
        self.query_text = ""
        self.loaded = False
        self.busy = False  # a write is under way
        self.widths = [w or 30 for _, _, w in COLUMNS]

    def compose(self) -> ComposeResult:
        yield Static("Knowledge base", id="kb-title", markup=False)
        with TabbedContent(id="kb-tabs"):
            with TabPane("Experiences", id="tab-experiences"):
                yield Input(placeholder="Search experiences, English or Chinese (Enter; empty shows all)",
                            id="kb-search")
                yield DataTable(id="experiences", cursor_type="row", zebra_stripes=True)
                yield Static("", id="experience-detail", markup=False)
            with TabPane("Runbooks", id="tab-runbooks"):
                with Horizontal():
                    yield OptionList(id="runbooks")
                    with VerticalScroll(id="runbook-scroll"):
                        yield Markdown("", id="runbook-preview")
        yield Static("Loading the knowledge base…", id="kb-status", markup=False)
        yield Footer()

    # -- state ---------------------------------------------------------------------------
    @property
    def table(self) -> DataTable:
        return self.query_one("#experiences", DataTable)

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#kb-status", Static)
        widget.update(safe_text(text))
        widget.set_class(error, "-error")

    def on_mount(self) -> None:
        self.widths = column_widths(self.app.size.width)
        for (key, label, _), width in zip(COLUMNS, self.widths):
            self.table.add_column(label, width=width, key=key)
        self.table.loading = True
        self.query_one("#runbooks", OptionList).loading = True
        self._spawn(self._load(), "load")

    def _spawn(self, work: Any, name: str) -> Worker[None]:
        return self.run_worker(work, name=name, group=name, exclusive=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()  # the app only watches its investigation worker
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            text = str(error) if isinstance(error, CopilotError) else f"{type(error).__name__}: {error}"
            self.busy = False
            self.table.loading = False
            self.query_one("#runbooks", OptionList).loading = False
            self.status(f"{event.worker.name} failed: {text}", error=True)
            self.notify(sanitize_terminal(text), title=f"Knowledge base: {event.worker.name} failed", severity="error",
                        markup=False)
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "edit", "delete", "focus_search"):
            tabs = self.query(TabbedContent)
            if not tabs or tabs.first().active != "tab-experiences":
                return False
            if action != "focus_search" and (not self.loaded or self.busy):
                return None  # shown, dimmed
            if action in ("edit", "delete") and self.selected() is None:
                return None
        return True

    # -- loading and showing -------------------------------------------------------------
    async def _load(self) -> None:
        entries, chunks, location = await asyncio.to_thread(
            lambda: (self.kb.experiences(), self.kb.runbook_chunks(), self.kb.location))
        self.query_one("#kb-title", Static).update(safe_text(f"Knowledge base · {location}"))
        self.loaded = True
        self.show_runbooks(chunks)
        if self.query_text:
            await self._search(self.query_text)
        else:
            self.show_experiences(entries)
            self.status(self.summary())
        self.refresh_bindings()

    def summary(self) -> str:
        n, books = len(self.entries), len(self.books)
        return (f"{n} experience{'' if n == 1 else 's'} · {books} runbook{'' if books == 1 else 's'} · "
                "Enter or e edits · a adds · d deletes · Esc returns")

    def show_experiences(self, entries: list[dict[str, Any]], focus: str | None = None) -> None:
        table = self.table
        table.clear()
        self.entries = {e["id"]: e for e in entries}
        for entry in entries:
            table.add_row(*[one_line(entry.get(key), w) for (key, _, _), w in zip(COLUMNS, self.widths)],
                          key=entry["id"])
        table.loading = False
        if focus in self.entries:
            table.move_cursor(row=table.get_row_index(focus))
        self.show_detail()
        self.refresh_bindings()

    def selected(self) -> dict[str, Any] | None:
        table = self.table
        if not self.entries or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(str(key))

    def show_detail(self) -> None:
        entry = self.selected()
        self.query_one("#experience-detail", Static).update(safe_text(experience_detail(entry) if entry else ""))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def show_runbooks(self, chunks: list[dict[str, Any]]) -> None:
        self.books = group_runbooks(chunks)
        options = self.query_one("#runbooks", OptionList)
        options.clear_options()
        for doc_id, book in self.books.items():
            options.add_option(Option(Text(sanitize_terminal(f"{book[0]['title']}  [{doc_id}]")), id=doc_id))
            for chunk in book[1:]:
                _, title = _heading(chunk)
                options.add_option(Option(Text("  ") + one_line(title, 34), id=chunk["id"]))
        options.loading = False
        if self.books:
            options.highlighted = 0
        else:
            self.query_one("#runbook-preview", Markdown).update(
                "No runbooks yet: `copilot kb import FILE.md` adds one.")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.preview(event.option.id or "")

    def preview(self, option_id: str) -> None:
        doc_id = option_id.split("#", 1)[0]
        book = self.books.get(doc_id)
        if not book:
            return
        if option_id == doc_id:
            text = runbook_markdown(book)
        else:
            text = chunk_markdown(next(c for c in book if c["id"] == option_id))
        self.query_one("#runbook-preview", Markdown).update(safe_markdown(text))
        self.query_one("#runbook-scroll", VerticalScroll).scroll_home(animate=False)

    # -- search --------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # not a question for the agent
        self.query_text = " ".join(event.value.split())
        if not self.loaded:
            self.status("Still loading; the search runs when the knowledge base is open…")
            return
        self._spawn(self._search(self.query_text), "search")

    async def _search(self, query: str) -> None:
        if not query:
            entries = await asyncio.to_thread(self.kb.experiences)
            self.show_experiences(entries)
            self.status(self.summary())
            return
        self.status(f"Searching for “{query}”…")
        hits, close = await asyncio.to_thread(self.kb.search, query)
        self.show_experiences(hits)
        if close:
            self.status(f"{len(hits)} experience{'' if len(hits) == 1 else 's'} match “{query}” · "
                        "an empty search shows all")
        else:
            self.status(f"Nothing close to “{query}”; the {len(hits)} nearest are shown · "
                        "an empty search shows all")
        if hits:
            self.table.focus()

    # -- actions -------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def action_focus_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "tab-runbooks" if tabs.active == "tab-experiences" else "tab-experiences"
        (self.query_one("#runbooks") if tabs.active == "tab-runbooks" else self.table).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def action_add(self) -> None:
        self.app.push_screen(ExperienceForm(), callback=self._saved(None))

    def action_edit(self) -> None:
        entry = self.selected()
        if entry is not None and self.loaded and not self.busy:
            self.app.push_screen(ExperienceForm(entry), callback=self._saved(entry["id"]))

    def _saved(self, old_id: str | None) -> Callable[[dict[str, Any] | None], None]:
        def done(fields: dict[str, Any] | None) -> None:
            if fields is not None:
                self._spawn(self._write(lambda: self.kb.save(fields, old_id), "Saving", "Saved"), "save")
        return done

    def action_delete(self) -> None:
        entry = self.selected()
        if entry is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._spawn(self._write(lambda: self._delete(entry["id"]), "Deleting", "Deleted"), "delete")
        self.app.push_screen(ConfirmDelete(entry), callback=confirmed)

    def _delete(self, entry_id: str) -> str:
        if not self.kb.delete(entry_id):
            raise CopilotError(f"{entry_id} was already gone")
        return entry_id

    async def _write(self, call: Callable[[], str], doing: str, verb: str) -> None:
        self.busy = True
        self.refresh_bindings()
        self.status(f"{doing}…")
        try:
            entry_id = await asyncio.to_thread(call)
        finally:
            self.busy = False
        if self.query_text:
            hits, _ = await asyncio.to_thread(self.kb.search, self.query_text)
            self.show_experiences(hits, focus=entry_id)
        else:
            self.show_experiences(await asyncio.to_thread(self.kb.experiences), focus=entry_id)
        self.status(f"{verb} {entry_id} · {self.summary()}")
        self.notify(sanitize_terminal(f"{verb} {entry_id}"), markup=False)
