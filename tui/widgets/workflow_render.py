"""Drawing a workflow :class:`~tui.widgets.workflow_graphs.Graph` as Rich text, pure functions.

One renderer per layout (``hub``, ``chain``, ``fan``, ``pool``, ``handoff``), each drawing lines of
at most ``width`` cells with box-drawing characters: nodes in their persona's colour, the active
ones reversed, the edges with ``×n`` counts. A renderer gives up (returns ``None``) when its labels
would be cut below :data:`MIN_LABEL` cells; :func:`render_graph` then, or when the drawing is
taller than the height it may use, falls back to the compact list form ("Chair → Ada ×3").
"""

from __future__ import annotations

from collections.abc import Callable

from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text

from tui.widgets.workflow_graphs import MARKS, Graph, Node, TaskStatus

DEFAULT_WIDTH = 38
MIN_WIDTH = 16
MIN_LABEL = 6  # a layout that would cut names shorter than this degrades to the list form
MIN_ROLE = 8  # "Name, Role" labels keep at least this much of the role, or just the name

_BADGES: tuple[tuple[TaskStatus, str], ...] = (
    ("done", "✓"), ("failed", "✗"), ("queued", "◦"), ("retrying", "↻"), ("skipped", "–"))


def _style(colour: str) -> Style:
    try:
        return Style.parse(colour)
    except StyleSyntaxError:
        return Style()


def _fit(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut with "…" when longer."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def _fit_name(label: str, width: int) -> str:
    """A persona's label in ``width`` cells: a "Name, Role" label that would keep only a stub
    of its role is cut to the name ("Omar, Security Engineer" → "Omar")."""
    name, comma, _ = label.partition(",")
    if len(label) > width and comma and len(name) <= width and width - len(name) - 2 < MIN_ROLE:
        return name
    return _fit(label, width)


def _node_text(graph: Graph, node: Node, width: int, *, lit: bool | None = None) -> Text:
    style = _style(node.colour)
    if graph.active and (node.id in graph.active if lit is None else lit):
        style += Style(reverse=True, bold=True)
    return Text(_fit_name(node.label, width), style=style)


def _label(graph: Graph, node_id: str, width: int) -> Text:
    return _node_text(graph, graph.nodes.get(node_id) or Node(node_id, node_id), width)


def _tag(count: int) -> str:
    return f"×{count}" if count else ""


def badge(graph: Graph, node_id: str) -> str:
    """A node's delegated tasks: ``✓`` done, ``✗`` failed, ``◦`` waiting, ``↻`` retrying,
    ``–`` never started (running ones are lit instead)."""
    tally = graph.task_tally(node_id)
    return " ".join(f"{mark}{tally[status]}" for status, mark in _BADGES if status in tally)


def _edge_style(graph: Graph, node_id: str) -> Style:
    """An edge into a lit node is drawn bold in its colour; the others are dim."""
    if node_id not in graph.active:
        return Style(dim=True)
    node = graph.nodes.get(node_id)
    return (_style(node.colour) if node else Style()) + Style(bold=True)


def _wrap(head: Text, items: list[Text], width: int, indent: int) -> list[Text]:
    """``head`` then ``items`` joined by commas, wrapped onto lines indented by ``indent``."""
    lines = [head.copy()]
    for index, item in enumerate(items):
        piece = item.copy()
        if index < len(items) - 1:
            piece.append(",", style="dim")
        if lines[-1].cell_len + 1 + piece.cell_len > width and lines[-1].cell_len > indent:
            lines.append(Text(" " * (indent - 1)))
        lines[-1].append(" ")
        lines[-1].append_text(piece)
    for line in lines:
        line.truncate(width)
    return lines


def _spoke_rows(graph: Graph, spokes: list[str], width: int, lead: str, tail: bool,
                ) -> list[Text] | None:
    """One ``├─×n─▶ Name badge`` row per spoke; with ``tail``, a fan-in bracket on the right."""
    tags = {dst: _tag(graph.count(graph.hub or "", dst)) for dst in spokes}
    badges = {dst: badge(graph, dst) for dst in spokes}
    tag_width = max((len(t) for t in tags.values()), default=0)
    badge_width = max((len(b) for b in badges.values()), default=0)
    fixed = len(lead) + 2 + tag_width + 3 + (badge_width + 1 if badge_width else 0)
    fixed += 3 if tail else 0
    longest = max((len(graph.label(dst)) for dst in spokes), default=0)
    room = min(longest, width - fixed) if tail else width - fixed
    if spokes and room < min(MIN_LABEL, longest):
        return None
    rows: list[Text] = []
    for index, dst in enumerate(spokes):
        last = index == len(spokes) - 1
        style = _edge_style(graph, dst)
        row = Text(lead)
        row.append(("└" if last else "├") + "─", style=style)
        row.append(tags[dst], style="bold" if dst in graph.active else "")
        row.append("─" * (tag_width - len(tags[dst])) + "─▶ ", style=style)
        name = _label(graph, dst, room)
        row.append_text(name)
        if tail:
            row.append(" " * (room - name.cell_len))
        if badges[dst] or (tail and badge_width):
            row.append(" " + badges[dst], style="bold")
            if tail:
                row.append(" " * (badge_width - len(badges[dst])))
        if tail:
            end = "┘" if last else ("┐" if index == 0 else "┤")
            row.append(" ─" + end, style="dim")
        rows.append(row)
    return rows


def _into(rows: list[Text], caption: str, width: int) -> Text:
    """The ``caption ▼`` line under a fan-in bracket, the arrow in the bracket's column."""
    column = max((row.cell_len for row in rows), default=2) - 1
    text = f"{caption} ▼"
    return Text(_fit(" " * max(1, column - len(text) + 1) + text, width), style="dim")


# ---------------------------------------------------------------------------- layouts


def _render_hub(graph: Graph, width: int) -> list[Text] | None:
    """The hub in a box, one spoke per edge leaving it; under it the allowed transitions."""
    assert graph.hub is not None
    hub = graph.nodes[graph.hub]
    inner = min(max(len(hub.label) + 2, 8), width - 2)
    label = _node_text(graph, hub, inner - 2)
    lines = [Text("╭" + "─" * inner + "╮", style="dim")]
    lines.append(Text("│ ", style="dim") + label + Text(" " * (inner - 1 - label.cell_len) + "│",
                                                        style="dim"))
    lines.append(Text("╰─┬" + "─" * (inner - 2) + "╯", style="dim"))
    rows = _spoke_rows(graph, graph.spokes(), width, "  ", tail=False)
    if rows is None:
        return None
    lines += rows
    if graph.allowed:
        lines.append(Text(" who may speak after whom", style="dim"))
        for src, targets in graph.allowed.items():
            current = src == graph.last
            head = Text("  ") + _label(graph, src, max(MIN_LABEL, width // 3))
            head.append(" →", style="bold" if current else "dim")
            items = [_label(graph, t, width - 6) for t in targets] or [Text("nobody", "dim")]
            if not current:
                for item in items:
                    item.stylize("dim")
            lines += _wrap(head, items, width, 6)
    return lines


def _render_chain(graph: Graph, width: int) -> list[Text] | None:
    """Nodes top to bottom in pipeline order, joined by downward arrows with their counts."""
    order = graph.order or list(graph.nodes)
    current: int | None = None
    if graph.pattern == "sequential" and graph.turn and order:
        current = (graph.turn - 1) % len(order)
    lines: list[Text] = []
    for index, node_id in enumerate(order):
        lit = node_id in graph.active and (current is None or index == current)
        node = graph.nodes.get(node_id) or Node(node_id, node_id)
        lines.append(Text(" ") + _node_text(graph, node, width - 1, lit=lit))
        if index + 1 < len(order):
            count = graph.count(node_id, order[index + 1])
            lines.append(Text("  │" + (f" ×{count}" if count else ""), style="dim"))
            lines.append(Text("  ▼", style="dim"))
    if graph.rounds > 1 and len(order) > 1:
        again = graph.count(order[-1], order[0])
        lines.append(Text(_fit(f"  ↺ {_tag(again) or 'then'} back to the start", width),
                          style="dim"))
    if graph.pattern == "sequential" and order:
        lines.append(Text(_fit(_pipeline_status(graph, len(order)), width), style="dim"))
    return lines


def _pipeline_status(graph: Graph, steps: int) -> str:
    if not graph.turn:
        return f" {steps} steps × {graph.rounds} pass{'es' if graph.rounds > 1 else ''}"
    done = graph.turn - 1
    pass_no = min(done // steps + 1, graph.rounds)
    return f" step {done % steps + 1} of {steps} · pass {pass_no} of {graph.rounds}"


def _render_fan(graph: Graph, width: int) -> list[Text] | None:
    """The source, a spoke per member, a fan-in bracket into the merger."""
    assert graph.hub is not None and graph.sink is not None
    rows = _spoke_rows(graph, graph.spokes(), width, " ", tail=True)
    if rows is None:
        return None
    lines = [Text(" ") + _label(graph, graph.hub, width - 10) + Text(" fan-out", style="dim")]
    lines += rows
    lines.append(_into(rows, f"merge {_tag(graph.merges)}".strip(), width))
    lines.append(Text(" ") + _label(graph, graph.sink, width - 8) + Text(" merges", style="dim"))
    if graph.turn:
        round_no = min((graph.turn - 1) // 2 + 1, graph.rounds)
        phase = "merge" if graph.turn % 2 == 0 else "fan-out"
        lines.append(Text(_fit(f" round {round_no} of {graph.rounds} · {phase}", width),
                          style="dim"))
    elif graph.rounds > 1:
        lines.append(Text(f" {graph.rounds} rounds", style="dim"))
    return lines


def _queue_line(graph: Graph) -> str:
    total = len(graph.tasks)
    return f"queue: {total} · {graph.waiting()} waiting" if total else "queue: empty"


def _render_pool(graph: Graph, width: int) -> list[Text] | None:
    """Orchestrator → queue → the worker pool (its bound) → the aggregator."""
    assert graph.hub is not None
    rows = _spoke_rows(graph, graph.spokes(), width, " ", tail=True)
    if rows is None:
        return None
    lines = [Text(" ") + _label(graph, graph.hub, width - 1)]
    lines.append(Text(f" │ {_queue_line(graph)}", style="dim"))
    lines.append(Text(f" ▼ pool ×{graph.bound or 1} parallel", style="dim"))
    lines += rows
    lines.append(_into(rows, "aggregate", width))
    sink = graph.sink or graph.hub
    lines.append(Text(" ") + _label(graph, sink, width - 12) + Text(" aggregates", style="dim"))
    return lines


def _share(left: str, right: str, room: int) -> tuple[int, int]:
    """Widths for two labels sharing ``room`` cells: a short one leaves the rest to the other."""
    half = max(room // 2, 3)
    if len(left) <= half:
        return len(left), max(room - len(left), 3)
    if len(right) <= half:
        return max(room - len(right), 3), len(right)
    return half, max(room - half, 3)


def _taken(graph: Graph, width: int, indent: str) -> list[Text]:
    """The handoffs taken: ``A → B ×2``, marked ``⇢`` (condition) or ``⇧`` (escalation)."""
    lines: list[Text] = []
    for (src, dst), count in graph.counts.items():
        mark = graph.marks.get((src, dst), MARKS["explicit"])
        model = graph.models.get((src, dst))
        right = model or graph.label(dst)
        left_room, right_room = _share(graph.label(src), right,
                                       width - len(indent) - 4 - len(_tag(count)))
        line = Text(indent) + _label(graph, src, left_room)
        line.append(f" {mark} ", style="bold" if mark == MARKS["escalation"] else "dim")
        line.append_text(Text(_fit(model, right_room), style="italic") if model else
                         _label(graph, dst, right_room))
        line.append(f" {_tag(count)}", style="bold")
        line.truncate(width)
        lines.append(line)
    return lines


def _render_handoff(graph: Graph, width: int) -> list[Text] | None:
    """The participants (the holder lit) with whom each may hand off to, the conditions, the
    escalation path and the handoffs taken so far."""
    lines: list[Text] = []
    for node_id in graph.nodes:
        tags = "  start" if node_id == graph.start else ""
        tags += "  ⇧ escalation" if node_id == graph.escalate_to else ""
        lines.append(Text(" ") + _label(graph, node_id, width - 1 - len(tags)) +
                     Text(tags, style="dim"))
        if not graph.any_to_any:
            items = [_label(graph, t, width - 6) for t in graph.allowed.get(node_id, [])]
            lines += _wrap(Text("   →", style="dim"), items or [Text("nobody", "dim")], width, 5)
    if graph.any_to_any:
        lines.append(Text(" any → any, by transfer", style="dim"))
    for condition, to in graph.rules:
        room, target = _share(condition, graph.label(to), width - 6)
        lines.append(Text(f" ⇢ {_fit(condition, room)} → ", style="dim") +
                     _label(graph, to, target))
    if graph.escalate_to:
        lines.append(Text(" ⇧ on trouble → ", style="dim") + _label(graph, graph.escalate_to,
                                                                    width - 17))
    elif graph.escalate_model:
        lines.append(Text(_fit(f" ⇧ on trouble → {graph.escalate_model}", width), style="dim"))
    if graph.counts:
        lines.append(Text(" handoffs", style="dim"))
        lines += _taken(graph, width, "  ")
    return lines


# ---------------------------------------------------------------------------- compact form


def render_compact(graph: Graph, width: int) -> Text:
    """The list form: one ``Source → Target ×n`` line per edge that matters."""
    width = max(width, MIN_WIDTH)
    lines: list[Text] = []
    if graph.layout == "handoff":
        holder = next(iter(sorted(graph.active)), None)
        if holder is not None:
            lines.append(Text(" ") + _label(graph, holder, width - 10) +
                         Text(" has it", style="dim"))
        elif graph.start is not None:
            lines.append(Text(" starts with ", style="dim") + _label(graph, graph.start,
                                                                     width - 13))
        lines += _taken(graph, width, " ")
    elif graph.layout == "chain":
        order = graph.order or list(graph.nodes)
        pairs = zip(order, order[1:] + order[:1], strict=True)
        for src, dst in dict.fromkeys(p for p in pairs if p in graph.edges):
            lines.append(_edge_line(graph, src, dst, width))
    else:
        if graph.layout == "pool":
            lines.append(Text(f" pool ×{graph.bound or 1} parallel", style="dim"))
            lines.append(Text(f" {_queue_line(graph)}", style="dim"))
        for dst in graph.spokes():
            lines.append(_edge_line(graph, graph.hub or "", dst, width))
        if graph.sink is not None:
            verb = f" {'merges' if graph.layout == 'fan' else 'aggregates'} "
            verb = (verb + _tag(graph.merges)).rstrip()
            line = Text(" ⇒ ", style="dim") + _label(graph, graph.sink, width - 3 - len(verb))
            lines.append(line + Text(verb, style="dim"))
    return Text("\n").join(lines or [Text(" (no agents)", style="dim")])


def _edge_line(graph: Graph, src: str, dst: str, width: int) -> Text:
    tail = f" {_tag(graph.count(src, dst))}".rstrip()
    if extra := badge(graph, dst):
        tail += f" {extra}"
    left, right = _share(graph.label(src), graph.label(dst), width - 4 - len(tail))
    line = Text(" ") + _label(graph, src, left) + Text(" → ", style="dim")
    line.append_text(_label(graph, dst, right))
    line.append(tail, style="bold")
    line.truncate(width)
    return line


_RENDERERS: dict[str, Callable[[Graph, int], list[Text] | None]] = {
    "hub": _render_hub,
    "chain": _render_chain,
    "fan": _render_fan,
    "pool": _render_pool,
    "handoff": _render_handoff,
}


def render_graph(graph: Graph, width: int = DEFAULT_WIDTH, height: int | None = None, *,
                 compact: bool = False) -> Text:
    """Draw ``graph`` in at most ``width`` columns (and ``height`` lines, when given); the
    compact list form when asked, or when the drawing does not fit."""
    width = max(width, MIN_WIDTH)
    lines = None if compact else _RENDERERS[graph.layout](graph, width)
    if lines is None or (height is not None and len(lines) > height):
        text = render_compact(graph, width)
    else:
        text = Text("\n").join(lines)
    fitted = text.split("\n", allow_blank=True)
    for line in fitted:
        line.truncate(width, overflow="ellipsis")
    text = Text("\n").join(fitted)
    text.rstrip()
    return text
