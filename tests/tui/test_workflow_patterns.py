"""The Workflow pane for every orchestration pattern, and the Patterns help screen.

The pane fed events in a
tiny app; SVG snapshots of the pane for each pattern; a Pilot test of the help screen.
Update the snapshots with ``pytest tests/tui/test_workflow_patterns.py --snapshot-update`` after
checking the change by eye (``snapshot_report.html``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    SessionEnded,
)
from tests.tui.workflow_scenarios import (
    SCENARIOS,
    completed,
    handoff,
    line_with,
    make_pack,
    started,
    step,
)
from tui.screens import PatternsHelpScreen
from tui.screens.patterns_help import PATTERN_GUIDE
from tui.widgets.workflow_pane import WorkflowPane
from tui.widgets.workflow_render import render_graph

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
