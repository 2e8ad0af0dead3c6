"""Helpers shared by the engine tests: run options for the scripted server, collecting events,
and reading the request bodies the server recorded."""

from __future__ import annotations

from typing import Any

from agents.events import Event
from agents.session import RunOptions, Session
from tests.support.openai_server import ScriptedServer


def server_options(server: ScriptedServer, max_turns: int = 8, **kw: Any) -> RunOptions:
    """Run options pointing every persona at the scripted server's unpriced test model."""
    base: dict[str, Any] = {"model": "openai/test-model", "api_base": server.url,
                            "max_turns": max_turns}
    base.update(kw)
    return RunOptions(**base)


async def collect(session: Session) -> list[Event]:
    """Run the session to its end and return every event it emitted."""
    return [event async for event in session.events()]


def is_decision(body: dict[str, Any]) -> bool:
    """A structured orchestration call (moderator, router, planner) rather than a message."""
    return "response_format" in body


def last_user(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])
