"""Long sessions for the storage, rollback and transcript benchmarks, with the rows the engine
writes for a group-chat turn: the moderator's usage, its decision, ``turn_started``, the persona's
message (300-600 bytes of English prose), its usage, a state patch every tenth turn, and the turn's
checkpoint (the shared-state snapshot and a one-line label).

``build(..., via="store")`` writes through :class:`~agents.store.Store` (``append_events`` and
``add_checkpoint``, one transaction per turn as the engine commits); ``via="sqlite"`` writes the
very same rows (the store's own :class:`~agents.store.layout.Layout` packs them: same keys,
codes, times and compressed payloads) with ``executemany`` in one transaction, which is what
makes 100,000 turns possible in seconds. The storage benchmark checks the two agree.

The messages are English prose (windows of the Python language reference that ships with the
stdlib), not words drawn from a small vocabulary, so that compression is not flattered.
"""

from __future__ import annotations

import functools
import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents import prompts
from agents.cost import CostLedger
from agents.events import (
    MessageCompleted,
    ModeratorDecision,
    SessionStarted,
    StatePatched,
    TurnStarted,
    UsageRecorded,
    event_payload,
)
from agents.history import ledger_meta
from agents.session import META_EVERY
from agents.state import ActionItem, SharedState, StatePatch
from agents.store import Store
from agents.store.codec import pack_time
from agents.store.layout import Layout, lo
from agents.store.rows import encode, encode_event, now_iso, usd
from personas.loader import load_pack
from personas.models import Pack

SESSION_ID = "benchsession"
TOPIC = "Add a read-through cache in front of the orders API"
MODEL = "openai/gpt-4o-mini"


@functools.cache
def _prose() -> str:
    """English prose to cut messages from: the paragraphs of the stdlib's ``pydoc_data.topics``
    (the language reference) that are running text, not code or listings. Real prose compresses
    far less than a small vocabulary, which would flatter the storage figures."""
    from pydoc_data import topics

    paragraphs: list[str] = []
    for page in topics.topics.values():
        for paragraph in re.split(r"\n\s*\n", page):
            lines = paragraph.splitlines()
            if not lines or any(ln.startswith((" ", "\t")) or ">>>" in ln or "|" in ln
                                or "+--" in ln for ln in lines):
                continue
            words = paragraph.split()
            if len(words) >= 8 and sum("(" in w or "_" in w for w in words) <= len(words) // 10:
                paragraphs.append(" ".join(words))
    return " ".join(paragraphs)

Row = tuple[str, str, dict[str, Any]]


@dataclass
class Turn:
    rows: list[Row]
    text: str
    state: dict[str, Any]
    label: str
    meta: dict[str, Any] | None = None  # running totals, every META_EVERY turns as the engine


class _Totals:
    """What the engine's checkpoints carry as running totals (ledger, lines, last speaker)."""

    def __init__(self) -> None:
        self.ledger = CostLedger()
        self.lines = 0
        self.last_speaker: str | None = None

    def meta(self, turn_no: int, turn: Turn) -> dict[str, Any] | None:
        for kind, _agent, payload in turn.rows:
            if kind == "usage_recorded":
                self.ledger.record(UsageRecorded.model_validate(payload))
            elif kind == "message_completed" and payload.get("text"):
                self.lines += 1
            elif kind == "turn_started" and payload.get("speakers"):
                self.last_speaker = payload["speakers"][-1]
        if turn_no % META_EVERY:
            return None
        return {"lines": self.lines, "ledger": ledger_meta(self.ledger),
                "last_speaker": self.last_speaker}


@dataclass
class Built:
    session_id: str
    branch_id: str
    turns: int
    events: int = 0
    message_bytes: int = 0
    payload_bytes: int = 0
    seqs: list[int] = field(default_factory=list)  # the checkpoint seq of each turn


def message_text(rng: random.Random, turn: int) -> str:
    """300-600 bytes of English prose, cut at word boundaries from a random place."""
    prose = _prose()
    size = rng.randint(300, 600)
    start = prose.find(" ", rng.randrange(len(prose) - 2 * size)) + 1
    text = prose[start:start + size]
    while len(text.encode()) >= size:  # whole words, at most ``size`` bytes with the full stop
        text = text[:text.rfind(" ")]
    return text.rstrip(",;:") + "."


def base_state() -> SharedState:
    return SharedState(
        goal=TOPIC,
        agenda=["Requirements", "Architecture", "Failure modes", "Security", "Rollout"],
        action_items=[ActionItem(text="Load test the cache at 2x peak", owner="sre")])


def turns(pack: Pack, count: int, seed: int = 7) -> Iterator[Turn]:
    """Turn 0 (the opening) then turns 1..count, as the engine would write them."""
    rng = random.Random(seed)
    mod = pack.moderator
    speakers = list(pack.speakers)
    state = base_state()
    routing: dict[str, Any] = {}
    opening = message_text(rng, 0)
    rows: list[Row] = []

    def add(event: Any) -> None:
        rows.append((event.kind, getattr(event, "agent", ""), event_payload(event)))

    add(SessionStarted(title=TOPIC, pack=pack.name, topic=TOPIC, model=MODEL,
                       model_note=f"Using {MODEL} (from --model)."))
    add(MessageCompleted(message_id="m0", agent=mod.id, name=mod.name, role=mod.role, turn=0,
                         text=opening))
    add(UsageRecorded(agent=mod.id, model=MODEL, turn=0, prompt_tokens=700,
                      completion_tokens=len(opening) // 4, latency_ms=812.4, cost_usd=0.000166))
    yield Turn(rows, opening, {**state.model_dump(mode="json"), "_routing": routing},
               prompts.summarise(opening))
    for turn in range(1, count + 1):
        persona = speakers[(turn - 1) % len(speakers)]
        text = message_text(rng, turn)
        rows = []
        add(UsageRecorded(agent=mod.id, model=MODEL, turn=turn, prompt_tokens=1800,
                          completion_tokens=30, latency_ms=640.2, cost_usd=0.000288,
                          overhead=True))
        add(ModeratorDecision(turn=turn, speakers=[persona.id],
                              reason=f"{persona.name} is best placed for point {turn}."))
        add(TurnStarted(turn=turn, speakers=[persona.id]))
        add(MessageCompleted(message_id=f"m{turn}", agent=persona.id, name=persona.name,
                             role=persona.role, turn=turn, text=text))
        add(UsageRecorded(agent=persona.id, model=MODEL, turn=turn, prompt_tokens=2600,
                          completion_tokens=len(text) // 4, latency_ms=2210.7,
                          cost_usd=0.000462))
        if turn % 10 == 0:  # a decision every ten turns; the state keeps the last eight
            patch = StatePatch(add_decisions=[f"Decision {turn}: {text[:60]}"])
            decisions = [*state.decisions, *patch.add_decisions][-8:]
            state = state.model_copy(update={"decisions": decisions})
            add(StatePatched(agent=persona.id, turn=turn, patch=patch, state=state))
        yield Turn(rows, text, {**state.model_dump(mode="json"), "_routing": routing},
                   prompts.summarise(text))


async def create(store: Store, pack: Pack) -> str:
    return await store.create_session(
        session_id=SESSION_ID, title=TOPIC, topic=TOPIC, pack_name=pack.name,
        pack_json=pack.model_dump(mode="json"), model=MODEL)


async def build(db: Path, count: int, via: Literal["store", "sqlite"] = "sqlite") -> Built:
    """A session of ``count`` turns after the opening in a new database at ``db``."""
    pack = load_pack("design-review")
    store = await Store.open(db)
    try:
        branch = await create(store, pack)
        built = Built(SESSION_ID, branch, count)
        if via == "store":
            totals = _Totals()
            for turn_no, turn in enumerate(turns(pack, count)):
                seqs = await store.append_events(SESSION_ID, branch, turn.rows)
                await store.add_checkpoint(SESSION_ID, branch, seq=seqs[-1], turn=turn_no,
                                           state=turn.state, label=turn.label,
                                           meta=totals.meta(turn_no, turn))
                _count(built, turn, seqs[-1])
            return built
    finally:
        await store.close()
    _write_direct(db, pack, built)
    return built


def _count(built: Built, turn: Turn, seq: int) -> None:
    built.events += len(turn.rows)
    built.message_bytes += len(turn.text.encode())
    built.payload_bytes += sum(len(encode_event(k, p).encode()) for k, _, p in turn.rows)
    built.seqs.append(seq)


def _write_direct(db: Path, pack: Pack, built: Built) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    layout = Layout()  # the store's own row packing
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        n = layout.number(conn, SESSION_ID, built.branch_id)
        codec = layout.codec(conn, SESSION_ID)
        seq = 0
        cost = 0.0
        events: list[tuple[Any, ...]] = []
        checkpoints: list[tuple[Any, ...]] = []
        totals = _Totals()
        previous = ""
        for turn_no, turn in enumerate(turns(pack, built.turns)):
            now = now_iso()
            for kind, agent, payload in turn.rows:
                seq += 1
                events.append(layout.event_values(conn, SESSION_ID, n, seq, kind, agent,
                                                  encode_event(kind, payload), now))
                layout.note(SESSION_ID, built.branch_id, seq, kind, payload)
                if kind == "usage_recorded":
                    cost += usd(payload.get("cost_usd"))
            state = encode(turn.state)  # stored only when changed, as Store.add_checkpoint does
            meta = totals.meta(turn_no, turn)
            checkpoints.append((
                lo(n) | turn_no, seq, layout.label_value(SESSION_ID, built.branch_id, codec,
                                                         turn.label),
                pack_time(now_iso()), None if state == previous else layout.state_value(
                    SESSION_ID, built.branch_id, codec, state),
                None if meta is None else codec.pack(encode(meta))))
            previous = state
            _count(built, turn, seq)
            if len(events) >= 20_000:
                _flush(conn, events, checkpoints)
        _flush(conn, events, checkpoints)
        conn.execute("UPDATE sessions SET updated = ?, last_seq = ?, cost_usd = cost_usd + ?"
                     " WHERE id = ?", (now_iso(), seq, cost, SESSION_ID))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _flush(conn: sqlite3.Connection, events: list[tuple[Any, ...]],
           checkpoints: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO events (id, kind, agent, created, payload) VALUES (?, ?, ?, ?, ?)", events)
    conn.executemany(
        "INSERT INTO checkpoints (id, seq, label, created, state, meta) VALUES (?, ?, ?, ?, ?, ?)",
        checkpoints)
    events.clear()
    checkpoints.clear()


def disk_bytes(db: Path) -> int:
    """The database's bytes on disk, its -wal and -shm files included."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
               if p.exists())
