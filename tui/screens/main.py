"""The main screen: the transcript with the input at its foot, and the four panes on the right.

It owns one :class:`~tui.bridge.Bridge` (the running ``session.events()``), applies every engine
event to the transcript and the panes, and turns the input's lines into ``session.say`` calls or
run-control commands (see :mod:`tui.screens.main_control`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Collapsible, Footer, Header, Static
from textual.widgets.collapsible import CollapsibleTitle

from agents.events import (
    ErrorRaised,
    Event,
    HumanInputRequested,
    SessionEnded,
    SessionPaused,
    SessionStarted,
    TokenDelta,
)
from agents.session import Session
from agents.stored import StoredPage
from tui import heap
from tui.bridge import Bridge, EngineEvent, OlderPages, RunFinished
from tui.compositor import SingleArrangeCompositor
from tui.screens.main_control import RunControl
from tui.screens.main_protocols import AppWithSessions, Pane
from tui.screens.main_timeline import TimelineControl
from tui.widgets.chat_input import ChatInput
from tui.widgets.cost_pane import CostPane
from tui.widgets.state_pane import StatePane
from tui.widgets.timeline_pane import TimelinePane
from tui.widgets.transcript import Transcript
from tui.widgets.transcript_model import END_REASONS
from tui.widgets.workflow_pane import WorkflowPane

if TYPE_CHECKING:
    from tui.screens.human_turn import HumanTurnScreen

PANES: dict[str, str] = {
    "state": "Shared State",
    "cost": "Cost",
    "workflow": "Workflow",
    "timeline": "Timeline",
}


class MainScreen(Screen[None]):
    """One session on screen. ``replay`` are its stored events, shown without any model call:
    all of them, or a :class:`~agents.stored.StoredPage` (the newest ones, with the whole cost;
    the transcript loads older pages when scrolled to, the timeline after the first frame);
    ``autostart`` starts a run as soon as the screen has been drawn."""

    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "#chat-input"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_pane('state')", "State", id="main.pane-state"),
        Binding("f3", "toggle_pane('cost')", "Cost", id="main.pane-cost"),
        Binding("f4", "toggle_pane('workflow')", "Workflow", id="main.pane-workflow"),
        Binding("f5", "toggle_pane('timeline')", "Timeline", id="main.pane-timeline"),
        Binding("f7", "pause_resume", "Pause/Go", id="main.pause-resume"),
        Binding("f8", "step", "Step", id="main.step"),
        Binding("f9", "stop", "Stop", id="main.stop"),
        Binding("escape", "focus_input", "Back to input", show=False, id="main.focus-input"),
        Binding("ctrl+t", "focus_transcript", "Scroll the transcript", show=False,
                id="main.focus-transcript"),
        Binding("ctrl+n", "next_branch", "Next branch", show=False, id="main.next-branch"),
        Binding("ctrl+o", "compare", "Compare branches", show=False, id="main.compare"),
        Binding("ctrl+g", "patterns_help", "Patterns guide", show=False,
                id="main.patterns-help"),
    ]

    run_state: reactive[str] = reactive("idle")
    """idle · running · pausing · paused · stopping · ended"""

    def __init__(
        self,
        session: Session,
        *,
        replay: Sequence[Event] = (),
        autostart: bool = False,
        notice: str | None = None,
        history: list[str] | None = None,
    ) -> None:
        super().__init__()
        self._compositor = SingleArrangeCompositor()  # one arrange per layout (tui/compositor.py)
        self.session = session
        self.bridge = Bridge(self, session)
        self.autostart = autostart
        self.notice = notice
        self.end_reason: str | None = session.end_reason
        self.provider_status = "loading provider…"
        pack = session.pack
        self.transcript = Transcript(pack, id="transcript")
        self.chat_input = ChatInput([p.id for p in pack.personas], history=history,
                                    id="chat-input")
        self.state_pane = StatePane(pack, id="state-pane")
        self.cost_pane = CostPane(pack, id="cost-pane")
        self.workflow_pane = WorkflowPane(pack, id="workflow-pane")
        self.timeline_pane = TimelinePane(pack, id="timeline-pane")
        self.panes: list[Pane] = [self.state_pane, self.cost_pane, self.workflow_pane,
                                  self.timeline_pane]
        self._human_screen: HumanTurnScreen | None = None
        self._status: Static | None = None
        self._status_text: str | None = None
        self.shown = False
        """True once the stored history and the panes are on screen."""
        page = replay if isinstance(replay, StoredPage) else None
        if page is not None and page.has_older:
            self.workflow_pane.expect_older()  # its counts wait for the older steps
        feeds = [self.transcript.model.apply, *(pane.handle for pane in self.panes
                                                 if page is None or pane is not self.cost_pane)]
        for event in replay:  # before mounting: data only, no widget work per event
            for feed in feeds:
                feed(event)
        self.older_timeline: int | None = None
        """The seq up to which the timeline is still to be loaded (None: it is complete)."""
        if page is not None:
            self.cost_pane.set_ledger(page.ledger, page)
            if page.has_older:
                self.transcript.set_older(OlderPages(session.store, session.id,
                                                     session.branch_id, page))
                self.older_timeline = page.first_seq - 1
        self.state_pane.set_state(session.state)
        self.cost_pane.set_budget(session.budget_usd)
        self.control = RunControl(self)
        self.timeline = TimelineControl(self)
        self._fit_titles()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main-body"):
            with Vertical(id="chat"):
                yield self.transcript
                yield Static(id="run-status")
                yield self.chat_input
            with VerticalScroll(id="side"):
                panes: list[Widget] = [self.state_pane, self.cost_pane, self.workflow_pane,
                                       self.timeline_pane]
                for (key, title), pane in zip(PANES.items(), panes, strict=True):
                    yield Collapsible(pane, title=title, collapsed=False, id=f"pane-{key}")
        yield Footer()

    async def on_mount(self) -> None:
        await self.transcript.show_latest()
        self.watch(self.app, "provider_status", self._provider_changed)
        self.refresh_status()
        self.call_after_refresh(self._render_fed_panes)
        self.timeline.refresh_branches()
        if self.notice:
            self.notify(self.notice, timeout=6)
        if self.autostart:  # never before the first frame: the run imports litellm
            self.app_main.when_ready(self.control.start_run)

    def _render_fed_panes(self) -> None:
        """CostPane and TimelinePane skip their first render (their on_mount checks is_mounted,
        which Textual sets only after on_mount), so the replay fed to them before mounting would
        not show until the next live event. Render them once now."""
        for pane, method in ((self.cost_pane, "_refresh_all"), (self.timeline_pane, "_rebuild")):
            render = getattr(pane, method, None)
            if callable(render):
                render()
        self.shown = True
        heap.settle()  # the history just loaded is here to stay: keep it out of GC passes
        self.timeline.load_older()

    def _provider_changed(self, status: str) -> None:
        self.provider_status = status
        self._fit_titles()

    def on_resize(self) -> None:
        self._fit_titles()

    def _fit_titles(self) -> None:
        """The topic, shortened so the pack and the provider status stay visible."""
        self.sub_title = self._sub_title()
        width = self.size.width or 120
        room = max(16, width - 24 - len(self.sub_title))
        topic = " ".join(self.session.topic.split())
        self.title = topic if len(topic) <= room else topic[: room - 1].rstrip() + "…"

    def _sub_title(self) -> str:
        status = self.provider_status
        if status == "ready":
            status = f"ready · {self.session.model}"
        return f"{self.session.pack.name} · {status}"

    # ------------------------------------------------------------------ engine events

    async def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        await self.transcript.handle(event)
        if isinstance(event, TokenDelta):
            return  # streamed text: only the transcript shows it (no pane, no status change)
        for pane in self.panes:
            pane.handle(event)
        if isinstance(event, HumanInputRequested):
            self._ask_human(event)
        elif isinstance(event, SessionStarted):
            self.run_state = "pausing" if self.session.paused else "running"
        elif isinstance(event, SessionPaused):
            self.run_state = "paused" if event.paused else "running"
        elif isinstance(event, SessionEnded):
            self.end_reason = event.reason
            self.run_state = "ended"
        elif isinstance(event, ErrorRaised) and event.fatal:
            self.notify(event.message, title="The run stopped", severity="error", timeout=10)
        self.refresh_status()

    def on_run_finished(self, message: RunFinished) -> None:
        self.run_state = "ended"
        if message.error:
            self.notify(f"The run crashed: {message.error}. /resume tries again.",
                        title="Engine error", severity="error", timeout=15)
        screen = self._human_screen
        if screen is not None and screen.is_active:
            screen.dismiss(None)
        self._human_screen = None
        self.refresh_status()
        if self.is_attached:
            self.timeline.refresh_branches()  # turns and cost per branch, exact again

    def _ask_human(self, event: HumanInputRequested) -> None:
        from tui.screens.human_turn import HumanTurnScreen

        persona = self.session.pack.persona(event.agent)
        name, role = (persona.name, persona.role) if persona else (event.agent, "")
        screen = HumanTurnScreen(name, role, self.transcript.model.recent_text())
        self._human_screen = screen

        def answered(text: str | None) -> None:
            self._human_screen = None
            event.answer(text)

        self.app.push_screen(screen, callback=answered)

    @on(Collapsible.Toggled)
    def _pane_toggled(self) -> None:
        self.refresh_bindings()

    # ------------------------------------------------------------------ status line

    def watch_run_state(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        status = self._status
        if status is None or not status.is_attached:
            status = self._status = next(self.query("#run-status").results(Static), None)
            self._status_text = None
        if status is None:
            return
        session = self.session
        state = self.run_state
        if state == "ended" and self.end_reason:
            state = f"ended · {END_REASONS.get(self.end_reason, self.end_reason)}"
        parts = [state, f"turn {session.turn}/{session.max_turns}"]
        ledger = session.ledger
        if ledger.total_tokens and ledger.unpriced and not ledger.total_usd:
            parts.append(f"{ledger.total_tokens:,} tokens (unpriced)")
        elif ledger.total_tokens:
            parts.append(f"${ledger.total_usd:.4f}" + (" + unpriced" if ledger.unpriced else ""))
        if session.budget_usd:
            parts.append(f"budget ${session.budget_usd:.2f}")
        if session.human_seats:
            parts.append("your seat: " + ", ".join(sorted(session.human_seats)))
        hints = {"idle": "/resume starts", "ended": "/resume continues",
                 "paused": "/step · /resume"}
        hint = hints.get(self.run_state)
        if self.run_state == "ended" and self.end_reason == "max_turns":
            hint = "/turns N · /resume"
        if hint:
            parts.append(hint)
        text = " · ".join(parts)
        if text != self._status_text:  # an update re-lays out the screen: only on a change
            self._status_text = text
            status.update(text)
        self.set_class(self.run_state == "running", "-running")

    # ------------------------------------------------------------------ input and actions

    async def on_chat_input_line(self, message: ChatInput.Line) -> None:
        await self.control.line(message.text)

    def action_pause(self) -> None:
        self.control.pause()

    def action_resume(self) -> None:
        self.control.resume()

    def action_step(self) -> None:
        self.control.step()

    def action_stop(self) -> None:
        self.control.stop()

    def action_pause_resume(self) -> None:
        self.control.pause_resume()

    def action_rollback_help(self) -> None:
        """From the command palette: show where rolling back happens."""
        pane = self.pane("timeline")
        pane.collapsed = False
        self.timeline_pane.query_one("#timeline-list").focus()
        self.notify("Pick a checkpoint in the Timeline and press Enter, or type /rollback TURN.")

    def on_timeline_pane_checkpoint_selected(self, message: TimelinePane.CheckpointSelected
                                             ) -> None:
        """A checkpoint was picked: preview it, with "Roll back here" and "Edit and re-run"."""
        self.timeline.preview(message.turn)

    def on_timeline_pane_branch_selected(self, message: TimelinePane.BranchSelected) -> None:
        self.timeline.switch_to(message.branch_id)

    def action_next_branch(self) -> None:
        self.timeline.next_branch()

    def action_compare(self) -> None:
        self.timeline.compare()

    def action_replay(self) -> None:
        """Play this branch back on the replay screen (the run, if any, goes on)."""
        self.app.run_worker(self.app_main.show_replay(self.session.id,
                                                      branch=self.session.branch_id),
                            name="replay", group="boot", exit_on_error=False)

    def action_patterns_help(self) -> None:
        from tui.screens.patterns_help import PatternsHelpScreen

        self.app.push_screen(PatternsHelpScreen(self.session.pack.pack.pattern))

    # ------------------------------------------------------------------ panes

    def action_toggle_pane(self, key: str) -> None:
        """Collapsed: expand and focus. Expanded but focus elsewhere: focus it. Expanded and
        focused: collapse it and go back to the input."""
        collapsible = self.pane(key)
        focused = self.focused
        has_focus = focused is not None and collapsible in focused.ancestors_with_self
        if not collapsible.collapsed and has_focus:
            collapsible.collapsed = True
            self.chat_input.focus()
            return
        collapsible.collapsed = False
        self.call_after_refresh(self._focus_pane, collapsible)

    def _focus_pane(self, collapsible: Collapsible) -> None:
        target: Widget | None = None
        for widget in [*collapsible.query(".focus-first"), *collapsible.query("Contents *")]:
            if widget.focusable:
                target = widget
                break
        if target is None:
            target = collapsible.query_one(CollapsibleTitle)
        target.focus()
        collapsible.scroll_visible(animate=False, top=True)

    async def action_jump_latest(self) -> None:
        await self.transcript.show_latest()

    def action_focus_input(self) -> None:
        self.chat_input.focus()

    def action_focus_transcript(self) -> None:
        self.transcript.focus()

    def pane(self, key: str) -> Collapsible:
        return self.query_one(f"#pane-{key}", Collapsible)

    @property
    def starting(self) -> bool:
        """The run will start on its own as soon as the first frame is shown."""
        return self.autostart and self.bridge.worker is None

    @property
    def app_main(self) -> AppWithSessions:
        return cast("AppWithSessions", self.app)
