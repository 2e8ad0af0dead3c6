"""The fork preview: a checkpoint as it was (transcript, shared state, cost up to then), with
"Roll back here" and "Edit a message and re-run" one key away.

:func:`load_checkpoint` reads what the preview shows from the store (no model call); the modal
dismisses with a :class:`~tui.screens.choices.RollbackChoice`, an
:class:`~tui.screens.choices.EditChoice` or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from agents.events import Event, MessageCompleted
from agents.history import apply_edits, checkpoint_state, to_event
from agents.state import SharedState
from agents.store import Store
from personas.models import Pack
from tui.screens.choices import EditChoice, RollbackChoice
from tui.widgets.cost_pane import CostPane
from tui.widgets.state_pane import StatePane
from tui.widgets.transcript import Transcript

__all__ = ["CheckpointView", "ForkPreviewScreen", "load_checkpoint"]


@dataclass
class CheckpointView:
    """Everything the preview shows of one checkpoint."""

    session_id: str
    branch_id: str
    branch_name: str
    turn: int
    seq: int
    last_turn: int
    """The branch's latest checkpointed turn (to say whether this one is the newest)."""
    state: SharedState
    events: list[Event] = field(default_factory=list)
    """The branch view's events up to the checkpoint (edits applied)."""
    messages: list[MessageCompleted] = field(default_factory=list)
    """The messages said at that point: after the previous checkpoint, up to this one."""


async def load_checkpoint(store: Store, session_id: str, branch_id: str,
                          turn: int) -> CheckpointView:
    """The checkpoint of ``turn`` on the branch's view; ValueError if there is none."""
    checkpoints = await store.checkpoints(session_id, branch_id)
    chosen = next((cp for cp in reversed(checkpoints) if cp.turn == turn), None)
    if chosen is None:
        raise ValueError(f"there is no checkpoint at turn {turn} on this branch")
    previous = max((cp.seq for cp in checkpoints if cp.seq < chosen.seq), default=0)
    rows = await store.events(session_id, branch_id, upto_seq=chosen.seq)
    events: list[Event] = []
    fresh: set[str] = set()
    for row in rows:
        event = to_event(row.kind, row.payload, session_id, row.branch_id)
        if event is None:
            continue
        events.append(event)
        if isinstance(event, MessageCompleted) and row.seq > previous and not event.edited:
            fresh.add(event.message_id)
    events = apply_edits(events)
    messages = [e for e in events if isinstance(e, MessageCompleted) and e.message_id in fresh]
    name = next((b.name for b in await store.branches(session_id) if b.id == branch_id), "")
    return CheckpointView(
        session_id=session_id, branch_id=branch_id, branch_name=name, turn=turn, seq=chosen.seq,
        last_turn=max(cp.turn for cp in checkpoints), state=checkpoint_state(chosen.state),
        events=events, messages=messages)


class ForkPreviewScreen(ModalScreen[RollbackChoice | EditChoice | None]):
    """Preview ``view``; ``r`` rolls back there, ``e`` edits one of its messages first."""

    CSS_PATH = "fork_preview.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rollback", "Roll back here", id="fork_preview.rollback"),
        Binding("e", "edit", "Edit a message and re-run", id="fork_preview.edit"),
        Binding("escape", "cancel", "Cancel", id="fork_preview.cancel"),
    ]

    def __init__(self, view: CheckpointView, pack: Pack, *,
                 budget_usd: float | None = None) -> None:
        super().__init__()
        self.view = view
        self.pack = pack
        self.transcript = Transcript(pack, id="fork-transcript")
        self.state_pane = StatePane(pack, id="fork-state")
        self.state_pane.set_state(view.state)
        self.cost_pane = CostPane(pack, id="fork-cost")
        self.cost_pane.set_budget(budget_usd if budget_usd is not None
                                  else pack.budget.session_usd)
        for event in view.events:  # before mounting: data only
            self.transcript.model.apply(event)
            self.cost_pane.handle(event)

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="fork-dialog") as dialog:
            branch = f" of branch {view.branch_name}" if view.branch_name else ""
            dialog.border_title = Content(f"Checkpoint · turn {view.turn}{branch}")
            dialog.border_subtitle = "r roll back · e edit & re-run · esc cancel"
            with Horizontal(id="fork-body"):
                with Vertical(id="fork-transcript-box") as box:
                    box.border_title = f"Transcript up to turn {view.turn}"
                    yield self.transcript
                with VerticalScroll(id="fork-side"):
                    yield Static("Shared state then", classes="fork-heading")
                    yield self.state_pane
                    yield Static("Cost up to then", classes="fork-heading")
                    yield self.cost_pane
            yield Static(self._explanation(), id="fork-note", markup=False)
            with Horizontal(id="fork-buttons"):
                yield Button(Content.assemble("Cancel", ("  esc", "dim")), id="fork-cancel",
                             flat=True)
                yield Button(Content.assemble("Edit & re-run", ("  e", "dim")),
                             id="fork-edit", flat=True, disabled=not view.messages)
                yield Button(Content.assemble("Roll back here", ("  r", "dim")),
                             id="fork-rollback", variant="primary", flat=True)

    def _explanation(self) -> str:
        view = self.view
        where = f"branch {view.branch_name}" if view.branch_name else "the current branch"
        newest = " (its newest checkpoint)" if view.turn == view.last_turn else ""
        return (f"Rolling back starts a new branch at turn {view.turn}{newest}; {where} stays "
                "as it is and listed. A running session is stopped first.")

    def on_mount(self) -> None:
        # In a worker: the user may choose (and close the preview) before it is all drawn.
        self.run_worker(self.transcript.show_latest(), name="fork-transcript",
                        exit_on_error=False)
        self.query_one("#fork-rollback", Button).focus()

    @on(Button.Pressed, "#fork-rollback")
    def action_rollback(self) -> None:
        self.dismiss(RollbackChoice(self.view.turn))

    @on(Button.Pressed, "#fork-edit")
    def action_edit(self) -> None:
        from tui.screens.edit_message import EditMessageScreen

        view = self.view
        if not view.messages:
            self.notify(f"Turn {view.turn} has no message to edit.", severity="warning")
            return

        def edited(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.dismiss(EditChoice(view.turn, result[0], result[1]))

        self.app.push_screen(EditMessageScreen(view.messages, view.turn), callback=edited)

    @on(Button.Pressed, "#fork-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
