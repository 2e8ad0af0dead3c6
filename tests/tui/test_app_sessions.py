"""Saved sessions: reopening shows stored events without a model call; the sessions screen
switches between them; a 10,000-message session stays light."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from agents.session import RunOptions
from tests.support.openai_server import ScriptedServer
from tests.tui.app_helpers import (
    TOPIC,
    wait_for,
    wait_main,
    wait_state,
    write_many_messages,
    write_session,
)
from tui.app import AgentChatApp
from tui.screens.main import MainScreen
from tui.widgets.entry_line import EntryLine, entry_text
from tui.widgets.message_view import MessageView
from tui.widgets.transcript import Transcript


def reopen_app(db: Path, session_id: str, server: ScriptedServer | None = None,
               max_turns: int | None = None) -> AgentChatApp:
    options = RunOptions(model="openai/test-model", api_base=server.url if server else None,
                         max_turns=max_turns)
    return AgentChatApp(db_path=db, session_id=session_id, options=options,
                        provider_loader=lambda: None)


async def test_a_reopened_session_shows_its_history_without_a_model_call(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    sid = await write_session(db, messages=4)
    app = reopen_app(db, sid, scripted_server, max_turns=6)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await pilot.pause()
        entries = screen.transcript.model.entries
        assert [e.name for e in entries if e.kind == "message"] == [
            "Maya, Review Chair", "Priya, Systems Architect", "Jordan, Product Manager",
            "Sam, Reliability Engineer", "Lena, Security Engineer"]
        assert entries[-1].interrupted  # stored as interrupted, shown as interrupted
        fallback = [entry_text(e).plain for e in entries if e.kind == "decision" and e.fallback]
        assert len(fallback) == 1 and "fallback: invalid decision twice" in fallback[0]
        assert any(isinstance(v, EntryLine) for v in screen.transcript.views)
        assert screen.state_pane.state.decisions == ["Cache reads for 60 s"]
        assert {r.agent: r.calls for r in screen.cost_pane.rows()}["product"] == "1"
        assert "unpriced" in str(screen.cost_pane.query_one("#cost-total").render())
        assert [r.turn for r in screen.timeline_pane.rows] == [0, 1, 2, 3, 4]
        timeline = screen.timeline_pane.query_one("#timeline-list", OptionList)
        assert timeline.option_count == 5
        assert screen.run_state == "idle" and screen.session.turn == 4
        assert "idle · turn 4/6" in str(screen.query_one("#run-status").render())
        assert screen.title == TOPIC
        assert scripted_server.chat_bodies == []

        # It goes on, live, from where it was: "Step one turn" from the command palette.
        await pilot.press("ctrl+p")
        await pilot.press(*"step one")
        from textual.command import CommandList

        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0,
                       "the palette's matches")
        prompt = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt)
        assert "Step one turn" in prompt
        await pilot.press("enter")
        await wait_state(pilot, app, "paused", timeout=60)
        assert screen.session.turn == 5 and len(scripted_server.chat_bodies) == 2


async def test_the_sessions_screen_opens_another_session(tmp_path: Path,
                                                         scripted_server: ScriptedServer) -> None:
    from textual.widgets import DataTable

    from tui.screens.sessions import SessionsScreen

    db = tmp_path / "chat.db"
    sid = await write_session(db, messages=2, topic="The saved one")
    app = AgentChatApp(db_path=db, pack="design-review", topic="The live one",
                       options=RunOptions(model="openai/test-model", api_base=scripted_server.url,
                                          max_turns=1))
    async with app.run_test(size=(120, 40)) as pilot:
        live = await wait_state(pilot, app, "ended", timeout=60)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), "the sessions")
        table = app.screen.query_one("#sessions-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "both sessions listed")
        table.move_cursor(row=table.get_row_index(sid))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not live and app.screen.shown, "the saved session")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.session.id == sid and screen.title == "The saved one"
        assert len(app.screen_stack) == 2  # the default screen and this one: nothing piles up


async def test_ten_thousand_stored_messages_mount_a_bounded_window(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    sid = await write_many_messages(db, 10_000)
    app = reopen_app(db, sid)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await pilot.pause()
        transcript = screen.transcript
        assert len(transcript.model) == 10_000
        assert len(transcript.query(MessageView)) == Transcript.WINDOW
        last = transcript.views[-1]
        assert isinstance(last, MessageView) and last.entry.text == "Message number 9999."
        for _ in range(3):
            transcript.scroll_home(animate=False, immediate=True)
            before = transcript.window[0]
            await wait_for(pilot, lambda b=before: transcript.window[0] < b,  # type: ignore[misc]
                           "an earlier page")
            assert len(transcript.query(MessageView)) <= Transcript.MAX_MOUNTED
            # The view stays on what was on screen (it does not jump to the new top).
            await wait_for(pilot, lambda: transcript.scroll_y > 0, "the view to be restored")
