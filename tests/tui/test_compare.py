"""The Compare screen: two branches from their fork point, aligned by turn, with the shared-state
and cost differences; reached by a key and from the command palette."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.command import CommandList
from textual.pilot import Pilot

from agents.session import RunOptions
from tests.tui.app_helpers import wait_for, wait_main
from tests.tui.timeline_helpers import SESSION_ID, write_branching_session
from tui.app import AgentChatApp
from tui.screens.compare import CompareScreen, default_pair
from tui.screens.main import MainScreen


def stored_app(db: Path) -> AgentChatApp:
    return AgentChatApp(db_path=db, session_id=SESSION_ID, provider_loader=lambda: None,
                        options=RunOptions(model="openai/test-model", max_turns=8))


def compared(app: AgentChatApp) -> CompareScreen | None:
    screen = app.screen
    if isinstance(screen, CompareScreen) and screen.comparison is not None:
        return screen
    return None


def rendered(screen: CompareScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_compare_shows_both_branches_by_turn_and_the_state_difference(
        tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    written = await write_branching_session(db)
    app = stored_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await wait_main(pilot, app)
        assert main.session.branch_id == written.fork  # the head: the branch
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: compared(app) is not None, "the comparison")
        screen = compared(app)
        assert screen is not None
        assert (screen.left, screen.right) == (written.main, written.fork)  # parent vs current
        assert [row.label for row in screen.rows] == ["t0 ✎", "t3", "t4"]
        edited, turn3, turn4 = screen.rows
        assert edited.left[0].text == "Welcome. Scope: the cache."
        assert edited.right[0].text == "Welcome. Scope: cache and costs." and edited.right[0].edited
        assert [m.text for m in turn3.left] == ["We need a load test first."]
        assert [m.text for m in turn3.right] == ["Skip the load test; canary it."]
        assert [m.text for m in turn4.right] == ["Plan written."]
        shown = " ".join(str(s.render()) for s in screen.query(".compare-right"))
        assert "Skip the load test; canary it." in shown and "✎ Maya, Review Chair" in shown
        assert "Shared up to turn 2" in rendered(screen, "#compare-summary")
        state = rendered(screen, "#compare-state")
        assert "+ Canary instead of a load test" in state
        assert "− Encrypt at rest" in state and "− Load test" in state and "~ plan.md" in state
        cost = rendered(screen, "#compare-cost")
        assert "$0.0050" in cost and "$0.0075" in cost and "+$0.0025" in cost

        await pilot.press("s")  # swap the sides
        await wait_for(pilot, lambda: screen.left == written.fork and screen.comparison
                       is not None and screen.comparison.left_branch == written.fork, "the swap")
        await wait_for(pilot, lambda: "− Canary" in rendered(screen, "#compare-state"),
                       "the swapped state difference")
        assert [m.text for m in screen.rows[1].left] == ["Skip the load test; canary it."]
        assert "−$0.0025" in rendered(screen, "#compare-cost")

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")


async def test_compare_from_the_palette_and_with_a_single_branch(tmp_path: Path) -> None:
    from tests.tui.app_helpers import notifications, write_session

    db = tmp_path / "chat.db"
    sid = await write_session(db, messages=2)
    app = AgentChatApp(db_path=db, session_id=sid, provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_main(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"compare branches")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0,
                       "the palette's matches")
        prompt = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt)
        assert "Compare branches" in prompt
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("one branch" in n for n in notifications(app)),
                       "why there is nothing to compare")
        assert isinstance(app.screen, MainScreen)


def test_default_pair_prefers_the_parent() -> None:
    from agents.cost import CostLedger
    from tui.branch_tree import BranchInfo

    def info(bid: str, parent: str | None) -> BranchInfo:
        return BranchInfo(bid, bid, parent, None, None, 1, 0, CostLedger())

    tree = [info("root", None), info("a", "root"), info("b", "a"), info("c", "root")]
    assert default_pair(tree, "b") == ("a", "b")
    assert default_pair(tree, "root") == ("root", "c")  # the root: its newest child


def test_compare_screen_snapshot(tmp_path: Path, snap_compare: Callable[..., bool]) -> None:
    db = tmp_path / "snap.db"
    asyncio.run(write_branching_session(db))

    async def open_compare(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AgentChatApp)
        await wait_main(pilot, app)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: compared(app) is not None, "the comparison")
        await app.workers.wait_for_complete()
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(stored_app(db), terminal_size=(120, 40), run_before=open_compare)
