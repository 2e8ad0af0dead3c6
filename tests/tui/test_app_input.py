"""The chat input: what a line means, history, completion."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tests.tui.app_helpers import wait_for
from tui.widgets.chat_input import ChatInput, Command, CommandSuggester, Invalid, Say, parse_line

IDS = ["chair", "architect", "sre"]


@pytest.mark.parametrize(("line", "expected"), [
    ("Hello all", Say("Hello all")),
    ("  @sre what breaks first?  ", Say("what breaks first?", to="sre")),
    ("@nobody hi", Say("@nobody hi")),
    ("//pause is a word", Say("/pause is a word")),
    ("/pause", Command("pause")),
    ("/STEP", Command("step")),
    ("/budget 2.50", Command("budget", 2.5)),
    ("/budget $3", Command("budget", 3.0)),
    ("/rollback 0", Command("rollback", 0)),
    ("/turns 30", Command("turns", 30)),
    ("/seat @architect", Command("seat", "architect")),
    ("/unseat sre", Command("unseat", "sre")),
    ("/frob", Invalid("Unknown command /frob; /help lists the commands.")),
    ("/pause now", Invalid("/pause takes no argument.")),
    ("/budget -1", Invalid("/budget needs an amount above zero, e.g. /budget 2.50.")),
    ("/rollback x", Invalid("/rollback needs a turn number, e.g. /rollback 3.")),
    ("/turns 0", Invalid("/turns needs a count, e.g. /turns 30.")),
    ("/seat", Invalid("/seat needs a persona id: chair, architect, sre.")),
    ("/seat bob", Invalid("No persona 'bob' here; the ids are chair, architect, sre.")),
])
def test_parse_line(line: str, expected: object) -> None:
    assert parse_line(line, IDS) == expected


async def test_completion_of_commands_and_ids() -> None:
    suggester = CommandSuggester(IDS)
    assert await suggester.get_suggestion("/pa") == "/pause"
    assert await suggester.get_suggestion("/ro") == "/rollback"
    assert await suggester.get_suggestion("@ar") == "@architect "
    assert await suggester.get_suggestion("/seat s") == "/seat sre"
    assert await suggester.get_suggestion("plain text") is None


class InputApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield ChatInput(IDS, history=["first"])

    def on_chat_input_line(self, message: ChatInput.Line) -> None:
        self.lines.append(message.text)


async def test_enter_sends_and_up_down_walk_the_history() -> None:
    app = InputApp()
    async with app.run_test() as pilot:
        chat = app.query_one(ChatInput)
        chat.focus()
        await pilot.press(*"second", "enter")
        await wait_for(pilot, lambda: app.lines == ["second"], "the line")
        assert chat.value == ""
        await pilot.press("enter")  # an empty line sends nothing
        await pilot.press(*"draft", "up")
        assert chat.value == "second"
        await pilot.press("up", "up")
        assert chat.value == "first"
        await pilot.press("down", "down")
        assert chat.value == "draft"
        assert app.lines == ["second"]
        await pilot.press("ctrl+u", *"/pa", "right", "enter")  # completion, then send
        await wait_for(pilot, lambda: app.lines[-1:] == ["/pause"], "the completed command")
