"""The Timeline pane: the session's branch tree, then one row per checkpoint of the current
branch, branch markers, the current checkpoint marked ▶.

Selecting a checkpoint row posts :class:`TimelinePane.CheckpointSelected` (the main screen opens
its fork preview, the replay jumps to it); selecting a branch, or ``b`` for the next one, posts
:class:`TimelinePane.BranchSelected`. ``c`` asks the screen to compare branches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agents.events import BranchForked, CheckpointCreated, Event, UsageRecorded
from personas.models import Pack
from tui.branch_tree import BranchInfo, cost_text
from tui.widgets.line_option_list import LazyOption, LineOptionList

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


def branch_prompt(info: BranchInfo, current: bool) -> Text:
    """``▶ └ b2-t3 ⑂3 · 5 turns · $0.0040``: indented under its parent, current marked."""
    text = Text(f"{CURRENT if current else ' '} ", style="bold green" if current else "")
    if info.depth:
        text.append("  " * (info.depth - 1) + "└ ", style="dim")
    text.append(info.name, style="bold magenta" if current else "magenta")
    if info.fork_turn is not None:
        text.append(f" ⑂{info.fork_turn}", style="dim")
    text.append(f" · {info.turns} turn{'s' if info.turns != 1 else ''}", style="dim")
    spent = cost_text(info.ledger)
    if spent != "—":
        text.append(f" · {'+' if info.fork_turn is not None else ''}{spent}", style="dim")
    return text


class TimelinePane(Vertical):
    """The branch tree, then checkpoints newest at the bottom, auto-scrolled; select a
    checkpoint to preview it (and roll back), a branch to switch to it."""

    _ready = False

    DEFAULT_CSS = """
    TimelinePane { height: auto; width: 1fr; }
    TimelinePane > OptionList {
        height: auto; max-height: 14; text-wrap: nowrap; text-overflow: ellipsis;
    }
    TimelinePane > #timeline-branches { max-height: 8; }
    TimelinePane > .timeline-heading { height: 1; color: $text-muted; text-style: bold; }
    TimelinePane > #timeline-checkpoints-heading { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "screen.next_branch", "Next branch", id="timeline.next-branch"),
        Binding("c", "screen.compare", "Compare branches", id="timeline.compare"),
    ]

    class BranchSelected(Message):
        """The user picked branch ``branch_id`` (to switch to it)."""

        def __init__(self, branch_id: str) -> None:
            super().__init__()
            self.branch_id = branch_id

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
        self.branches: list[BranchInfo] = []
        self.current_branch: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Branches", id="timeline-branches-heading", classes="timeline-heading")
        yield OptionList(id="timeline-branches", compact=True)
        yield Static("Checkpoints", id="timeline-checkpoints-heading",
                     classes="timeline-heading")
        yield LineOptionList(id="timeline-list", compact=True, classes="focus-first")

    def on_mount(self) -> None:
        self._ready = True  # children exist now; is_mounted is only set after on_mount
        self._rebuild()
        self._show_branches()

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
            self._live_branch(event.branch_id, turn=event.turn)
        elif isinstance(event, UsageRecorded):
            self._live_branch(event.branch_id, usage=event)
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

    def set_branches(self, branches: list[BranchInfo], current: str | None) -> None:
        """Show the session's branch tree (in tree order) with ``current`` marked."""
        self.branches = list(branches)
        self.current_branch = current
        self._show_branches()

    def _live_branch(self, branch_id: str, *, turn: int | None = None,
                     usage: UsageRecorded | None = None) -> None:
        """Keep the current branch's row up to date while it runs."""
        index = next((i for i, b in enumerate(self.branches) if b.id == branch_id), None)
        if index is None or branch_id != self.current_branch:
            return
        info = self.branches[index]
        if usage is not None:
            info.ledger.record(usage)
        if turn is not None and turn > info.turns:
            info = self.branches[index] = replace(info, turns=turn)
        if self._ready:
            self.query_one("#timeline-branches", OptionList).replace_option_prompt_at_index(
                index, branch_prompt(info, True))

    def next_branch(self) -> BranchInfo | None:
        """The branch after the current one in the tree (wrapping), None with a single one."""
        if len(self.branches) < 2:
            return None
        ids = [b.id for b in self.branches]
        index = ids.index(self.current_branch) if self.current_branch in ids else -1
        return self.branches[(index + 1) % len(self.branches)]

    def mark_turn(self, turn: int | None) -> None:
        """Mark the last checkpoint at or before ``turn`` as current (none for None)."""
        target: int | None = None
        if turn is not None:
            for index, row in enumerate(self.rows):
                if row.kind == "checkpoint" and row.turn <= turn:
                    target = index
        if target is None:
            previous, self.current = self.current, None
            if previous is not None and self._ready and previous < self._list.option_count:
                self._list.replace_option_prompt_at_index(
                    previous, row_prompt(self.rows[previous], False, self._names))
            return
        if target != self.current:
            self._set_current(target)

    def prepend(self, events: list[Event]) -> None:
        """Put the checkpoints and branch forks of ``events`` (the view before the rows shown,
        loaded after the first frame) before the rows; the current row stays current."""
        older: list[TimelineRow] = []
        for event in events:
            if isinstance(event, CheckpointCreated):
                older.append(TimelineRow("checkpoint", event.turn, event.speaker, event.summary,
                                         event.branch_id, event.seq))
            elif isinstance(event, BranchForked):
                older.append(TimelineRow("branch", event.turn, branch_id=event.branch_id,
                                         name=event.name))
        if not older:
            return
        self.rows[0:0] = older
        if self.current is not None:
            self.current += len(older)
        if not self._ready:
            return
        highlighted = self._list.highlighted
        self._rebuild()
        if highlighted is not None:
            self._list.highlighted = highlighted + len(older)

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
        current, names = index == self.current, self._names
        return LazyOption(lambda: row_prompt(row, current, names), disabled=row.kind == "branch")

    def _show_branches(self) -> None:
        if not self._ready:
            return
        shown = bool(self.branches)
        branch_list = self.query_one("#timeline-branches", OptionList)
        for widget in (branch_list, self.query_one("#timeline-branches-heading"),
                       self.query_one("#timeline-checkpoints-heading")):
            widget.display = shown
        branch_list.set_options(
            Option(branch_prompt(b, b.id == self.current_branch), id=b.id) for b in self.branches)
        ids = [b.id for b in self.branches]
        if self.current_branch in ids:
            branch_list.highlighted = ids.index(self.current_branch)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Focusing a list starts on its current row (▶), not on the first one."""
        if event.widget is self._list and self.current is not None:
            self._list.highlighted = self.current
        elif event.widget.id == "timeline-branches" and self.current_branch is not None:
            ids = [b.id for b in self.branches]
            if self.current_branch in ids:
                self.query_one("#timeline-branches", OptionList).highlighted = ids.index(
                    self.current_branch)

    @on(OptionList.OptionSelected, "#timeline-branches")
    def _branch_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.post_message(self.BranchSelected(event.option_id))

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
