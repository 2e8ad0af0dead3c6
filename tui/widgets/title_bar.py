"""The start screen's title bar: Textual's ``Header`` look, drawn by one widget.

``Header`` is four widgets (the bar, its icon, its title, the clock's space); every widget on
the app's first frame costs its styling, mounting and painting, so the start screen (that first
frame) uses this one instead. It draws the same line in the same colours: the icon at the left
(a click opens the command palette), the screen's title and sub-title centred as
``App.format_title`` makes them, and the clock's empty space at the right. It follows the
title and sub-title of its screen (or of the app, when the screen has none) as ``Header`` does.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.content import Content
from textual.strip import Strip
from textual.style import Style as ContentStyle
from textual.widget import Widget

ICON = "⭘"
ICON_WIDTH = 8  # HeaderIcon: width 8, padding 0 1
CLOCK_WIDTH = 10  # HeaderClockSpace: width 10, padding 0 1
NOT_REVERSE = Style(reverse=False)
"""Marks the space that aligns a part, which ``Header``'s widgets draw apart from the text."""


class TitleBar(Widget):
    """One line docked at the top: icon, centred title — sub-title, the clock's space."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    TitleBar > .title-bar--icon-hover {
        background: $foreground 10%;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"title-bar--icon-hover"}

    ALLOW_SELECT = False

    _icon_hover = False
    """Whether the mouse is over the icon."""

    def on_mount(self) -> None:
        for node in (self.app, self.screen):
            self.watch(node, "title", self._title_changed, init=False)
            self.watch(node, "sub_title", self._title_changed, init=False)

    def _title_changed(self) -> None:
        self.refresh()

    @property
    def screen_title(self) -> str:
        """The screen's title, or the app's when the screen has none."""
        title = self.screen.title
        return self.app.title if title is None else title

    @property
    def screen_sub_title(self) -> str:
        """The screen's sub-title, or the app's when the screen has none."""
        sub_title = self.screen.sub_title
        return self.app.sub_title if sub_title is None else sub_title

    def format_title(self) -> Content:
        """The title and sub-title as the app formats them (``App.format_title``)."""
        return self.app.format_title(self.screen_title, self.screen_sub_title)

    def _line(self) -> Strip:
        width = self.size.width
        base = self.rich_style
        blank = Style(bgcolor=base.bgcolor)
        fill = base + NOT_REVERSE
        icon_style, icon_blank = base, blank
        if self._icon_hover:
            hover = Style(bgcolor=self.get_component_rich_style("title-bar--icon-hover").bgcolor)
            icon_style, icon_blank = base + hover, blank + hover
        segments = [
            Segment(" ", icon_blank),
            Segment(ICON, icon_style),
            Segment(" " * (ICON_WIDTH - 3), icon_style + NOT_REVERSE),
            Segment(" ", icon_blank),
        ]
        space = max(0, width - ICON_WIDTH - CLOCK_WIDTH)
        title = self.format_title()
        if title.cell_length > space:
            title = title.truncate(space, ellipsis=True)
        left = (space - title.cell_length) // 2
        right = space - title.cell_length - left
        segments.append(Segment(" " * left, fill))
        # Each part of the title carries its offset in the title, as Textual marks text, so the
        # parts stay apart (the sub-title is not one run with the dash before it).
        offset = 0
        for segment in title.render_segments(ContentStyle.from_rich_style(base)):
            style = Style.from_meta({"offset": (offset, 0)})
            segments.append(Segment(segment.text, style if segment.style is None
                                    else segment.style + style))
            offset += len(segment.text)
        segments.append(Segment(" " * right, fill))
        segments += [  # the clock's space: its padding round its (empty) text, as Header's
            Segment(" ", blank),
            Segment("", base),
            Segment(" " * (CLOCK_WIDTH - 2), blank),
            Segment(" ", blank),
        ]
        return Strip(segments).crop_extend(0, width, blank)

    def render_line(self, y: int) -> Strip:
        if y:
            return Strip.blank(self.size.width, self.rich_style)
        return self._line()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_icon_hover(event.x < ICON_WIDTH)

    def on_leave(self, event: events.Leave) -> None:
        self._set_icon_hover(False)

    def _set_icon_hover(self, hover: bool) -> None:
        hover = hover and self.app.ENABLE_COMMAND_PALETTE
        if hover != self._icon_hover:
            self._icon_hover = hover
            self.tooltip = "Open the command palette" if hover else None
            self.refresh()

    async def on_click(self, event: events.Click) -> None:
        if event.x < ICON_WIDTH and self.app.ENABLE_COMMAND_PALETTE:
            event.stop()
            await self.run_action("app.command_palette")
