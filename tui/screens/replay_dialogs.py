"""The replay's two small dialogs: jump to a turn, and fork live (optionally with another model
for one persona)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from tui.screens.choices import ForkLiveChoice

__all__ = ["ForkLiveScreen", "TurnPromptScreen"]


class TurnPromptScreen(ModalScreen[int | None]):
    """Ask for one of ``turns``; dismiss with it, or None (Escape)."""

    CSS_PATH = "replay_dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="turn_prompt.cancel"),
    ]

    def __init__(self, turns: list[int], current: int | None = None) -> None:
        super().__init__()
        self.turns = turns
        self.current = current

    @property
    def span(self) -> str:
        return f"{self.turns[0]}–{self.turns[-1]}" if self.turns else "none"

    def compose(self) -> ComposeResult:
        with Vertical(id="turn-dialog", classes="replay-dialog") as dialog:
            dialog.border_title = Content("Jump to turn")
            dialog.border_subtitle = "Enter jump · Esc cancel"
            field = Input(id="turn-input", restrict=r"\d*", type="integer",
                          placeholder=f"a turn, {self.span}")
            field.border_title = f"Turn ({self.span})"
            yield field
            yield Static("", id="turn-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#turn-input", Input).focus()

    @on(Input.Submitted, "#turn-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        turn = int(text) if text.isdigit() else None
        if turn is None or turn not in self.turns:
            self.query_one("#turn-error", Static).update(
                f"Turn: type a number from {self.span}.")
            return
        self.dismiss(turn)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ForkLiveScreen(ModalScreen[ForkLiveChoice | None]):
    """Fork live at ``turn``; ``personas`` are ``(id, name)`` for the "another model" pick."""

    CSS_PATH = "replay_dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "fork", "Fork live", priority=True, id="fork_live.fork"),
        Binding("escape", "cancel", "Cancel", id="fork_live.cancel"),
    ]

    def __init__(self, turn: int, branch_name: str, personas: list[tuple[str, str]],
                 model: str) -> None:
        super().__init__()
        self.turn = turn
        self.branch_name = branch_name
        self.personas = personas
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(id="fork-live-dialog", classes="replay-dialog") as dialog:
            dialog.border_title = Content(f"Fork live at turn {self.turn}")
            dialog.border_subtitle = "Ctrl+S fork · Esc cancel"
            yield Static(
                f"A new branch starts at turn {self.turn} of {self.branch_name} and runs live "
                f"with {self.model}; the replayed branch is kept. Optionally one persona "
                "speaks with another model.", id="fork-live-note", markup=False)
            with Horizontal(id="fork-live-fields"):
                with Vertical(classes="fork-live-field"):
                    yield Static("Persona (optional)", classes="field-label")
                    yield Select([(name, pid) for pid, name in self.personas],
                                 prompt="Everyone keeps the model",
                                 id="fork-live-persona")
                with Vertical(classes="fork-live-field"):
                    yield Static("Its model", classes="field-label")
                    yield Input(id="fork-live-model", placeholder="e.g. openai/gpt-4o-mini")
            yield Static("", id="fork-live-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content.assemble("Cancel", ("  esc", "dim")), id="fork-live-cancel",
                             flat=True)
                yield Button(Content.assemble("Fork live", ("  ^s", "dim")), id="fork-live-go",
                             variant="primary", flat=True)

    def on_mount(self) -> None:
        self.query_one("#fork-live-go", Button).focus()

    def choice(self) -> ForkLiveChoice | None:
        """The form as a choice, or None after saying what is missing."""
        selected = self.query_one("#fork-live-persona", Select).value
        persona = selected if isinstance(selected, str) else None
        model = self.query_one("#fork-live-model", Input).value.strip() or None
        error = None
        if persona is not None and model is None:
            name = dict(self.personas).get(persona, persona)
            error = f"Its model: type the model {name} should use, or clear the persona."
        elif model is not None and persona is None:
            error = f"Persona: pick who speaks with {model}, or clear the model."
        if error is not None:
            self.query_one("#fork-live-error", Static).update(error)
            return None
        return ForkLiveChoice(self.turn, persona, model)

    @on(Input.Submitted, "#fork-live-model")
    @on(Button.Pressed, "#fork-live-go")
    def action_fork(self) -> None:
        choice = self.choice()
        if choice is not None:
            self.dismiss(choice)

    @on(Button.Pressed, "#fork-live-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
