"""A session's branches as a tree, for the Timeline pane, the Compare and Replay screens.

Read from the store in two queries (every event, every checkpoint); no widgets here. Each branch
carries its fork point (the turn it was forked at), how many turns its view reaches and what was
spent on the branch itself (its own calls, not those inherited from its parent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.cost import CostLedger
from agents.events import BranchForked, UsageRecorded
from agents.history import to_event
from agents.store import BranchRow, CheckpointRow, Store

__all__ = ["BranchInfo", "cost_text", "load_branch_tree", "tree_order"]


@dataclass(frozen=True)
class BranchInfo:
    """One branch of a session, as the tree shows it."""

    id: str
    name: str
    parent_id: str | None
    fork_seq: int | None
    fork_turn: int | None
    """The turn whose checkpoint the branch starts from (None for the root)."""
    turns: int
    """The last checkpointed turn of the branch's view."""
    depth: int
    ledger: CostLedger = field(default_factory=CostLedger)
    """Calls made on this branch itself (after its fork point)."""

    @property
    def label(self) -> str:
        """``name`` or ``name (from turn N)``, for pickers."""
        return self.name if self.fork_turn is None else f"{self.name} (from turn {self.fork_turn})"


def _count(n: int) -> str:
    if n < 1000:
        return str(n)
    return f"{n / 1000:.1f}k" if n < 10_000 else f"{n // 1000}k"


def cost_text(ledger: CostLedger) -> str:
    """``$0.0123``; ``12.3k tok`` when no call had a price; ``—`` when nothing was spent."""
    if ledger.total_usd > 0:
        usd = ledger.total_usd
        text = f"${usd:.4f}" if usd < 1 else f"${usd:.2f}"
        return text + ("+" if ledger.unpriced else "")
    if ledger.total_tokens:
        return f"{_count(ledger.total_tokens)} tok"
    return "—"


def tree_order(rows: list[BranchRow]) -> list[tuple[BranchRow, int]]:
    """Depth-first from the roots (oldest first), each with its depth."""
    known = {row.id for row in rows}
    children: dict[str | None, list[BranchRow]] = {}
    for row in rows:
        parent = row.parent_branch if row.parent_branch in known else None
        children.setdefault(parent, []).append(row)
    out: list[tuple[BranchRow, int]] = []

    def visit(parent: str | None, depth: int) -> None:
        for row in children.get(parent, []):
            out.append((row, depth))
            visit(row.id, depth + 1)

    visit(None, 0)
    return out


def _view_turn(branch: str, upto: int | None, rows: dict[str, BranchRow],
               checkpoints: dict[str, list[CheckpointRow]]) -> int | None:
    """The highest checkpointed turn of ``branch``'s view, counting seqs up to ``upto``."""
    best: int | None = None
    seen: set[str] = set()
    current: str | None = branch
    bound = upto
    while current is not None and current not in seen:
        seen.add(current)
        for cp in checkpoints.get(current, []):
            if bound is None or cp.seq <= bound:
                best = cp.turn if best is None else max(best, cp.turn)
        row = rows.get(current)
        if row is None:
            break
        if row.fork_seq is not None:
            bound = row.fork_seq if bound is None else min(bound, row.fork_seq)
        current = row.parent_branch
    return best


async def load_branch_tree(store: Store, session_id: str) -> list[BranchInfo]:
    """Every branch of the session in tree order (a child right under its parent)."""
    branch_rows = await store.branches(session_id)
    events = await store.all_events(session_id)
    checkpoints: dict[str, list[CheckpointRow]] = {}
    for cp in await store.all_checkpoints(session_id):
        checkpoints.setdefault(cp.branch_id, []).append(cp)
    by_id = {row.id: row for row in branch_rows}
    ledgers: dict[str, CostLedger] = {row.id: CostLedger() for row in branch_rows}
    fork_turns: dict[str, int] = {}
    for ev in events:
        if ev.kind not in ("usage_recorded", "branch_forked"):
            continue
        event = to_event(ev.kind, ev.payload, session_id, ev.branch_id)
        if isinstance(event, UsageRecorded) and ev.branch_id in ledgers:
            ledgers[ev.branch_id].record(event)
        elif isinstance(event, BranchForked):
            fork_turns.setdefault(ev.branch_id, event.turn)
    out: list[BranchInfo] = []
    for row, depth in tree_order(branch_rows):
        fork_turn: int | None = None
        if row.parent_branch is not None:
            fork_turn = fork_turns.get(row.id)
            if fork_turn is None:
                fork_turn = _view_turn(row.parent_branch, row.fork_seq, by_id, checkpoints) or 0
        turns = _view_turn(row.id, None, by_id, checkpoints)
        out.append(BranchInfo(
            id=row.id, name=row.name, parent_id=row.parent_branch, fork_seq=row.fork_seq,
            fork_turn=fork_turn, turns=turns if turns is not None else (fork_turn or 0),
            depth=depth, ledger=ledgers[row.id]))
    return out
