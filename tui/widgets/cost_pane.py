"""The Cost pane: per-persona usage, orchestration overhead, total against budget, cost per turn.

A call with no known price is shown as "unpriced", never as $0. Totals come from the engine's
``agents.cost.CostLedger``; the pane keeps its own copy, fed by ``UsageRecorded`` events.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from agents.cost import AgentCost, CostLedger
from agents.events import Event, UsageRecorded
from personas.models import Pack

OVERHEAD_LABEL = "overhead"
"""The table row of orchestration overhead: moderator calls that pick the next speaker."""
SPARK_TURNS = 120
"""How many of the latest turns the sparkline shows."""


def _calls(ledger: CostLedger) -> tuple[int, int]:
    """(all calls, unpriced calls) in the ledger, overhead included."""
    parts = [ledger.overhead, *ledger.agents.values()]
    return sum(p.calls for p in parts), sum(p.unpriced_calls for p in parts)


def _all_unpriced(ledger: CostLedger) -> bool:
    calls, unpriced = _calls(ledger)
    return bool(calls) and unpriced == calls


# ---------------------------------------------------------------------------- formatting (pure)


def fmt_count(n: float) -> str:
    """A short count for a narrow column: 950, 1.2k, 12k, 3.4M."""
    if n < 1000:
        return f"{n:.0f}"
    for limit, suffix in ((1e6, "k"), (1e9, "M")):
        if n < limit:
            scaled = n / (limit / 1000)
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    return f"{n / 1e9:.0f}G"


def fmt_usd(usd: float) -> str:
    """Dollars with enough precision that small per-call costs are not rounded to zero."""
    if usd >= 100:
        return f"${usd:.0f}"
    if usd >= 1:
        return f"${usd:.2f}"
    if usd >= 0.01 or usd == 0:
        return f"${usd:.3f}"
    return f"${usd:.4f}" if usd >= 0.0001 else f"${usd:.1e}"


def usd_cell(cost: AgentCost) -> str:
    """"unpriced" when no call had a price, "$x+" when some did not, else "$x"."""
    if cost.calls == 0:
        return "—"
    if cost.unpriced_calls == cost.calls:
        return "unpriced"
    return fmt_usd(cost.cost_usd) + ("+" if cost.unpriced_calls else "")


def budget_bar(spent: float, budget: float | None, width: int) -> Text:
    """``█████░░░░░ 42%`` of the budget spent; red past 90%. A dim note without a budget."""
    if budget is None or budget <= 0:
        return Text("no session budget", style="dim")
    fraction = spent / budget
    cells = max(width - 5, 4)
    filled = min(round(fraction * cells), cells)
    colour = "red" if fraction >= 0.9 else "yellow" if fraction >= 0.6 else "green"
    bar = Text()
    bar.append("█" * filled, style=colour)
    bar.append("░" * (cells - filled), style="dim")
    bar.append(f" {fraction * 100:3.0f}%")
    return bar


def _style(colour: str) -> Style:
    try:
        return Style.parse(colour)
    except StyleSyntaxError:
        return Style()


@dataclass(frozen=True)
class CostRow:
    """One row of the per-persona table, as shown."""

    agent: str
    name: str
    calls: str
    tokens_in: str
    tokens_out: str
    avg_ms: str
    usd: str


def _row(agent: str, name: str, cost: AgentCost) -> CostRow:
    return CostRow(
        agent=agent,
        name=name,
        calls=str(cost.calls),
        tokens_in=fmt_count(cost.prompt_tokens),
        tokens_out=fmt_count(cost.completion_tokens),
        avg_ms=fmt_count(cost.avg_latency_ms) if cost.calls else "—",
        usd=usd_cell(cost),
    )


# ---------------------------------------------------------------------------- the widget


class CostPane(Vertical):
    """Per-persona cost table, overhead line, budget bar and a cost-per-turn sparkline."""

    _ready = False

    DEFAULT_CSS = """
    CostPane { height: auto; width: 1fr; }
    CostPane > Static { height: auto; }
    CostPane > #cost-spark { height: 1; }
    """

    def __init__(
        self,
        pack: Pack,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.pack = pack
        self.budget_usd: float | None = pack.budget.session_usd
        self._ledger = CostLedger()
        self._tokens_per_turn: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="cost-table")
        yield Static(id="cost-total")
        yield Static(id="cost-spark-label")
        yield Sparkline([], id="cost-spark")

    def on_mount(self) -> None:
        self._ready = True  # children exist now; is_mounted is only set after on_mount
        self._refresh_all()

    def on_resize(self) -> None:
        self._refresh_total()

    # -- public API

    def handle(self, event: Event) -> None:
        if isinstance(event, UsageRecorded):
            self._record(event)
            self._refresh_all()

    def load(self, events: Iterable[Event]) -> None:
        """Start again from ``events`` (their usage), drawing once: a replay stepping back."""
        self._ledger = CostLedger()
        self._tokens_per_turn = {}
        for event in events:
            if isinstance(event, UsageRecorded):
                self._record(event)
        self._refresh_all()

    def _record(self, event: UsageRecorded) -> None:
        self._ledger.record(event)
        self._count_tokens(event)

    def _count_tokens(self, event: UsageRecorded) -> None:
        tokens = event.prompt_tokens + event.completion_tokens
        self._tokens_per_turn[event.turn] = self._tokens_per_turn.get(event.turn, 0) + tokens

    def reset(self) -> None:
        self._ledger = CostLedger()
        self._tokens_per_turn = {}
        self._refresh_all()

    def set_ledger(self, ledger: CostLedger, events: Iterable[Event] = ()) -> None:
        """Show a copy of ``ledger`` (a reopened session's); later events add to the copy.
        ``events`` (the newest stored ones, already counted in ``ledger``) give the tokens per
        turn that the sparkline shows while no call has a price."""
        self._ledger = copy.deepcopy(ledger)
        self._tokens_per_turn = {}
        for event in events:
            if isinstance(event, UsageRecorded):
                self._count_tokens(event)
        self._refresh_all()

    def set_budget(self, usd: float | None) -> None:
        """Show spending against ``usd`` (``None``: no session budget)."""
        self.budget_usd = usd
        self._refresh_total()

    @property
    def total_usd(self) -> float:
        """USD of the priced calls (unpriced calls are counted separately, never as $0)."""
        return self._ledger.total_usd

    @property
    def budget_fraction(self) -> float | None:
        """Share of the session budget spent, or ``None`` without a budget."""
        if not self.budget_usd:
            return None
        return self._ledger.total_usd / self.budget_usd

    def rows(self) -> list[CostRow]:
        """The per-persona rows: pack order, then agents the pack does not name."""
        agents = self._ledger.agents
        order = [p.id for p in self.pack.personas if p.role != "moderator" or p.id in agents]
        order += [a for a in agents if a not in order]
        rows = []
        for agent in order:
            persona = self.pack.persona(agent)
            name = persona.name if persona else agent
            rows.append(_row(agent, name, agents.get(agent, AgentCost())))
        return rows

    def overhead_row(self) -> CostRow:
        """Orchestration overhead (the moderator's routing calls), apart from the personas."""
        return _row("", OVERHEAD_LABEL, self._ledger.overhead)

    def spark_data(self) -> list[float]:
        """Cost per turn (tokens per turn while no call has a price), oldest first."""
        ledger = self._ledger
        series: dict[int, float]
        if _all_unpriced(ledger):
            series = {t: float(n) for t, n in self._tokens_per_turn.items()}
        else:
            series = ledger.per_turn
        if not series:
            return []
        last = max(series)
        first = max(min(series), last - SPARK_TURNS + 1)
        return [series.get(turn, 0.0) for turn in range(first, last + 1)]

    # -- rendering

    def _table(self) -> Table:
        table = Table(box=None, pad_edge=False, collapse_padding=True, show_edge=False)
        table.add_column("persona", header_style="bold")
        for title in ("n", "in", "out", "ms", "USD"):
            table.add_column(title, justify="right", no_wrap=True, header_style="bold")
        for row in [*self.rows(), self.overhead_row()]:
            persona = self.pack.persona(row.agent)
            style = _style(persona.colour) if persona else Style(italic=True)
            name = Text(row.name, style=style, no_wrap=True, overflow="ellipsis")
            usd = Text(row.usd, style="dim italic" if row.usd == "unpriced" else "")
            table.add_row(name, row.calls, row.tokens_in, row.tokens_out, row.avg_ms, usd)
        return table

    def _refresh_all(self) -> None:
        if not self._ready:
            return
        self.query_one("#cost-table", Static).update(self._table())
        self._refresh_total()
        ledger = self._ledger
        tokens_only = _all_unpriced(ledger)
        label = "tokens per turn (unpriced)" if tokens_only else "USD per turn"
        self.query_one("#cost-spark-label", Static).update(Text(label, style="dim"))
        self.query_one("#cost-spark", Sparkline).data = self.spark_data()

    def _refresh_total(self) -> None:
        if not self._ready:
            return
        ledger = self._ledger
        _, unpriced_calls = _calls(ledger)
        if _all_unpriced(ledger):
            spent = "unpriced"
        else:
            spent = fmt_usd(ledger.total_usd) + ("+" if unpriced_calls else "")
        line = Text("total ", style="bold")
        line.append(spent)
        if self.budget_usd:
            line.append(f" of {fmt_usd(self.budget_usd)} budget")
        if unpriced_calls and spent != "unpriced":
            line.append("\n+ some calls unpriced", style="dim")
        width = self.content_region.width or 30
        line.append("\n").append_text(budget_bar(ledger.total_usd, self.budget_usd, width))
        self.query_one("#cost-total", Static).update(line)
