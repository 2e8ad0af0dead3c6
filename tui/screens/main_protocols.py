"""What the main screen expects of its panes and of the app that hosts it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agents.events import Event
from agents.session import Session


class Pane(Protocol):
    def handle(self, event: Event) -> None: ...
    def reset(self) -> None: ...


class AppWithSessions(Protocol):
    """What the main screen needs from the app (see :class:`tui.app.AgentChatApp`)."""

    async def show_session(self, session: Session, *, notice: str | None = None,
                           history: list[str] | None = None, autostart: bool = False) -> None: ...

    async def open_session(self, session_id: str, *, branch: str | None = None,
                           exit_on_error: bool = False, history: list[str] | None = None,
                           make_head: bool = False) -> None: ...

    async def show_replay(self, session_id: str, *, branch: str | None = None,
                          exit_on_error: bool = False) -> None: ...

    def when_ready(self, callback: Callable[[], object]) -> None: ...
