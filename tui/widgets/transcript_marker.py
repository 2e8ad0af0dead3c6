"""The "N earlier / N newer entries" marker at either end of the transcript's mounted window."""

from __future__ import annotations

from typing import Literal

from textual import events
from textual.widgets import Static


class TranscriptMarker(Static):
    """The "N earlier / N newer entries" line at either end of the mounted window."""

    DEFAULT_CSS = """
    TranscriptMarker { height: 1; width: 1fr; color: $text-muted; text-style: italic;
                      background: $panel; content-align: center middle; display: none; }
    TranscriptMarker#transcript-earlier { dock: top; }
    TranscriptMarker#transcript-later { dock: bottom; }
    TranscriptMarker:hover { color: $text; background: $boost; }
    """

    def __init__(self, where: Literal["earlier", "later"], id: str) -> None:
        super().__init__(id=id)
        self.where = where
        self._wanted = self._shown = ""
        self._due = False

    def show(self, text: str) -> None:
        """Show ``text`` from the frame after this one. The count changes with every message
        that arrives; set at once, it would ask for the marker's size while the new message's
        layout is pending, which makes the screen arrange everything there and then (and again
        for the frame). Set after the frame, the layout is done and the repaint is cheap."""
        self._wanted = text
        if not self._due and text != self._shown:
            self._due = True
            self.call_after_refresh(self._apply)

    def _apply(self) -> None:
        self._due = False
        if self._wanted != self._shown:
            self._shown = self._wanted
            self.update(self._wanted, layout=False)  # one line, whatever it says

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        from tui.widgets.transcript import Transcript  # the transcript imports this module

        transcript = self.parent
        if isinstance(transcript, Transcript):
            if self.where == "earlier":
                await transcript.load_earlier()
            else:
                await transcript.load_later()
