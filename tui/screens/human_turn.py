"""The user holds a persona's seat: write that persona's message (Ctrl+S sends, Escape skips)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

__all__ = ["HumanTurnScreen"]

EMPTY_MESSAGE = "Write the message first, or press Escape to skip this turn."


class HumanTurnScreen(ModalScreen[str | None]):
    """Dismiss with the message written for ``persona_name``, or None when the turn is skipped.

    ``context`` is what the persona is answering (the moderator's request, the last message);
    it is shown above the editor and may be empty.
    """

    CSS_PATH = "human_turn.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True, id="human_turn.send"),
        Binding("escape", "skip", "Skip turn", id="human_turn.skip"),
    ]

    def __init__(self, persona_name: str, role: str, context: str) -> None:
        super().__init__()
        self.persona_name = persona_name
        self.role = role
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical(id="human-dialog") as dialog:
            dialog.border_title = Content.assemble(
                "Your turn as ", (self.persona_name, "bold"), f" · {self.role}"
            )
            dialog.border_subtitle = "Ctrl+S send · Esc skip"
            if self.context.strip():
                with VerticalScroll(id="human-context", can_focus=False) as context:
                    context.border_title = "They are answering"
                    yield Static(self.context.strip(), markup=False)
            editor = TextArea(id="human-editor", soft_wrap=True, show_line_numbers=False)
            editor.border_title = Content(f"{self.persona_name} says")
            editor.placeholder = f"Write {self.persona_name}'s message…"
            yield editor
            with Horizontal(id="human-footer"):
                yield Static("", id="human-message")
                yield Button(
                    Content.assemble("Skip", ("  esc", "dim")), id="human-skip", flat=True
                )
                yield Button(
                    Content.assemble("Send", ("  ^s", "dim")),
                    id="human-send",
                    variant="primary",
                    flat=True,
                )

    def on_mount(self) -> None:
        self.query_one("#human-editor", TextArea).focus()

    @on(Button.Pressed, "#human-send")
    def action_send(self) -> None:
        text = self.query_one("#human-editor", TextArea).text.strip()
        if not text:
            self.query_one("#human-message", Static).update(EMPTY_MESSAGE)
            self.query_one("#human-editor", TextArea).focus()
            return
        self.dismiss(text)

    @on(Button.Pressed, "#human-skip")
    def action_skip(self) -> None:
        self.dismiss(None)

    @on(TextArea.Changed, "#human-editor")
    def _clear_message(self) -> None:
        self.query_one("#human-message", Static).update("")
