"""The Workflow pane: the pack's orchestration pattern drawn as a graph, the active agent lit.

The drawing is split in two so new patterns are cheap to add: a small :class:`Graph` model
(nodes, edges, counts, active nodes, and a layout name) and :func:`render_graph`, a pure function
from a graph and a width to Rich text. ``graph_for_pack`` maps a pack's pattern to a graph; a new
pattern adds a builder there and, if none of the layouts fits, one ``_render_<layout>`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from agents.events import Event
from personas.models import Pack

HUMAN_ID = "human"
DEFAULT_WIDTH = 38
MIN_WIDTH = 16

Layout = Literal["hub", "chain"]


@dataclass
class Node:
    """One box of the graph: a persona (or the human) with its display name and colour."""

    id: str
    label: str
    colour: str = "white"


@dataclass
class Graph:
    """What the renderer draws. ``hub`` names the centre node of a ``hub`` layout."""

    layout: Layout
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    hub: str | None = None
    title: str = ""

    def add_node(self, node: Node) -> None:
        self.nodes.setdefault(node.id, node)

    def add_edge(self, src: str, dst: str) -> None:
        if (src, dst) not in self.edges:
            self.edges.append((src, dst))

    def take(self, src: str, dst: str) -> None:
        """Count one traversal of the edge ``src → dst``, adding the edge (and node) if new."""
        if dst not in self.nodes:
            self.add_node(Node(dst, dst))
        self.add_edge(src, dst)
        self.counts[(src, dst)] = self.counts.get((src, dst), 0) + 1

    def count(self, src: str, dst: str) -> int:
        return self.counts.get((src, dst), 0)

    def clear_counts(self) -> None:
        self.counts.clear()
        self.active.clear()


def _group_chat(pack: Pack, include_human: bool) -> Graph:
    moderator = pack.moderator
    graph = Graph(layout="hub", hub=moderator.id, title="group chat")
    graph.add_node(Node(moderator.id, moderator.name, moderator.colour))
    for persona in pack.speakers:
        graph.add_node(Node(persona.id, persona.name, persona.colour))
        graph.add_edge(moderator.id, persona.id)
    if include_human:
        graph.add_node(Node(HUMAN_ID, "You", "bold"))
        graph.add_edge(moderator.id, HUMAN_ID)
    return graph


def _cast_chain(pack: Pack, include_human: bool) -> Graph:
    """The cast in pack order as a pipeline (the shape of a ``sequential`` pattern)."""
    graph = Graph(layout="chain", title=str(pack.pack.pattern))
    previous: str | None = None
    for persona in pack.personas:
        graph.add_node(Node(persona.id, persona.name, persona.colour))
        if previous is not None:
            graph.add_edge(previous, persona.id)
        previous = persona.id
    return graph


_BUILDERS: dict[str, Callable[[Pack, bool], Graph]] = {"group_chat": _group_chat}


def graph_for_pack(pack: Pack, *, include_human: bool = True) -> Graph:
    """The graph of a pack's pattern (``group_chat``: the moderator as a hub, a spoke per speaker).

    A pattern with no builder of its own is drawn as a chain of the cast.
    """
    builder = _BUILDERS.get(pack.pack.pattern, _cast_chain)
    return builder(pack, include_human)


# ---------------------------------------------------------------------------- rendering (pure)


def _style(colour: str) -> Style:
    try:
        return Style.parse(colour)
    except StyleSyntaxError:
        return Style()


def _fit(label: str, width: int) -> str:
    if width <= 0:
        return ""
    return label if len(label) <= width else label[: max(width - 1, 0)] + "…"


def _node_text(graph: Graph, node: Node, width: int) -> Text:
    style = _style(node.colour)
    if node.id in graph.active:
        style += Style(reverse=True, bold=True)
    return Text(_fit(node.label, width), style=style)


def _render_hub(graph: Graph, width: int) -> Text:
    """The hub in a box, a vertical stem below it and one spoke per edge leaving the hub."""
    assert graph.hub is not None
    hub = graph.nodes[graph.hub]
    out = Text()
    inner = min(max(len(hub.label) + 2, 8), width - 2)
    out.append("╭" + "─" * inner + "╮\n", style="dim")
    label = _node_text(graph, hub, inner - 2)
    out.append("│ ", style="dim")
    out.append_text(label)
    out.append(" " * (inner - 1 - label.cell_len) + "│\n", style="dim")
    out.append("╰─┬" + "─" * (inner - 2) + "╯\n", style="dim")
    spokes = [dst for src, dst in graph.edges if src == graph.hub]
    tags = {dst: f"×{n}" if (n := graph.count(graph.hub, dst)) else "" for dst in spokes}
    tag_width = max((len(t) for t in tags.values()), default=0)
    room = width - 3 - (tag_width + 4)
    for index, dst in enumerate(spokes):
        node = graph.nodes[dst]
        lit = dst in graph.active
        line_style = _style(node.colour) + Style(bold=True) if lit else Style(dim=True)
        tag = tags[dst]
        out.append("  " + ("└" if index == len(spokes) - 1 else "├") + "─", style=line_style)
        out.append(tag, style="bold" if lit else "")
        out.append("─" * (tag_width - len(tag)) + "─▶ ", style=line_style)
        out.append_text(_node_text(graph, node, room))
        out.append("\n")
    return out


def _render_chain(graph: Graph, width: int) -> Text:
    """Nodes top to bottom in edge order, joined by downward arrows with their counts."""
    order = list(graph.nodes)
    out = Text()
    for index, node_id in enumerate(order):
        out.append(" ")
        out.append_text(_node_text(graph, graph.nodes[node_id], width - 1))
        out.append("\n")
        if index + 1 < len(order):
            count = graph.count(node_id, order[index + 1])
            out.append("  │" + (f" ×{count}" if count else "") + "\n", style="dim")
            out.append("  ▼\n", style="dim")
    return out


_RENDERERS: dict[str, Callable[[Graph, int], Text]] = {
    "hub": _render_hub,
    "chain": _render_chain,
}


def render_graph(graph: Graph, width: int = DEFAULT_WIDTH) -> Text:
    """Draw ``graph`` with box-drawing characters in at most ``width`` columns."""
    width = max(width, MIN_WIDTH)
    text = _RENDERERS[graph.layout](graph, width)
    text.rstrip()
    return text


# ---------------------------------------------------------------------------- the widget


class WorkflowPane(Widget):
    """The pack's pattern graph; lights the active speakers and counts the edges taken."""

    DEFAULT_CSS = """
    WorkflowPane { height: auto; width: 1fr; }
    """

    def __init__(
        self,
        pack: Pack,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.pack = pack
        self.graph = graph_for_pack(pack)
        self._turn: int | None = None
        self._last: str | None = None

    def render(self) -> Text:
        width = self.size.width or DEFAULT_WIDTH
        header = self.graph.title + (f" · turn {self._turn}" if self._turn is not None else "")
        text = Text(_fit(header, width) + "\n", style="dim") if header else Text()
        return text.append_text(render_graph(self.graph, width))

    def _changed(self) -> None:
        self.refresh(layout=True)

    def handle(self, event: Event) -> None:
        graph = self.graph
        if event.kind == "turn_started":
            self._turn = event.turn
            graph.active = set(event.speakers)
            for speaker in event.speakers:
                if graph.hub is not None:
                    if speaker != graph.hub:  # the moderator speaking is lit, not an edge
                        graph.take(graph.hub, speaker)
                elif self._last is not None and (self._last, speaker) in graph.edges:
                    graph.take(self._last, speaker)
                self._last = speaker
            self._changed()
        elif event.kind == "message_started":
            if event.turn != self._turn:
                self._turn = event.turn
                graph.active = set()
            if event.agent not in graph.nodes:
                graph.add_node(Node(event.agent, event.name))
            graph.active.add(event.agent)
            self._changed()
        elif event.kind == "session_ended":
            graph.active = set()
            self._changed()

    def reset(self) -> None:
        self.graph = graph_for_pack(self.pack)
        self._turn = None
        self._last = None
        self._changed()

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self.graph.active)
