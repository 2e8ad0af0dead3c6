"""Every key binding (with its remappable id) and every slash command, in one modal."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

__all__ = ["HelpScreen"]


class HelpScreen(ModalScreen[None]):
    """List ``bindings`` as (key, description, id) and ``slash_commands`` as (command, help).

    Escape or q closes it; so does a click outside the dialog.
    """

    CSS_PATH = "help.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="help.close"),
    ]

    def __init__(
        self, bindings: list[tuple[str, str, str]], slash_commands: list[tuple[str, str]]
    ) -> None:
        super().__init__()
        self.key_rows = list(bindings)
        self.command_rows = list(slash_commands)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "Help"
            dialog.border_subtitle = "Esc or q to close"
            with VerticalScroll(id="help-body", can_focus=False):
                yield Static("Keys", classes="help-section")
                yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
                if self.command_rows:
                    yield Static("Slash commands", classes="help-section")
                    yield DataTable(id="help-slash", cursor_type="row", zebra_stripes=True)
                yield Static(
                    "Type a slash command in the message box. The id names a key binding, so a "
                    "keymap can move it to another key.",
                    id="help-note",
                )

    def on_mount(self) -> None:
        keys = self.query_one("#help-keys", DataTable)
        keys.add_column("Key", key="key")
        keys.add_column("Action", key="action")
        keys.add_column("Id", key="id")
        if not self.key_rows:
            keys.add_row(Text("—", style="dim"), Text("No key bindings", style="dim"), "")
        for key, description, binding_id in self.key_rows:
            keys.add_row(
                Text(self.key_display(key), style="bold"),
                Text(description),
                Text(binding_id, style="dim"),
            )
        if self.command_rows:
            slash = self.query_one("#help-slash", DataTable)
            slash.add_column("Command", key="command")
            slash.add_column("What it does", key="help")
            for command, description in self.command_rows:
                slash.add_row(Text(command, style="bold"), Text(description))
        keys.focus()

    def key_display(self, keys: str) -> str:
        """``"ctrl+s,f5"`` as the footer shows it: ``"^s / f5"``."""
        shown = [
            self.app.get_key_display(Binding(key.strip(), ""))
            for key in keys.split(",")
            if key.strip()
        ]
        return " / ".join(shown) or keys

    def action_close(self) -> None:
        self.dismiss(None)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click on the dimmed background outside the dialog
            self.dismiss(None)
