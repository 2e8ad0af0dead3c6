"""The Workflow pane's data: one graph per orchestration pattern, and how engine events move it.

Pure data, no drawing: :func:`graph_for_pack` builds the graph of a pack's pattern (nodes, the
edges the pattern allows, and what a layout needs: the pipeline order, the merger, the pool's
bound, the allowed transfers); :func:`feed` applies one engine event to it — it lights the active
node(s), counts the edges taken and follows the delegated tasks. ``workflow_render`` draws it.

Which event counts which edge:

- ``ModeratorDecision``/``TurnStarted`` (once per turn, whichever comes first): hub → speaker for
  group_chat and router; previous → next step for sequential; moderator → member on a parallel
  fan-out and member → merger on the merge.
- ``TaskUpdated``: supervisor/orchestrator → assignee once per task dispatched; the task's
  status gives the done/failed/queued badges.
- ``HandoffOccurred``: agent → to, marked by how it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from agents.events import (
    Event,
    HandoffOccurred,
    MessageCompleted,
    MessageStarted,
    ModeratorDecision,
    SessionEnded,
    TaskUpdated,
    TurnStarted,
)
from personas.models import Pack, Persona

HUMAN_ID = "human"

Layout = Literal["hub", "chain", "fan", "pool", "handoff"]
TaskStatus = Literal["queued", "running", "done", "failed", "retrying", "skipped"]

# Edge markers for the handoff pattern, by how the handoff happened.
MARKS = {"explicit": "→", "condition": "⇢", "escalation": "⇧"}


@dataclass
class Node:
    """One box of the graph: a persona (or the human) with its display name and colour."""

    id: str
    label: str
    colour: str = "white"


@dataclass
class TaskView:
    """What the pane knows of one delegated task."""

    agent: str
    status: TaskStatus
    dispatched: bool = False


@dataclass
class Graph:
    """What the renderer draws. ``hub`` names the centre (or source) node of a layout."""

    layout: Layout
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    hub: str | None = None
    title: str = ""
    pattern: str = ""
    # chain: the pipeline (a persona may appear twice) and its passes
    order: list[str] = field(default_factory=list)
    rounds: int = 1
    # fan / pool: who merges or aggregates, and the pool's concurrency bound
    sink: str | None = None
    bound: int | None = None
    # group_chat transitions, handoff transfers: who may follow / hand off to whom
    allowed: dict[str, list[str]] = field(default_factory=dict)
    any_to_any: bool = False
    start: str | None = None
    escalate_to: str | None = None
    escalate_model: str | None = None
    rules: list[tuple[str, str]] = field(default_factory=list)  # (condition, to)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)
    models: dict[tuple[str, str], str] = field(default_factory=dict)  # escalation to a model
    tasks: dict[str, TaskView] = field(default_factory=dict)
    # where the run is
    turn: int | None = None
    last: str | None = None
    fan_out: list[str] = field(default_factory=list)  # parallel: members not merged yet
    merges: int = 0
    counted: tuple[str, int] | None = None  # (branch, turn) whose speakers were counted

    def add_node(self, node: Node) -> None:
        self.nodes.setdefault(node.id, node)

    def add_edge(self, src: str, dst: str) -> None:
        if (src, dst) not in self.edges:
            self.edges.append((src, dst))

    def take(self, src: str, dst: str) -> None:
        """Count one traversal of the edge ``src → dst``, adding the edge (and nodes) if new."""
        for node_id in (src, dst):
            if node_id not in self.nodes:
                self.add_node(Node(node_id, node_id))
        self.add_edge(src, dst)
        self.counts[(src, dst)] = self.counts.get((src, dst), 0) + 1

    def count(self, src: str, dst: str) -> int:
        return self.counts.get((src, dst), 0)

    def clear_counts(self) -> None:
        self.counts.clear()
        self.active.clear()
        self.marks.clear()
        self.models.clear()
        self.tasks.clear()
        self.fan_out.clear()
        self.merges = 0

    def label(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.label if node is not None else node_id

    def spokes(self) -> list[str]:
        """The nodes the hub has an edge to, in edge order."""
        return [dst for src, dst in self.edges if src == self.hub]

    def task_tally(self, agent: str) -> dict[TaskStatus, int]:
        """How many of ``agent``'s tasks are in each status (statuses with none left out)."""
        tally: dict[TaskStatus, int] = {}
        for view in self.tasks.values():
            if view.agent == agent:
                tally[view.status] = tally.get(view.status, 0) + 1
        return tally

    def waiting(self) -> int:
        return sum(1 for view in self.tasks.values() if view.status == "queued")


def _node(persona: Persona) -> Node:
    return Node(persona.id, persona.name, persona.colour)


def _ids(pack: Pack, *roles: str) -> list[str]:
    return [p.id for p in pack.personas if p.role in roles]


def _add_cast(graph: Graph, pack: Pack, ids: list[str]) -> None:
    for persona_id in ids:
        persona = pack.persona(persona_id)
        graph.add_node(_node(persona) if persona else Node(persona_id, persona_id))


# ---------------------------------------------------------------------------- builders


def _group_chat(pack: Pack, include_human: bool) -> Graph:
    moderator = pack.moderator
    graph = Graph(layout="hub", hub=moderator.id, title="group chat", pattern="group_chat")
    graph.add_node(_node(moderator))
    for persona in pack.speakers:
        graph.add_node(_node(persona))
        graph.add_edge(moderator.id, persona.id)
    if include_human:
        graph.add_node(Node(HUMAN_ID, "You", "bold"))
        graph.add_edge(moderator.id, HUMAN_ID)
    for source, targets in pack.flow.transitions.items():
        graph.allowed[source] = list(dict.fromkeys(targets))
    for node_id in [*graph.allowed, *(t for ts in graph.allowed.values() for t in ts)]:
        if node_id == HUMAN_ID:
            graph.add_node(Node(HUMAN_ID, "You", "bold"))
    return graph


def _sequential(pack: Pack, include_human: bool) -> Graph:
    order = list(pack.flow.order) or [p.id for p in pack.speakers]
    graph = Graph(layout="chain", title="sequential", pattern="sequential", order=order,
                  rounds=pack.flow.rounds)
    _add_cast(graph, pack, order)
    for src, dst in pairwise(order):
        graph.add_edge(src, dst)
    if graph.rounds > 1 and len(order) > 1:
        graph.add_edge(order[-1], order[0])  # the next pass starts over
    return graph


def _parallel(pack: Pack, include_human: bool) -> Graph:
    moderator = pack.moderator
    members = list(pack.flow.members) or _ids(pack, "expert")
    critics = _ids(pack, "critic")
    merger = pack.flow.merge_by or (critics[0] if critics else moderator.id)
    graph = Graph(layout="fan", hub=moderator.id, title="parallel", pattern="parallel",
                  sink=merger, rounds=pack.flow.rounds)
    _add_cast(graph, pack, [moderator.id, *members, merger])
    for member in members:
        graph.add_edge(moderator.id, member)
    for member in members:
        graph.add_edge(member, merger)
    return graph


def _hierarchical(pack: Pack, include_human: bool) -> Graph:
    supervisor = pack.moderator
    graph = Graph(layout="hub", hub=supervisor.id, title="hierarchical",
                  pattern="hierarchical")
    graph.add_node(_node(supervisor))
    for persona in pack.speakers:
        graph.add_node(_node(persona))
        graph.add_edge(supervisor.id, persona.id)
    return graph


def _router(pack: Pack, include_human: bool) -> Graph:
    router = pack.moderator
    candidates = list(pack.flow.members) or [p.id for p in pack.speakers]
    graph = Graph(layout="hub", hub=router.id, title="router", pattern="router")
    _add_cast(graph, pack, [router.id, *candidates])
    for candidate in candidates:
        graph.add_edge(router.id, candidate)
    return graph


def _orchestrator_worker(pack: Pack, include_human: bool) -> Graph:
    orchestrator = pack.moderator
    workers = list(pack.flow.workers) or _ids(pack, "expert", "executor")
    graph = Graph(layout="pool", hub=orchestrator.id, title="orchestrator-worker",
                  pattern="orchestrator_worker", sink=pack.flow.merge_by or orchestrator.id,
                  bound=pack.flow.concurrency)
    _add_cast(graph, pack, [orchestrator.id, *workers, graph.sink or orchestrator.id])
    for worker in workers:
        graph.add_edge(orchestrator.id, worker)
    return graph


def handoff_targets(pack: Pack, active: str) -> list[str]:
    """Whom ``active`` may hand off to explicitly (as ``agents.patterns.handoff`` decides)."""
    flow = pack.flow
    if active in flow.transitions:
        candidates = flow.transitions[active]
    else:
        candidates = flow.members or [p.id for p in pack.speakers]
    return [t for t in dict.fromkeys(candidates) if t != active and pack.persona(t) is not None]


def _handoff(pack: Pack, include_human: bool) -> Graph:
    flow = pack.flow
    experts = _ids(pack, "expert")
    start = flow.start or experts[0]
    escalation = [flow.escalate_to] if flow.escalate_to else []
    found = [start, *(flow.members or [p.id for p in pack.speakers]), *flow.transitions,
             *(t for ts in flow.transitions.values() for t in ts), *escalation,
             *(rule.to for rule in flow.handoff_rules)]
    people = [i for i in dict.fromkeys(found) if pack.persona(i) is not None]
    graph = Graph(layout="handoff", title="handoff", pattern="handoff", start=start,
                  escalate_to=flow.escalate_to, escalate_model=flow.escalate_model)
    _add_cast(graph, pack, people)
    for person in people:
        graph.allowed[person] = handoff_targets(pack, person)
        for target in graph.allowed[person]:
            graph.add_edge(person, target)
    graph.any_to_any = all(set(graph.allowed[p]) >= set(people) - {p} for p in people)
    for rule in flow.handoff_rules:
        words = ", ".join(f"“{k}”" for k in rule.keywords)
        condition = " or ".join(c for c in (words, rule.state or "") if c)
        graph.rules.append((condition, rule.to))
    return graph


def _cast_chain(pack: Pack, include_human: bool) -> Graph:
    """The cast in pack order as a pipeline (for a pattern with no builder of its own)."""
    graph = Graph(layout="chain", title=str(pack.pack.pattern), pattern=str(pack.pack.pattern))
    ids = [p.id for p in pack.personas]
    _add_cast(graph, pack, ids)
    for src, dst in pairwise(ids):
        graph.add_edge(src, dst)
    return graph


BUILDERS: dict[str, Callable[[Pack, bool], Graph]] = {
    "group_chat": _group_chat,
    "sequential": _sequential,
    "parallel": _parallel,
    "hierarchical": _hierarchical,
    "router": _router,
    "orchestrator_worker": _orchestrator_worker,
    "handoff": _handoff,
}


def graph_for_pack(pack: Pack, *, include_human: bool = True) -> Graph:
    """The graph of a pack's pattern (``group_chat``: the moderator as a hub, a spoke per
    speaker and one for the human; ``include_human`` only matters there)."""
    builder = BUILDERS.get(pack.pack.pattern, _cast_chain)
    return builder(pack, include_human)


# ---------------------------------------------------------------------------- live events


def _count_step(graph: Graph, turn: int, speakers: list[str]) -> None:
    """Count the edges a step with ``speakers`` takes, by pattern."""
    if graph.pattern in ("hierarchical", "orchestrator_worker", "handoff"):
        return  # their edges are counted from TaskUpdated / HandoffOccurred
    if graph.layout == "fan" and graph.hub is not None and graph.sink is not None:
        sink = graph.sink
        if speakers == [sink] and (sink not in graph.spokes() or turn % 2 == 0):
            graph.merges += 1
            for member in graph.fan_out:
                graph.take(member, sink)
            graph.fan_out = []
        else:
            for speaker in speakers:
                if speaker != graph.hub:
                    graph.take(graph.hub, speaker)
            graph.fan_out = [s for s in speakers if s != graph.hub]
        return
    last = graph.last
    for speaker in speakers:
        if graph.hub is not None:
            if speaker != graph.hub:  # the moderator speaking is lit, not an edge
                graph.take(graph.hub, speaker)
        elif last is not None and (last, speaker) in graph.edges:
            graph.take(last, speaker)
        last = speaker


def _task(graph: Graph, event: TaskUpdated) -> None:
    view = graph.tasks.get(event.task_id)
    if view is None or view.agent != event.agent:
        view = graph.tasks[event.task_id] = TaskView(event.agent, "queued")
    if event.status == "failed" and event.attempt == 0 and not view.dispatched:
        view.status = "skipped"  # never started: the run ended first
        return
    view.status = event.status
    if event.status != "queued" and not view.dispatched:
        view.dispatched = True
        if graph.hub is not None:
            graph.take(graph.hub, event.agent)


def feed(graph: Graph, event: Event) -> bool:
    """Apply one engine event to ``graph``; True when the drawing may have changed."""
    if isinstance(event, TurnStarted | ModeratorDecision):
        key = (event.branch_id, event.turn)
        if key != graph.counted:
            graph.counted = key
            _count_step(graph, event.turn, event.speakers)
        if event.speakers or isinstance(event, TurnStarted):
            graph.turn = event.turn
            graph.active = set(event.speakers)
        if event.speakers:
            graph.last = event.speakers[-1]
        return True
    if isinstance(event, MessageStarted):
        if event.turn != graph.turn:
            graph.turn = event.turn
            graph.active = set()
        if event.agent not in graph.nodes:
            graph.add_node(Node(event.agent, event.name))
        graph.active.add(event.agent)
        return True
    if isinstance(event, MessageCompleted):
        # Several at once (a fan-out, the pool): unlight who is done, keep the last one lit.
        if len(graph.active) > 1 and event.agent in graph.active:
            graph.active.discard(event.agent)
            return True
        return False
    if isinstance(event, HandoffOccurred):
        graph.take(event.agent, event.to)
        edge = (event.agent, event.to)
        if graph.marks.get(edge) != MARKS["escalation"]:
            graph.marks[edge] = MARKS[event.how]
        if event.model:
            graph.models[edge] = event.model
        graph.active = {event.to}
        graph.last = event.to
        return True
    if isinstance(event, TaskUpdated):
        _task(graph, event)
        return True
    if isinstance(event, SessionEnded):
        graph.active = set()
        return True
    return False
