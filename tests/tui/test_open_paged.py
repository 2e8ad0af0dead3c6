"""A long stored session opens on its newest page: the transcript loads older pages when scrolled
to the top, the cost pane shows the whole branch's cost and the timeline fills in every turn
after the first frame (and rolling back to an old turn works), and so do the workflow graph's
counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from agents import stored
from agents.cost import CostLedger
from agents.events import Event, MessageCompleted, ModeratorDecision, UsageRecorded
from agents.session import RunOptions
from agents.store import Store
from agents.stored import stored_view
from personas.loader import load_pack
from tests.benchmarks import sessions
from tests.tui.app_helpers import wait_for, wait_main
from tui.app import AgentChatApp
from tui.screens.fork_preview import ForkPreviewScreen
from tui.screens.main import MainScreen
from tui.widgets import transcript_model
from tui.widgets.message_view import MessageView
from tui.widgets.workflow_graphs import feed, graph_for_pack

TURNS = 150


async def _full_view(db: Path) -> tuple[str, list[Event]]:
    store = await Store.open(db)
    try:
        branch = (await store.branches(sessions.SESSION_ID))[0].id
        return branch, await stored_view(store, sessions.SESSION_ID, branch)
    finally:
        await store.close()


def _app(db: Path) -> AgentChatApp:
    return AgentChatApp(db_path=db, session_id=sessions.SESSION_ID, provider_loader=lambda: None,
                        options=RunOptions(model="openai/test-model"))


def _said(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, MessageCompleted)]


@pytest.fixture
async def long_session(tmp_path: Path) -> tuple[Path, list[Event]]:
    db = tmp_path / "long.db"
    await sessions.build(db, TURNS)
    _, full = await _full_view(db)
    return db, full


async def test_a_long_session_opens_on_its_newest_messages_with_the_whole_cost(
        long_session: tuple[Path, list[Event]]) -> None:
    db, full = long_session
    ledger = CostLedger()
    for event in full:
        if isinstance(event, UsageRecorded):
            ledger.record(event)
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        transcript = screen.transcript
        shown = [e.text for e in transcript.model.entries if e.kind == "message"]
        assert transcript.has_older and 0 < len(shown) < len(_said(full))
        assert shown == _said(full)[-len(shown):]
        last = transcript.views[-1]
        assert isinstance(last, MessageView) and last.entry.text == _said(full)[-1]
        assert screen.cost_pane.total_usd == pytest.approx(ledger.total_usd)
        calls = {r.agent: int(r.calls) for r in screen.cost_pane.rows()}
        assert calls == {agent: cost.calls for agent, cost in ledger.agents.items()}
        assert screen.session.turn == TURNS


async def test_scrolling_to_the_top_loads_older_messages(
        long_session: tuple[Path, list[Event]]) -> None:
    db, full = long_session
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        transcript = screen.transcript
        await pilot.pause()
        loaded = len(transcript.model)
        while len(transcript.model) == loaded:  # up through the loaded page, then past it
            top = transcript.views[0]
            await wait_for(pilot, lambda: transcript.scroll_y > 0, "the view to settle")
            transcript.scroll_home(animate=False, immediate=True)
            await wait_for(pilot, lambda t=top: transcript.views[0] is not t,  # type: ignore[misc]
                           "earlier entries mounted")
        # The view stays on what was on screen (it does not jump to the new top).
        await wait_for(pilot, lambda: transcript.scroll_y > 0, "the view to be restored")
        assert top.is_attached and transcript.view_for(top.index) is top
        shown = [e.text for e in transcript.model.entries if e.kind == "message"]
        assert shown == _said(full)[-len(shown):]

        transcript.focus()
        await pilot.press("home")  # the first message: every older page
        await wait_for(pilot, lambda: not transcript.has_older and transcript.window[0] == 0,
                       "the first page")
        assert [e.text for e in transcript.model.entries if e.kind == "message"] == _said(full)
        first = transcript.views[0]
        assert first.index == 0 and first.entry is transcript.model.entries[0]


async def test_the_timeline_lists_every_turn_and_rolls_back_to_an_old_one(
        long_session: tuple[Path, list[Event]]) -> None:
    db, _ = long_session
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        pane = screen.timeline_pane
        old_branch = screen.session.branch_id
        await wait_for(pilot, lambda: screen.older_timeline is None, "the whole timeline")
        assert [r.turn for r in pane.rows] == list(range(TURNS + 1))
        assert all(r.speaker for r in pane.rows)
        checkpoints = pane.query_one("#timeline-list", OptionList)
        assert checkpoints.option_count == TURNS + 1
        assert pane.current == TURNS  # the newest turn is still the current one

        await pilot.press("f5")
        await wait_for(pilot, lambda: checkpoints.has_focus, "the checkpoint list to focus")
        assert checkpoints.highlighted == TURNS
        checkpoints.highlighted = 3
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ForkPreviewScreen), "the preview")
        preview = app.screen
        assert isinstance(preview, ForkPreviewScreen) and preview.view.turn == 3
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not screen and app.screen.shown, "the new branch")
        forked = app.screen
        assert isinstance(forked, MainScreen)
        assert forked.session.turn == 3 and forked.session.branch_id != old_branch
        assert [r.turn for r in forked.timeline_pane.rows if r.kind == "checkpoint"] == [
            0, 1, 2, 3]


async def test_the_workflow_graph_counts_every_turn_not_only_the_page_shown(
        long_session: tuple[Path, list[Event]]) -> None:
    db, full = long_session
    whole = graph_for_pack(load_pack("design-review"))  # the pack sessions.build uses
    for event in full:
        feed(whole, event)
    assert sum(whole.counts.values()) == TURNS
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        assert screen.transcript.has_older
        await wait_for(pilot, lambda: screen.older_timeline is None, "the older steps")
        graph = screen.workflow_pane.graph
        assert graph.counts == whole.counts
        assert (graph.turn, graph.last, graph.active) == (whole.turn, whole.last, whole.active)


async def test_home_builds_a_long_history_a_slice_at_a_time(
        long_session: tuple[Path, list[Event]], monkeypatch: pytest.MonkeyPatch) -> None:
    # Small slices, so that this history takes many of them (with the loop let go between).
    monkeypatch.setattr(transcript_model, "BUILD_SLICE", 7)
    monkeypatch.setattr(stored, "CONVERT_SLICE", 5)
    db, full = long_session
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        transcript = screen.transcript
        transcript.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: not transcript.has_older and transcript.window[0] == 0,
                       "the first page")
        entries = transcript.model.entries
        assert [e.text for e in entries if e.kind == "message"] == _said(full)
        decisions = [e for e in full if isinstance(e, ModeratorDecision)]
        assert len([e for e in entries if e.kind == "decision"]) == len(decisions)
        assert transcript.views[0].entry is entries[0]
