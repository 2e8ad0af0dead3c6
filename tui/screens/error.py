"""An error the user should read: one clear title, the message, and a way back (Escape/Enter)."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

__all__ = ["ErrorScreen"]


class ErrorScreen(ModalScreen[None]):
    """Show ``message`` under ``title``; Escape, Enter or the OK button closes it."""

    CSS_PATH = "error.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="error.close"),
        Binding("enter", "close", "Close", show=False, id="error.close-enter"),
        Binding("c", "copy", "Copy message", id="error.copy"),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.error_title = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog") as dialog:
            dialog.border_title = Content.assemble(("✖ ", "bold"), self.error_title)
            with VerticalScroll(id="error-body"):
                yield Static(self.message, id="error-message", markup=False)
            with Horizontal(id="error-buttons"):
                yield Button(
                    Content.assemble("Copy", ("  c", "dim")), id="error-copy", flat=True
                )
                yield Button(
                    Content.assemble("OK", ("  enter", "dim")),
                    id="error-ok",
                    variant="primary",
                    flat=True,
                )

    def on_mount(self) -> None:
        self.query_one("#error-ok", Button).focus()

    @on(Button.Pressed, "#error-ok")
    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#error-copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.error_title}\n{self.message}")
        self.notify("Error message copied to the clipboard.", timeout=3)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click on the dimmed background outside the dialog
            self.dismiss(None)
