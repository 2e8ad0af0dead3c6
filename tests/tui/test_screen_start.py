"""Pilot and snapshot tests of the start screen (packs, preview, form, recent sessions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from agents.store import Store
from personas.loader import builtin_pack_names
from tui.screens import ReopenChoice, StartChoice, StartScreen
from tui.screens.start import BUDGET_ERROR, RECENT_LIMIT, TOPIC_EMPTY, TURNS_ERROR
from tui.widgets.text_pane import TextPane

NOTE = "Using the test default."


class Host(App[None]):
    """Pushes one screen on mount and records what it is dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.screen_under_test = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test, self.results.append)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """An empty user packs dir, so only the built-in packs are listed."""
    path = tmp_path / "packs"
    path.mkdir()
    return path


@pytest.fixture
def start(tmp_path: Path, user_dir: Path) -> Callable[[], Host]:
    return lambda: Host(StartScreen(tmp_path / "agentchat.db", NOTE, user_dir=user_dir))


async def ready(pilot: Pilot[None]) -> StartScreen:
    """Wait for the recent sessions to load; return the start screen."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, StartScreen)
    return screen


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    await pilot.click(selector)
    await pilot.press(*("space" if char == " " else char for char in text))


def text_of(screen: Screen[Any], selector: str) -> str:
    widget = screen.query_one(selector)
    assert isinstance(widget, Static | TextPane)
    return str(widget.content)


async def test_lists_builtin_packs_and_preview_follows_the_highlight(
    start: Callable[[], Host],
) -> None:
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        packs = screen.query_one("#pack-list", OptionList)
        count = packs.option_count
        names = [str(packs.get_option_at_index(i).prompt).split()[0] for i in range(count)]
        assert names == builtin_pack_names()
        assert packs.option_count == len(builtin_pack_names())
        assert app.focused is packs
        first = text_of(screen, "#preview-box")
        assert "Dana, Review Lead — moderator" in first  # code-review's moderator
        await pilot.press("down")
        second = text_of(screen, "#preview-box")
        assert second != first
        assert "Maya, Review Chair — moderator" in second  # design-review's chair
        assert "$1.50 per session" in second
        assert screen.query_one("#preview-box").border_title == "design-review"
        assert screen.query_one("#budget", Input).placeholder == "1.50"
        assert screen.query_one("#max-turns", Input).placeholder == "18"


async def test_the_preview_scrolls_and_starts_at_the_top_for_each_pack(
    start: Callable[[], Host],
) -> None:
    app = start()
    async with app.run_test() as pilot:  # 80×24: the preview is taller than its pane
        screen = await ready(pilot)
        preview = screen.query_one("#preview-box", TextPane)
        await pilot.press("tab")
        assert app.focused is preview
        assert preview.show_vertical_scrollbar and preview.max_scroll_y > 0
        # The text is wrapped inside the scrollbar: the widest line fits the content width.
        assert preview.virtual_size.width == preview.scrollable_content_region.width
        await pilot.press("down", "down")
        await pilot.pause()
        assert preview.scroll_y == 2
        await pilot.press("end")
        await pilot.pause()
        assert preview.scroll_y == preview.max_scroll_y
        await pilot.press("shift+tab", "down")  # the next pack
        await pilot.pause()
        assert preview.scroll_y == 0
        assert "Maya, Review Chair" in text_of(screen, "#preview-box")


async def test_enter_in_topic_starts_with_the_chosen_pack(start: Callable[[], Host]) -> None:
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("down", "enter")  # design-review; Enter moves to the topic
        assert app.focused is screen.query_one("#topic", Input)
        await pilot.press(*"Billing", "space", *"migration", "enter")
        await pilot.pause()
        assert app.results == [
            StartChoice("design-review", "Billing migration", None, None, None)
        ]


async def test_all_fields_reach_the_choice(start: Callable[[], Host]) -> None:
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await type_into(pilot, "#topic", "Plan Q3")
        await type_into(pilot, "#model", "openai/gpt-4o-mini")
        await type_into(pilot, "#budget", "$2.5")
        await type_into(pilot, "#max-turns", "7")
        await pilot.click("#start-button")
        await pilot.pause()
        assert app.results == [
            StartChoice("code-review", "Plan Q3", "openai/gpt-4o-mini", 2.5, 7)
        ]


async def test_empty_topic_shows_a_message_and_does_not_dismiss(
    start: Callable[[], Host],
) -> None:
    app = start()
    async with app.run_test() as pilot:  # 80×24
        screen = await ready(pilot)
        await pilot.click("#topic")
        await pilot.press("space", "enter")
        await pilot.pause()
        assert app.results == []
        assert text_of(screen, "#topic-message") == TOPIC_EMPTY
        assert screen.query_one("#topic-message").has_class("-error")
        await pilot.press("x")
        assert not screen.query_one("#topic-message").has_class("-error")


async def test_bad_budget_and_turns_show_a_message_until_fixed(
    start: Callable[[], Host],
) -> None:
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await type_into(pilot, "#topic", "Plan")
        await type_into(pilot, "#budget", "abc")
        assert text_of(screen, "#options-message") == BUDGET_ERROR
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == []
        budget = screen.query_one("#budget", Input)
        assert budget.has_class("-invalid") and app.focused is budget
        await pilot.press("backspace", "backspace", "backspace", "minus", "1", "enter")
        await pilot.pause()
        assert app.results == [] and text_of(screen, "#options-message") == BUDGET_ERROR
        await pilot.press("backspace", "backspace", "1")
        assert not budget.has_class("-invalid")
        await type_into(pilot, "#max-turns", "0")
        assert text_of(screen, "#options-message") == TURNS_ERROR
        await pilot.press("backspace", "5", "enter")
        await pilot.pause()
        assert app.results == [StartChoice("code-review", "Plan", None, 1.0, 5)]


async def test_a_recent_session_reopens(
    tmp_path: Path, start: Callable[[], Host]
) -> None:
    db = tmp_path / "agentchat.db"
    async with await Store.open(db) as store:
        for index in range(RECENT_LIMIT + 2):
            await store.create_session(
                session_id=f"session-{index:02d}",
                title=f"Session {index}",
                topic="t",
                pack_name="code-review",
                pack_json={},
                model="local/smollm2",
            )
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        recent = screen.query_one("#recent-list", OptionList)
        assert recent.option_count == RECENT_LIMIT
        assert recent.get_option_at_index(0).id == f"session-{RECENT_LIMIT + 1:02d}"
        await pilot.press("ctrl+r")
        assert app.focused is recent
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == [ReopenChoice(f"session-{RECENT_LIMIT:02d}")]


async def test_no_sessions_shows_the_empty_text(start: Callable[[], Host]) -> None:
    app = start()
    async with app.run_test() as pilot:
        screen = await ready(pilot)
        assert not screen.query_one("#recent-list").display
        assert text_of(screen, "#recent-box") == "No saved sessions yet."


async def test_the_recent_box_says_loading_until_the_sessions_are_read(
    tmp_path: Path, user_dir: Path
) -> None:
    screen = StartScreen(tmp_path / "agentchat.db", NOTE, user_dir=user_dir,
                         after_first_frame=lambda _load: None)  # never loads
    async with Host(screen).run_test() as pilot:
        await pilot.pause()
        assert text_of(screen, "#recent-box") == "Loading…"
        assert not screen.query("#recent-list")


async def test_a_broken_user_pack_is_listed_with_its_error(
    start: Callable[[], Host], user_dir: Path
) -> None:
    (user_dir / "zz-broken.toml").write_text('[pack]\nname = "zz"\n')  # no personas
    app = start()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        packs = screen.query_one("#pack-list", OptionList)
        last = packs.option_count - 1
        assert "zz-broken" in str(packs.get_option_at_index(last).prompt)
        packs.highlighted = last
        await pilot.pause()
        preview = text_of(screen, "#preview-box")
        assert "cannot be loaded" in preview and "personas" in preview
        assert screen.query_one("#preview-box").has_class("-broken")
        assert screen.query_one("#model", Input).tooltip == NOTE
        await type_into(pilot, "#topic", "Anything")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert text_of(screen, "#topic-message").startswith("Pack: zz-broken is broken")


def test_start_screen_snapshot(
    snap_compare: Callable[..., bool],
    tmp_path: Path,
    user_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AGENTCHAT_MODEL", raising=False)
    monkeypatch.setattr(Input, "cursor_blink", False)
    app = Host(StartScreen(tmp_path / "agentchat.db", NOTE, user_dir=user_dir))

    async def settle(pilot: Pilot[None]) -> None:
        await ready(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)
