"""The Workflow pane for every orchestration pattern, and the Patterns help screen.

Pure tests of the graph builders, the event feed and the renderers; the pane fed events in a
tiny app; SVG snapshots of the pane for each pattern; a Pilot test of the help screen.
Update the snapshots with ``pytest tests/tui/test_workflow_patterns.py --snapshot-update`` after
checking the change by eye (``snapshot_report.html``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, get_args

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Collapsible, DataTable, Static

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
from personas.models import Flow, HandoffRule, Pack, PackMeta, Pattern, Persona
from tui.screens import PatternsHelpScreen
from tui.screens.patterns_help import PATTERN_GUIDE
from tui.widgets.workflow_graphs import Graph, feed, graph_for_pack
from tui.widgets.workflow_pane import WorkflowPane
from tui.widgets.workflow_render import render_compact, render_graph

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


# ---------------------------------------------------------------------------- the pane


def shown(widget: Widget) -> str:
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


class PaneApp(App[None]):
    """One WorkflowPane in a 36-column column, like the main screen's right column."""

    CSS = "#column { width: 36; height: 1fr; }"

    def __init__(self, pane: WorkflowPane, events: Sequence[Event] = ()) -> None:
        super().__init__()
        self.pane = pane
        for event in events:
            pane.handle(event)

    def compose(self) -> ComposeResult:
        with Vertical(id="column"):
            yield self.pane


async def test_pane_lights_a_parallel_fan_out_and_unlights_who_is_done() -> None:
    pane = WorkflowPane(make_pack("parallel", members=["ada", "bob", "dee"]))
    async with PaneApp(pane).run_test(size=(40, 30)) as pilot:
        assert "parallel" in shown(pane) and pane.active == frozenset()
        for event in [*step(1, "ada", "bob", "dee"), started(1, "ada"), started(1, "bob")]:
            pane.handle(event)
        await pilot.pause()
        assert pane.active == {"ada", "bob", "dee"}
        text = shown(pane)
        assert text.splitlines()[0].rstrip() == "parallel · turn 1"
        assert "round 1 of 1 · fan-out" in text and "merge ▼" in text
        pane.handle(completed(1, "ada"))
        pane.handle(completed(1, "bob"))
        pane.handle(completed(1, "dee"))  # the last one stays lit until the merge starts
        await pilot.pause()
        assert pane.active == {"dee"}
        for event in [*step(2, "cy"), started(2, "cy")]:
            pane.handle(event)
        await pilot.pause()
        assert pane.active == {"cy"} and "merge ×1 ▼" in shown(pane)
        pane.handle(SessionEnded(reason="goal_met", turns=2, cost_usd=0.0))
        await pilot.pause()
        assert pane.active == frozenset()
        assert all(len(line) <= 36 for line in shown(pane).splitlines())


async def test_pane_follows_handoffs() -> None:
    pane = WorkflowPane(SCENARIOS["handoff"][0])
    async with PaneApp(pane).run_test(size=(40, 30)) as pilot:
        pane.handle(started(0, "ada"))
        await pilot.pause()
        assert pane.active == {"ada"} and "handoffs" not in shown(pane)
        pane.handle(handoff(1, "ada", "bob", "explicit"))
        await pilot.pause()
        assert pane.active == {"bob"}  # the new holder is lit as soon as it has the request
        assert "Ada Lovelace → Bob ×1" in shown(pane)
        pane.handle(handoff(1, "bob", "cy", "escalation"))
        await pilot.pause()
        assert pane.active == {"cy"} and "Bob ⇧ Cy the Critic ×1" in shown(pane)
        pane.reset()
        await pilot.pause()
        assert pane.active == frozenset() and "handoffs" not in shown(pane)


async def test_pane_follows_the_worker_pool_and_lists_compactly_when_short() -> None:
    pack, events = SCENARIOS["orchestrator_worker"]
    pane = WorkflowPane(pack)
    async with PaneApp(pane, events).run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        text = shown(pane)
        assert "pool ×2 parallel" in text and "queue: 4 · 1 waiting" in text
        assert pane.active == {"ada", "bob", "dee"}
        assert "✗1" in line_with(text, "Bob")
        pane.set_compact(True)
        await pilot.pause()
        assert "Chair → Bob ×1 ✗1" in shown(pane) and "aggregate ▼" not in shown(pane)
        pane.set_compact(None)
        await pilot.pause()
        assert "aggregate ▼" in shown(pane)
    # On a small screen (24 lines: half is 12) the nine-line drawing fits; on 16 it is listed.
    async with PaneApp(WorkflowPane(pack), events).run_test(size=(40, 16)) as pilot:
        await pilot.pause()
        small = pilot.app.query_one(WorkflowPane)
        assert "Chair → Ada Lovelace ×1" in shown(small) and "▼ pool" not in shown(small)


class NarrowApp(App[None]):
    """The pane in a collapsible of a 29-column scrolling column, as on an 80×24 main screen."""

    CSS = "#column { width: 29; height: 1fr; } #column > Collapsible > Contents { padding: 0; }"

    def __init__(self, pane: WorkflowPane) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="column"), Collapsible(title="Workflow", collapsed=False):
            yield self.pane


async def test_pane_is_as_tall_as_its_drawing_in_a_narrow_column() -> None:
    pack, events = SCENARIOS["group_chat"]
    pane = WorkflowPane(pack, compact=False)
    for event in events:  # fed before mounting, as the main screen replays a stored session
        pane.handle(event)
    async with NarrowApp(pane).run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        lines = shown(pane).splitlines()
        width = pane.size.width
        # Drawn for the width it has: nothing wraps, so no blank lines pad the pane.
        assert width < 30 and len(lines) == pane.size.height
        assert lines[-1].strip() and all(len(line.rstrip()) <= width for line in lines)
        expected = ["group chat · turn 3", *render_graph(pane.graph, width).plain.splitlines()]
        assert [line.rstrip() for line in lines] == [line.rstrip() for line in expected]


# ---------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize("pattern", sorted(SCENARIOS))
def test_workflow_pane_snapshot(pattern: str, snap_compare: Callable[..., bool]) -> None:
    pack, events = SCENARIOS[pattern]
    app = PaneApp(WorkflowPane(pack), events)
    assert snap_compare(app, terminal_size=(40, 30))


# ---------------------------------------------------------------------------- help screen


class HelpHost(App[None]):
    def __init__(self, current: str | None = None) -> None:
        super().__init__()
        self.current = current
        self.dismissals: list[None] = []

    def on_mount(self) -> None:
        self.push_screen(PatternsHelpScreen(self.current), self.dismissals.append)


def section_text(screen: PatternsHelpScreen, pattern: str) -> str:
    static = screen.query_one(f"#pattern-{pattern}", Static)
    content = static.render()
    return content.plain if isinstance(content, Text) else str(content)


async def test_patterns_help_lists_all_seven_and_escape_closes() -> None:
    app = HelpHost(current="handoff")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PatternsHelpScreen)
        table = screen.query_one("#patterns-table", DataTable)
        assert table.row_count == 7 and table.has_focus
        rows = [table.get_row_at(i)[0] for i in range(7)]
        assert [str(r) for r in rows] == [g.pattern for g in PATTERN_GUIDE]
        assert table.cursor_row == 6  # on the open pack's pattern, which is underlined
        assert [isinstance(r, Text) and "underline" in str(r.style) for r in rows] == [
            False] * 6 + [True]
        for guide in PATTERN_GUIDE:
            text = section_text(screen, guide.pattern)
            for label in ("What it does:", "Complexity:", "Scalability:", "Best for:"):
                assert label in text, (guide.pattern, label)
            assert f"Example: {guide.example}." in text
        assert "(this pack)" in section_text(screen, "handoff")
        assert "(this pack)" not in section_text(screen, "router")
        assert "1 moderator decision" in section_text(screen, "group_chat")
        # Moving through the table brings the pattern's section into view.
        body = screen.query_one("#patterns-body")
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert table.cursor_row == 0 and body.scroll_y == 0
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert body.scroll_y > 0
        section = screen.query_one("#pattern-router")
        assert section.region.y >= body.region.y and section.region.y < body.region.bottom
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PatternsHelpScreen) and app.dismissals == [None]


def test_patterns_help_binding_has_an_id() -> None:
    ids = [getattr(b, "id", None) for b in PatternsHelpScreen.BINDINGS]
    assert ids == ["patterns-help.close"]


def test_patterns_help_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def settle(pilot: Pilot[None]) -> None:
        await pilot.pause()

    assert snap_compare(HelpHost(current="group_chat"), terminal_size=(80, 24), run_before=settle)
