"""The Timeline pane's branch tree and checkpoints, the fork preview, rolling back from it, and
editing a message before re-running: against a real database file and the scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList, TextArea

from agents.history import load_events
from agents.session import RunOptions
from tests.support.openai_server import ScriptedServer
from tests.tui.app_helpers import (
    is_decision,
    make_app,
    messages_text,
    notifications,
    record_notifications,
    send_line,
    wait_for,
    wait_main,
    wait_state,
)
from tests.tui.timeline_helpers import SESSION_ID, option_texts, write_branching_session
from tui.app import AgentChatApp
from tui.screens.edit_message import EditMessageScreen
from tui.screens.fork_preview import ForkPreviewScreen
from tui.screens.main import MainScreen
from tui.widgets.timeline_pane import TimelinePane


def branch_prompts(pane: TimelinePane) -> list[str]:
    return option_texts(pane, "#timeline-branches")


async def test_the_branch_tree_after_a_rollback_and_switching_branch_with_one_key(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=3)
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_state(pilot, app, "ended", timeout=60)
        await wait_for(pilot, lambda: [b.turns for b in first.timeline_pane.branches] == [3],
                       "the branch tree")
        main_id = first.session.branch_id
        assert branch_prompts(first.timeline_pane)[0].startswith("▶ main · 3 turns")

        await send_line(pilot, app, "/rollback 1")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not first and app.screen.shown, "the new branch")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        pane = screen.timeline_pane
        await wait_for(pilot, lambda: len(pane.branches) == 2, "two branches in the tree")
        assert [(b.name, b.fork_turn, b.turns, b.depth) for b in pane.branches] == [
            ("main", None, 3, 0), ("b2-t1", 1, 1, 1)]
        prompts = branch_prompts(pane)
        assert prompts[0].startswith("  main · 3 turns") and "tok" in prompts[0]
        assert prompts[1].startswith("▶ └ b2-t1 ⑂1 · 1 turn")

        # F5 focuses the checkpoint list on the current checkpoint; Enter on another opens its
        # fork preview.
        await pilot.press("f5")
        checkpoints = pane.query_one("#timeline-list", OptionList)
        await wait_for(pilot, lambda: checkpoints.has_focus, "the checkpoint list to focus")
        assert checkpoints.highlighted == pane.current == 1
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ForkPreviewScreen), "the preview")
        preview = app.screen
        assert isinstance(preview, ForkPreviewScreen) and preview.view.turn == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the preview to close")

        # b (in the Timeline) switches to the next branch: main, at its own last turn.
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not screen and app.screen.shown, "the main branch")
        back = app.screen
        assert isinstance(back, MainScreen)
        assert back.session.branch_id == main_id and back.session.turn == 3
        assert [row.turn for row in back.timeline_pane.rows] == [0, 1, 2, 3]
        assert app.store is not None
        row = await app.store.get_session(back.session.id)
        assert row is not None and row.head_branch == main_id  # a later reopen lands here
        assert any(n.startswith("On branch main at turn 3") for n in notifications(app))
        await wait_for(pilot, lambda: len(back.timeline_pane.branches) == 2, "the tree")
        assert branch_prompts(back.timeline_pane)[0].startswith("▶ main")
    assert len(scripted_server.chat_bodies) == 3 * 2 + 1  # nothing was asked after the run


async def test_the_fork_preview_shows_the_checkpoint_as_it_was_then_rolls_back(
        tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    written = await write_branching_session(db)
    app = AgentChatApp(db_path=db, session_id=SESSION_ID, branch="main",
                       provider_loader=lambda: None,
                       options=RunOptions(model="openai/test-model", max_turns=8))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        assert app.store is not None
        main_rows = len(await app.store.events(SESSION_ID, written.main))
        assert screen.state_pane.state.decisions == ["Cache reads for 60 s", "Encrypt at rest"]

        screen.timeline_pane.post_message(TimelinePane.CheckpointSelected(2))
        await wait_for(pilot, lambda: isinstance(app.screen, ForkPreviewScreen), "the preview")
        preview = app.screen
        assert isinstance(preview, ForkPreviewScreen)
        # The state, transcript and cost as they were at the end of turn 2.
        assert preview.state_pane.state.decisions == ["Cache reads for 60 s"]
        assert preview.state_pane.state.action_items == []
        assert not preview.state_pane.state.artifacts
        said = [e.text for e in preview.transcript.model.entries if e.kind == "message"]
        assert said[-1] == "Reads dominate: cache them for 60 s." and len(said) == 3
        assert preview.cost_pane.total_usd == pytest.approx(0.001 + 2 * 0.0025)
        calls = {r.agent: r.calls for r in preview.cost_pane.rows()}
        assert calls["product"] == "1" and calls["sre"] == "0"
        assert [m.text for m in preview.view.messages] == ["Reads dominate: cache them for 60 s."]

        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not screen and app.screen.shown, "the new branch")
        forked = app.screen
        assert isinstance(forked, MainScreen)
        assert forked.session.turn == 2
        assert forked.session.branch_id not in (written.main, written.fork)
        assert forked.state_pane.state.decisions == ["Cache reads for 60 s"]
        assert forked.state_pane.state.action_items == []
        assert forked.run_state == "idle"  # nothing runs until /resume
        names = [b.name for b in await app.store.branches(SESSION_ID)]
        assert names == ["main", "b2-t2", "b3-t2"]
        # The old branch is intact: same events, same four turns.
        assert len(await app.store.events(SESSION_ID, written.main)) == main_rows
        assert [c.turn for c in await app.store.checkpoints(SESSION_ID, written.main)] == [
            0, 1, 2, 3, 4]
        await wait_for(pilot, lambda: len(forked.timeline_pane.branches) == 3, "the tree")
        assert branch_prompts(forked.timeline_pane)[2].startswith("▶ └ b3-t2 ⑂2")


async def test_edit_a_message_and_rerun_changes_it_on_the_new_branch_only(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    app = make_app(db, scripted_server, max_turns=3)
    shown = record_notifications(app)
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_state(pilot, app, "ended", timeout=60)
        old_branch = first.session.branch_id
        target = next(e for e in first.transcript.model.entries
                      if e.kind == "message" and e.turn == 2)
        original = target.text
        first.timeline_pane.post_message(TimelinePane.CheckpointSelected(2))
        await wait_for(pilot, lambda: isinstance(app.screen, ForkPreviewScreen), "the preview")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditMessageScreen)
                       and bool(app.screen.query("#edit-text")), "the editor")
        editor = app.screen.query_one("#edit-text", TextArea)
        assert editor.text == original
        await pilot.press("ctrl+s")  # unchanged: refused with a one-line reason
        assert isinstance(app.screen, EditMessageScreen)
        assert "Change the text first" in str(app.screen.query_one("#edit-error").render())
        editor.text = "Use a write-through cache instead."
        asked = len(scripted_server.chat_bodies)
        await pilot.press("ctrl+s")

        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not first, "the new branch")
        screen = await wait_state(pilot, app, "ended", timeout=60)
        assert screen.session.branch_id != old_branch and screen.session.turn == 3
        texts = [e.text for e in screen.transcript.model.entries if e.kind == "message"]
        assert "Use a write-through cache instead." in texts and original not in texts
        later = [b for b in scripted_server.chat_bodies[asked:] if not is_decision(b)]
        assert later and "write-through cache instead" in messages_text(later[0])
        assert all(original not in messages_text(b) for b in scripted_server.chat_bodies[asked:])
        assert any("Edited" in n and "re-running from turn 2" in n for n in shown)
        assert app.store is not None
        old = [e.text for e in await load_events(app.store, screen.session.id, old_branch)
               if e.kind == "message_completed"]
        assert original in old and "Use a write-through cache instead." not in old
