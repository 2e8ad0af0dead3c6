"""The replay screen: step forward and back, jump, play to the end at high speed, with no model
call and litellm never imported; fork live from a replay, one persona on another model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from agents.session import RunOptions
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text
from tests.tui.app_helpers import is_decision, wait_for, wait_main, wait_state
from tests.tui.timeline_helpers import SESSION_ID, write_branching_session
from tui.app import AgentChatApp
from tui.screens.main import MainScreen
from tui.screens.replay import ReplayScreen, completed_turn
from tui.screens.replay_dialogs import ForkLiveScreen, TurnPromptScreen
from tui.widgets.timeline_pane import TimelinePane

ROOT = Path(__file__).resolve().parents[2]


def replay_app(db: Path, server: ScriptedServer | None = None, *, branch: str | None = "main",
               max_turns: int | None = None) -> AgentChatApp:
    options = RunOptions(model="openai/test-model", api_base=server.url if server else None,
                         max_turns=max_turns)
    return AgentChatApp(db_path=db, session_id=SESSION_ID, branch=branch, replay=True,
                        options=options, provider_loader=lambda: None)


async def wait_replay(pilot: Pilot[Any], app: AgentChatApp) -> ReplayScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen), "the replay screen")
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    return screen


def said(screen: ReplayScreen) -> list[str]:
    return [e.text for e in screen.transcript.model.entries if e.kind == "message"]


def current_checkpoint(screen: ReplayScreen) -> int | None:
    pane = screen.timeline_pane
    return None if pane.current is None else pane.rows[pane.current].turn


async def test_replay_steps_forward_and_back_and_jumps(tmp_path: Path,
                                                       scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    await write_branching_session(db)
    app = replay_app(db, scripted_server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_replay(pilot, app)
        assert screen.replay.position == 0 and said(screen) == []
        assert screen.messages_total == 5 and current_checkpoint(screen) is None

        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: screen.messages_played == 3, "three messages")
        assert said(screen)[-1] == "Reads dominate: cache them for 60 s."
        assert screen.state_pane.state.decisions == ["Cache reads for 60 s"]  # came with it
        assert screen.cost_pane.total_usd == pytest.approx(0.001 + 2 * 0.0025)
        assert completed_turn(screen.replay) == 2 and current_checkpoint(screen) == 2
        assert "turn 2/4 · message 3/5" in str(screen.query_one("#replay-status").render())

        await pilot.press("left")  # back: every pane rebuilt to the point before
        await wait_for(pilot, lambda: screen.messages_played == 2, "one message back")
        assert said(screen) == ["Welcome. Scope: the cache.",
                                "Put Redis in front of the orders API."]
        assert screen.state_pane.state.decisions == []
        assert screen.cost_pane.total_usd == pytest.approx(0.001 + 0.0025)
        assert current_checkpoint(screen) == 1

        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, TurnPromptScreen), "the prompt")
        await pilot.press("9", "enter")
        assert "Turn: type a number from 0–4." in str(app.screen.query_one("#turn-error").render())
        app.screen.query_one(Input).value = ""
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.messages_played == 4,
                       "the jump to turn 3")
        assert [a.text for a in screen.state_pane.state.action_items] == ["Load test"]
        assert completed_turn(screen.replay) == 3 and current_checkpoint(screen) == 3

        screen.timeline_pane.post_message(TimelinePane.CheckpointSelected(1))
        await wait_for(pilot, lambda: screen.messages_played == 2, "the jump from the timeline")
        assert said(screen)[-1] == "Put Redis in front of the orders API."
    assert scripted_server.requests == []


async def test_replay_plays_to_the_end_at_high_speed(tmp_path: Path,
                                                     scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    written = await write_branching_session(db)
    app = replay_app(db, scripted_server, branch=None)  # the head: the forked branch
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_replay(pilot, app)
        assert screen.data.branch_id == written.fork
        await pilot.press("plus", "plus", "plus", "plus")
        assert screen.speed == 8.0 and screen.interval_s == pytest.approx(0.1)
        await pilot.press("minus")
        assert screen.speed == 4.0
        await pilot.press("plus", "space")  # plays on its own from here
        await wait_for(pilot, lambda: screen.replay.at_end and not screen.playing, "the end")
        assert said(screen) == [
            "Welcome. Scope: cache and costs.", "Put Redis in front of the orders API.",
            "Reads dominate: cache them for 60 s.", "Skip the load test; canary it.",
            "Plan written."]  # the edited opening, shown as edited on this branch
        assert screen.state_pane.state.decisions == [
            "Cache reads for 60 s", "Canary instead of a load test"]
        assert "■ end" in str(screen.query_one("#replay-status").render())
        assert app.provider_status == "loading provider…"  # never loaded: no provider needed
    assert scripted_server.requests == []


REPLAY_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from tests.tui.timeline_helpers import write_branching_session
from tui.app import AgentChatApp
from tui.screens.replay import ReplayScreen

async def main() -> None:
    db = Path(sys.argv[1])
    written = await write_branching_session(db)
    app = AgentChatApp(db_path=db, session_id=written.session_id, replay=True)
    async with app.run_test(size=(120, 40)) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not isinstance(app.screen, ReplayScreen) and loop.time() < deadline:
            await pilot.pause(0.01)
        screen = app.screen
        screen.speed = 8.0
        await pilot.press("space")
        while (not screen.replay.at_end or screen.playing) and loop.time() < deadline:
            await pilot.pause(0.01)
        await pilot.press("left", "right")
        await app.workers.wait_for_complete()
        played = screen.messages_played
    print(json.dumps({"litellm": "litellm" in sys.modules, "played": played}))

asyncio.run(main())
"""


def test_a_replay_never_imports_litellm(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           # No route anywhere: a model call could not succeed even if one were attempted.
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", REPLAY_SCRIPT, str(tmp_path / "r.db")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"litellm": False, "played": 5}


class Chooses:
    """Decisions always give the floor to ``persona``; texts are the default ones."""

    def __init__(self, persona: str) -> None:
        self.persona = persona
        self.default = DefaultResponder()

    def __call__(self, body: dict[str, Any]) -> Reply:
        if is_decision(body):
            return Text(json.dumps({"speakers": [self.persona], "reason": "Your turn.",
                                    "done": False}))
        return self.default(body)


async def test_fork_live_from_a_replay_with_another_model_for_one_persona(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    db = tmp_path / "chat.db"
    written = await write_branching_session(db)
    scripted_server.responder = Chooses("sre")
    app = replay_app(db, scripted_server, max_turns=3)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_replay(pilot, app)
        await pilot.press("f")  # nothing played yet: nothing to fork from
        assert not isinstance(app.screen, ForkLiveScreen)
        await pilot.press("right", "right", "right", "right")
        await wait_for(pilot, lambda: screen.messages_played == 4, "four messages")
        await pilot.press("left")  # back to the end of turn 2
        await wait_for(pilot, lambda: screen.messages_played == 3, "back one")
        assert screen.fork_turn() == 2
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForkLiveScreen), "the fork form")
        form = app.screen
        assert isinstance(form, ForkLiveScreen) and form.turn == 2
        form.query_one(Input).value = "openai/other-model"
        await pilot.press("ctrl+s")  # a model without a persona: refused
        assert "Persona: pick who speaks" in str(form.query_one("#fork-live-error").render())
        form.query_one(Select).value = "sre"
        await pilot.press("ctrl+s")

        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the live branch")
        main = await wait_state(pilot, app, "ended", timeout=60)
        assert main.session.turn == 3
        assert main.session.branch_id not in (written.main, written.fork)
    bodies = scripted_server.chat_bodies
    texts = [b for b in bodies if not is_decision(b)]
    assert [b["model"] for b in bodies if is_decision(b)] == ["test-model"]
    assert [b["model"] for b in texts] == ["other-model"]  # the persona's own model
    assert "Reads dominate" in json.dumps(texts[0]["messages"])  # it continues from turn 2


async def test_the_sessions_screen_plays_a_session(tmp_path: Path) -> None:
    from tui.screens.sessions import SessionsScreen

    db = tmp_path / "chat.db"
    written = await write_branching_session(db)
    app = AgentChatApp(db_path=db, session_id=SESSION_ID, provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await wait_main(pilot, app)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen)
                       and app.screen.rows, "the sessions")
        await pilot.press("p")
        screen = await wait_replay(pilot, app)
        assert screen.data.session_id == SESSION_ID and screen.data.branch_id == written.fork
        await pilot.press("escape")  # back where it was opened from
        await wait_for(pilot, lambda: app.screen is main, "the main screen")


def test_replay_screen_snapshot(tmp_path: Path, snap_compare: Callable[..., bool]) -> None:
    db = tmp_path / "snap.db"
    asyncio.run(write_branching_session(db))

    async def three_messages(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AgentChatApp)
        screen = await wait_replay(pilot, app)
        await pilot.press("right", "right", "right")
        await wait_for(pilot, lambda: screen.messages_played == 3, "three messages")
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(replay_app(db), terminal_size=(120, 40), run_before=three_messages)
