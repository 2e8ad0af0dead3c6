"""SVG snapshots of the main screen showing a stored session (no live model, nothing running).

Update them with ``pytest tests/tui/test_app_snapshot.py --snapshot-update`` after checking the
change by eye (``snapshot_report.html``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from agents.session import RunOptions
from tests.tui.app_helpers import wait_for, write_session
from tui.app import AgentChatApp
from tui.screens.main import MainScreen


def stored_app(tmp_path: Path) -> AgentChatApp:
    db = tmp_path / "snap.db"
    sid = asyncio.run(write_session(db, messages=4))
    return AgentChatApp(db_path=db, session_id=sid, provider_loader=lambda: None,
                        options=RunOptions(model="openai/test-model", max_turns=12))


async def settle(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.shown
                   and app.provider_status == "ready", "the main screen")
    await app.workers.wait_for_complete()
    screen = app.screen
    assert isinstance(screen, MainScreen)
    screen.chat_input.cursor_blink = False  # frozen: no blinking cursor in the picture
    app.clear_notifications()
    await pilot.pause()


def test_main_screen_120x40(tmp_path: Path, snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(stored_app(tmp_path), terminal_size=(120, 40), run_before=settle)


def test_main_screen_80x24(tmp_path: Path, snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(stored_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_main_screen_with_the_cost_pane_collapsed(tmp_path: Path,
                                                  snap_compare: Callable[..., bool]) -> None:
    async def collapse(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f3")  # expanded and not focused: focus it
        await pilot.press("f3")  # focused: collapse it, back to the input
        await pilot.pause()

    assert snap_compare(stored_app(tmp_path), terminal_size=(120, 40), run_before=collapse)
