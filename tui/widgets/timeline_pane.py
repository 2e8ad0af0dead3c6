"""The Timeline pane: one row per checkpoint, branch markers, the current checkpoint marked ▶.

Selecting a checkpoint row posts :class:`TimelinePane.CheckpointSelected`; the main screen rolls
back to it (which forks a branch and never deletes the old one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from agents.events import BranchForked, CheckpointCreated, Event
from personas.models import Pack

SUMMARY_CHARS = 60
CURRENT = "▶"


@dataclass
class TimelineRow:
    """One row: a checkpoint, or the marker of a branch forked at ``turn``."""

    kind: Literal["checkpoint", "branch"]
    turn: int
    speaker: str = ""
    summary: str = ""
    branch_id: str = ""
    seq: int | None = None
    name: str = ""


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first line of ``text``, whitespace collapsed, cut to ``limit`` characters with "…"."""
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def row_prompt(row: TimelineRow, current: bool, names: dict[str, str] | None = None) -> Text:
    """The text of a timeline row."""
    if row.kind == "branch":
        return Text(f"⑂ branch {row.name} from turn {row.turn}", style="bold magenta")
    names = names or {}
    text = Text(f"{CURRENT if current else ' '} ", style="bold green" if current else "")
    text.append(f"{row.turn:>3} ", style="bold" if current else "dim")
    if row.speaker:
        text.append(names.get(row.speaker, row.speaker), style="bold")
        text.append(": ")
    text.append(one_line(row.summary))
    return text


class TimelinePane(Vertical):
    """Checkpoints newest at the bottom, auto-scrolled; select one to roll back to it."""

    _ready = False

    DEFAULT_CSS = """
    TimelinePane { height: auto; width: 1fr; }
    TimelinePane > OptionList {
        height: auto; max-height: 14; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    class CheckpointSelected(Message):
        """The user picked the checkpoint of ``turn`` (on ``branch_id``, at ``seq``, if known)."""

        def __init__(self, turn: int, branch_id: str = "", seq: int | None = None) -> None:
            super().__init__()
            self.turn = turn
            self.branch_id = branch_id
            self.seq = seq

    def __init__(
        self,
        pack: Pack | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._names = {p.id: p.name for p in pack.personas} if pack else {}
        self._names.setdefault("human", "You")
        self.rows: list[TimelineRow] = []
        self.current: int | None = None
        """Index in ``rows`` of the current checkpoint."""

    def compose(self) -> ComposeResult:
        yield OptionList(id="timeline-list", compact=True)

    def on_mount(self) -> None:
        self._ready = True  # children exist now; is_mounted is only set after on_mount
        self._rebuild()

    @property
    def _list(self) -> OptionList:
        return self.query_one("#timeline-list", OptionList)

    # -- public API

    def handle(self, event: Event) -> None:
        if isinstance(event, CheckpointCreated):
            row = TimelineRow(
                "checkpoint", event.turn, event.speaker, event.summary, event.branch_id, event.seq
            )
            self._append(row, make_current=True)
        elif isinstance(event, BranchForked):
            fork_point = self._find_checkpoint(event.turn)
            marker = TimelineRow("branch", event.turn, branch_id=event.branch_id, name=event.name)
            self._append(marker)
            if fork_point is not None:
                self._set_current(fork_point)

    def reset(self) -> None:
        self.rows = []
        self.current = None
        self._rebuild()

    def load(self, checkpoints: list[tuple[int, str, str]]) -> None:
        """Fill from stored ``(turn, speaker, summary)`` rows, oldest first; the last is current."""
        self.rows = [TimelineRow("checkpoint", t, s, summary) for t, s, summary in checkpoints]
        self.current = len(self.rows) - 1 if self.rows else None
        self._rebuild()

    # -- internals

    def _find_checkpoint(self, turn: int) -> int | None:
        for index in range(len(self.rows) - 1, -1, -1):
            row = self.rows[index]
            if row.kind == "checkpoint" and row.turn == turn:
                return index
        return None

    def _option(self, index: int) -> Option:
        row = self.rows[index]
        return Option(
            row_prompt(row, index == self.current, self._names), disabled=row.kind == "branch"
        )

    def _rebuild(self) -> None:
        if not self._ready:
            return
        self._list.set_options(self._option(i) for i in range(len(self.rows)))
        self._list.anchor()  # the newest row stays in view until the user scrolls away

    def _append(self, row: TimelineRow, *, make_current: bool = False) -> None:
        self.rows.append(row)
        if not self._ready:
            if make_current:
                self.current = len(self.rows) - 1
            return
        self._list.add_option(self._option(len(self.rows) - 1))
        if make_current:
            self._set_current(len(self.rows) - 1)

    def _set_current(self, index: int) -> None:
        previous, self.current = self.current, index
        if not self._ready:
            return
        option_list = self._list
        for changed in {previous, index}:
            if changed is not None and changed < option_list.option_count:
                prompt = row_prompt(self.rows[changed], changed == index, self._names)
                option_list.replace_option_prompt_at_index(changed, prompt)

    @on(OptionList.OptionSelected, "#timeline-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        row = self.rows[event.option_index]
        if row.kind == "checkpoint":
            self.post_message(self.CheckpointSelected(row.turn, row.branch_id, row.seq))
