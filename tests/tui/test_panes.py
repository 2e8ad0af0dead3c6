"""Pilot tests of the right-column panes, each mounted alone in a tiny app and fed real events."""

from __future__ import annotations

import pytest
from rich.syntax import Syntax
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import OptionList, Sparkline, Static

from agents.events import (
    BranchForked,
    CheckpointCreated,
    MessageStarted,
    SessionEnded,
    StatePatched,
    TokenDelta,
    TurnStarted,
    UsageRecorded,
)
from agents.state import ActionItem, Artifact, SharedState, StatePatch
from personas.models import Budget, Pack, PackMeta, Persona
from tests.tui.timeline_helpers import option_texts
from tui.widgets import ArtifactViewer, CostPane, StatePane, TimelinePane, WorkflowPane


def make_pack(session_usd: float | None = 1.0) -> Pack:
    def persona(pid: str, name: str, role: str, colour: str) -> Persona:
        return Persona(id=pid, name=name, role=role, system_prompt="Be brief.", colour=colour)

    return Pack(
        pack=PackMeta(name="review"),
        budget=Budget(session_usd=session_usd),
        personas=[
            persona("mod", "Moderator", "moderator", "yellow"),
            persona("alice", "Alice", "expert", "cyan"),
            persona("bob", "Bob", "critic", "red"),
            persona("carl", "Carl", "executor", "green"),
        ],
    )


class PaneApp(App[None]):
    """Mounts one pane in a 38-column column, like the main screen's right column."""

    CSS = "#column { width: 38; height: 1fr; }"

    def __init__(self, pane: Widget) -> None:
        super().__init__()
        self.pane = pane
        self.selected: list[TimelinePane.CheckpointSelected] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="column"):
            yield self.pane

    def on_timeline_pane_checkpoint_selected(
        self, message: TimelinePane.CheckpointSelected
    ) -> None:
        self.selected.append(message)


def shown(widget: Widget) -> str:
    """The text a widget shows on screen, line by line."""
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def usage(agent: str, turn: int, cost: float | None, *, overhead: bool = False) -> UsageRecorded:
    return UsageRecorded(
        agent=agent, model="m", turn=turn, prompt_tokens=1200, completion_tokens=300,
        latency_ms=800.0, cost_usd=cost, overhead=overhead,
    )


# ---------------------------------------------------------------------------- state pane


def rich_state() -> SharedState:
    return SharedState(
        goal="Ship the review tool",
        agenda=["scope", "risks"],
        decisions=["Use SQLite"],
        open_questions=["Who hosts it?"],
        action_items=[
            ActionItem(text="Write schema", owner="alice", status="done"),
            ActionItem(text="Draft API", owner="bob", status="in_progress"),
            ActionItem(text="Benchmark", status="open"),
        ],
        artifacts={
            "schema.py": Artifact(
                name="schema.py", kind="code", language="python",
                content="def table() -> str:\n    return 'events'\n", author="alice",
            ),
            "plan": Artifact(name="plan", content="# Plan\n- step one", author="bob"),
        },
    )


async def test_state_pane_shows_state_and_opens_artifacts() -> None:
    pane = StatePane(make_pack())
    app = PaneApp(pane)
    async with app.run_test(size=(60, 30)) as pilot:
        body = pane.query_one("#state-body", Static)
        assert "Nothing recorded yet" in shown(body)
        artifacts = pane.query_one("#state-artifacts", OptionList)
        assert not artifacts.display

        state = rich_state()
        pane.handle(StatePatched(agent="alice", turn=1, patch=StatePatch(), state=state))
        await pilot.pause()
        text = shown(body)
        for expected in ("Ship the review tool", "Use SQLite", "Who hosts it?",
                         "✓ Write schema — Alice", "… Draft API — Bob", "○ Benchmark"):
            assert expected in text
        assert artifacts.display and artifacts.option_count == 2
        listed = shown(artifacts)
        assert "schema.py (code, Alice)" in listed and "plan (document, Bob)" in listed

        # Enter on the highlighted artifact opens the viewer, highlighted by language.
        artifacts.focus()
        artifacts.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        viewer = app.screen
        assert isinstance(viewer, ArtifactViewer)
        content = viewer.query_one("#artifact-content", Static).content
        assert isinstance(content, Syntax) and content.lexer is not None
        assert content.lexer.name == "Python"
        title = shown(viewer.query_one("#artifact-title", Static))
        assert "schema.py  (code, python, by Alice)" in title
        assert "return 'events'" in shown(viewer.query_one("#artifact-content", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ArtifactViewer)

        # A click on the second row opens "plan", highlighted as markdown (it has no language).
        assert await pilot.click(artifacts, offset=(2, 1))
        await pilot.pause()
        viewer = app.screen
        assert isinstance(viewer, ArtifactViewer) and viewer.artifact.name == "plan"
        content = viewer.query_one("#artifact-content", Static).content
        assert isinstance(content, Syntax) and content.lexer is not None
        assert content.lexer.name == "Markdown"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ArtifactViewer)

        # Rollback to an empty state empties the pane again.
        pane.set_state(SharedState(goal="Only a goal"))
        await pilot.pause()
        assert "Only a goal" in shown(body) and "Use SQLite" not in shown(body)
        assert not artifacts.display
        pane.reset()
        await pilot.pause()
        assert "Nothing recorded yet" in shown(body)


async def test_state_pane_ignores_other_events() -> None:
    pane = StatePane()
    async with PaneApp(pane).run_test(size=(60, 30)) as pilot:
        pane.handle(TokenDelta(message_id="m", agent="alice", text="hi"))
        pane.handle(TurnStarted(turn=1, speakers=["alice"]))
        await pilot.pause()
        assert pane.state == SharedState()


# ---------------------------------------------------------------------------- cost pane


async def test_cost_pane_rows_unpriced_overhead_budget_and_sparkline() -> None:
    pane = CostPane(make_pack(session_usd=1.0))
    async with PaneApp(pane).run_test(size=(60, 30)) as pilot:
        assert pane.budget_fraction == 0.0
        for event in (
            usage("mod", 1, 0.001, overhead=True),
            usage("alice", 1, 0.02),
            usage("bob", 1, None),
            usage("mod", 2, 0.002, overhead=True),
            usage("alice", 2, 0.05),
        ):
            pane.handle(event)
        pane.handle(TokenDelta(message_id="m", agent="alice", text="ignored"))
        await pilot.pause()

        rows = {row.agent: row for row in pane.rows()}
        assert list(rows) == ["alice", "bob", "carl"]  # the moderator only has overhead calls
        assert rows["alice"].calls == "2" and rows["alice"].usd == "$0.070"
        assert (rows["alice"].tokens_in, rows["alice"].tokens_out) == ("2.4k", "600")
        assert rows["alice"].avg_ms == "800"
        assert rows["bob"].usd == "unpriced" and rows["bob"].calls == "1"
        assert rows["carl"].usd == "—" and rows["carl"].calls == "0"

        table = shown(pane.query_one("#cost-table", Static))
        assert "Alice" in table and "unpriced" in table and "$0.070" in table
        overhead = pane.overhead_row()
        assert (overhead.calls, overhead.usd, overhead.tokens_in) == ("2", "$0.0030", "2.4k")
        last_line = table.rstrip().splitlines()[-1]
        assert last_line.split() == ["overhead", "2", "2.4k", "600", "800", "$0.0030"]

        assert pane.total_usd == pytest.approx(0.073)
        assert pane.budget_fraction == pytest.approx(0.073)
        total = shown(pane.query_one("#cost-total", Static))
        assert "$0.073+ of $1.00 budget" in total and "7%" in total
        assert "some calls unpriced" in total

        spark = pane.query_one("#cost-spark", Sparkline)
        assert spark.data == pytest.approx([0.021, 0.052])
        assert "USD per turn" in shown(pane.query_one("#cost-spark-label", Static))

        pane.set_budget(0.1)
        await pilot.pause()
        assert pane.budget_fraction == pytest.approx(0.73)
        assert "73%" in shown(pane.query_one("#cost-total", Static))
        pane.set_budget(None)
        await pilot.pause()
        assert pane.budget_fraction is None
        assert "no session budget" in shown(pane.query_one("#cost-total", Static))

        pane.reset()
        await pilot.pause()
        assert pane.total_usd == 0 and spark.data == []
        assert all(row.calls == "0" for row in pane.rows())


async def test_cost_pane_all_unpriced_never_shows_dollars() -> None:
    pane = CostPane(make_pack(session_usd=None))
    async with PaneApp(pane).run_test(size=(60, 30)) as pilot:
        pane.handle(usage("alice", 1, None))
        pane.handle(usage("mod", 1, None, overhead=True))
        pane.handle(usage("alice", 3, None))
        await pilot.pause()
        total = shown(pane.query_one("#cost-total", Static))
        assert "total unpriced" in total and "$" not in total
        assert pane.overhead_row().usd == "unpriced"
        assert "$" not in shown(pane.query_one("#cost-table", Static))
        assert "tokens per turn" in shown(pane.query_one("#cost-spark-label", Static))
        # Tokens per turn, a missing turn shown as zero.
        assert pane.query_one("#cost-spark", Sparkline).data == [3000.0, 0.0, 1500.0]


# ---------------------------------------------------------------------------- workflow pane


async def test_workflow_pane_counts_edges_and_lights_speakers() -> None:
    pane = WorkflowPane(make_pack())
    async with PaneApp(pane).run_test(size=(60, 30)) as pilot:
        text = shown(pane)
        for name in ("Moderator", "Alice", "Bob", "Carl", "You"):
            assert name in text
        assert "×" not in text and pane.active == frozenset()

        pane.handle(TurnStarted(turn=1, speakers=["alice"]))
        pane.handle(TurnStarted(turn=2, speakers=["bob", "alice"]))
        pane.handle(MessageStarted(message_id="m1", agent="bob", name="Bob", role="critic", turn=2))
        await pilot.pause()
        assert pane.active == {"alice", "bob"}
        lines = shown(pane).splitlines()
        alice = next(line for line in lines if "Alice" in line)
        bob = next(line for line in lines if "Bob" in line)
        carl = next(line for line in lines if "Carl" in line)
        assert "×2" in alice and "×1" in bob and "×" not in carl
        assert "turn 2" in lines[0]

        # A message from the moderator in the next turn lights only the moderator.
        pane.handle(
            MessageStarted(message_id="m2", agent="mod", name="Moderator", role="moderator", turn=3)
        )
        await pilot.pause()
        assert pane.active == {"mod"}

        pane.handle(TurnStarted(turn=4, speakers=["mod", "guest"]))
        await pilot.pause()
        assert pane.active == {"mod", "guest"}
        assert "guest" in shown(pane) and shown(pane).count("Moderator") == 1

        pane.handle(SessionEnded(reason="max_turns", turns=3, cost_usd=0.0))
        await pilot.pause()
        assert pane.active == frozenset()
        assert "×2" in shown(pane)
        pane.reset()
        await pilot.pause()
        assert "×" not in shown(pane) and "guest" not in shown(pane)
        assert all(len(line) <= 38 for line in shown(pane).splitlines())


# ---------------------------------------------------------------------------- timeline pane


def checkpoint(turn: int, speaker: str, summary: str, branch: str = "main") -> CheckpointCreated:
    return CheckpointCreated(
        turn=turn, seq=turn * 10, speaker=speaker, summary=summary, branch_id=branch
    )


def prompts(pane: TimelinePane) -> list[str]:
    return option_texts(pane, "#timeline-list")


async def test_timeline_rows_branches_and_current_marker() -> None:
    pane = TimelinePane(make_pack())
    app = PaneApp(pane)
    async with app.run_test(size=(60, 30)) as pilot:
        pane.handle(checkpoint(1, "alice", "Proposed SQLite\nsecond line"))
        pane.handle(checkpoint(2, "bob", "Objected " + "very " * 30 + "strongly"))
        pane.handle(checkpoint(3, "carl", "Wrote the plan"))
        await pilot.pause()
        rows = prompts(pane)
        assert len(rows) == 3
        assert rows[0] == "    1 Alice: Proposed SQLite"
        assert rows[1].endswith("…") and len(rows[1]) < 80
        assert rows[2].startswith("▶") and not any(r.startswith("▶") for r in rows[:2])
        # One screen line per row even in a narrow pane.
        assert len(shown(pane.query_one("#timeline-list", OptionList)).strip().splitlines()) == 3

        fork = BranchForked(parent_branch_id="main", fork_seq=20, turn=2, name="b1", branch_id="b1")
        pane.handle(fork)
        await pilot.pause()
        rows = prompts(pane)
        assert rows[3] == "⑂ branch b1 from turn 2"
        assert [r.startswith("▶") for r in rows[:3]] == [False, True, False]

        pane.handle(checkpoint(3, "alice", "Took the other road", branch="b1"))
        await pilot.pause()
        rows = prompts(pane)
        assert len(rows) == 5 and rows[4].startswith("▶") and "other road" in rows[4]
        assert not rows[1].startswith("▶")

        # Clicking a checkpoint posts CheckpointSelected; clicking the branch marker does not.
        option_list = pane.query_one("#timeline-list", OptionList)
        assert await pilot.click(option_list, offset=(4, 0))
        await pilot.pause()
        assert [m.turn for m in app.selected] == [1]
        assert app.selected[0].branch_id == "main" and app.selected[0].seq == 10
        assert await pilot.click(option_list, offset=(4, 3))
        await pilot.pause()
        assert len(app.selected) == 1

        # Keyboard: the last row, Enter.
        option_list.focus()
        await pilot.press("end", "enter")
        await pilot.pause()
        assert [(m.turn, m.branch_id) for m in app.selected] == [(1, "main"), (3, "b1")]


async def test_timeline_load_autoscrolls_and_resets() -> None:
    pane = TimelinePane()
    app = PaneApp(pane)
    async with app.run_test(size=(60, 30)) as pilot:
        pane.load([(turn, "alice", f"turn {turn}") for turn in range(1, 41)])
        await pilot.pause()
        option_list = pane.query_one("#timeline-list", OptionList)
        assert option_list.option_count == 40
        assert prompts(pane)[-1].startswith("▶")
        assert option_list.max_scroll_y > 0
        assert option_list.scroll_y == option_list.max_scroll_y
        pane.handle(checkpoint(41, "bob", "the newest"))
        await pilot.pause()
        assert option_list.scroll_y == option_list.max_scroll_y
        assert "the newest" in shown(option_list)

        # A user browsing up with the keyboard is not pulled back down by a new checkpoint.
        option_list.focus()
        await pilot.press("home")
        await pilot.pause()
        assert option_list.scroll_y == 0
        pane.handle(checkpoint(42, "carl", "newer still"))
        await pilot.pause()
        assert option_list.scroll_y == 0 and option_list.option_count == 42
        pane.reset()
        await pilot.pause()
        assert option_list.option_count == 0 and pane.current is None
