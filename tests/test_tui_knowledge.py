"""The TUI's knowledge screen (F2 or /kb) driven through Pilot, over the real LanceDB store
that the bundled knowledge is loaded into in the test's own XDG data dir."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import Input, Markdown, OptionList, Select, Static

from copilot.cli import main
from tests.kb_fixtures import shared_embedder
from tests.test_tui_support import investigation_script, make_session
from copilot.tui.app import CopilotApp
from copilot.tui.knowledge import ConfirmDelete, ExperienceForm, KnowledgeScreen
from copilot.tui.widgets import HistoryInput


@pytest.fixture(autouse=True)
def one_embedder(monkeypatch, tmp_path_factory):
    """Each test has its own store; they share one (real) embedder, so its model loads once."""
    import copilot.kb.embed

    emb = shared_embedder(tmp_path_factory)
    monkeypatch.setattr(copilot.kb.embed, "embedder_from_settings", lambda settings=None: emb)


async def wait_for(condition, pilot, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def open_knowledge(app: CopilotApp, pilot, how: str = "f2") -> KnowledgeScreen:
    if how == "f2":
        await pilot.press("f2")
    else:
        app.query_one(HistoryInput).value = how
        await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, KnowledgeScreen), pilot)
    screen = app.screen
    assert isinstance(screen, KnowledgeScreen)
    await wait_for(lambda: screen.loaded and not screen.table.loading, pilot)
    return screen


async def settle(app: CopilotApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown_ids(screen: KnowledgeScreen) -> list[str]:
    table = screen.table
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def status(screen: KnowledgeScreen) -> str:
    return str(screen.query_one("#kb-status", Static).render())


def store_for(session):
    from copilot.kb.store import open_store

    return open_store(session.settings)


async def search(screen: KnowledgeScreen, pilot, text: str, typed: bool = False) -> None:
    box = screen.query_one("#kb-search", Input)
    box.focus()
    box.value = ""
    if typed:
        await pilot.press(*text)  # as a user would (slow: a screen refresh per key)
    else:
        box.value = text
    await pilot.press("enter")
    await settle(screen.app, pilot)


async def select_row(screen: KnowledgeScreen, pilot, entry_id: str) -> None:
    screen.table.focus()
    screen.table.move_cursor(row=screen.table.get_row_index(entry_id))
    await pilot.pause()
    assert screen.selected()["id"] == entry_id


def fill(form: ExperienceForm, **values: str) -> None:
    for field, value in values.items():
        form.query_one("#f-" + field.replace("_", "-"), Input).value = value


async def test_lists_bundled_experiences_previews_runbooks_and_esc_returns(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_knowledge(app, pilot)
        bundled = store_for(session).list("experience")
        assert len(bundled) >= 20
        assert sorted(shown_ids(screen)) == sorted(e["id"] for e in bundled)
        labels = [str(c.label) for c in screen.table.columns.values()]
        assert labels == ["Fault", "Kind", "Root cause", "Mitigation", "Lang", "Source"]
        row = [str(cell) for cell in screen.table.get_row("exp-disk-full-zh")]
        assert row[0] == "磁盘空间不足" and row[1] == "disk_full" and row[4] == "zh"
        from copilot.kb.seed import bundled_plan

        assert f"{len(bundled)} experiences · {len(bundled_plan()[0].documents)} runbooks" in status(screen)
        await select_row(screen, pilot, "exp-disk-full-en")  # the highlighted entry in full below
        detail = str(screen.query_one("#experience-detail", Static).render())
        assert "[exp-disk-full-en, bundled]" in detail and "In logs: \"No space left on device\"" in detail
        # Keys typed into the search box are text, not the screen's a/e/d bindings.
        screen.query_one("#kb-search", Input).focus()
        await pilot.press("d", "a")
        assert screen.query_one("#kb-search", Input).value == "da"
        assert not isinstance(app.screen, (ConfirmDelete, ExperienceForm))

        screen.table.focus()
        await pilot.press("t")  # the Runbooks tab
        options = screen.query_one("#runbooks", OptionList)
        assert app.focused is options
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert {"sop-disk-full", "sop-disk-full#1", "sop-high-latency", "sop-pod-pending"} <= set(ids)
        options.highlighted = ids.index("sop-disk-full#1")  # scrolled into view below the other runbooks
        await pilot.pause()
        option_lines = [options.render_line(y).text for y in range(options.size.height)]
        assert any("Disk full SOP  [sop-disk-full]" in line for line in option_lines)
        assert "  1. Confirm and find the volume" in [line.rstrip() for line in option_lines]  # indented
        options.highlighted = ids.index("sop-disk-full")
        await pilot.pause()
        preview = screen.query_one("#runbook-preview", Markdown)
        assert preview.source.startswith("# Disk full SOP")
        assert "## 1. Confirm and find the volume" in preview.source
        assert "lsof +L1" in preview.source  # the whole runbook, not only its first section
        options.highlighted = ids.index("sop-disk-full#2")
        await pilot.pause()
        assert "## 2. Find what is large" in preview.source
        assert "Confirm and find the volume" not in preview.source  # only that section

        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert app.focused is app.query_one(HistoryInput)


async def test_search_narrows_and_an_empty_search_shows_all(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_knowledge(app, pilot)
        everything = len(shown_ids(screen))

        await search(screen, pilot, "pods stuck", typed=True)
        ids = shown_ids(screen)
        assert 0 < len(ids) < everything
        # "pods stuck": the pod-pending rows (the seed's and the platform's Pending-by-cause
        # experiences) and the stuck-rollout experience are what it means
        assert all(i.startswith(("exp-pod-pending", "exp-k8s")) for i in ids), ids
        assert sum(i.startswith(("exp-pod-pending", "exp-k8s-pending", "exp-k8s-pvc")) for i in ids[:6]) >= 4, ids
        assert "match “pods stuck”" in status(screen)
        assert not app.query(".question")  # the search did not become a question for the agent

        await search(screen, pilot, "磁盘写满了")
        assert shown_ids(screen)[0] == "exp-disk-full-zh"
        assert len(shown_ids(screen)) < everything

        await search(screen, pilot, "")
        assert len(shown_ids(screen)) == everything


async def test_add_writes_an_entry_that_kb_list_shows(tmp_path, monkeypatch, capsys):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_knowledge(app, pilot, how="/kb")
        before = len(shown_ids(screen))
        screen.table.focus()
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, ExperienceForm)
        fill(form, fault_name="Redis [cache] eviction storm", root_cause="maxmemory reached, keys evicted in bulk",
             mitigation="Raise maxmemory and fix the TTL-less keys", services="cart, redis",
             symptoms_logs="OOM command not allowed")
        form.query_one("#f-fault-kind", Select).value = "memory_leak"
        await pilot.press("ctrl+s")
        await wait_for(lambda: app.screen is screen, pilot)
        await settle(app, pilot)
        assert len(shown_ids(screen)) == before + 1
        added = screen.selected()
        assert added["fault_name"] == "Redis [cache] eviction storm"  # the cursor is on the new row
        table_lines = [screen.table.render_line(y).text for y in range(screen.table.size.height)]
        assert any("Redis [cache] evictio…" in line for line in table_lines)  # shown as text, not markup
        assert f"Saved {added['id']}" in status(screen)

    capsys.readouterr()
    assert main(["kb", "list", "--kind", "experience", "--json"]) == 0
    listed = {e["id"]: e for e in json.loads(capsys.readouterr().out)}
    entry = listed[added["id"]]
    assert entry["root_cause"] == "maxmemory reached, keys evicted in bulk"
    assert entry["fault_kind"] == "memory_leak"
    assert entry["services"] == ["cart", "redis"]
    assert entry["symptoms"]["logs"] == "OOM command not allowed"
    assert entry["language"] == "en"  # detected
    assert entry["origin"] == "user"


async def test_a_validation_error_is_shown_in_the_form_and_writes_nothing(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_knowledge(app, pilot)
        store = store_for(session)
        before = store.list("experience")
        screen.table.focus()
        await pilot.press("a")
        form = app.screen
        fill(form, fault_name="Half an entry", root_cause="", mitigation="")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # still open, with the problems beside the fields
        error = form.query_one("#f-root-cause-error", Static)
        assert error.display and "root_cause: is required and empty" in str(error.render())
        assert form.query_one("#f-mitigation-error", Static).display
        assert not form.query_one("#f-fault-name-error", Static).display
        assert "Not saved" in str(form.query_one("#form-problems", Static).render())
        assert app.focused is form.query_one("#f-root-cause", Input)

        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert store.list("experience") == before
        assert len(shown_ids(screen)) == len(before)


async def test_edit_changes_a_field_and_delete_removes_the_entry(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_knowledge(app, pilot)
        store = store_for(session)
        await select_row(screen, pilot, "exp-disk-full-en")
        await pilot.press("enter")  # Enter on a row edits it, like e
        form = app.screen
        assert isinstance(form, ExperienceForm)
        assert form.query_one("#f-fault-name", Input).value == "Disk full"
        assert form.query_one("#f-fault-kind", Select).value == "disk_full"
        fill(form, mitigation="Page the storage team, then clean up old logs")
        await pilot.press("ctrl+s")
        await wait_for(lambda: app.screen is screen, pilot)
        await settle(app, pilot)
        edited = store.get("exp-disk-full-en")
        assert edited["mitigation"] == "Page the storage team, then clean up old logs"
        assert edited["fault_name"] == "Disk full" and edited["fault_kind"] == "disk_full"
        assert edited["origin"] == "bundled" and edited["edited"]  # upgrades will keep the edit
        assert str(screen.table.get_row("exp-disk-full-en")[3]).startswith("Page the storage")

        await select_row(screen, pilot, "exp-disk-full-en")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDelete)
        await pilot.press("n")  # keep it
        await settle(app, pilot)
        assert store.get("exp-disk-full-en") is not None

        await pilot.press("d")
        await pilot.press("y")
        await wait_for(lambda: app.screen is screen, pilot)
        await settle(app, pilot)
        assert store.get("exp-disk-full-en") is None
        assert "exp-disk-full-en" not in shown_ids(screen)
        assert "deleted:exp-disk-full-en" in store.meta_get("deleted:")  # stays deleted on upgrade
        assert "Deleted exp-disk-full-en" in status(screen)


async def test_loads_in_the_background_and_a_search_typed_meanwhile_runs_once_loaded(tmp_path, monkeypatch):
    import threading

    from copilot.tui.knowledge import KnowledgeBase

    gate = threading.Event()
    real = KnowledgeBase.experiences

    def slow_experiences(self):  # the real call, held back until the test lets it go
        assert gate.wait(10)
        return real(self)

    monkeypatch.setattr(KnowledgeBase, "experiences", slow_experiences)
    session = make_session(tmp_path, monkeypatch, investigation_script())
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, KnowledgeScreen)
        await pilot.pause()
        assert screen.table.loading and not screen.loaded
        assert "Loading the knowledge base" in status(screen)
        await pilot.press(*"disk")  # the UI answers while the store loads
        await pilot.press("enter")
        assert screen.query_one("#kb-search", Input).value == "disk"
        assert "Still loading" in status(screen)

        gate.set()
        await wait_for(lambda: screen.loaded and not screen.table.loading, pilot)
        await settle(app, pilot)
        assert shown_ids(screen)[0] == "exp-disk-full-en"
        assert "match “disk”" in status(screen)


async def test_a_store_that_cannot_be_opened_is_reported_on_the_screen(tmp_path, monkeypatch):
    session = make_session(tmp_path, monkeypatch, investigation_script())
    not_a_dir = tmp_path / "kb-file"
    not_a_dir.write_text("not a knowledge base")
    session.settings.kb_uri = str(not_a_dir)
    app = CopilotApp(session)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f2")
        screen = app.screen
        await wait_for(lambda: "failed" in status(screen), pilot)
        assert str(not_a_dir) in status(screen)
        assert screen.query_one("#kb-status").has_class("-error")
        assert not screen.table.loading
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


def test_kb_slash_command_opens_the_screen_in_the_tui_and_explains_the_cli_in_the_repl(tmp_path, monkeypatch):
    from copilot.tui.slash import help_text, run_command

    session = make_session(tmp_path, monkeypatch, investigation_script())
    outcome = run_command(session, "/kb")
    assert outcome.action == "knowledge" and not outcome.error
    assert "copilot kb search QUERY" in outcome.text  # what the REPL prints
    assert "/kb" in help_text()
