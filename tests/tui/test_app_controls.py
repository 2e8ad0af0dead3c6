"""Run control from the input and the keys: pause, step, resume, stop, budget, turns, seats,
rollback, unknown commands."""

from __future__ import annotations

from pathlib import Path

from agents.store import Store
from tests.support.openai_server import ScriptedServer
from tests.tui.app_helpers import (
    SlowTexts,
    make_app,
    messages_text,
    notifications,
    send_line,
    wait_for,
    wait_main,
    wait_state,
)
from tui.screens.main import MainScreen
from tui.widgets.message_view import MessageView


async def test_pause_step_resume_then_stop(tmp_path: Path,
                                           scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=6)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await send_line(pilot, app, "/pause")
        await wait_state(pilot, app, "paused", timeout=60)
        turn, calls = screen.session.turn, len(scripted_server.chat_bodies)
        assert "Paused" in screen.transcript.model.entries[-1].text

        await send_line(pilot, app, "/step")  # exactly one turn: one decision, one reply
        await wait_for(pilot, lambda: screen.session.turn == turn + 1
                       and screen.run_state == "paused", "one step")
        assert len(scripted_server.chat_bodies) == calls + 2
        assert screen.session.paused and screen.bridge.running

        await pilot.press("f8")  # the Step key does the same
        await wait_for(pilot, lambda: screen.session.turn == turn + 2
                       and screen.run_state == "paused", "another step")
        assert len(scripted_server.chat_bodies) == calls + 4

        # Slow enough that the message is still streaming when "/stop" has been typed, however
        # loaded the machine is (stopping cancels it at once, so this costs no time).
        scripted_server.responder = SlowTexts(delay_s=0.5)
        entries = screen.transcript.model.entries
        await send_line(pilot, app, "/resume")
        await wait_for(pilot, lambda: entries[-1].streaming, "the next message to stream")
        await send_line(pilot, app, "/stop")
        await wait_state(pilot, app, "ended", timeout=60)
        assert screen.end_reason == "user" and not screen.bridge.running
        assert screen.session.turn == turn + 3 and entries[-2].interrupted


async def test_stop_keeps_a_streaming_message_marked_interrupted(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    scripted_server.responder = SlowTexts()
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        entries = screen.transcript.model.entries
        await wait_for(pilot, lambda: any(e.streaming and len(e.text) > 20 for e in entries),
                       "a message to be streaming", timeout=60)
        await pilot.press("f9")
        await wait_state(pilot, app, "ended", timeout=60)
        interrupted = [e for e in entries if e.interrupted]
        assert len(interrupted) == 1 and interrupted[0].text
        view = screen.transcript.view_for(entries.index(interrupted[0]))
        assert isinstance(view, MessageView) and not view.is_streaming
        assert "interrupted" in view.header.plain
        assert screen.end_reason == "user"


async def test_f7_pauses_and_resumes(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=4)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await wait_for(pilot, lambda: screen.bridge.running, "the run to start")
        await pilot.press("f7")
        assert screen.run_state in ("pausing", "paused") and screen.session.paused
        await wait_state(pilot, app, "paused", timeout=60)
        await pilot.press("f7")
        await wait_state(pilot, app, "ended", timeout=60)
        assert screen.end_reason == "max_turns" and screen.session.turn == 4


async def test_unknown_and_malformed_commands_are_one_line_notifications(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_state(pilot, app, "ended", timeout=60)
        count = len(screen.transcript.model)
        await send_line(pilot, app, "/frobnicate now")
        await send_line(pilot, app, "/budget lots")
        await send_line(pilot, app, "/seat nobody")
        told = notifications(app)
        assert "Unknown command /frobnicate; /help lists the commands." in told
        assert "/budget needs an amount in USD, e.g. /budget 2.50." in told
        assert any(t.startswith("No persona 'nobody' here") for t in told)
        assert all("\n" not in t for t in told)
        assert len(screen.transcript.model) == count  # nothing was said to the group


async def test_budget_turns_and_seat_commands(tmp_path: Path,
                                              scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_state(pilot, app, "ended", timeout=60)
        await send_line(pilot, app, "/budget 2.5")
        assert screen.session.budget_usd == 2.5 and screen.cost_pane.budget_usd == 2.5
        await send_line(pilot, app, "/turns 9")
        assert screen.session.max_turns == 9
        await send_line(pilot, app, "/seat sre")
        assert screen.session.human_seats == {"sre"}
        status = str(screen.query_one("#run-status").render())
        assert "turn 1/9" in status and "budget $2.50" in status and "your seat: sre" in status
        await send_line(pilot, app, "/unseat sre")
        assert screen.session.human_seats == set()


async def test_the_human_writes_the_turn_of_the_seat_they_hold(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    from tui.screens.human_turn import HumanTurnScreen

    # The default moderator picks speakers round-robin: the architect speaks first.
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=2,
                   human_seats=frozenset({"architect"}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, HumanTurnScreen)
                       and bool(app.screen.query("#human-editor")),
                       "the human turn modal, composed", timeout=60)
        modal = app.screen
        assert isinstance(modal, HumanTurnScreen)
        assert modal.persona_name == "Priya, Systems Architect"
        assert "Maya, Review Chair:" in modal.context
        from textual.widgets import TextArea

        modal.query_one("#human-editor", TextArea).text = "Shard the cache by tenant."
        await pilot.press("ctrl+s")
        await wait_state(pilot, app, "ended", timeout=60)
        entries = screen.transcript.model.entries
        mine = [e for e in entries if e.text == "Shard the cache by tenant."]
        assert len(mine) == 1 and mine[0].name == "Priya, Systems Architect (you)"
    assert any("Shard the cache by tenant." in messages_text(b)
               for b in scripted_server.chat_bodies)


async def test_rollback_forks_a_branch_and_resume_continues_it(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    app = make_app(db, scripted_server, max_turns=3)
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_state(pilot, app, "ended", timeout=60)
        history = list(first.chat_input.history)
        old_branch = first.session.branch_id
        await send_line(pilot, app, "/rollback 1")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not first and app.screen.shown,
                       "the forked branch on screen")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.session.turn == 1 and screen.session.id == first.session.id
        assert screen.session.branch_id != old_branch
        texts = [e.text for e in screen.transcript.model.entries]
        assert texts[-1].startswith("Rolled back to turn 1: new branch b2-t1")
        assert [row.turn for row in screen.timeline_pane.rows if row.kind == "checkpoint"] == [0, 1]
        assert screen.chat_input.history == [*history, "/rollback 1"]
        assert any("Rolled back to turn 1" in n for n in notifications(app))

        await send_line(pilot, app, "/resume")
        await wait_state(pilot, app, "ended", timeout=60)
        assert screen.session.turn == 3
    async with await Store.open(db) as store:
        branches = await store.branches(first.session.id)
    assert [b.name for b in branches] == ["main", "b2-t1"]


async def test_rollback_while_running_stops_the_run_first(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    scripted_server.responder = SlowTexts()
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=8)
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_main(pilot, app)
        await wait_for(pilot, lambda: first.timeline_pane.rows and first.bridge.running,
                       "the opening's checkpoint", timeout=60)
        await send_line(pilot, app, "/rollback 0")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                       and app.screen is not first and app.screen.shown,
                       "the forked branch", timeout=60)
        assert first.end_reason == "user" and not first.bridge.running
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.session.turn == 0 and screen.run_state == "idle"


async def test_help_lists_every_binding_with_its_id_and_themes_switch(tmp_path: Path) -> None:
    from textual.binding import Binding

    from tests.tui.app_helpers import write_session
    from tui.app import AgentChatApp
    from tui.screens.help import HelpScreen
    from tui.widgets.chat_input import ChatInput
    from tui.widgets.transcript import Transcript

    db = tmp_path / "chat.db"
    sid = await write_session(db, messages=1)
    app = AgentChatApp(db_path=db, session_id=sid, provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_main(pilot, app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        ids = [row[2] for row in help_screen.key_rows]
        declared = [b.id for owner in (AgentChatApp, MainScreen, Transcript, ChatInput)
                    for b in owner.BINDINGS if isinstance(b, Binding)]
        assert all(declared) and len(set(declared)) == len(declared)
        assert set(declared) <= set(ids)
        commands = [c for c, _ in help_screen.command_rows]
        assert "/rollback TURN" in commands and "/seat ID" in commands
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the help to close")
        for theme in ("textual-light", "nord", "textual-dark"):
            app.theme = theme
            await pilot.pause()
        assert app.theme == "textual-dark" and isinstance(app.screen, MainScreen)
