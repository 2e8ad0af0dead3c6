"""The body of a message while it streams: a ``Markdown`` widget that is one widget.

Textual's ``Markdown`` turns every paragraph, list item and code block into widgets of their own
and re-parses and re-mounts the last of them on every write: with three replies streaming at
200 tokens/s that work, and the layout it triggers, keeps the event loop busy enough for the
text and key presses to fall behind. This subclass keeps the ``Markdown`` API that matters here
(:attr:`source`, :meth:`update`, :meth:`append`) but draws the document as one Rich Markdown
renderable. Only the block being written changes: the blocks before it (up to the last blank
line outside a code fence) are drawn once per width and reused, so a write costs the last
paragraph, not the whole reply.
"""

from __future__ import annotations

import re

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text
from textual.await_complete import AwaitComplete
from textual.events import Mount
from textual.widgets import Markdown

from tui.markdown_doc import MarkdownDoc


async def _done() -> None:
    return None


CONTINUES = re.compile(r"\s|[-*+]\s|\d+[.)]\s")


class _Drawn:
    """Finished Markdown blocks, rendered once per width (and style) and then replayed."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown
        self._key: object = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (options.max_width, console.style, options.justify, options.overflow)
        if key != self._key:
            self._lines = console.render_lines(MarkdownDoc(self.markdown), options, pad=False)
            self._key = key
        new_line = Segment.line()
        for line in self._lines:
            yield from line
            yield new_line


def split_finished(markdown: str) -> tuple[str, str]:
    """``markdown`` as (the blocks before the last blank line, the block being written); the
    first is empty when there is no such line outside a code fence."""
    cut = markdown.rfind("\n\n")
    if cut <= 0 or markdown.count("```", 0, cut) % 2:
        return "", markdown
    tail = markdown[cut + 2:]
    if CONTINUES.match(tail):  # a list item or indented text may belong to the block before
        return "", markdown
    return markdown[:cut], tail


class StreamingMarkdown(Markdown):
    """A ``Markdown`` whose document is drawn as a single renderable (no block widgets)."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; padding: 0; margin: 0; background: transparent; }
    """

    def __init__(self, markdown: str | None = None) -> None:
        super().__init__(markdown)
        self._markdown = markdown or ""
        self._rendered: RenderableType | None = None
        self._drawn: _Drawn | None = None
        self._measure = False

    @property
    def is_container(self) -> bool:
        return False  # no block children: the height is the height of what render() draws

    @property
    def is_scrollable(self) -> bool:
        return False

    async def _on_mount(self, event: Mount) -> None:  # type: ignore[override]  # as Markdown
        # Markdown's own handler would rebuild the document from the text given at creation
        # (losing anything written since) as block widgets: there is nothing to build here.
        event.prevent_default()
        self._initial_markdown = None

    def update(self, markdown: str) -> AwaitComplete:
        """Replace the document."""
        self._set(markdown)
        return AwaitComplete(_done())

    def append(self, markdown: str) -> AwaitComplete:
        """Add to the end of the document (drawn at the next frame)."""
        if markdown:
            self._set(self._markdown + markdown)
        return AwaitComplete(_done())

    def write(self, markdown: str) -> None:
        """:meth:`append` for callers that need not wait."""
        if markdown:
            self._set(self._markdown + markdown)

    def _set(self, markdown: str) -> None:
        self._markdown = markdown
        self._rendered = None
        self._table_of_contents = None
        if not self.is_mounted or not self.size.width:
            self.refresh(layout=True)
            return
        # Most writes only add words to the last line: repainting this widget is enough. Only
        # a change of height needs a layout of the screen (and the transcript to scroll). The
        # height is measured when the widget is next idle (before the next frame), once for
        # all the writes since: measuring renders the document.
        self._measure = True
        self.refresh()

    def _check_refresh(self) -> None:
        if self._measure:
            self._measure = False
            size = self.size
            if (size.width and self.is_mounted
                    and self.get_content_height(size, size, size.width) != size.height):
                self.refresh(layout=True)
        super()._check_refresh()

    def render(self) -> RenderableType:
        if self._rendered is None:
            self._rendered = self._renderable()
        return self._rendered

    def _renderable(self) -> RenderableType:
        source = self._markdown
        if not source.strip():
            return ""
        done, tail = split_finished(source)
        if not done.strip() or not tail.strip():
            return MarkdownDoc(source)
        if self._drawn is None or self._drawn.markdown != done:
            self._drawn = _Drawn(done)
        return Group(self._drawn, Text(""), MarkdownDoc(tail))
