"""Edit one message of a checkpoint before re-running from there (after a rollback).

Pick the message (the human's own or an agent's) in the list; its text is in the editor below;
Ctrl+S re-runs with the new text, Escape cancels. Each message keeps its draft while you move
between them.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from agents.events import MessageCompleted
from tui.widgets.timeline_pane import one_line

__all__ = ["EditMessageScreen"]

UNCHANGED = "Change the text first, or press Escape to go back."
EMPTY = "The message cannot be empty."


class EditMessageScreen(ModalScreen[tuple[str, str] | None]):
    """Dismiss with ``(message_id, new text)`` or None."""

    CSS_PATH = "edit_message.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "rerun", "Re-run", priority=True, id="edit_message.rerun"),
        Binding("escape", "cancel", "Cancel", id="edit_message.cancel"),
    ]

    def __init__(self, messages: list[MessageCompleted], turn: int) -> None:
        super().__init__()
        self.messages = list(messages)
        self.turn = turn
        self.drafts: dict[str, str] = {m.message_id: m.text for m in self.messages}
        self.selected = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-dialog") as dialog:
            dialog.border_title = Content(f"Edit a message of turn {self.turn} and re-run")
            dialog.border_subtitle = "Ctrl+S re-run · Esc cancel"
            options = OptionList(*(Option(self._prompt(m)) for m in self.messages),
                                 id="edit-messages", compact=True)
            options.border_title = "Message"
            yield options
            editor = TextArea(self.messages[0].text if self.messages else "", id="edit-text",
                              soft_wrap=True, show_line_numbers=False)
            editor.border_title = "New text"
            yield editor
            with Horizontal(id="edit-footer"):
                yield Static("", id="edit-error")
                yield Button(Content.assemble("Cancel", ("  esc", "dim")), id="edit-cancel",
                             flat=True)
                yield Button(Content.assemble("Re-run from here", ("  ^s", "dim")),
                             id="edit-rerun", variant="primary", flat=True)

    @staticmethod
    def _prompt(message: MessageCompleted) -> Text:
        text = Text(message.name or message.agent, style="bold")
        text.append(": " + one_line(message.text, 70))
        return text

    def on_mount(self) -> None:
        options = self.query_one("#edit-messages", OptionList)
        if self.messages:
            options.highlighted = 0
        self.query_one("#edit-text", TextArea).focus()

    @property
    def editor(self) -> TextArea:
        return self.query_one("#edit-text", TextArea)

    @on(OptionList.OptionHighlighted, "#edit-messages")
    def _message_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index == self.selected or not self.messages:
            return
        self.drafts[self.messages[self.selected].message_id] = self.editor.text
        self.selected = event.option_index
        self.editor.text = self.drafts[self.messages[self.selected].message_id]
        self._error("")

    @on(OptionList.OptionSelected, "#edit-messages")
    def _message_chosen(self) -> None:
        self.editor.focus()

    @on(TextArea.Changed, "#edit-text")
    def _typed(self) -> None:
        self._error("")

    def _error(self, text: str) -> None:
        self.query_one("#edit-error", Static).update(text)

    @on(Button.Pressed, "#edit-rerun")
    def action_rerun(self) -> None:
        if not self.messages:
            self.dismiss(None)
            return
        message = self.messages[self.selected]
        text = self.editor.text.strip()
        if not text:
            self._error(EMPTY)
        elif text == message.text.strip():
            self._error(UNCHANGED)
        else:
            self.dismiss((message.message_id, text))
            return
        self.editor.focus()

    @on(Button.Pressed, "#edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
