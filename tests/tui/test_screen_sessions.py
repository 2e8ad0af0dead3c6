"""Pilot tests of the session browser against a real database file in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agents.store import Store
from tui.screens import ConfirmScreen, SessionsScreen
from tui.screens.sessions import EMPTY_TEXT


class Host(App[None]):
    """Pushes one screen on mount and records what it is dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.screen_under_test = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test, self.results.append)


async def make_sessions(db: Path, titles: list[str], cost: float = 0.0) -> list[str]:
    """Create one session per title, in order (so the last is the newest); return their ids."""
    ids = []
    async with await Store.open(db) as store:
        for index, title in enumerate(titles):
            session_id = f"{index:04d}-{title.lower().replace(' ', '-')}"
            branch = await store.create_session(
                session_id=session_id,
                title=title,
                topic=f"{title} topic",
                pack_name="design-review",
                pack_json={"pack": {"name": "design-review"}},
                model="local/smollm2",
            )
            if cost:
                seq = await store.append_event(
                    session_id, branch, "usage_recorded", "chair", {"cost_usd": cost}
                )
                await store.add_checkpoint(
                    session_id, branch, seq=seq, turn=index + 1, state={}, label=""
                )
            ids.append(session_id)
    return ids


async def stored_ids(db: Path) -> set[str]:
    async with await Store.open(db) as store:
        return {row.id for row in await store.list_sessions()}


def table_ids(table: DataTable[Any]) -> list[str | None]:
    return [row.key.value for row in table.ordered_rows]


async def test_lists_sessions_newest_first_with_turns_and_cost(tmp_path: Path) -> None:
    db = tmp_path / "agentchat.db"
    ids = await make_sessions(db, ["Alpha plan", "Beta review", "Gamma panel"], cost=0.25)
    app = Host(SessionsScreen(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#sessions-table", DataTable)
        assert table_ids(table) == list(reversed(ids))
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[0] == "Gamma panel"
        assert first[1] == "design-review"
        assert first[3:] == ["3", "$0.25"]
        assert app.focused is table
        assert not app.screen.query_one("#sessions-empty").display


async def test_enter_opens_the_highlighted_session(tmp_path: Path) -> None:
    db = tmp_path / "agentchat.db"
    ids = await make_sessions(db, ["Alpha plan", "Beta review"])
    app = Host(SessionsScreen(db))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == [ids[0]]  # the second row is the older session


async def test_delete_asks_first_then_removes_the_session_from_the_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "agentchat.db"
    ids = await make_sessions(db, ["Alpha plan", "Beta review"])
    app = Host(SessionsScreen(db))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep it
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#sessions-table", DataTable)
        assert table_ids(table) == [ids[0]]
        assert app.results == []
    assert await stored_ids(db) == {ids[0]}


async def test_escape_returns_none_and_empty_state_is_shown(tmp_path: Path) -> None:
    db = tmp_path / "agentchat.db"
    app = Host(SessionsScreen(db))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        empty = app.screen.query_one("#sessions-empty", Static)
        assert empty.display and str(empty.content) == EMPTY_TEXT
        assert not app.screen.query_one("#sessions-table").display
        await pilot.press("d", "enter")  # nothing to delete or open
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_a_corrupt_database_is_reported_not_raised(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    db.write_text("this is not sqlite")
    app = Host(SessionsScreen(db))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        empty = app.screen.query_one("#sessions-empty", Static)
        assert empty.has_class("-error")
        assert str(db) in str(empty.content)


async def test_clicking_the_highlighted_row_opens_it(tmp_path: Path) -> None:
    db = tmp_path / "agentchat.db"
    ids = await make_sessions(db, ["Alpha plan", "Beta review"])
    app = Host(SessionsScreen(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#sessions-table", offset=(4, 1))  # row 0, under the header
        await pilot.pause()
        assert app.results == [ids[1]]
