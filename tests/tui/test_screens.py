"""Pilot tests of the modal screens: help, error, confirm and the human's turn."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static, TextArea

from tui.screens import ConfirmScreen, ErrorScreen, HelpScreen, HumanTurnScreen
from tui.screens.human_turn import EMPTY_MESSAGE


class Host(App[None]):
    """Pushes one screen on mount and records what it is dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.screen_under_test = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test, self.results.append)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*("space" if char == " " else char for char in text))


def plain(static: Static) -> str:
    return str(static.content)


# -- help ------------------------------------------------------------------------------------

BINDINGS = [
    ("ctrl+s", "Start the session", "start.start"),
    ("f1,question_mark", "Show help", "app.help"),
    ("d", "Delete the session", "sessions.delete"),
]
SLASH = [("/pause", "Pause after the current turn"), ("/seat <id>", "Take a persona's seat")]


async def test_help_lists_every_binding_and_slash_command() -> None:
    app = Host(HelpScreen(BINDINGS, SLASH))
    async with app.run_test() as pilot:
        await pilot.pause()
        keys = app.screen.query_one("#help-keys", DataTable)
        rows = [[str(cell) for cell in keys.get_row_at(i)] for i in range(keys.row_count)]
        assert rows == [
            ["^s", "Start the session", "start.start"],
            ["f1 / ?", "Show help", "app.help"],
            ["d", "Delete the session", "sessions.delete"],
        ]
        slash = app.screen.query_one("#help-slash", DataTable)
        assert [str(slash.get_row_at(i)[0]) for i in range(slash.row_count)] == [
            "/pause",
            "/seat <id>",
        ]
        assert app.focused is keys
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
        assert not isinstance(app.screen, HelpScreen)


async def test_help_closes_on_q_and_hides_empty_slash_section() -> None:
    app = Host(HelpScreen(BINDINGS[:1], []))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not app.screen.query("#help-slash")
        await pilot.press("q")
        await pilot.pause()
        assert app.results == [None]


# -- error -----------------------------------------------------------------------------------

MESSAGE = "packs/x.toml: line 3, [pack].name: expected a string; put the value in quotes."


async def test_error_shows_the_message_and_closes_on_enter() -> None:
    app = Host(ErrorScreen("Cannot load the pack", MESSAGE))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert plain(app.screen.query_one("#error-message", Static)) == MESSAGE
        assert "Cannot load the pack" in str(app.screen.query_one("#error-dialog").border_title)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [None]


async def test_error_closes_on_escape_and_copies() -> None:
    app = Host(ErrorScreen("Boom", "[not markup] keep brackets"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert plain(app.screen.query_one("#error-message", Static)) == (
            "[not markup] keep brackets"
        )
        await pilot.press("c")
        assert app.clipboard == "Boom\n[not markup] keep brackets"
        assert app.results == []
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


# -- confirm ---------------------------------------------------------------------------------


async def test_confirm_yes_key_returns_true() -> None:
    app = Host(ConfirmScreen("Delete it?"))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.results == [True]


async def test_confirm_escape_returns_false() -> None:
    app = Host(ConfirmScreen("Delete it?", "Cannot be undone."))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False]


async def test_destructive_confirm_focuses_cancel_so_enter_keeps() -> None:
    app = Host(ConfirmScreen("Delete it?", destructive=True, confirm_label="Delete"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.focused, Button) and app.focused.id == "confirm-cancel"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]


async def test_confirm_button_click_returns_true() -> None:
    app = Host(ConfirmScreen("Delete it?", destructive=True))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.click("#confirm-ok")
        await pilot.pause()
        assert app.results == [True]


# -- human turn ------------------------------------------------------------------------------


async def test_human_turn_sends_the_text_with_ctrl_s() -> None:
    app = Host(HumanTurnScreen("Maya, Review Chair", "moderator", "Priya: shard by tenant?"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "Yes, by tenant.")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == ["Yes, by tenant."]


async def test_human_turn_refuses_an_empty_message_then_skips() -> None:
    app = Host(HumanTurnScreen("Maya", "moderator", ""))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not app.screen.query("#human-context")
        await pilot.press("space", "ctrl+s")
        await pilot.pause()
        assert app.results == []
        assert plain(app.screen.query_one("#human-message", Static)) == EMPTY_MESSAGE
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
