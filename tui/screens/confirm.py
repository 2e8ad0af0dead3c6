"""A yes/no question in a modal dialog: Enter answers with the focused button, Escape says no."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

__all__ = ["ConfirmScreen"]


class ConfirmScreen(ModalScreen[bool]):
    """Ask ``question`` and dismiss with True (confirmed) or False (cancelled).

    With ``destructive=True`` the confirm button is red and the cancel button has the focus, so
    a stray Enter never deletes anything.
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm.right"),
    ]

    def __init__(
        self,
        question: str,
        detail: str = "",
        *,
        title: str = "Confirm",
        confirm_label: str = "Yes",
        cancel_label: str = "No",
        destructive: bool = False,
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.dialog_title = title
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label
        self.destructive = destructive

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog") as dialog:
            dialog.border_title = Content(self.dialog_title)
            yield Static(self.question, id="confirm-question", markup=False)
            if self.detail:
                yield Static(self.detail, id="confirm-detail", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    Content.assemble(self.cancel_label, ("  n", "dim")),
                    id="confirm-cancel",
                    flat=True,
                )
                yield Button(
                    Content.assemble(self.confirm_label, ("  y", "dim")),
                    id="confirm-ok",
                    variant="error" if self.destructive else "primary",
                    flat=True,
                )

    def on_mount(self) -> None:
        target = "#confirm-cancel" if self.destructive else "#confirm-ok"
        self.query_one(target, Button).focus()

    @on(Button.Pressed, "#confirm-ok")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click on the dimmed background outside the dialog
            self.dismiss(False)
