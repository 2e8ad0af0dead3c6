"""One transcript message: a header (persona name, role, colour, marks) over its Markdown text.

A finished message (replayed, typed by the human, or done streaming) is one widget with no
children, drawing its header and its Rich Markdown body as one renderable: the transcript keeps
dozens of them mounted, and every widget costs on each layout pass and in memory. A message that
is streaming has two children, a header line and a
:class:`~tui.widgets.streaming_markdown.StreamingMarkdown` that the streamed text is written to;
when it completes they go and the message draws itself like any other."""

from __future__ import annotations

from rich.color import Color as RichColor
from rich.color import ColorParseError
from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Static

from tui.markdown_doc import MarkdownDoc
from tui.widgets.streaming_markdown import StreamingMarkdown
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


def body_renderable(entry: Entry) -> MarkdownDoc | Text:
    if entry.text.strip():
        return MarkdownDoc(entry.text)
    if entry.interrupted:
        return Text("(cut off before any text arrived)", style="dim italic")
    return Text("")


class MessageView(Widget):
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
    MessageView > StreamingMarkdown { margin: 0; padding: 0; background: transparent; }
    """

    def __init__(self, entry: Entry, index: int, to_name: str | None = None) -> None:
        classes = "-human" if entry.agent == "human" else ""
        super().__init__(classes=classes)
        self.entry = entry
        self.index = index
        self._to_name = to_name
        self._markdown: StreamingMarkdown | None = None
        self._rendered: Group | None = None
        if entry.streaming:
            self._markdown = StreamingMarkdown(entry.text or None)
        colour = border_colour(entry.colour)
        if colour is not None:
            self.styles.border_left = ("tall", colour)

    def compose(self) -> ComposeResult:
        if self._markdown is not None:
            yield Static(self.header, classes="message-header")
            yield self._markdown

    @property
    def is_streaming(self) -> bool:
        return self._markdown is not None

    @property
    def markdown(self) -> StreamingMarkdown | None:
        """The streaming Markdown widget (None once the message is finished)."""
        return self._markdown

    @property
    def header(self) -> Text:
        """The header line as it is drawn now."""
        return header_text(self.entry, self._to_name)

    @property
    def body(self) -> MarkdownDoc | Text:
        """The body of a finished message as it is drawn."""
        return body_renderable(self.entry)

    def render(self) -> RenderableType:
        if self._markdown is not None:
            return ""  # the children draw a streaming message
        # Textual asks twice for a new message (its height, then its lines): parse it once.
        if self._rendered is None:
            header = self.header
            header.no_wrap = True
            header.overflow = "ellipsis"
            self._rendered = Group(header, self.body)
        return self._rendered

    async def append(self, text: str) -> None:
        """More streamed text (already added to ``entry.text``)."""
        if self._markdown is not None:
            self._markdown.write(text)
        else:
            self._rendered = None
            self.refresh(layout=True)

    async def finish(self) -> None:
        """The message completed (or was interrupted): show the final text and marks."""
        markdown, self._markdown = self._markdown, None
        if markdown is not None:
            await self.remove_children()
        self._rendered = None
        self.refresh(layout=True)
