"""A Textual compositor that arranges the screen once per layout, not twice.

When a widget is mounted, Textual's ``Compositor.update_widgets`` marks the full map of the
screen out of date (the new widget is not in it yet); the ``reflow`` that follows builds a
complete new map but leaves that mark set, so the first ``widget.region`` asked for afterwards
(Textual asks for several in the same layout pass) arranges every widget on the screen a second
time. On the main screen that second pass was a quarter of the cost of a frame in which a message
is appended or a streamed reply grows by a line. This subclass clears the mark once ``reflow``
has built the map, which is exactly what the lazy rebuild would have produced.
"""

from __future__ import annotations

from textual._compositor import Compositor, ReflowResult
from textual.geometry import Size
from textual.widget import Widget


class SingleArrangeCompositor(Compositor):
    """``Compositor`` whose ``reflow`` leaves its (complete) full map valid."""

    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        result = super().reflow(parent, size)
        self._full_map_invalidated = False  # reflow arranged every widget (visible_only=False)
        return result
