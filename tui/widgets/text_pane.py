"""A focusable pane that shows one text, wrapped to its width, and scrolls it: the start
screen's pack preview, as one widget where a ``Static`` in a ``VerticalScroll`` is two."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.visual import Visual, VisualType, visualize


class TextPane(ScrollView, can_focus=True):
    """A focusable pane that shows one text, wrapped to its width, and scrolls it.

    It looks and scrolls as a ``Static`` in a ``VerticalScroll`` does, but is one widget where
    those are two: every widget of the first frame is styled, mounted and painted before it
    shows. ``update`` and ``content`` are ``Static``'s.
    """

    ALLOW_MAXIMIZE = False  # as a VerticalScroll
    DEFAULT_CSS = """
    TextPane {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
    }
    """

    def __init__(self, content: VisualType = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content: VisualType = content
        self._visual: Visual | None = None
        self._lines: list[Strip] = []
        self._wrapped_at: int | None = None  # the width the lines are wrapped to; None: stale

    @property
    def content(self) -> VisualType:
        return self._content

    def update(self, content: VisualType = "") -> None:
        self._content, self._visual = content, None
        self._rewrap()

    @property
    def visual(self) -> Visual:
        """The content as Textual draws it (for text, a ``Content``)."""
        if self._visual is None:
            self._visual = visualize(self, self._content, markup=self._render_markup)
        return self._visual

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text, as a Static gives it."""
        if not isinstance(self.visual, Text | Content):
            return None
        return selection.extract(str(self.visual)), "\n"

    def _rewrap(self) -> None:
        self._wrapped_at = None
        self._wrap()
        self.refresh()

    def _wrap(self) -> None:
        """Wrap the text to the pane's width, less the scrollbar's while the lines overflow the
        height. As in a scrolling container, the scrollbar shown now is tried first, and it
        changes in the same layout as the lines."""
        region = self.scrollable_content_region
        if self._wrapped_at == region.width:
            return
        full_width = region.width + self.scrollbar_size_vertical  # without a scrollbar
        size = self.styles.scrollbar_size_vertical
        scrollbar = self.show_vertical_scrollbar
        lines = self._render_lines(full_width - size * scrollbar)
        if (len(lines) > region.height and self.styles.overflow_y == "auto") != scrollbar:
            scrollbar = not scrollbar
            lines = self._render_lines(full_width - size * scrollbar)
        width = full_width - size * scrollbar
        self._lines, self._wrapped_at = lines, width
        self.virtual_size = Size(width, len(lines))
        self.show_vertical_scrollbar = scrollbar

    def _render_lines(self, width: int) -> list[Strip]:
        if width <= 0:
            return []
        return Visual.to_strips(self, self.visual, width, None, self.visual_style)

    def on_resize(self, _event: events.Resize) -> None:
        self._wrap()

    def watch_show_vertical_scrollbar(self) -> None:
        self._wrap()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._wrapped_at = None

    def selection_updated(self, selection: Selection | None) -> None:
        self._rewrap()

    def render_line(self, y: int) -> Strip:
        """The line of text ``y`` rows below the top of the view; the rest of the row (and the
        rows under the text) is padded with the background, as Textual pads a Static's lines."""
        self._wrap()
        index = self.scroll_offset.y + y  # no horizontal scrolling: the lines fit the width
        return self._lines[index] if index < len(self._lines) else Strip([], 0)
