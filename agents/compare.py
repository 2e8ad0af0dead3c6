"""Two branches side by side from their fork point: transcripts by turn, state and cost diffs."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.cost import CostLedger
from agents.events import MessageCompleted, UsageRecorded
from agents.history import (
    apply_edits,
    checkpoint_state,
    no_such_session,
    resolve_branch,
    to_event,
)
from agents.state import SharedState
from agents.store import EventRow, Store


@dataclass(frozen=True)
class ListDiff:
    added: list[str] = field(default_factory=list)  # in the right branch only
    removed: list[str] = field(default_factory=list)  # in the left branch only
    changed: list[str] = field(default_factory=list)  # in both, different

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class StateDiff:
    decisions: ListDiff
    open_questions: ListDiff
    action_items: ListDiff
    artifacts: ListDiff
    goal_changed: bool

    @property
    def empty(self) -> bool:
        parts = (self.decisions, self.open_questions, self.action_items, self.artifacts)
        return not self.goal_changed and all(p.empty for p in parts)


@dataclass(frozen=True)
class TurnPair:
    turn: int
    left: list[MessageCompleted]
    right: list[MessageCompleted]


@dataclass(frozen=True)
class BranchComparison:
    session_id: str
    left_branch: str
    right_branch: str
    fork_seq: int
    fork_turn: int
    turns: list[TurnPair]
    left_state: SharedState
    right_state: SharedState
    state: StateDiff
    left_cost: CostLedger  # spent after the fork point
    right_cost: CostLedger

    @property
    def cost_delta_usd(self) -> float:
        return self.right_cost.total_usd - self.left_cost.total_usd


def _diff_lists(left: list[str], right: list[str]) -> ListDiff:
    return ListDiff(added=[x for x in right if x not in left],
                    removed=[x for x in left if x not in right])


def diff_states(left: SharedState, right: SharedState) -> StateDiff:
    lactions = {a.text: a for a in left.action_items}
    ractions = {a.text: a for a in right.action_items}
    actions = ListDiff(
        added=[t for t in ractions if t not in lactions],
        removed=[t for t in lactions if t not in ractions],
        changed=[t for t in ractions if t in lactions and ractions[t] != lactions[t]],
    )
    artifacts = ListDiff(
        added=[n for n in right.artifacts if n not in left.artifacts],
        removed=[n for n in left.artifacts if n not in right.artifacts],
        changed=[n for n in right.artifacts
                 if n in left.artifacts and right.artifacts[n] != left.artifacts[n]],
    )
    return StateDiff(
        decisions=_diff_lists(left.decisions, right.decisions),
        open_questions=_diff_lists(left.open_questions, right.open_questions),
        action_items=actions,
        artifacts=artifacts,
        goal_changed=left.goal != right.goal,
    )


async def compare_branches(store: Store, session_id: str, left: str,
                           right: str) -> BranchComparison:
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    left_id = await resolve_branch(store, row.id, left)
    right_id = await resolve_branch(store, row.id, right)
    left_rows = await store.events(row.id, left_id)
    right_rows = await store.events(row.id, right_id)
    shared = {r.seq for r in left_rows} & {r.seq for r in right_rows}
    fork_seq = max(shared) if shared else 0
    left_cps = await store.checkpoints(row.id, left_id)
    fork_turn = max((c.turn for c in left_cps if c.seq <= fork_seq), default=0)

    def after_fork(rows: list[EventRow]) -> tuple[list[MessageCompleted], CostLedger]:
        events = [e for r in rows if r.seq > fork_seq
                  and (e := to_event(r.kind, r.payload, row.id, r.branch_id)) is not None]
        ledger = CostLedger()
        messages: list[MessageCompleted] = []
        for event in apply_edits(events):
            if isinstance(event, MessageCompleted):
                messages.append(event)
            elif isinstance(event, UsageRecorded):
                ledger.record(event)
        return messages, ledger

    left_msgs, left_cost = after_fork(left_rows)
    right_msgs, right_cost = after_fork(right_rows)
    turn_numbers = sorted({m.turn for m in left_msgs} | {m.turn for m in right_msgs})
    turns = [TurnPair(t, [m for m in left_msgs if m.turn == t],
                      [m for m in right_msgs if m.turn == t]) for t in turn_numbers]
    right_cps = await store.checkpoints(row.id, right_id)
    left_state = checkpoint_state(left_cps[-1].state) if left_cps else SharedState()
    right_state = checkpoint_state(right_cps[-1].state) if right_cps else SharedState()
    return BranchComparison(
        session_id=row.id, left_branch=left_id, right_branch=right_id, fork_seq=fork_seq,
        fork_turn=fork_turn, turns=turns, left_state=left_state, right_state=right_state,
        state=diff_states(left_state, right_state), left_cost=left_cost, right_cost=right_cost)
