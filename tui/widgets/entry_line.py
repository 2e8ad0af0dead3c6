"""A compact transcript line: a moderator decision, an error with its retry hint, or a notice."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets.message_view import persona_style
from tui.widgets.transcript_model import Entry


def entry_text(entry: Entry) -> Text:
    text = Text()
    if entry.kind == "decision":
        text.append(f"turn {entry.turn} ", style="dim")
        text.append("▸ ", style=persona_style(entry.colour))
        text.append(entry.text, style="italic")
        if entry.fallback:
            text.append("  fallback", style="bold yellow")
            if entry.detail:
                text.append(f": {entry.detail}", style="yellow")
    elif entry.kind == "error":
        text.append("⚠ ", style="bold red")
        if entry.name:
            text.append(f"{entry.name}: ", style="bold")
        text.append(entry.text)
        if entry.detail:
            text.append(f"  ({entry.detail})", style="dim")
    else:
        text.append("── ", style="dim")
        text.append(entry.text, style="dim")
    return text


class EntryLine(Static):
    """One non-message transcript entry; ``index`` is its position in the transcript model."""

    DEFAULT_CSS = """
    EntryLine { height: auto; padding: 0 1; margin: 0 0 1 0; }
    EntryLine.-decision { color: $text-muted; margin: 0; }
    EntryLine.-error { background: $error 15%; }
    EntryLine.-notice { color: $text-muted; }
    """

    def __init__(self, entry: Entry, index: int) -> None:
        super().__init__(entry_text(entry), classes=f"-{entry.kind}")
        self.entry = entry
        self.index = index

    def refresh_entry(self) -> None:
        self.update(entry_text(self.entry))
