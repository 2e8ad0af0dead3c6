"""An ``OptionList`` of one-line options whose layout costs the same at 10,000 rows as at 10.

Textual's ``OptionList`` measures every option's wrapped height on each layout pass when its
height is ``auto`` (``get_content_height``) and again whenever options are added
(``_update_lines``): with a long session's 10,000 checkpoints that is seconds per frame. Here
every option is exactly one line (the widget's CSS is ``text-wrap: nowrap``, and no separators
are added), so both are just the option count. :class:`LazyOption` builds its prompt only when
the row is first drawn, so filling the list with thousands of rows is cheap too.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.geometry import Size
from textual.visual import VisualType
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class LazyOption(Option):
    """An option whose prompt is made by ``make()`` the first time it is needed."""

    def __init__(self, make: Callable[[], VisualType], *, id: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__("", id=id, disabled=disabled)
        self._make: Callable[[], VisualType] | None = make

    @property
    def prompt(self) -> VisualType:
        make, self._make = self._make, None
        if make is not None:
            self._prompt = make()
        return self._prompt

    def _set_prompt(self, prompt: VisualType) -> None:
        self._make = None
        super()._set_prompt(prompt)


class LineOptionList(OptionList):
    """An ``OptionList`` whose options never wrap and never have separators."""

    DEFAULT_CSS = """
    LineOptionList { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.option_count

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        cache = self._line_cache
        start, count = len(cache.lines), self.option_count
        if start < count:
            new = range(start, count)
            cache.lines.extend((index, 0) for index in new)
            cache.heights.update(dict.fromkeys(new, 1))
            cache.index_to_line.update(zip(new, new, strict=True))
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        virtual_size = Size(width, count)
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)
