"""Rebuilding a session's working state (transcript, state, costs, routing) from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agents.cost import AgentCost, CostLedger
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
    lines: list[Line] = field(default_factory=lambda: Transcript())
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


#: How much transcript a loaded session keeps in memory (prompts render the newest part).
WINDOW_CHARS = 48_000
WINDOW_LINES = 48
#: Per-turn costs kept in a checkpoint's running totals (for the cost pane's recent history).
LEDGER_TURNS = 24


class Transcript(list[Line]):
    """The newest lines of a branch view; ``offset`` earlier ones were not loaded."""

    def __init__(self, lines: list[Line] | None = None, offset: int = 0) -> None:
        super().__init__(lines or [])
        self.offset = offset


def ledger_meta(ledger: CostLedger) -> dict[str, Any]:
    def pack(c: AgentCost) -> list[Any]:
        return [c.calls, c.prompt_tokens, c.completion_tokens, round(c.latency_ms, 3),
                c.cost_usd, c.unpriced_calls]

    recent = sorted(ledger.per_turn)[-LEDGER_TURNS:]
    return {"agents": {k: pack(v) for k, v in ledger.agents.items()},
            "overhead": pack(ledger.overhead),
            "per_turn": [[t, ledger.per_turn[t]] for t in recent]}


def ledger_from_meta(data: Any) -> CostLedger:
    def unpack(v: Any) -> AgentCost:
        calls, pt, ct, lat, usd, unpriced = v
        return AgentCost(int(calls), int(pt), int(ct), float(lat), float(usd), int(unpriced))

    ledger = CostLedger()
    if isinstance(data, dict):
        ledger.agents = {str(k): unpack(v) for k, v in data.get("agents", {}).items()}
        ledger.overhead = unpack(data.get("overhead", [0, 0, 0, 0, 0, 0]))
        ledger.per_turn = {int(t): float(u) for t, u in data.get("per_turn", [])}
    return ledger


async def load_snapshot(
    store: Store, session_id: str, branch_id: str | None = None, *,
    window_chars: int = WINDOW_CHARS,
) -> SessionSnapshot:
    """A branch's working state. Reads the newest checkpoint, the running totals saved at or
    before it, the events after those, and only the newest messages (``window_chars`` of
    them): its cost does not grow with the session's length."""
    row = await store.get_session(session_id, counts=False)
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
    found, window_rows, tail_rows = await store.branch_state(
        row.id, branch, min_chars=window_chars, min_rows=WINDOW_LINES)
    meta = found[1] if found is not None else None
    since = found[2] if found is not None and meta is not None else 0
    window: list[Event] = []
    count = 0
    if meta is not None:
        snap.ledger = ledger_from_meta(meta.get("ledger"))
        speaker = meta.get("last_speaker")
        snap.last_speaker = speaker if isinstance(speaker, str) else None
        count = int(meta.get("lines", 0))
        snap.last_seq = since
        for ev in window_rows:
            event = to_event(ev.kind, ev.payload, row.id, ev.branch_id)
            if event is not None:
                window.append(event)
    shown = [e for e in apply_edits(window) if e.kind == "message_completed" and e.text]
    tail: list[Event] = []
    for ev in tail_rows:
        snap.last_seq = max(snap.last_seq, ev.seq)
        event = to_event(ev.kind, ev.payload, row.id, ev.branch_id)
        if event is not None:
            tail.append(event)
    lines = Transcript(offset=max(0, count - len(shown)))
    for event in apply_edits(window + tail):
        if event.kind == "message_completed" and event.text:
            lines.append(Line(event.agent, event.name, event.role, event.text, event.to))
        elif event.kind == "usage_recorded":
            assert isinstance(event, UsageRecorded)
            snap.ledger.record(event)
        elif event.kind == "turn_started" and event.speakers:
            snap.last_speaker = event.speakers[-1]
        elif event.kind == "state_patched":
            snap.state = event.state
    snap.lines = lines
    if found is not None:
        last = found[0]
        snap.turn = last.turn
        snap.opened = True
        state = dict(last.state)
        routing = state.pop("_routing", None)
        snap.routing = routing if isinstance(routing, dict) else {}
        snap.state = SharedState.model_validate(state)
    snap.other_branches_usd = max(0.0, float(row.cost_usd or 0.0) - snap.ledger.total_usd)
    return snap
