"""The Textual app: opens the store, shows the start screen (or goes straight to a chat), loads the
LLM provider off the first frame, and switches between sessions."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from agents.llm.client import LLMClient
from agents.session import RunOptions, Session
from agents.store import Store, StoreError
from personas.models import Pack
from tui.bridge import Bridge, stored_view
from tui.commands import AgentChatCommands
from tui.screens.main import MainScreen

PROVIDER_LOADING = "loading provider…"
BENCH_FIRST_FRAME_ENV = "AGENTCHAT_BENCH_EXIT_AFTER_FIRST_FRAME"


def report_first_frame(path: str) -> None:
    """For ``tests/benchmarks``: write when the first frame was shown (``time.monotonic()``) and
    which heavy modules were imported by then, as JSON to ``path``."""
    import json
    import sys
    import time

    heavy = [name for name in ("litellm", "llama_cpp") if name in sys.modules]
    Path(path).write_text(json.dumps({"monotonic": time.monotonic(), "modules": heavy}))


def _load_litellm() -> object:
    from agents.llm.setup import load_litellm

    return load_litellm()


class AgentChatApp(App[None]):
    """``pack`` and ``topic`` start a chat at once; ``session_id`` reopens a saved session (with
    ``replay``: plays it back, and the provider is only loaded if the user forks live); neither
    shows the start screen. ``provider_loader`` (litellm by default) runs in a thread after the
    first frame; ``llm`` replaces the LLM client (tests)."""

    TITLE = "agentchat"
    CSS_PATH = "app.tcss"
    COMMANDS: ClassVar = App.COMMANDS | {AgentChatCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help-question-mark"),
        Binding("f6", "sessions", "Sessions", id="app.sessions"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    provider_status: reactive[str] = reactive(PROVIDER_LOADING)
    """"loading provider…", "ready", or why the provider is unavailable."""

    def __init__(
        self,
        *,
        db_path: Path,
        pack: str | Pack | None = None,
        topic: str | None = None,
        options: RunOptions | None = None,
        session_id: str | None = None,
        branch: str | None = None,
        replay: bool = False,
        provider_loader: Callable[[], object] | None = None,
        llm: LLMClient | None = None,
    ) -> None:
        super().__init__()
        self.db_path = db_path
        self.options = options or RunOptions()
        self.store: Store | None = None
        self._pack = pack
        self._topic = topic
        self._session_id = session_id
        self._branch = branch
        self._replay = replay
        self._provider_started = False
        self._provider_loader = provider_loader or _load_litellm
        self._llm = llm
        self._bridges: list[Bridge] = []
        self._first_frame_shown = False
        self._after_ready: list[Callable[[], object]] = []
        self.litellm_loaded_at_first_frame: bool | None = None
        """Whether litellm was already imported when the first frame was shown (it must not)."""

    def compose(self) -> ComposeResult:
        yield Static("agentchat · starting…", id="splash")

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        self.run_worker(self._boot(), name="boot", group="boot", exit_on_error=False)

    def on_ready(self) -> None:
        """The first frame is on screen: now the slow provider import may start."""
        import sys

        self.litellm_loaded_at_first_frame = "litellm" in sys.modules
        self._first_frame_shown = True
        if os.environ.get(BENCH_FIRST_FRAME_ENV):  # the startup benchmark: report, then quit
            report_first_frame(os.environ[BENCH_FIRST_FRAME_ENV])
            self.exit()
            return
        if not self._replay:  # a replay calls no model: no provider unless it forks live
            self.ensure_provider()
        waiting, self._after_ready = self._after_ready, []
        for callback in waiting:
            self.call_later(callback)

    def when_ready(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the first frame has been shown (at once if it has)."""
        if self._first_frame_shown:
            self.call_after_refresh(callback)
        else:
            self._after_ready.append(callback)

    def ensure_provider(self) -> None:
        """Start loading the LLM provider (in a thread), unless it was started already."""
        if self._provider_started:
            return
        self._provider_started = True
        self.run_worker(self._load_provider, name="provider", group="provider", thread=True,
                        exit_on_error=False)

    def _load_provider(self) -> None:
        try:
            self._provider_loader()
        except Exception as exc:  # a missing or broken provider must not crash the app
            status = f"provider unavailable ({str(exc).splitlines()[0] if str(exc) else exc!r})"
        else:
            status = "ready"
        self.call_from_thread(setattr, self, "provider_status", status)

    async def _boot(self) -> None:
        try:
            self.store = await Store.open(self.db_path)
        except StoreError as exc:
            self.show_error("Cannot open the database", str(exc), exit_after=True)
            return
        if self._session_id is not None and self._replay:
            await self.show_replay(self._session_id, branch=self._branch, exit_on_error=True)
        elif self._session_id is not None:
            await self.open_session(self._session_id, branch=self._branch, exit_on_error=True)
        elif self._pack is not None and self._topic:
            await self.start_session(self._pack, self._topic, self.options, exit_on_error=True)
        else:
            self.show_start()

    def show_error(self, title: str, message: str, *, exit_after: bool = False,
                   then: Callable[[], object] | None = None) -> None:
        from tui.screens.error import ErrorScreen

        def closed(_: None) -> None:
            if exit_after:
                self.exit(return_code=2)
            elif then is not None:
                then()

        self.push_screen(ErrorScreen(title, message), callback=closed)

    def show_start(self) -> None:
        from agents.llm.models import choose_model
        from tui.screens.start import StartScreen

        options = self.options
        note = choose_model(options.model, None).note
        screen = StartScreen(self.db_path, note, model=options.model,
                             budget_usd=options.budget_usd, max_turns=options.max_turns)
        self.push_screen(screen, callback=self._start_chosen)

    def _start_chosen(self, choice: object) -> None:
        from dataclasses import replace

        from tui.screens.choices import ReopenChoice, StartChoice

        if isinstance(choice, StartChoice):
            options = replace(
                self.options, model=choice.model or self.options.model,
                budget_usd=choice.budget_usd or self.options.budget_usd,
                max_turns=choice.max_turns or self.options.max_turns)
            self.run_worker(self.start_session(choice.pack_ref, choice.topic, options),
                            name="start", group="boot", exit_on_error=False)
        elif isinstance(choice, ReopenChoice):
            self.run_worker(self.open_session(choice.session_id), name="open", group="boot",
                            exit_on_error=False)
        else:
            self.exit()

    # ------------------------------------------------------------------ sessions

    async def start_session(self, pack: str | Pack, topic: str, options: RunOptions, *,
                            exit_on_error: bool = False) -> None:
        from personas.loader import PackError, load_pack

        assert self.store is not None
        fallback = None if exit_on_error else self.show_start
        try:
            loaded = pack if isinstance(pack, Pack) else load_pack(pack)
            session = await Session.start(pack=loaded, topic=topic, store=self.store,
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
        assert self.store is not None
        await self.stop_runs()
        try:
            branch_id = await self._branch_id(session_id, branch) if branch else None
            if make_head and branch_id is not None:
                await self.store.set_head(session_id, branch_id)
            session = await Session.reopen(store=self.store, session_id=session_id,
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
        assert self.store is not None
        for row in await self.store.branches(session_id):
            if branch in (row.id, row.name):
                return row.id
        raise StoreError(f"session {session_id} has no branch {branch!r}; "
                         f"`agentchat sessions show {session_id}` lists its branches")

    async def show_session(self, session: Session, *, notice: str | None = None,
                           history: list[str] | None = None, autostart: bool = False) -> None:
        """Show ``session`` with its stored events replayed (no model call)."""
        assert self.store is not None
        try:
            events = await stored_view(self.store, session.id, session.branch_id)
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
        from tui.screens.replay import ReplayScreen, load_replay

        assert self.store is not None
        try:
            data = await load_replay(self.store, session_id, branch)
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

        assert self.store is not None
        await self.stop_runs()
        options = replace(self.options, persona_models={**self.options.persona_models,
                                                        **(persona_models or {})})
        try:
            session = await Session.reopen(store=self.store, session_id=session_id,
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
        for screen in reversed(self.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    async def stop_runs(self) -> None:
        for bridge in list(self._bridges):
            await bridge.stop()

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen
        from tui.widgets.chat_input import SLASH_COMMANDS

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.binding_rows(), list(SLASH_COMMANDS)))

    def binding_rows(self) -> list[tuple[str, str, str]]:
        """(key, description, id) for every binding of the app, the main screen and its
        transcript, input and timeline."""
        from tui.widgets.chat_input import ChatInput
        from tui.widgets.timeline_pane import TimelinePane
        from tui.widgets.transcript import Transcript

        rows: list[tuple[str, str, str]] = []
        for owner in (AgentChatApp, MainScreen, Transcript, ChatInput, TimelinePane):
            for binding in owner.BINDINGS:
                if isinstance(binding, Binding) and binding.id:
                    rows.append((self.get_key_display(binding), binding.description, binding.id))
        rows.append(("ctrl+p", "Command palette (every action)", "app.command-palette"))
        return rows

    def action_sessions(self) -> None:
        from tui.screens.choices import PlayChoice
        from tui.screens.sessions import SessionsScreen

        if isinstance(self.screen, SessionsScreen):
            return

        def chosen(choice: str | PlayChoice | None) -> None:
            if isinstance(choice, PlayChoice):
                self.run_worker(self.show_replay(choice.session_id), name="replay",
                                group="boot", exit_on_error=False)
            elif choice:
                self.run_worker(self.open_session(choice), name="open", group="boot",
                                exit_on_error=False)

        self.push_screen(SessionsScreen(self.db_path), callback=chosen)

    async def action_quit(self) -> None:
        await self.stop_runs()
        self.exit()

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop_runs()
        store, self.store = self.store, None
        if store is not None:
            with contextlib.suppress(Exception):
                await store.close()


def _quiet_terminal() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from agents.logs import setup_logging

    with contextlib.suppress(OSError):
        setup_logging()  # litellm, httpx and our own loggers write to the log file
    logging.captureWarnings(True)  # warnings go to the log too, never to the terminal


def run_app(*, db_path: Path, pack: str | Pack | None = None, topic: str | None = None,
            options: RunOptions | None = None) -> None:
    """Run the app in the terminal until the user quits."""
    _quiet_terminal()
    app = AgentChatApp(db_path=db_path, pack=pack, topic=topic, options=options)
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)


def run_replay(*, db_path: Path, session_id: str, branch: str | None = None,
               options: RunOptions | None = None) -> None:
    """Play a saved session (optionally one of its branches) back turn by turn on the replay
    screen. No model is called and no provider is loaded unless the user forks live."""
    _quiet_terminal()
    app = AgentChatApp(db_path=db_path, session_id=session_id, branch=branch, replay=True,
                       options=options)
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)
