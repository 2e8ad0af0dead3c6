"""The Textual app: shows the start screen (or goes straight to a chat), opens the store and
loads the LLM provider off the first frame, and switches between sessions (``tui.app_sessions``).

Only what the start screen's first frame needs is imported up front: the engine, pydantic, the
store and the main screen load later (``agentchat`` with no arguments must start about as fast as
a bare Textual app; see ``tests/benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from agents.session_options import RunOptions
from tui import heap
from tui.app_sessions import SessionsApp
from tui.commands import AgentChatCommands

if TYPE_CHECKING:
    from agents.llm.client import LLMClient
    from personas.models import Pack
    from tui.bridge import Bridge

PROVIDER_LOADING = "loading provider…"
APP_CSS_PATH = Path(__file__).resolve().with_name("app.tcss")
START_CSS_PATH = APP_CSS_PATH.parent / "screens" / "start.tcss"
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


class AgentChatApp(SessionsApp):
    """``pack`` and ``topic`` start a chat at once; ``session_id`` reopens a saved session (with
    ``replay``: plays it back, and the provider is only loaded if the user forks live); neither
    shows the start screen, which is then the first frame, with the store opened right after.
    ``db_path`` None means the default database. ``provider_loader`` (litellm by default) runs
    in a thread after the first frame; ``llm`` replaces the LLM client (tests)."""

    TITLE = "agentchat"
    CSS_PATH = APP_CSS_PATH
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
        db_path: Path | None = None,
        pack: str | Pack | None = None,
        topic: str | None = None,
        options: RunOptions | None = None,
        session_id: str | None = None,
        branch: str | None = None,
        replay: bool = False,
        provider_loader: Callable[[], object] | None = None,
        llm: LLMClient | None = None,
    ) -> None:
        # The start screen's CSS loads with the app's when it is the first frame: pushing a
        # screen with CSS the app has not read yet re-parses and re-applies every stylesheet.
        self._starts_at_start_screen = session_id is None and (pack is None or not topic)
        super().__init__(css_path=[APP_CSS_PATH, START_CSS_PATH] if self._starts_at_start_screen
                         else None)
        self._db_path = db_path
        self.options = options or RunOptions()
        self.store = None
        self._store_lock = asyncio.Lock()
        self._store_failed = False
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
        if not self._starts_at_start_screen:  # else it is mounted when the start screen closes
            yield self._splash()

    @staticmethod
    def _splash() -> Static:
        return Static("agentchat · starting…", id="splash")

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        if self._starts_at_start_screen:
            self.show_start()  # the first frame: no await before it
            self.when_ready(lambda: self.run_worker(self.open_store(), name="store",
                                                    group="boot", exit_on_error=False))
        else:
            self.run_worker(self._boot(), name="boot", group="boot", exit_on_error=False)

    def on_ready(self) -> None:
        """The first frame is on screen: now the slow provider import may start."""
        import sys

        # The collector was paused by the command line until the first frame. What start-up
        # made (modules, styles, the first screen's widgets) lives as long as the app: frozen,
        # it is not walked by the full collection that turning the collector back on would
        # otherwise start at once (~15 ms, right after the first frame).
        if not gc.isenabled():
            heap.settle()
            gc.enable()
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
        if await self.open_store() is None:
            return
        if self._session_id is not None and self._replay:
            await self.show_replay(self._session_id, branch=self._branch, exit_on_error=True)
        elif self._session_id is not None:
            await self.open_session(self._session_id, branch=self._branch, exit_on_error=True)
        elif self._pack is not None and self._topic:
            await self.start_session(self._pack, self._topic, self.options, exit_on_error=True)

    def show_start(self) -> None:
        from agents.llm.models import choose_model
        from tui.screens.start import StartScreen

        options = self.options
        note = choose_model(options.model, None).note
        screen = StartScreen(self._db_path, note, model=options.model,
                             budget_usd=options.budget_usd, max_turns=options.max_turns,
                             after_first_frame=self.when_ready)
        self.push_screen(screen, callback=self._start_chosen)

    def _start_chosen(self, choice: object) -> None:
        from dataclasses import replace

        from tui.screens.choices import ReopenChoice, StartChoice

        base = self.screen_stack[0]
        if isinstance(choice, StartChoice | ReopenChoice) and not base.query("#splash"):
            base.mount(self._splash())
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
        from tui.screens.main import MainScreen
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


def run_app(*, db_path: Path | None = None, pack: str | Pack | None = None,
            topic: str | None = None, options: RunOptions | None = None) -> None:
    """Run the app in the terminal until the user quits."""
    _quiet_terminal()
    app = AgentChatApp(db_path=db_path, pack=pack, topic=topic, options=options)
    try:
        app.run()
    finally:
        gc.enable()
    if app.return_code:
        raise SystemExit(app.return_code)


def run_replay(*, db_path: Path, session_id: str, branch: str | None = None,
               options: RunOptions | None = None) -> None:
    """Play a saved session (optionally one of its branches) back turn by turn on the replay
    screen. No model is called and no provider is loaded unless the user forks live."""
    _quiet_terminal()
    app = AgentChatApp(db_path=db_path, session_id=session_id, branch=branch, replay=True,
                       options=options)
    try:
        app.run()
    finally:
        gc.enable()
    if app.return_code:
        raise SystemExit(app.return_code)
