"""Two branches side by side from their fork point: the transcripts aligned by turn, the
difference in shared state (decisions, open questions, action items, artifacts) and in cost.

Pick the branches at the top (default: the current one on the right, its parent on the left);
``s`` swaps the sides, Escape goes back. Nothing here calls a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Select, Static

from agents.compare import BranchComparison, ListDiff, StateDiff, compare_branches
from agents.cost import CostLedger
from agents.events import MessageCompleted
from agents.history import to_event
from agents.store import Store, StoreError
from personas.models import Pack
from tui.branch_tree import BranchInfo
from tui.widgets.message_view import persona_style

__all__ = ["CompareRow", "CompareScreen", "default_pair", "render_cost", "render_state_diff"]

MESSAGE_CHARS = 320
EDITED = "✎"


@dataclass(frozen=True)
class CompareRow:
    """One line of the side-by-side view: a turn (or an edited message) on both sides."""

    label: str
    left: list[MessageCompleted]
    right: list[MessageCompleted]


def default_pair(branches: list[BranchInfo], current: str | None) -> tuple[str, str]:
    """(left, right): the current branch's parent and the current branch; for the root, the
    root and its newest descendant."""
    ids = [b.id for b in branches]
    chosen = next((b for b in branches if b.id == current), branches[-1])
    if chosen.parent_id in ids:
        return chosen.parent_id or "", chosen.id
    others = [b for b in branches if b.id != chosen.id]
    children = [b for b in others if b.parent_id == chosen.id] or others
    return chosen.id, children[-1].id


def _message_text(message: MessageCompleted, style: Style) -> Text:
    """``✎ Name: text`` on one line (✎ for an edited message), cut to MESSAGE_CHARS."""
    text = Text()
    if message.edited:
        text.append(f"{EDITED} ", style="bold yellow")
    text.append(message.name or message.agent, style=style)
    body = " ".join(message.text.split())
    if len(body) > MESSAGE_CHARS:
        body = body[: MESSAGE_CHARS - 1].rstrip() + "…"
    text.append(": " + (body or "(no text)"))
    if message.interrupted:
        text.append(" · interrupted", style="yellow")
    return text


def _diff_lines(out: Text, title: str, diff: ListDiff) -> None:
    if diff.empty:
        return
    out.append(f"{title}\n", style="bold underline")
    for mark, items, style in (("+", diff.added, "green"), ("−", diff.removed, "red"),
                               ("~", diff.changed, "yellow")):
        for item in items:
            out.append(f" {mark} ", style=f"bold {style}").append(f"{item}\n", style=style)


def render_state_diff(diff: StateDiff, left: str, right: str) -> Text:
    """What ``right`` has that ``left`` has not (+), the reverse (−) and what differs (~)."""
    out = Text()
    out.append(f"+ only in {right} · − only in {left} · ~ changed\n", style="dim")
    if diff.empty:
        out.append("Both branches end with the same shared state.", style="italic")
        return out
    if diff.goal_changed:
        out.append("The goal differs.\n", style="bold yellow")
    _diff_lines(out, "Decisions", diff.decisions)
    _diff_lines(out, "Open questions", diff.open_questions)
    _diff_lines(out, "Action items", diff.action_items)
    _diff_lines(out, "Artifacts", diff.artifacts)
    out.rstrip()
    return out


def _usd(ledger: CostLedger) -> str:
    if ledger.total_usd > 0:
        return f"${ledger.total_usd:.4f}" + ("+" if ledger.unpriced else "")
    return "unpriced" if ledger.total_tokens else "—"


def render_cost(comparison: BranchComparison, left: str, right: str) -> Text:
    """Each side's spending after the fork point, and the difference."""
    out = Text()
    width = max(len(left), len(right), len("difference"))
    for name, ledger in ((left, comparison.left_cost), (right, comparison.right_cost)):
        out.append(f"{name:<{width}} ", style="bold")
        out.append(f"{_usd(ledger):>9}")
        out.append(f"  {ledger.total_tokens:,} tok\n", style="dim")
    out.append(f"{'difference':<{width}} ", style="bold")
    lcost, rcost = comparison.left_cost, comparison.right_cost
    tokens = rcost.total_tokens - lcost.total_tokens
    if lcost.total_usd or rcost.total_usd:
        delta = comparison.cost_delta_usd
        out.append(f"{'+' if delta >= 0 else '−'}${abs(delta):.4f}".rjust(9),
                   style="red" if delta > 0 else "green")
    else:
        out.append("unpriced".rjust(9), style="dim italic")
    out.append(f"  {tokens:+,} tok", style="dim")
    return out


async def _edited_rows(store: Store, comparison: BranchComparison) -> list[CompareRow]:
    """Messages from before the fork that a branch replaced after it (edit and re-run): the
    engine's comparison leaves them out; here they show original against edited text."""
    sid, fork = comparison.session_id, comparison.fork_seq
    sides: list[dict[str, MessageCompleted]] = []
    originals: dict[str, MessageCompleted] = {}
    for branch in (comparison.left_branch, comparison.right_branch):
        edits: dict[str, MessageCompleted] = {}
        for row in await store.events(sid, branch):
            if row.kind != "message_completed":
                continue
            event = to_event(row.kind, row.payload, sid, row.branch_id)
            if not isinstance(event, MessageCompleted):
                continue
            if row.seq <= fork and not event.edited:
                originals[event.message_id] = event
            elif row.seq > fork and event.edited:
                edits[event.message_id] = event
        sides.append(edits)
    rows: list[CompareRow] = []
    for message_id in dict.fromkeys([*sides[0], *sides[1]]):
        original = originals.get(message_id)
        left = sides[0].get(message_id) or original
        right = sides[1].get(message_id) or original
        if left is None or right is None:
            continue
        rows.append(CompareRow(f"t{left.turn} {EDITED}", [left], [right]))
    return rows


class CompareScreen(Screen[None]):
    """Compare two of ``branches`` (in tree order) of session ``session_id``."""

    CSS_PATH = "compare.tcss"
    TITLE = "agentchat"
    SUB_TITLE = "Compare branches"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="compare.close"),
        Binding("s", "swap", "Swap sides", id="compare.swap"),
    ]

    def __init__(self, store: Store, session_id: str, pack: Pack, branches: list[BranchInfo],
                 *, current: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.pack = pack
        self.branches = branches
        self.names = {b.id: b.name for b in branches}
        self.left, self.right = default_pair(branches, current)
        self.comparison: BranchComparison | None = None
        self.rows: list[CompareRow] = []
        self._styles = {p.id: persona_style(p.colour) for p in pack.personas}

    def compose(self) -> ComposeResult:
        yield Header()
        options = [(b.label, b.id) for b in self.branches]
        with Horizontal(id="compare-pickers"):
            yield Select(options, value=self.left, allow_blank=False, id="compare-left",
                         compact=True)
            yield Static("vs", id="compare-vs")
            yield Select(options, value=self.right, allow_blank=False, id="compare-right",
                         compact=True)
        yield Static("", id="compare-summary", markup=False)
        yield VerticalScroll(id="compare-turns")
        with Horizontal(id="compare-bottom"):
            with VerticalScroll(id="compare-state-box") as state:
                state.border_title = "Shared state at the end"
                yield Static("", id="compare-state", markup=False)
            with Vertical(id="compare-cost-box") as cost:
                cost.border_title = "Cost after the fork point"
                yield Static("", id="compare-cost", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._compare(), name="compare", group="compare", exclusive=True,
                        exit_on_error=False)

    async def _compare(self) -> None:
        summary = self.query_one("#compare-summary", Static)
        if self.left == self.right:
            summary.update("Pick two different branches.")
            await self.query_one("#compare-turns").remove_children()
            return
        try:
            comparison = await compare_branches(self.store, self.session_id, self.left,
                                                self.right)
            edited = await _edited_rows(self.store, comparison)
        except StoreError as exc:
            summary.update(f"Cannot compare: {exc}")
            return
        self.comparison = comparison
        self.rows = edited + [CompareRow(f"t{p.turn}", p.left, p.right)
                              for p in comparison.turns]
        await self._show(comparison)

    async def _show(self, comparison: BranchComparison) -> None:
        left, right = self.names.get(self.left, "left"), self.names.get(self.right, "right")
        self.query_one("#compare-summary", Static).update(Text.assemble(
            ("Shared up to turn ", "dim"), (str(comparison.fork_turn), "bold"),
            (" · then ", "dim"), (left, "bold"), (f" ({self._turns(self.left)} turns) vs ", "dim"),
            (right, "bold"), (f" ({self._turns(self.right)} turns)", "dim")))
        turns = self.query_one("#compare-turns", VerticalScroll)
        await turns.remove_children()
        widgets: list[Widget] = [self._row("", Text(left, style="bold"), Text(right, style="bold"),
                             "compare-head")]
        for row in self.rows:
            widgets.append(self._row(row.label, self._side(row.left),
                                     self._side(row.right)))
        if not self.rows:
            widgets.append(Static("Neither branch has said anything since the fork point.",
                                  classes="compare-empty"))
        await turns.mount_all(widgets)
        self.query_one("#compare-state", Static).update(
            render_state_diff(comparison.state, left, right))
        self.query_one("#compare-cost", Static).update(render_cost(comparison, left, right))

    def _turns(self, branch_id: str) -> int:
        return next((b.turns for b in self.branches if b.id == branch_id), 0)

    def _side(self, messages: list[MessageCompleted]) -> Text:
        if not messages:
            return Text("—", style="dim")
        out = Text()
        for index, message in enumerate(messages):
            if index:
                out.append("\n")
            style = self._styles.get(message.agent, Style(bold=True))
            out.append_text(_message_text(message, style))
        return out

    @staticmethod
    def _row(label: str, left: Text, right: Text, classes: str = "compare-row") -> Horizontal:
        return Horizontal(Static(label, classes="compare-turn"),
                          Static(left, classes="compare-left"),
                          Static(right, classes="compare-right"), classes=classes)

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        value = event.value
        if not isinstance(value, str):
            return
        if event.select.id == "compare-left" and value != self.left:
            self.left = value
        elif event.select.id == "compare-right" and value != self.right:
            self.right = value
        else:
            return
        self.reload()

    def action_swap(self) -> None:
        self.left, self.right = self.right, self.left
        with self.prevent(Select.Changed):
            self.query_one("#compare-left", Select).value = self.left
            self.query_one("#compare-right", Select).value = self.right
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
