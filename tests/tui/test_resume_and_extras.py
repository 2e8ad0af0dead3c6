"""Resuming a stopped or interrupted session from the Sessions screen (routing restored), the
command-line flags pre-filling the start screen, and the patterns guide on the main screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Input

from agents.session import RunOptions
from tests.support.openai_server import ScriptedServer
from tests.tui.app_helpers import (
    TOPIC,
    SlowTexts,
    make_app,
    wait_for,
    wait_main,
    wait_state,
    write_session,
)
from tui.app import AgentChatApp
from tui.screens.main import MainScreen
from tui.screens.patterns_help import PatternsHelpScreen
from tui.screens.sessions import SessionsScreen
from tui.screens.start import StartScreen


def spoken(screen: MainScreen) -> list[tuple[int, str]]:
    """(turn, persona) of every persona message after the opening."""
    return [(e.turn, e.agent) for e in screen.transcript.model.entries
            if e.kind == "message" and e.agent not in ("human", "chief") and not e.interrupted]


def reopen_from_the_sessions_screen(db: Path, server: ScriptedServer,
                                    max_turns: int) -> AgentChatApp:
    return AgentChatApp(db_path=db, provider_loader=lambda: None,
                        options=RunOptions(model="openai/test-model", api_base=server.url,
                                           max_turns=max_turns))


async def open_the_only_session(app: AgentChatApp, pilot: Pilot[Any]) -> MainScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), "the start screen")
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.rows,
                   "the saved sessions")
    await pilot.press("enter")
    return await wait_main(pilot, app)


async def test_a_stopped_session_resumes_where_its_pipeline_was(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    app = make_app(db, scripted_server, max_turns=2, pack="writing-pipeline")
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_state(pilot, app, "ended", timeout=60)
        assert spoken(first) == [(1, "outliner"), (2, "writer")]
        routing = first.session.pattern.save()

    again = reopen_from_the_sessions_screen(db, scripted_server, max_turns=4)
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await open_the_only_session(again, pilot)
        assert screen.session.turn == 2 and screen.run_state == "idle"
        assert screen.session.pattern.save() == routing  # the routing state came back
        await pilot.press("f7")
        await wait_state(pilot, again, "ended", timeout=60)
        assert spoken(screen) == [(1, "outliner"), (2, "writer"), (3, "editor"), (4, "checker")]


async def test_an_interrupted_session_resumes_from_its_last_checkpoint(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    scripted_server.responder = SlowTexts()
    app = make_app(db, scripted_server, max_turns=4, pack="writing-pipeline")
    async with app.run_test(size=(120, 40)) as pilot:
        first = await wait_main(pilot, app)
        entries = first.transcript.model.entries
        await wait_for(pilot, lambda: any(
            e.streaming and e.agent == "writer" and e.text for e in entries),
            "the writer to be streaming (turn 2)", timeout=60)
        await pilot.press("f9")
        await wait_state(pilot, app, "ended", timeout=60)

    scripted_server.reset()
    again = reopen_from_the_sessions_screen(db, scripted_server, max_turns=2)
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await open_the_only_session(again, pilot)
        assert screen.session.turn == 1  # the last checkpoint: turn 2 never finished
        cut = [e for e in screen.transcript.model.entries if e.interrupted]
        assert [e.agent for e in cut] == ["writer"]  # kept, and shown as interrupted
        await pilot.press("f7")
        await wait_state(pilot, again, "ended", timeout=60)
        assert spoken(screen) == [(1, "outliner"), (2, "writer")]  # the writer again, turn 2
        assert screen.session.turn == 2


async def test_command_line_flags_prefill_the_start_screen_and_win(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    options = RunOptions(model="openai/test-model", api_base=scripted_server.url, max_turns=1,
                         budget_usd=2.5)
    app = AgentChatApp(db_path=tmp_path / "chat.db", options=options,
                       provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), "the start screen")
        start = app.screen
        await pilot.pause()
        values = [start.query_one(s, Input).value for s in ("#model", "#budget", "#max-turns")]
        assert values == ["openai/test-model", "2.5", "1"]
        start.query_one("#topic", Input).value = TOPIC
        await pilot.press("ctrl+s")
        screen = await wait_state(pilot, app, "ended", timeout=60)
        assert screen.session.max_turns == 1 and screen.session.budget_usd == 2.5
        assert screen.session.model == "openai/test-model"


async def test_the_patterns_guide_opens_from_a_key_and_the_palette(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    sid = await write_session(db, messages=1)
    app = AgentChatApp(db_path=db, session_id=sid, provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await wait_main(pilot, app)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, PatternsHelpScreen), "the guide")
        assert app.screen.current == "group_chat"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main, "the guide to close")
        await pilot.press("ctrl+p")
        await pilot.press(*"patterns guide")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0,
                       "the palette's matches")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PatternsHelpScreen),
                       "the guide from the palette")
