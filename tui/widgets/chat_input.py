"""The chat input: Enter sends as the human, ``@id`` addresses a persona, ``/command`` controls the
run. Up/Down walk the history; Right accepts the completion of a ``/command`` or ``@id``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

SLASH_COMMANDS: list[tuple[str, str]] = [
    ("/pause", "Pause after the current turn"),
    ("/step", "Run exactly one more turn, then pause"),
    ("/resume", "Continue the run (starts it again after it ended or was stopped)"),
    ("/stop", "End the run now; a message being written is kept, marked interrupted"),
    ("/budget USD", "Set the session budget, e.g. /budget 2.50"),
    ("/turns N", "Set the turn limit, e.g. /turns 30"),
    ("/rollback TURN", "Fork a new branch at that turn's checkpoint (the old one is kept)"),
    ("/seat ID", "Take a persona's seat: you write its turns"),
    ("/unseat ID", "Give the seat back to the model"),
    ("/help", "Keys and commands"),
    ("@ID text", "Address your message to one persona"),
]
COMMAND_NAMES = tuple(c.split()[0][1:] for c, _ in SLASH_COMMANDS if c.startswith("/"))


@dataclass(frozen=True)
class Say:
    """A message from the human, to everyone or to persona ``to``."""

    text: str
    to: str | None = None


@dataclass(frozen=True)
class Command:
    """A slash command with its parsed argument (float for /budget, int for /rollback...)."""

    name: str
    arg: str | float | int | None = None


@dataclass(frozen=True)
class Invalid:
    """Input that cannot run; ``message`` says why in one line."""

    message: str


Parsed = Say | Command | Invalid


def parse_line(text: str, persona_ids: Iterable[str] = ()) -> Parsed:
    """Turn a line from the input into what to do."""
    text = text.strip()
    if text.startswith("//"):
        return Say(text[1:])
    if not text.startswith("/"):
        head, _, rest = text.partition(" ")
        if head.startswith("@") and head[1:] in set(persona_ids) and rest.strip():
            return Say(rest.strip(), to=head[1:])
        return Say(text)
    name, _, arg = text[1:].partition(" ")
    name, arg = name.lower(), arg.strip()
    if name not in COMMAND_NAMES:
        return Invalid(f"Unknown command /{name}; /help lists the commands.")
    if name in ("pause", "step", "resume", "stop", "help"):
        return Command(name) if not arg else Invalid(f"/{name} takes no argument.")
    if name == "budget":
        try:
            usd = float(arg.lstrip("$"))
        except ValueError:
            return Invalid("/budget needs an amount in USD, e.g. /budget 2.50.")
        if not usd > 0 or usd == float("inf"):
            return Invalid("/budget needs an amount above zero, e.g. /budget 2.50.")
        return Command("budget", usd)
    if name in ("rollback", "turns"):
        what = ("a turn number, e.g. /rollback 3" if name == "rollback"
                else "a count, e.g. /turns 30")
        try:
            number = int(arg)
        except ValueError:
            return Invalid(f"/{name} needs {what}.")
        if number < (0 if name == "rollback" else 1):
            return Invalid(f"/{name} needs {what}.")
        return Command(name, number)
    ids = list(persona_ids)
    persona = arg.lstrip("@")
    if not persona:
        return Invalid(f"/{name} needs a persona id: {', '.join(ids) or 'none in this pack'}.")
    if ids and persona not in ids:
        return Invalid(f"No persona {persona!r} here; the ids are {', '.join(ids)}.")
    return Command(name, persona)


class CommandSuggester(Suggester):
    """Completes ``/comm…`` to a command and ``@ar…`` to a persona id."""

    def __init__(self, persona_ids: Iterable[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.persona_ids = list(persona_ids)

    async def get_suggestion(self, value: str) -> str | None:
        if " " in value or len(value) < 2:
            if value.startswith(("/seat ", "/unseat ")):
                prefix, _, partial = value.partition(" ")
                for pid in self.persona_ids:
                    if partial and pid.startswith(partial) and pid != partial:
                        return f"{prefix} {pid}"
            return None
        if value.startswith("/"):
            for name in COMMAND_NAMES:
                if name.startswith(value[1:]) and name != value[1:]:
                    return f"/{name}"
        elif value.startswith("@"):
            for pid in self.persona_ids:
                if pid.startswith(value[1:]) and pid != value[1:]:
                    return f"@{pid} "
        return None


class ChatInput(Input):
    """The line the human types into. Posts :class:`ChatInput.Line` on Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", show=False, id="input.send"),
        Binding("up", "history(-1)", "Previous line", show=False, id="input.history-back"),
        Binding("down", "history(1)", "Next line", show=False, id="input.history-forward"),
    ]

    DEFAULT_CSS = """
    ChatInput { margin: 0; }
    """

    class Line(Message):
        """The user pressed Enter on a non-empty line."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, persona_ids: Iterable[str] = (), *, history: list[str] | None = None,
                 id: str | None = None, placeholder: str = "") -> None:
        super().__init__(
            placeholder=placeholder or "Message the group · @id to address one · /help",
            suggester=CommandSuggester(persona_ids), id=id, select_on_focus=False)
        self.history: list[str] = list(history or [])
        self._cursor = len(self.history)
        self._draft = ""

    async def action_submit(self) -> None:
        text = self.value.strip()
        if not text:
            return
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._cursor = len(self.history)
        self._draft = ""
        self.value = ""
        self.post_message(self.Line(text))

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._cursor == len(self.history):
            self._draft = self.value
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.value = self._draft if self._cursor == len(self.history) else self.history[
            self._cursor]
        self.cursor_position = len(self.value)
