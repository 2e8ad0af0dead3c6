"""The start screen's key bar: Textual's ``Footer`` look, drawn by one widget.

``Footer`` is a widget per key, composed twice (empty, then again once the screen's bindings are
known); every widget on the app's first frame costs its styling, mounting and painting, so the
start screen (that first frame) uses this one instead. It shows the same keys in the same
colours: the screen's shown bindings, one per action, with the app's key display, dimmed when
disabled, and the command palette's key at the right. It draws itself again (no widgets come or
go) when the screen's bindings change, and a click on a key presses it, as on ``Footer``.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.screen import Screen

DIM = Style(dim=True)


class KeySpan(NamedTuple):
    """Where a key was drawn on the bar (cells ``start`` to ``end``) and what it presses."""

    start: int
    end: int
    key: str
    enabled: bool
    tooltip: str


class KeyBar(Widget, can_focus=False):
    """One line docked at the bottom showing the screen's keys, as ``Footer`` does."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        width: 100%;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
        padding: 0 1;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
        padding: 0 1 0 0;
    }
    KeyBar > .key-bar--separator {
        color: $foreground 20%;
    }
    KeyBar > .key-bar--hover {
        background: $block-hover-background;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--separator",
        "key-bar--hover",
    }

    ALLOW_SELECT = False

    show_command_palette = True
    """Show the command palette's key at the right (when the app has the palette)."""

    _hover: int | None = None
    """The index in ``spans`` of the key under the mouse."""

    def __init__(self, *, name: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, classes=classes)
        self.spans: list[KeySpan] = []
        """The keys as last drawn, left to right (the palette's key last)."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    # -- drawing -------------------------------------------------------------------------------

    def _shown_bindings(self) -> list[list[tuple[Binding, bool, str]]]:
        """The shown bindings, grouped by action (in the order ``Footer`` shows them)."""
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        return list(by_action.values())

    def _line(self) -> Strip:
        width = self.size.width
        base = self.rich_style
        blank = Style(bgcolor=base.bgcolor)
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        key_pad = self.get_component_styles("key-bar--key").padding
        description_pad = self.get_component_styles("key-bar--description").padding
        hover_bg = Style(bgcolor=self.get_component_rich_style("key-bar--hover").bgcolor)
        spans: list[KeySpan] = []
        segments: list[Segment] = []
        x = 0

        def add(parts: list[tuple[str, Style]], key: str, enabled: bool, tooltip: str) -> None:
            nonlocal x
            extra = Style() if enabled else DIM
            if len(spans) == self._hover:
                extra += hover_bg
            length = 0
            for text, style in parts:
                segments.append(Segment(text, style + extra))
                length += cell_len(text)
            spans.append(KeySpan(x, x + length, key, enabled, tooltip))
            x += length

        def padded(text: str, left: int, right: int) -> str:
            return " " * left + text + " " * right

        app = self.app
        for group, grouped in groupby(self._shown_bindings(), lambda found: found[0][0].group):
            actions = list(grouped)
            if group is not None and len(actions) > 1:
                # A group: its keys, one space apart, then the group's description.
                segments.append(Segment(" ", blank))
                x += 1
                for binding, enabled, tooltip in (found[0] for found in actions):
                    add([(app.get_key_display(binding), key_style)], binding.key, enabled,
                        tooltip or binding.description)
                    segments.append(Segment(" ", blank))
                    x += 1
                text = padded(group.description, 0, 1)
                segments.append(Segment(text, description_style))
                x += cell_len(text)
                continue
            for binding, enabled, tooltip in (found[0] for found in actions):
                parts = [(padded(app.get_key_display(binding), key_pad.left, key_pad.right),
                          key_style)]
                if binding.description:
                    parts.append((padded(binding.description, description_pad.left,
                                         description_pad.right), description_style))
                add(parts, binding.key, enabled, tooltip)
        line = Strip(segments).crop_extend(0, width, blank)

        palette = self._palette_binding()
        if palette is not None:
            binding, enabled = palette
            separator = Style(color=self.get_component_rich_style("key-bar--separator").color,
                              bgcolor=base.bgcolor)
            key = app.get_key_display(binding)
            length = cell_len(f"▏{key} {binding.description} ")
            start = max(0, width - length)
            spans = [span._replace(end=min(span.end, start)) for span in spans
                     if span.start < start]
            segments = []
            x = start
            add([("▏", separator), (key, key_style),
                 (" " + binding.description, description_style), (" ", blank)],
                binding.key, enabled, binding.tooltip or binding.description)
            line = Strip.join([line.crop(0, start), Strip(segments)]).crop(0, width)
        self.spans = spans
        return line

    def _palette_binding(self) -> tuple[Binding, bool] | None:
        """The command palette's binding and whether it is enabled, if it is to be shown."""
        app = self.app
        if not (self.show_command_palette and app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        return None if found is None else (found[1], found[2])

    def render_line(self, y: int) -> Strip:
        if y:
            return Strip.blank(self.size.width, self.rich_style)
        return self._line()

    # -- the mouse -------------------------------------------------------------------------------

    def key_at(self, x: int) -> int | None:
        """The index in ``spans`` of the key drawn at cell ``x``, if any."""
        for index, span in enumerate(self.spans):
            if span.start <= x < span.end:
                return index
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self.key_at(event.x)
        if index is None:
            return
        span = self.spans[index]
        if span.enabled:
            self.app.simulate_key(span.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self.key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, index: int | None) -> None:
        if index != self._hover:
            self._hover = index
            self.tooltip = None if index is None else (self.spans[index].tooltip or None)
            self.refresh()
