"""What a replay plays: a saved branch's events read from the store, where each step lands,
and which turn is complete at a given point. No widgets and no model calls here."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from agents.events import Event
from agents.history import no_such_session, resolve_branch
from agents.replay import Replay, turn_of
from agents.store import CheckpointRow, Store, StoreError
from personas.models import Pack
from tui.branch_tree import BranchInfo, load_branch_tree

__all__ = ["TRAILING", "ReplayData", "completed_turn", "load_replay", "message_stops"]

TRAILING = frozenset({"usage_recorded", "state_patched", "patch_rejected"})
"""What a message brings along (its cost, its state patch): played with it, not a step later."""


@dataclass
class ReplayData:
    """A branch of a saved session, ready to play."""

    store: Store
    session_id: str
    branch_id: str
    branch_name: str
    topic: str
    model: str
    pack: Pack
    replay: Replay
    checkpoints: list[CheckpointRow] = field(default_factory=list)
    branches: list[BranchInfo] = field(default_factory=list)


async def load_replay(store: Store, session_id: str, branch: str | None = None) -> ReplayData:
    """Everything a replay needs, read from the store; StoreError with the fix otherwise."""
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    branch_id = await resolve_branch(store, row.id, branch) if branch else row.head_branch
    try:
        pack = Pack.model_validate(row.pack_json)
    except ValidationError as exc:
        raise StoreError(f"session {row.id} holds a pack this version cannot read "
                         f"({exc.errors()[0]['msg']})") from None
    branches = await load_branch_tree(store, row.id)
    return ReplayData(
        store=store, session_id=row.id, branch_id=branch_id,
        branch_name=next((b.name for b in branches if b.id == branch_id), "main"),
        topic=row.topic, model=row.model, pack=pack,
        replay=await Replay.load(store, row.id, branch_id),
        checkpoints=await store.checkpoints(row.id, branch_id), branches=branches)


def message_stops(events: list[Event]) -> list[int]:
    """The positions a step lands on: 0, then just after each message and what it brought
    along (its usage and state patch); the end is always the last stop."""
    stops = [0]
    position, total = 0, len(events)
    while position < total:
        while position < total:
            position += 1
            if events[position - 1].kind == "message_completed":
                break
        turn = turn_of(events[position - 1])
        while (position < total and events[position].kind in TRAILING
               and turn_of(events[position]) in (None, turn)):
            position += 1
        stops.append(position)
    return stops


def completed_turn(replay: Replay) -> int | None:
    """The last turn whose events have all been played (None before the opening is done)."""
    if replay.position == 0:
        return None
    turn = replay.current_turn
    upcoming = next((t for e in replay.events[replay.position:]
                     if (t := turn_of(e)) is not None), None)
    if upcoming is None or upcoming > turn:
        return turn
    return turn - 1 if turn > 0 else None
