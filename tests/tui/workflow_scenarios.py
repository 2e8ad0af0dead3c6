"""Packs and event scenarios for the Workflow pane tests: one scenario per orchestration pattern,
shared by the pure graph tests, the pane tests and the snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from agents.events import (
    Event,
    HandoffOccurred,
    MessageCompleted,
    MessageStarted,
    ModeratorDecision,
    TaskUpdated,
    TurnStarted,
)
from personas.models import Flow, HandoffRule, Pack, PackMeta, Pattern, Persona
from tui.widgets.workflow_graphs import Graph, feed, graph_for_pack

# ---------------------------------------------------------------------------- packs and events

CAST = (
    ("chair", "Chair", "moderator", "yellow"),
    ("ada", "Ada Lovelace", "expert", "cyan"),
    ("bob", "Bob", "expert", "green"),
    ("cy", "Cy the Critic", "critic", "red"),
    ("dee", "Dee", "executor", "magenta"),
)
NAMES = {pid: name for pid, name, _, _ in CAST}


def make_pack(pattern: Pattern, **flow: Any) -> Pack:
    personas = [Persona(id=pid, name=name, role=role, system_prompt="Be brief.", colour=colour)
                for pid, name, role, colour in CAST]
    return Pack(pack=PackMeta(name=f"{pattern}-demo", pattern=pattern), flow=Flow(**flow),
                personas=personas)


def step(turn: int, *speakers: str, branch: str = "main") -> list[Event]:
    """What the session emits for one step: the decision, then the turn."""
    return [ModeratorDecision(turn=turn, speakers=list(speakers), reason="why", branch_id=branch),
            TurnStarted(turn=turn, speakers=list(speakers), branch_id=branch)]


def started(turn: int, agent: str) -> MessageStarted:
    return MessageStarted(message_id=f"m{turn}{agent}", agent=agent, name=NAMES[agent],
                          role="expert", turn=turn)


def completed(turn: int, agent: str) -> MessageCompleted:
    return MessageCompleted(message_id=f"m{turn}{agent}", agent=agent, name=NAMES[agent],
                            role="expert", turn=turn, text="done")


def task(turn: int, task_id: str, agent: str, status: str, attempt: int = 1) -> TaskUpdated:
    return TaskUpdated(turn=turn, task_id=task_id, title=f"task {task_id}", agent=agent,
                       status=status, attempt=attempt)  # type: ignore[arg-type]


def handoff(turn: int, agent: str, to: str, how: str, model: str | None = None,
            ) -> HandoffOccurred:
    return HandoffOccurred(turn=turn, agent=agent, to=to, how=how,  # type: ignore[arg-type]
                           reason="because", model=model)


def fed(pack: Pack, events: Sequence[Event]) -> Graph:
    graph = graph_for_pack(pack)
    for event in events:
        feed(graph, event)
    return graph


def line_with(text: Text | str, needle: str) -> str:
    plain = text.plain if isinstance(text, Text) else text
    return next(line for line in plain.splitlines() if needle in line)


def styles_at(text: Text, needle: str) -> list[str]:
    start = text.plain.index(needle)
    return [str(span.style) for span in text.spans if span.start <= start < span.end]


def lit(text: Text, needle: str) -> bool:
    return any("reverse" in style for style in styles_at(text, needle))


# One scenario per pattern, shared by the pure tests, the pane tests and the snapshots.
SCENARIOS: dict[str, tuple[Pack, list[Event]]] = {
    "group_chat": (
        make_pack("group_chat", transitions={"chair": ["ada", "bob"], "ada": ["bob", "cy"],
                                             "bob": ["ada", "cy", "dee"]}),
        [*step(1, "ada"), *step(2, "bob", "ada"), *step(3, "bob"), started(3, "bob")]),
    "sequential": (
        make_pack("sequential", order=["ada", "bob", "cy"], rounds=2),
        [*step(1, "ada"), *step(2, "bob"), *step(3, "cy"), *step(4, "ada"), started(4, "ada")]),
    "parallel": (
        make_pack("parallel", members=["ada", "bob", "dee"], rounds=2),
        [*step(1, "ada", "bob", "dee"), *step(2, "cy"), *step(3, "ada", "bob", "dee"),
         started(3, "ada"), started(3, "bob"), started(3, "dee"), completed(3, "ada")]),
    "router": (
        make_pack("router", members=["ada", "bob", "dee"]),
        [*step(1, "ada"), *step(2, "dee"), *step(3, "ada"), started(3, "ada")]),
    "hierarchical": (
        make_pack("hierarchical", max_tasks=3),
        [*step(1, "chair"), task(2, "t1", "ada", "queued"), task(2, "t2", "bob", "queued"),
         task(2, "t3", "ada", "queued"), task(2, "t1", "ada", "running"), *step(2, "ada"),
         task(2, "t1", "ada", "done"), task(3, "t2", "bob", "running"), *step(3, "bob"),
         task(3, "t2", "bob", "failed", 2), task(4, "t3", "ada", "running"), *step(4, "ada")]),
    "orchestrator_worker": (
        make_pack("orchestrator_worker", workers=["ada", "bob", "dee"], concurrency=2,
                  merge_by="cy"),
        [*step(1, "chair"),
         *(task(2, f"t{n}", w, "queued") for n, w in enumerate(("ada", "bob", "dee", "ada"), 1)),
         *(task(2, f"t{n}", w, "running") for n, w in enumerate(("ada", "bob", "dee"), 1)),
         *step(2, "ada", "bob", "dee"), task(2, "t1", "ada", "done"),
         task(2, "t2", "bob", "failed", 2), task(2, "t3", "dee", "retrying", 2)]),
    "handoff": (
        make_pack("handoff", start="ada", escalate_to="cy",
                  handoff_rules=[HandoffRule(to="dee", keywords=["deploy"])]),
        [started(0, "ada"), handoff(1, "ada", "bob", "explicit"), *step(1, "bob"),
         handoff(1, "bob", "cy", "escalation"), *step(2, "cy"),
         handoff(2, "cy", "dee", "condition"), *step(3, "dee"), started(3, "dee")]),
}


