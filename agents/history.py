"""Rebuilding a session's working state (transcript, state, costs, routing) from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agents.cost import CostLedger
from agents.events import EVENT_ADAPTER, Event, UsageRecorded
from agents.prompts import Line
from agents.state import SharedState
from agents.store import Store, StoreError
from personas.models import Pack


@dataclass
class SessionSnapshot:
    session_id: str
    branch_id: str
    pack: Pack
    topic: str
    model: str
    state: SharedState
    turn: int = 0
    opened: bool = False
    lines: list[Line] = field(default_factory=list)
    ledger: CostLedger = field(default_factory=CostLedger)
    last_speaker: str | None = None
    last_seq: int = 0
    other_branches_usd: float = 0.0
    resumed: bool = False
    routing: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fresh(cls, session_id: str, branch_id: str, pack: Pack, topic: str,
              model: str) -> SessionSnapshot:
        return cls(session_id=session_id, branch_id=branch_id, pack=pack, topic=topic,
                   model=model, state=SharedState(goal=topic))


def checkpoint_state(stored: dict[str, Any]) -> SharedState:
    """The shared state of a stored checkpoint (without the pattern's routing state)."""
    return SharedState.model_validate({k: v for k, v in stored.items() if k != "_routing"})


async def resolve_branch(store: Store, session_id: str, ref: str) -> str:
    """A branch id from its id, a unique id prefix (4+ characters) or its name."""
    branches = await store.branches(session_id)
    for b in branches:
        if ref in (b.id, b.name) or (len(ref) >= 4 and b.id.startswith(ref)):
            return b.id
    names = ", ".join(b.name for b in branches)
    raise StoreError(f"session {session_id} has no branch {ref!r}; its branches are {names}")


def no_such_session(session_id: str) -> StoreError:
    return StoreError(
        f"there is no session {session_id!r}; `agentchat sessions list` shows them")


def to_event(kind: str, payload: dict[str, Any], session_id: str, branch_id: str) -> Event | None:
    """A stored row back as a typed event (None for rows this version does not know)."""
    data = dict(payload)
    data["kind"] = "message_completed" if kind == "message_streaming" else kind
    data["session_id"] = session_id
    data["branch_id"] = branch_id
    try:
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError:
        return None


async def load_events(store: Store, session_id: str, branch_id: str | None = None) -> list[Event]:
    """Every stored event of a branch's view (its ancestors' up to the fork point included)."""
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    branch = branch_id or row.head_branch
    out: list[Event] = []
    for ev in await store.events(row.id, branch):
        event = to_event(ev.kind, ev.payload, row.id, ev.branch_id)
        if event is not None:
            out.append(event)
    return apply_edits(out)


def apply_edits(events: list[Event]) -> list[Event]:
    """An edited message takes the place of the one it replaces (same message_id)."""
    edits = {e.message_id: e for e in events if e.kind == "message_completed" and e.edited}
    if not edits:
        return events
    out: list[Event] = []
    for event in events:
        if event.kind == "message_completed":
            if event.edited:
                continue
            event = edits.get(event.message_id, event)
        out.append(event)
    return out


async def load_snapshot(
    store: Store, session_id: str, branch_id: str | None = None
) -> SessionSnapshot:
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    branch = branch_id or row.head_branch
    try:
        pack = Pack.model_validate(row.pack_json)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise StoreError(
            f"session {row.id} holds a pack this version cannot read ({reason})") from None
    snap = SessionSnapshot.fresh(row.id, branch, pack, row.topic, row.model)
    snap.resumed = True
    rows = await store.events(row.id, branch)
    events: list[Event] = []
    for ev in rows:
        snap.last_seq = max(snap.last_seq, ev.seq)
        event = to_event(ev.kind, ev.payload, row.id, ev.branch_id)
        if event is not None:
            events.append(event)
    for event in apply_edits(events):
        if event.kind == "message_completed" and event.text:
            snap.lines.append(Line(event.agent, event.name, event.role, event.text, event.to))
        elif event.kind == "usage_recorded":
            assert isinstance(event, UsageRecorded)
            snap.ledger.record(event)
        elif event.kind == "turn_started" and event.speakers:
            snap.last_speaker = event.speakers[-1]
        elif event.kind == "state_patched":
            snap.state = event.state
    checkpoints = await store.checkpoints(row.id, branch)
    if checkpoints:
        last = checkpoints[-1]
        snap.turn = last.turn
        snap.opened = True
        state = dict(last.state)
        routing = state.pop("_routing", None)
        snap.routing = routing if isinstance(routing, dict) else {}
        snap.state = SharedState.model_validate(state)
    snap.other_branches_usd = max(0.0, float(row.cost_usd or 0.0) - snap.ledger.total_usd)
    return snap
