"""Helpers for the app tests: build the app against the scripted server, wait on conditions,
type into the chat input, and write deterministic sessions straight into a store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from agents.events import (
    MessageCompleted,
    ModeratorDecision,
    SessionStarted,
    StatePatched,
    TurnStarted,
    UsageRecorded,
    event_payload,
)
from agents.session import RunOptions
from agents.state import ActionItem, SharedState, StatePatch
from agents.store import Store
from personas.loader import load_pack
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text
from tui.app import AgentChatApp
from tui.screens.main import MainScreen

TOPIC = "Add a read-through cache in front of the orders API"


def make_app(db_path: Path, server: ScriptedServer | None = None, *, max_turns: int = 3,
             pack: str | None = "design-review", topic: str | None = TOPIC,
             **kwargs: Any) -> AgentChatApp:
    options = RunOptions(model="openai/test-model", api_base=server.url if server else None,
                         max_turns=max_turns, human_seats=kwargs.pop("human_seats", frozenset()))
    return AgentChatApp(db_path=db_path, pack=pack, topic=topic, options=options, **kwargs)


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], object], what: str,
                   timeout: float = 30.0) -> None:
    """Poll ``predicate`` between tiny pauses until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.01)


def main_of(app: AgentChatApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), f"expected the main screen, got {screen!r}"
    return screen


async def wait_main(pilot: Pilot[Any], app: AgentChatApp) -> MainScreen:
    """The main screen, once its history and panes are drawn."""
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.shown,
                   "the main screen")
    return main_of(app)


async def wait_state(pilot: Pilot[Any], app: AgentChatApp, state: str,
                     timeout: float = 30.0) -> MainScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                   and app.screen.run_state == state, f"run state {state!r}", timeout)
    return main_of(app)


async def send_line(pilot: Pilot[Any], app: AgentChatApp, text: str) -> None:
    """Type ``text`` into the chat input and press Enter."""
    screen = main_of(app)
    screen.chat_input.focus()
    screen.chat_input.value = text
    await pilot.press("enter")
    await pilot.pause()


def notifications(app: AgentChatApp) -> list[str]:
    """The notifications on screen now (they expire after a few seconds)."""
    return [n.message for n in app._notifications]


def record_notifications(app: AgentChatApp) -> list[str]:
    """Every notification the app shows from now on, kept after it has expired from the screen."""
    shown: list[str] = []
    notify = app.notify

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        shown.append(message)
        notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return shown


def messages_text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("messages", []))


def is_decision(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


class SlowTexts:
    """The default replies, but persona texts stream slowly (decisions stay instant)."""

    def __init__(self, delay_s: float = 0.03) -> None:
        self.default = DefaultResponder()
        self.delay_s = delay_s

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = self.default(body)
        if is_decision(body) or not isinstance(reply, Text):
            return reply
        return Text(reply.content * 2, chunk_size=4, delay_s=self.delay_s)


async def write_session(db_path: Path, *, messages: int = 6, topic: str = TOPIC) -> str:
    """A finished design-review session written straight to the store, identical every time
    except for its random ids: ``messages`` persona messages after the opening, one per turn."""
    pack = load_pack("design-review")
    speakers = list(pack.speakers)
    store = await Store.open(db_path)
    try:
        sid = "snapshot0001"
        branch = await store.create_session(
            session_id=sid, title=topic, topic=topic, pack_name=pack.name,
            pack_json=pack.model_dump(mode="json"), model="openai/test-model")
        rows: list[tuple[str, str, dict[str, Any]]] = []
        state = SharedState(goal=topic)

        def add(event: Any) -> None:
            rows.append((event.kind, getattr(event, "agent", ""), event_payload(event)))

        add(SessionStarted(title=topic, pack=pack.name, topic=topic, model="openai/test-model",
                           model_note="Using openai/test-model (from --model)."))
        mod = pack.moderator
        add(MessageCompleted(message_id="m0", agent=mod.id, name=mod.name, role=mod.role,
                             turn=0, text=f"Welcome. We review **{topic.lower()}**."))
        add(UsageRecorded(agent=mod.id, model="openai/test-model", turn=0, prompt_tokens=700,
                          completion_tokens=20, latency_ms=120.0, cost_usd=None))
        checkpoints: list[tuple[int, int]] = [(0, len(rows))]
        for turn in range(1, messages + 1):
            persona = speakers[(turn - 1) % len(speakers)]
            add(ModeratorDecision(turn=turn, speakers=[persona.id], reason=f"{persona.name} "
                                  f"covers point {turn}.", fallback=turn == 2,
                                  fallback_reason="invalid decision twice" if turn == 2 else ""))
            add(UsageRecorded(agent=mod.id, model="openai/test-model", turn=turn,
                              prompt_tokens=650, completion_tokens=20, latency_ms=80.0,
                              cost_usd=None, overhead=True))
            add(TurnStarted(turn=turn, speakers=[persona.id]))
            add(MessageCompleted(
                message_id=f"m{turn}", agent=persona.id, name=persona.name, role=persona.role,
                turn=turn, text=f"Point {turn}: keep the cache *small*.\n\n- TTL 60 s\n- "
                f"invalidate on write", interrupted=turn == messages))
            add(UsageRecorded(agent=persona.id, model="openai/test-model", turn=turn,
                              prompt_tokens=800, completion_tokens=40, latency_ms=200.0,
                              cost_usd=None))
            if turn == 3:
                patch = StatePatch(add_decisions=["Cache reads for 60 s"],
                                   add_action_items=[ActionItem(text="Load test", owner="sre")])
                from agents.state import apply_patch

                state = apply_patch(state, patch, persona.id)
                add(StatePatched(agent=persona.id, turn=turn, patch=patch, state=state))
            checkpoints.append((turn, len(rows)))
        seqs = await store.append_events(sid, branch, rows)
        for turn, count in checkpoints:
            await store.add_checkpoint(sid, branch, seq=seqs[count - 1], turn=turn,
                                       state=state.model_dump(mode="json"),
                                       label=f"checkpoint of turn {turn}")
        return sid
    finally:
        await store.close()


async def write_many_messages(db_path: Path, count: int) -> str:
    """A session holding ``count`` short messages (and no model calls to replay)."""
    pack = load_pack("design-review")
    store = await Store.open(db_path)
    try:
        sid = "bigsession01"
        branch = await store.create_session(
            session_id=sid, title="Ten thousand messages", topic="Ten thousand messages",
            pack_name=pack.name, pack_json=pack.model_dump(mode="json"),
            model="openai/test-model")
        people = pack.personas

        def rows() -> Iterable[tuple[str, str, dict[str, Any]]]:
            for i in range(count):
                p = people[i % len(people)]
                event = MessageCompleted(message_id=f"m{i}", agent=p.id, name=p.name,
                                         role=p.role, turn=i, text=f"Message number {i}.")
                yield event.kind, p.id, event_payload(event)

        await store.append_events(sid, branch, rows())
        last = await store.events(sid, branch)
        await store.add_checkpoint(sid, branch, seq=last[-1].seq, turn=count - 1,
                                   state=SharedState(goal="Ten thousand").model_dump(mode="json"),
                                   label="the end")
        return sid
    finally:
        await store.close()


__all__ = [
    "TOPIC",
    "SlowTexts",
    "is_decision",
    "main_of",
    "make_app",
    "messages_text",
    "notifications",
    "send_line",
    "wait_for",
    "wait_main",
    "wait_state",
    "write_many_messages",
    "write_session",
]
