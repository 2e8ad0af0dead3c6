"""The app's session switching: open the store when first needed, start, reopen, replay and fork
sessions, and show them on the main screen. ``AgentChatApp`` builds on this.

The engine (sessions, the store, pydantic) and the main screen are imported here only when a
session is shown, never for the start screen's first frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

if TYPE_CHECKING:
    from agents.llm.client import LLMClient
    from agents.session import Session
    from agents.session_options import RunOptions
    from agents.store import Store
    from personas.models import Pack
    from tui.bridge import Bridge
    from tui.screens.main import MainScreen


class SessionsApp(App[None]):
    """The session half of ``AgentChatApp``; its ``__init__`` sets the attributes below."""

    options: RunOptions
    store: Store | None
    _db_path: Path | None
    _llm: LLMClient | None
    _bridges: list[Bridge]
    _store_lock: asyncio.Lock
    _store_failed: bool

    @property
    def db_path(self) -> Path:
        """The database file (the default one, worked out on first use, when none was given)."""
        if self._db_path is None:
            from agents.store import default_db_path

            self._db_path = default_db_path()
        return self._db_path

    def ensure_provider(self) -> None:
        """Start loading the LLM provider (``AgentChatApp`` does)."""
        raise NotImplementedError

    def show_start(self) -> None:
        """Show the start screen (``AgentChatApp`` does)."""
        raise NotImplementedError

    def show_error(self, title: str, message: str, *, exit_after: bool = False,
                   then: Callable[[], object] | None = None) -> None:
        from tui.screens.error import ErrorScreen

        def closed(_: None) -> None:
            if exit_after:
                self.exit(return_code=2)
            elif then is not None:
                then()

        self.push_screen(ErrorScreen(title, message), callback=closed)

    async def open_store(self) -> Store | None:
        """The app's store, opened on first use; None, after an error screen that quits the
        app, when the database cannot be opened."""
        async with self._store_lock:
            if self.store is None and not self._store_failed:
                from tui.background import import_in_thread

                await import_in_thread("agents.store")
                from agents.store import Store, StoreError

                try:
                    self.store = await Store.open(self.db_path)
                except StoreError as exc:
                    self._store_failed = True
                    self.show_error("Cannot open the database", str(exc), exit_after=True)
        return self.store

    async def start_session(self, pack: str | Pack, topic: str, options: RunOptions, *,
                            exit_on_error: bool = False) -> None:
        from agents.session import Session
        from agents.store import StoreError
        from personas.loader import PackError, load_pack

        store = await self.open_store()
        if store is None:
            return
        fallback = None if exit_on_error else self.show_start
        try:
            loaded = load_pack(pack) if isinstance(pack, str) else pack
            session = await Session.start(pack=loaded, topic=topic, store=store,
                                          options=options, llm=self._llm)
        except (PackError, StoreError) as exc:
            self.show_error("Cannot start the session", str(exc), exit_after=exit_on_error,
                            then=fallback)
            return
        await self.show_session(session, autostart=True)

    async def open_session(self, session_id: str, *, branch: str | None = None,
                           exit_on_error: bool = False, history: list[str] | None = None,
                           make_head: bool = False) -> None:
        """Reopen a saved session (stopping any running one first) and show its history.
        ``branch`` (a branch name or id) picks a branch other than the session's head;
        ``make_head`` makes it the head (switching branch), so a later reopen lands there."""
        from agents.session import Session
        from agents.store import StoreError

        store = await self.open_store()
        if store is None:
            return
        await self.stop_runs()
        try:
            branch_id = await self._branch_id(session_id, branch) if branch else None
            if make_head and branch_id is not None:
                await store.set_head(session_id, branch_id)
            session = await Session.reopen(store=store, session_id=session_id,
                                           options=self.options, llm=self._llm,
                                           branch_id=branch_id)
        except StoreError as exc:
            self.show_error("Cannot open the session", str(exc), exit_after=exit_on_error)
            return
        if make_head:
            name = await self._branch_name(session)
            notice = (f"On branch {name} at turn {session.turn}. /resume continues it; the "
                      "other branches are kept.")
        else:
            notice = (f"Reopened “{session.topic[:60]}” at turn {session.turn}. /resume "
                      "continues; nothing was sent to a model.")
        await self.show_session(session, notice=notice, history=history)

    async def _branch_name(self, session: Session) -> str:
        assert self.store is not None
        rows = await self.store.branches(session.id)
        return next((row.name for row in rows if row.id == session.branch_id), "?")

    async def _branch_id(self, session_id: str, branch: str) -> str:
        from agents.store import StoreError

        assert self.store is not None
        for row in await self.store.branches(session_id):
            if branch in (row.id, row.name):
                return row.id
        raise StoreError(f"session {session_id} has no branch {branch!r}; "
                         f"`agentchat sessions show {session_id}` lists its branches")

    async def show_session(self, session: Session, *, notice: str | None = None,
                           history: list[str] | None = None, autostart: bool = False) -> None:
        """Show ``session`` with its newest stored events replayed (no model call); the main
        screen loads the older ones when they are scrolled to, its timeline after the first
        frame."""
        from agents.store import StoreError
        from tui.bridge import stored_view
        from tui.screens.main import MainScreen

        assert self.store is not None
        try:
            events = await stored_view(self.store, session.id, session.branch_id, tail=True)
        except StoreError as exc:
            self.show_error("Cannot read the session", str(exc))
            return
        self.ensure_provider()
        screen = MainScreen(session, replay=events, autostart=autostart, notice=notice,
                            history=history)
        self._bridges = [b for b in self._bridges if b.running] + [screen.bridge]
        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
            await self.pop_screen()
        if isinstance(self.screen, MainScreen):
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)

    async def show_replay(self, session_id: str, *, branch: str | None = None,
                          exit_on_error: bool = False) -> None:
        """Play a saved session back (no model call) on the replay screen."""
        from agents.store import StoreError
        from tui.screens.replay import ReplayScreen, load_replay

        store = await self.open_store()
        if store is None:
            return
        try:
            data = await load_replay(store, session_id, branch)
        except StoreError as exc:
            self.show_error("Cannot replay the session", str(exc), exit_after=exit_on_error)
            return
        screen = ReplayScreen(data)
        if isinstance(self.screen, ReplayScreen):
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)

    async def fork_live(self, session_id: str, branch_id: str, turn: int, *,
                        persona_models: dict[str, str] | None = None) -> None:
        """From a replay: fork a new branch at ``turn`` and run it live with the current models
        (``persona_models`` gives some personas another model)."""
        from dataclasses import replace

        from agents.session import Session
        from agents.store import StoreError

        store = await self.open_store()
        if store is None:
            return
        await self.stop_runs()
        options = replace(self.options, persona_models={**self.options.persona_models,
                                                        **(persona_models or {})})
        try:
            session = await Session.reopen(store=store, session_id=session_id,
                                           options=options, llm=self._llm, branch_id=branch_id)
            forked = await session.rollback(turn)
        except (StoreError, ValueError) as exc:
            self.show_error("Cannot fork the session", str(exc))
            return
        others = "".join(f"; {persona} speaks with {model}"
                         for persona, model in (persona_models or {}).items())
        notice = (f"Forked live at turn {turn} on new branch {forked.name}{others}. The "
                  "replayed branch is kept.")
        await self.show_session(session, notice=notice, autostart=True)

    @property
    def main_screen(self) -> MainScreen | None:
        from tui.screens.main import MainScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    async def stop_runs(self) -> None:
        for bridge in list(self._bridges):
            await bridge.stop()
