"""The Workflow graphs for every orchestration pattern, without an app: the graph builders, the
event feed and the renderers (full drawing and the compact list form)."""

from __future__ import annotations

from typing import get_args

import pytest

from agents.events import (
    TurnStarted,
)
from personas.models import Pattern
from tests.tui.workflow_scenarios import (
    SCENARIOS,
    fed,
    handoff,
    line_with,
    lit,
    make_pack,
    step,
    task,
)
from tui.screens.patterns_help import PATTERN_GUIDE
from tui.widgets.workflow_graphs import feed, graph_for_pack
from tui.widgets.workflow_render import render_compact, render_graph

# ---------------------------------------------------------------------------- pure: graphs


def test_every_pattern_has_a_scenario_and_a_guide() -> None:
    patterns = set(get_args(Pattern))
    assert set(SCENARIOS) == patterns
    assert {guide.pattern for guide in PATTERN_GUIDE} == patterns


@pytest.mark.parametrize("pattern", sorted(SCENARIOS))
def test_every_node_is_drawn_and_every_width_holds(pattern: str) -> None:
    pack, events = SCENARIOS[pattern]
    graph = fed(pack, events)
    for node_id, node in graph.nodes.items():
        assert node.label in render_graph(graph, 60).plain, node_id
    for width in (16, 22, 27, 36, 60):
        for compact in (False, True):
            text = render_graph(graph, width, compact=compact)
            assert all(len(line) <= width for line in text.plain.splitlines()), (width, compact)
            assert text.plain.strip()


def test_group_chat_counts_each_turn_once_and_shows_the_transitions() -> None:
    pack, events = SCENARIOS["group_chat"]
    graph = fed(pack, events)
    # ModeratorDecision and TurnStarted of the same turn count once.
    assert graph.count("chair", "ada") == 2 and graph.count("chair", "bob") == 2
    assert graph.count("chair", "cy") == 0 and graph.active == {"bob"}
    text = render_graph(graph, 36)
    assert "×2" in line_with(text, "Ada Lovelace") and "×" not in line_with(text, "Dee")
    assert "You" in text.plain  # the human's spoke
    assert "who may speak after whom" in text.plain
    assert line_with(text, "Bob →").split("→")[1].split(",")[0].strip() == "Ada Lovelace"
    # The row of whoever spoke last is not dimmed: it says who may come next.
    after_bob = text.plain.index("Bob →")
    assert not any("dim" in str(s.style) for s in text.spans if s.start <= after_bob < s.end)
    # The same turn on a new branch (after a rollback) is a new step.
    feed(graph, TurnStarted(turn=3, speakers=["bob"], branch_id="try-2"))
    assert graph.count("chair", "bob") == 3


def test_sequential_chain_follows_the_order_with_passes() -> None:
    pack, events = SCENARIOS["sequential"]
    graph = fed(pack, events)
    assert graph.edges == [("ada", "bob"), ("bob", "cy"), ("cy", "ada")]
    assert graph.count("ada", "bob") == 1 and graph.count("cy", "ada") == 1
    text = render_graph(graph, 36)
    lines = text.plain.splitlines()
    names = [line.strip() for line in lines if line.strip() in ("Ada Lovelace", "Bob",
                                                                   "Cy the Critic")]
    assert names == ["Ada Lovelace", "Bob", "Cy the Critic"]
    assert "↺ ×1 back to the start" in text.plain
    assert lines[-1].strip() == "step 1 of 3 · pass 2 of 2"
    assert lit(text, "Ada Lovelace") and not lit(text, "Bob")


def test_sequential_with_a_persona_twice_lights_only_the_current_step() -> None:
    pack = make_pack("sequential", order=["ada", "bob", "ada"])
    graph = fed(pack, [*step(1, "ada"), *step(2, "bob"), *step(3, "ada")])
    text = render_graph(graph, 36)
    assert text.plain.count("Ada Lovelace") == 2
    lines = text.plain.splitlines()
    assert lines[-1].strip() == "step 3 of 3 · pass 1 of 1"
    assert "↺" not in text.plain  # one pass: no way back
    first, second = (i for i, line in enumerate(lines) if "Ada Lovelace" in line)
    offsets = [sum(len(line) + 1 for line in lines[:i]) + 1 for i in (first, second)]
    reversed_at = [any("reverse" in str(s.style) for s in text.spans if s.start <= o < s.end)
                   for o in offsets]
    assert reversed_at == [False, True]


def test_parallel_fans_out_then_merges() -> None:
    pack, events = SCENARIOS["parallel"]
    graph = fed(pack, events)
    assert [graph.count("chair", m) for m in ("ada", "bob", "dee")] == [2, 2, 2]
    assert [graph.count(m, "cy") for m in ("ada", "bob", "dee")] == [1, 1, 1]
    assert graph.merges == 1 and graph.sink == "cy"
    # Three at once; the one that finished is unlit.
    assert graph.active == {"bob", "dee"}
    text = render_graph(graph, 36)
    assert "merge ×1 ▼" in text.plain and "round 2 of 2 · fan-out" in text.plain
    assert "Cy the Critic merges" in text.plain
    assert lit(text, "Bob") and lit(text, "Dee") and not lit(text, "Ada")
    brackets = [line.rstrip()[-1] for line in text.plain.splitlines()[1:4]]
    assert brackets == ["┐", "┤", "┘"]
    # The merger defaults to the critic, else the moderator.
    assert graph_for_pack(make_pack("parallel")).sink == "cy"


def test_router_counts_requests_routed() -> None:
    pack, events = SCENARIOS["router"]
    graph = fed(pack, events)
    assert graph.spokes() == ["ada", "bob", "dee"]  # the candidates, not the critic
    text = render_graph(graph, 36)
    assert "×2" in line_with(text, "Ada") and "×1" in line_with(text, "Dee")
    assert "×" not in line_with(text, "Bob") and "You" not in text.plain
    assert lit(text, "Ada")


def test_hierarchical_counts_each_delegated_subtask_once() -> None:
    pack, events = SCENARIOS["hierarchical"]
    graph = fed(pack, events)
    assert graph.count("chair", "ada") == 2 and graph.count("chair", "bob") == 1
    text = render_graph(graph, 36)
    assert "×2" in line_with(text, "Ada") and "✓1" in line_with(text, "Ada")
    assert "✗1" in line_with(text, "Bob") and "×1" in line_with(text, "Bob")
    assert lit(text, "Ada") and not lit(text, "Bob")
    # Not started when the run ended: shown apart, never counted as delegated.
    feed(graph, task(5, "t4", "dee", "queued"))
    feed(graph, task(5, "t4", "dee", "failed", attempt=0))
    assert graph.count("chair", "dee") == 0 and "–1" in line_with(render_graph(graph), "Dee")


def test_orchestrator_worker_shows_the_queue_the_bound_and_failures() -> None:
    pack, events = SCENARIOS["orchestrator_worker"]
    graph = fed(pack, events)
    assert [graph.count("chair", w) for w in ("ada", "bob", "dee")] == [1, 1, 1]
    text = render_graph(graph, 36)
    assert "queue: 4 · 1 waiting" in text.plain and "pool ×2 parallel" in text.plain
    assert "✓1" in line_with(text, "Ada") and "◦1" in line_with(text, "Ada")
    assert "✗1" in line_with(text, "Bob") and "↻1" in line_with(text, "Dee")
    assert "Cy the Critic aggregates" in text.plain
    assert lit(text, "Ada") and lit(text, "Bob") and lit(text, "Dee")
    # The waiting task is dispatched later: one more for Ada.
    feed(graph, task(3, "t4", "ada", "running"))
    feed(graph, task(3, "t4", "ada", "done"))
    assert graph.count("chair", "ada") == 2 and graph.waiting() == 0
    assert "✓2" in line_with(render_graph(graph, 36), "Ada")


def test_handoff_draws_transfers_rules_escalation_and_the_holder() -> None:
    pack, events = SCENARIOS["handoff"]
    graph = fed(pack, events)
    assert graph.any_to_any and graph.active == {"dee"}
    assert graph.count("ada", "bob") == 1 and graph.count("bob", "cy") == 1
    text = render_graph(graph, 36)
    assert "start" in line_with(text, "Ada") and "⇧ escalation" in line_with(text, "Cy")
    assert "any → any, by transfer" in text.plain
    assert "⇢ “deploy” → Dee" in text.plain and "⇧ on trouble → Cy the Critic" in text.plain
    assert "Bob ⇧ Cy the Critic ×1" in text.plain and "Cy the Critic ⇢ Dee ×1" in text.plain
    assert "Ada Lovelace → Bob ×1" in text.plain
    assert lit(text, "Dee") and not lit(text, "Bob")
    # Escalation to a stronger model keeps the persona and names the model.
    feed(graph, handoff(4, "dee", "dee", "escalation", model="openai/big-model"))
    assert "Dee ⇧ openai/big-model ×1" in render_graph(graph, 36).plain


def test_handoff_with_transitions_lists_whom_each_may_hand_to() -> None:
    pack = make_pack("handoff", transitions={"ada": ["bob"], "bob": ["ada", "dee"]})
    graph = graph_for_pack(pack)
    assert not graph.any_to_any and graph.start == "ada"
    assert graph.allowed["ada"] == ["bob"] and graph.allowed["bob"] == ["ada", "dee"]
    assert ("ada", "bob") in graph.edges and ("ada", "dee") not in graph.edges
    lines = render_graph(graph, 36).plain.splitlines()
    assert lines[0].strip() == "Ada Lovelace  start" and lines[1].strip() == "→ Bob"
    assert lines[3].strip() == "→ Ada Lovelace, Dee"


def test_compact_list_form_when_the_drawing_does_not_fit() -> None:
    pack, events = SCENARIOS["router"]
    graph = fed(pack, events)
    full = render_graph(graph, 36)
    listed = render_graph(graph, 36, height=len(full.plain.splitlines()) - 1)
    assert listed.plain == render_compact(graph, 36).plain
    assert listed.plain.splitlines() == [" Chair → Ada Lovelace ×2", " Chair → Bob",
                                         " Chair → Dee ×1"]
    assert render_graph(graph, 36, height=40).plain == full.plain
    # Too narrow for the pool's names and badges: listed too.
    pack, events = SCENARIOS["orchestrator_worker"]
    pool = fed(pack, events)
    narrow = render_graph(pool, 22).plain.splitlines()
    assert "▼ pool" not in "\n".join(narrow) and narrow[0] == " pool ×2 parallel"
    tails = (" ×1 ✓1 ◦1", " ×1 ✗1", " ×1 ↻1")
    assert all(line.endswith(tail) and " → " in line
               for line, tail in zip(narrow[2:5], tails, strict=True)), narrow
    assert all(len(line) <= 22 for line in narrow)
    handoffs = render_compact(fed(*SCENARIOS["handoff"]), 36).plain.splitlines()
    assert handoffs[0] == " Dee has it" and " Bob ⇧ Cy the Critic ×1" in handoffs


