"""The replay screen: a saved session played back turn by turn from the store, with the
transcript and the four panes as they were at each point. No model is ever called here, and no
provider is loaded: it works with none installed and the network unreachable.

Space plays and pauses (one message per 0.8 s ÷ speed), → and ← step a message forward and back
(back rebuilds every pane from the start), + and − change the speed (0.25× to 8×), ``g`` jumps
to a turn (so does choosing a checkpoint in the Timeline), ``f`` forks live from the checkpoint
at or before the current point, ``b`` replays the next branch, ``c`` compares branches.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Protocol, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Collapsible, Footer, Header, Static

from agents.events import CheckpointCreated, Event, StatePatched, TurnStarted
from agents.session_options import RunOptions
from agents.state import SharedState
from tui.screens.choices import ForkLiveChoice
from tui.screens.replay_model import ReplayData, completed_turn, load_replay, message_stops
from tui.widgets.cost_pane import CostPane
from tui.widgets.state_pane import StatePane
from tui.widgets.timeline_pane import TimelinePane
from tui.widgets.transcript import Transcript
from tui.widgets.workflow_pane import WorkflowPane

__all__ = ["SPEEDS", "ReplayData", "ReplayScreen", "completed_turn", "load_replay",
           "message_stops"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
BASE_INTERVAL_S = 0.8
"""Seconds between messages at 1×."""


class ReplayHost(Protocol):
    """What the replay needs from the app (see :class:`tui.app.AgentChatApp`)."""

    options: RunOptions

    async def show_replay(self, session_id: str, *, branch: str | None = None,
                          exit_on_error: bool = False) -> None: ...

    async def fork_live(self, session_id: str, branch_id: str, turn: int, *,
                        persona_models: dict[str, str] | None = None) -> None: ...


class ReplayScreen(Screen[None]):
    """Play ``data`` back; starts paused at the beginning (space plays)."""

    CSS_PATH = "replay.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "play_pause", "Play/Pause", priority=True, id="replay.play-pause"),
        Binding("right", "forward", "Step", priority=True, id="replay.forward"),
        Binding("left", "back", "Back", priority=True, id="replay.back"),
        Binding("plus,equals_sign", "faster", "Faster", id="replay.faster"),
        Binding("minus", "slower", "Slower", id="replay.slower"),
        Binding("g", "jump", "Jump to turn", id="replay.jump"),
        Binding("f", "fork_live", "Fork live", id="replay.fork-live"),
        Binding("b", "next_branch", "Next branch", show=False, id="replay.next-branch"),
        Binding("c", "compare", "Compare", show=False, id="replay.compare"),
        Binding("escape,q", "close", "Close", id="replay.close"),
    ]

    def __init__(self, data: ReplayData) -> None:
        super().__init__()
        self.data = data
        self.replay = data.replay
        self.speed = 1.0
        self.playing = False
        self._generation = 0
        self._lock = asyncio.Lock()
        pack = data.pack
        self.transcript = Transcript(pack, id="transcript")
        self.state_pane = StatePane(pack, id="state-pane")
        self.cost_pane = CostPane(pack, id="cost-pane")
        self.workflow_pane = WorkflowPane(pack, id="workflow-pane")
        self.timeline_pane = TimelinePane(pack, id="timeline-pane")
        self.initial_state = SharedState(goal=data.topic)
        self.state_pane.set_state(self.initial_state)
        for event in self._checkpoint_events():
            self.timeline_pane.handle(event)
        self.timeline_pane.set_branches(data.branches, data.branch_id)
        self.timeline_pane.mark_turn(None)
        self.title = data.topic
        self.sub_title = f"Replay · {pack.name} · {data.branch_name}"
        self.messages_total = sum(1 for e in self.replay.events if e.kind == "message_completed")
        self.stops = message_stops(self.replay.events)

    def _checkpoint_events(self) -> list[CheckpointCreated]:
        speakers = {e.turn: ",".join(e.speakers) for e in self.replay.events
                    if isinstance(e, TurnStarted)}
        opener = next((e.agent for e in self.replay.events
                       if e.kind == "message_completed" and e.agent != "human"), "")
        return [CheckpointCreated(
            session_id=self.data.session_id, branch_id=cp.branch_id, turn=cp.turn, seq=cp.seq,
            speaker=speakers.get(cp.turn) or (opener if cp.turn == 0 else ""),
            summary=cp.label) for cp in self.data.checkpoints]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="replay-body"):
            with Vertical(id="replay-chat"):
                yield self.transcript
                yield Static(id="replay-status")
            with VerticalScroll(id="replay-side"):
                panes: list[tuple[str, str, Widget]] = [
                    ("state", "Shared State", self.state_pane),
                    ("cost", "Cost", self.cost_pane),
                    ("workflow", "Workflow", self.workflow_pane),
                    ("timeline", "Timeline", self.timeline_pane)]
                for key, title, pane in panes:
                    yield Collapsible(pane, title=title, collapsed=False, id=f"pane-{key}")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_status()
        self.transcript.focus()

    # ------------------------------------------------------------------ playing

    @property
    def interval_s(self) -> float:
        return BASE_INTERVAL_S / self.speed

    @property
    def messages_played(self) -> int:
        return sum(1 for e in self.replay.played() if e.kind == "message_completed")

    async def forward(self) -> list[Event]:
        """Play up to and including the next message; returns the events played."""
        async with self._lock:
            replay = self.replay
            target = next((s for s in self.stops if s > replay.position), replay.position)
            events = replay.events[replay.position:target]
            replay.position = target
            for event in events:
                await self.transcript.handle(event)
                self._feed(event)
            self.timeline_pane.mark_turn(completed_turn(self.replay))
        self.refresh_status()
        return events

    def _feed(self, event: Event) -> None:
        self.workflow_pane.handle(event)
        self.cost_pane.handle(event)
        if isinstance(event, StatePatched):
            self.state_pane.set_state(event.state)

    async def rebuild(self) -> None:
        """Show exactly what has been played so far: every pane reset and re-fed."""
        async with self._lock:
            played = self.replay.played()
            await self.transcript.reset(played)
            self.workflow_pane.reset()
            for event in played:
                self.workflow_pane.handle(event)
            self.cost_pane.load(played)
            patched = [e for e in played if isinstance(e, StatePatched)]
            self.state_pane.set_state(patched[-1].state if patched else self.initial_state)
            self.timeline_pane.mark_turn(completed_turn(self.replay))
        self.refresh_status()

    async def back(self) -> None:
        """Undo the last message (and what led to it), then rebuild every pane."""
        replay = self.replay
        replay.position = max((s for s in self.stops if s < replay.position), default=0)
        await self.rebuild()

    async def jump(self, turn: int) -> None:
        try:
            self.replay.jump_to_turn(turn)
        except ValueError as exc:
            self.notify(f"Cannot jump: {exc}.", severity="error", timeout=5)
            return
        await self.rebuild()

    def play(self) -> None:
        if self.replay.at_end:
            self.replay.position = 0  # from the start again
            self.run_worker(self.rebuild(), group="replay-step", exit_on_error=False)
        self._generation += 1
        self.playing = True
        self.run_worker(self._play(self._generation), name="replay-play", group="replay-play",
                        exit_on_error=False)
        self.refresh_status()

    def pause(self) -> None:
        """Stop playing after the message being shown (never half-way through one)."""
        self._generation += 1
        self.playing = False
        self.refresh_status()

    async def _play(self, generation: int) -> None:
        try:
            while generation == self._generation and not self.replay.at_end:
                await self.forward()
                if self.replay.at_end:
                    break
                await asyncio.sleep(self.interval_s)
        finally:
            if generation == self._generation:
                self.playing = False
                self.refresh_status()

    # ------------------------------------------------------------------ status line

    def refresh_status(self) -> None:
        statuses = self.query("#replay-status").results(Static)
        status = next(statuses, None)
        if status is None:
            return
        replay = self.replay
        turns = replay.turns
        state = "▶ playing" if self.playing else ("■ end" if replay.at_end else "‖ paused")
        turn = replay.current_turn if replay.position else None
        parts = [state, f"turn {'–' if turn is None else turn}/{turns[-1] if turns else 0}",
                 f"message {self.messages_played}/{self.messages_total}",
                 f"{self.speed:g}×"]
        if not self.playing:
            parts.append("space plays" if not replay.at_end else "space plays again")
        parts.append("no model calls")
        status.update(" · ".join(parts))
        self.set_class(self.playing, "-playing")

    # ------------------------------------------------------------------ actions

    def action_play_pause(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def action_forward(self) -> None:
        self.pause()
        self.run_worker(self.forward(), group="replay-step", exit_on_error=False)

    def action_back(self) -> None:
        self.pause()
        self.run_worker(self.back(), group="replay-step", exit_on_error=False)

    def _set_speed(self, step: int) -> None:
        index = SPEEDS.index(self.speed) if self.speed in SPEEDS else SPEEDS.index(1.0)
        self.speed = SPEEDS[min(max(index + step, 0), len(SPEEDS) - 1)]
        self.refresh_status()

    def action_faster(self) -> None:
        self._set_speed(1)

    def action_slower(self) -> None:
        self._set_speed(-1)

    def action_jump(self) -> None:
        from tui.screens.replay_dialogs import TurnPromptScreen

        self.pause()

        def chosen(turn: int | None) -> None:
            if turn is not None:
                self.run_worker(self.jump(turn), group="replay-step", exit_on_error=False)

        self.app.push_screen(TurnPromptScreen(self.replay.turns, completed_turn(self.replay)),
                             callback=chosen)

    def on_timeline_pane_checkpoint_selected(self, message: TimelinePane.CheckpointSelected
                                             ) -> None:
        self.pause()
        self.run_worker(self.jump(message.turn), group="replay-step", exit_on_error=False)

    def on_timeline_pane_branch_selected(self, message: TimelinePane.BranchSelected) -> None:
        self._replay_branch(message.branch_id)

    def action_next_branch(self) -> None:
        target = self.timeline_pane.next_branch()
        if target is None:
            self.notify("This session has a single branch.", timeout=4)
            return
        self._replay_branch(target.id)

    def _replay_branch(self, branch_id: str) -> None:
        if branch_id == self.data.branch_id:
            return
        self.pause()
        host = cast(ReplayHost, self.app)
        self.app.run_worker(host.show_replay(self.data.session_id, branch=branch_id),
                            name="replay", group="boot", exit_on_error=False)

    def action_compare(self) -> None:
        from tui.screens.main_timeline import open_compare

        data = self.data
        self.pause()
        self.run_worker(open_compare(self, data.store, data.session_id, data.pack,
                                     data.branch_id), group="replay-compare",
                        exit_on_error=False)

    def fork_turn(self) -> int | None:
        """The checkpoint a live fork starts from: the last at or before the current point."""
        done = completed_turn(self.replay)
        if done is None:
            return None
        turns = [cp.turn for cp in self.data.checkpoints if cp.turn <= done]
        return max(turns) if turns else None

    def action_fork_live(self) -> None:
        from tui.screens.replay_dialogs import ForkLiveScreen

        self.pause()
        turn = self.fork_turn()
        if turn is None:
            self.notify("Play at least the opening first: a live fork starts from a checkpoint "
                        "(→ steps forward).", severity="warning", timeout=6)
            return
        data = self.data
        current = cast(ReplayHost, self.app).options.model or data.model
        personas = [(p.id, p.name) for p in data.pack.personas]

        def chosen(choice: ForkLiveChoice | None) -> None:
            if choice is None:
                return
            models = {choice.persona_id: choice.model} if choice.persona_id and choice.model \
                else None
            host = cast(ReplayHost, self.app)
            self.app.run_worker(host.fork_live(data.session_id, data.branch_id, choice.turn,
                                               persona_models=models),
                                name="fork-live", group="boot", exit_on_error=False)

        self.app.push_screen(ForkLiveScreen(turn, data.branch_name, personas, current),
                             callback=chosen)

    def action_close(self) -> None:
        self.pause()
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
