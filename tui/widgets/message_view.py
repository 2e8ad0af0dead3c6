"""One transcript message: a header (persona name, role, colour, marks) over its Markdown text.

A message that is streaming gets Textual's ``Markdown`` widget fed through a ``MarkdownStream``;
once it completes, and for any other message (replayed, typed by the human), the body is a single
``Static`` rendering Rich Markdown, which mounts in a fraction of the time."""

from __future__ import annotations

import contextlib

from rich.color import Color as RichColor
from rich.color import ColorParseError
from rich.markdown import Markdown as RichMarkdown
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui.widgets.transcript_model import Entry


def persona_style(colour: str) -> Style:
    try:
        return Style(color=colour or None, bold=True)
    except Exception:  # rich raises StyleSyntaxError / ColorParseError for unknown names
        return Style(bold=True)


def border_colour(colour: str) -> Color | None:
    if not colour:
        return None
    try:
        triplet = RichColor.parse(colour).get_truecolor()
    except ColorParseError:
        return None
    return Color(triplet.red, triplet.green, triplet.blue)


def header_text(entry: Entry, to_name: str | None = None) -> Text:
    text = Text()
    text.append(entry.name or entry.agent or "?", style=persona_style(entry.colour))
    if entry.role and entry.role != "human":
        text.append(f" · {entry.role}", style="dim")
    if entry.to:
        text.append(f" → {to_name or entry.to}", style="italic")
    if entry.streaming:
        text.append("  ▍", style="dim")
    if entry.interrupted:
        text.append("  · interrupted", style="bold yellow")
    return text


def body_renderable(entry: Entry) -> RichMarkdown | Text:
    if entry.text.strip():
        return RichMarkdown(entry.text)
    if entry.interrupted:
        return Text("(cut off before any text arrived)", style="dim italic")
    return Text("")


class MessageView(Vertical):
    """A message in the transcript; ``index`` is its position in the transcript model."""

    DEFAULT_CSS = """
    MessageView {
        height: auto;
        padding: 0 1 0 1;
        margin: 0 0 1 0;
        border-left: tall $primary;
    }
    MessageView.-human { border-left: tall $accent; background: $boost; }
    MessageView > .message-header { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    MessageView > Markdown { margin: 0; padding: 0; background: transparent; }
    MessageView > .message-body { height: auto; }
    """

    def __init__(self, entry: Entry, index: int, to_name: str | None = None) -> None:
        classes = "-human" if entry.agent == "human" else ""
        super().__init__(classes=classes)
        self.entry = entry
        self.index = index
        self._to_name = to_name
        self._stream: MarkdownStream | None = None
        self._markdown: Markdown | None = None

    def compose(self) -> ComposeResult:
        yield Static(header_text(self.entry, self._to_name), classes="message-header")
        if self.entry.streaming:
            self._markdown = Markdown(self.entry.text or None)
            yield self._markdown
        else:
            yield Static(body_renderable(self.entry), classes="message-body")

    def on_mount(self) -> None:
        colour = border_colour(self.entry.colour)
        if colour is not None:
            self.styles.border_left = ("tall", colour)
        if self._markdown is not None:
            self._stream = Markdown.get_stream(self._markdown)

    @property
    def is_streaming(self) -> bool:
        return self._stream is not None

    @property
    def markdown(self) -> Markdown | None:
        """The streaming Markdown widget (None once the message is finished)."""
        return self._markdown

    async def append(self, text: str) -> None:
        """More streamed text (already added to ``entry.text``)."""
        if self._stream is not None:
            await self._stream.write(text)
        else:
            self.query_one(".message-body", Static).update(body_renderable(self.entry))

    async def finish(self) -> None:
        """The message completed (or was interrupted): show the final text and marks."""
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.stop()
        markdown, self._markdown = self._markdown, None
        if markdown is not None:
            # Finished: the same one-Static rendering as a message loaded from history (light,
            # and without the Markdown widget's trailing blank line).
            body = Static(body_renderable(self.entry), classes="message-body")
            await self.mount(body, after=markdown)
            await markdown.remove()
        else:
            self.query_one(".message-body", Static).update(body_renderable(self.entry))
        self.query_one(".message-header", Static).update(header_text(self.entry, self._to_name))

    async def on_unmount(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.stop()
