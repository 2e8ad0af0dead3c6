"""The Workflow pane: the pack's orchestration pattern drawn as a graph, the active agent(s) lit.

The drawing is split in three so a new pattern is cheap to add: ``workflow_graphs`` holds the
small :class:`Graph` model, a builder per pattern (``graph_for_pack``) and ``feed``, which moves
the graph with the engine's events; ``workflow_render`` draws a graph in a width (one renderer per
layout, and a compact list form when a drawing does not fit); this module is the widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from agents.events import Event
from personas.models import Pack
from tui.widgets.workflow_graphs import (
    HUMAN_ID,
    Graph,
    Layout,
    Node,
    TaskView,
    feed,
    graph_for_pack,
)
from tui.widgets.workflow_render import (
    DEFAULT_WIDTH,
    MIN_WIDTH,
    render_compact,
    render_graph,
)

__all__ = [
    "DEFAULT_WIDTH",
    "HUMAN_ID",
    "MIN_WIDTH",
    "Graph",
    "Layout",
    "Node",
    "TaskView",
    "WorkflowPane",
    "feed",
    "graph_for_pack",
    "render_compact",
    "render_graph",
]

# With the screen this many lines tall or less, a drawing taller than half of it is listed
# compactly instead (the pane shares the right column with three others).
MIN_HEIGHT_BUDGET = 8


def _fit(label: str, width: int) -> str:
    return label if len(label) <= width else label[: max(width - 1, 0)] + "…"


class WorkflowPane(Widget):
    """The pack's pattern graph; lights the active agents and counts the edges taken.

    ``compact``: ``None`` (the default) draws the graph and falls back to the list form when it
    does not fit; ``True`` always lists; ``False`` always draws.
    """

    DEFAULT_CSS = """
    WorkflowPane { height: auto; width: 1fr; }
    """

    def __init__(
        self,
        pack: Pack,
        *,
        compact: bool | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.pack = pack
        self.graph = graph_for_pack(pack)
        self.compact = compact
        self._since: list[Event] | None = None  # fed while the older steps are being read

    def height_budget(self) -> int | None:
        """How many lines the drawing may take before it is listed compactly (None: any)."""
        if self.compact is False or not self.is_mounted:
            return None
        return max(MIN_HEIGHT_BUDGET, self.app.size.height // 2) - 1

    def drawing(self, width: int) -> Text:
        """The header and the graph, drawn ``width`` cells wide."""
        width = max(width, 1)
        turn = self.graph.turn
        header = self.graph.title + (f" · turn {turn}" if turn is not None else "")
        text = Text(_fit(header, width) + "\n", style="dim") if header else Text()
        body = render_graph(self.graph, width, self.height_budget(), compact=bool(self.compact))
        return text.append_text(body)

    def render(self) -> Text:
        return self.drawing(self.content_size.width or DEFAULT_WIDTH)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Drawn for the width it gets, so no line wraps: the height is the number of lines.
        return len(self.drawing(width or DEFAULT_WIDTH).plain.splitlines())

    def set_compact(self, compact: bool | None) -> None:
        """Force the list form (True), the drawing (False) or choose by size (None)."""
        self.compact = compact
        self.refresh(layout=True)

    def handle(self, event: Event) -> None:
        if feed(self.graph, event):
            if self._since is not None:
                self._since.append(event)
            self.refresh(layout=True)

    def reset(self) -> None:
        self.graph = graph_for_pack(self.pack)
        self._since = None
        self.refresh(layout=True)

    def expect_older(self) -> None:
        """What is fed from now on is the newest part of a view: :meth:`prepend` will put the
        steps before it first (a reopened session shows only its newest page at first)."""
        self._since = []

    def prepend(self, older: list[Event]) -> None:
        """The steps before what was fed since :meth:`expect_older` (see
        :func:`agents.stored.stored_steps`): the graph is moved by them first, so its counts
        cover the whole view."""
        since, self._since = self._since or [], None
        graph = graph_for_pack(self.pack)
        for event in (*older, *since):
            feed(graph, event)
        self.graph = graph
        self.refresh(layout=True)

    def stop_expecting(self) -> None:
        """The older steps will not come (they could not be read): stop keeping events."""
        self._since = None

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self.graph.active)
