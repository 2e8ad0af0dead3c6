"""The on-disk layout of schema 3, on the database thread.

Events and checkpoints are keyed by their rowid: ``branch number << 32 | seq`` for an event and
``branch number << 32 | turn`` for a checkpoint, where the branch number is ``branches.n``. A
branch's rows are therefore one contiguous rowid range in seq (turn) order: a branch view is a
few rowid range scans and needs no index. ``kind`` is a small integer (table ``kinds``), ``agent``
is NULL when it is the payload's own ``agent``, times are integers and payloads are packed by
:mod:`agents.store.codec`. :class:`Layout` turns stored rows back into the tuples the rest of the
store works with, caching what never changes (branch numbers, kind codes, session codecs).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from agents.store.codec import Codec, label_ref, pack_time, summary, unpack_time
from agents.store.rows import encode, encode_event, now_iso, usd

SHIFT = 32
LOW = (1 << SHIFT) - 1

#: Kind codes seeded by the migration; the per-turn kinds are 2-7 (see ``events_rare``).
SEEDED_KINDS = ("session_started", "message_completed", "message_streaming", "usage_recorded",
                "moderator_decision", "turn_started", "state_patched")
FREQUENT = "kind BETWEEN 2 AND 7"

EVENT_COLUMNS = "id, kind, agent, created, payload"
CHECKPOINT_COLUMNS = "id, seq, label, created, state, meta"
#: Checkpoints of a rowid range with seq <= a bound, each with the payload its label refers to.
CHECKPOINT_LIST = (
    "SELECT c.id, c.seq, c.label, c.created, c.state, c.meta, e.payload FROM checkpoints AS c"
    " LEFT JOIN events AS e ON typeof(c.label) = 'integer'"
    " AND e.id = ((c.id >> 32) << 32) | (c.label >> 8)"
    " WHERE c.id BETWEEN ? AND ? AND c.seq <= ?")

#: (seq, branch id, kind, agent, payload text, created text) as queries.event_row takes them.
EventTuple = tuple[int, str, str, str | None, str, str]
#: (seq, branch id, turn, state text or None, label, created text, meta text or None).
CheckpointTuple = tuple[int, str, int, str | None, str, str, str | None]


def lo(n: int) -> int:
    return n << SHIFT


def hi(n: int, bound: int = LOW) -> int:
    return (n << SHIFT) | min(bound, LOW)


class Layout:
    """Caches and converters for one connection (used on the database thread only)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything cached (after a rolled-back write)."""
        self._codecs: dict[str, Codec] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._names: dict[int, str] = {}
        self._kinds: dict[str, int] = {}
        self._kind_names: dict[int, str] = {}
        # The last finished message and state patch written per (session, branch), committed.
        self._said: dict[tuple[str, str], tuple[int, str]] = {}
        self._patched: dict[tuple[str, str], tuple[int, Mapping[str, Any]]] = {}

    def forget(self, sid: str) -> None:
        self._codecs.pop(sid, None)
        for table in (self._said, self._patched):
            for k in [k for k in table if k[0] == sid]:
                del table[k]
        for key in [k for k in self._numbers if k[0] == sid]:
            self._names.pop(self._numbers.pop(key), None)

    # -- lookups -------------------------------------------------------------------------------

    def codec(self, db: sqlite3.Connection, sid: str) -> Codec:
        codec = self._codecs.get(sid)
        if codec is None:
            row = db.execute("SELECT words FROM sessions WHERE id = ?", (sid,)).fetchone()
            codec = Codec(str(row[0]) if row is not None else "")
            if row is not None:
                self._codecs[sid] = codec
        return codec

    def number(self, db: sqlite3.Connection, sid: str, branch: str) -> int:
        """The branch's number; IntegrityError if the session has no such branch."""
        n = self._numbers.get((sid, branch))
        if n is None:
            row = db.execute("SELECT n FROM branches WHERE session_id = ? AND id = ?",
                             (sid, branch)).fetchone()
            if row is None:
                raise sqlite3.IntegrityError(f"no branch {branch} in session {sid}")
            n = int(row[0])
            self._numbers[(sid, branch)] = n
            self._names[n] = branch
        return n

    def name(self, db: sqlite3.Connection, n: int) -> str:
        name = self._names.get(n)
        if name is None:
            row = db.execute("SELECT id FROM branches WHERE n = ?", (n,)).fetchone()
            name = "" if row is None else str(row[0])
            self._names[n] = name
        return name

    def branch_numbers(self, db: sqlite3.Connection, sid: str) -> list[int]:
        return [int(r[0]) for r in db.execute(
            "SELECT n FROM branches WHERE session_id = ? ORDER BY n", (sid,))]

    def kind(self, db: sqlite3.Connection, name: str, *, create: bool = True) -> int | None:
        code = self._kinds.get(name)
        if code is None:
            row = db.execute("SELECT code FROM kinds WHERE name = ?", (name,)).fetchone()
            if row is None:
                if not create:
                    return None
                row = db.execute("INSERT INTO kinds (name) VALUES (?) RETURNING code",
                                 (name,)).fetchone()
            code = int(row[0])
            self._kinds[name] = code
            self._kind_names[code] = name
        return code

    def kind_name(self, db: sqlite3.Connection, code: int | str) -> str:
        if isinstance(code, str):
            return code
        name = self._kind_names.get(code)
        if name is None:
            row = db.execute("SELECT name FROM kinds WHERE code = ?", (code,)).fetchone()
            name = "" if row is None else str(row[0])
            self._kind_names[code] = name
            self._kinds.setdefault(name, code)
        return name

    def insert_events(self, db: sqlite3.Connection, session_id: str, branch_id: str,
                       items: list[tuple[str, str, Mapping[str, Any]]]) -> list[int]:
        """Insert events with the next seqs of the session; keep its last seq and cost."""
        row = db.execute("SELECT last_seq FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise sqlite3.IntegrityError(f"no session {session_id}")
        layout = self
        n = layout.number(db, session_id, branch_id)
        first = int(row[0]) + 1
        created = pack_time(now_iso())
        codec = layout.codec(db, session_id)
        cost = 0.0
        values = []
        for seq, (kind, agent, payload) in enumerate(items, first):
            text = encode_event(kind, payload)
            values.append((lo(n) | seq, layout.kind(db, kind),
                           agent_column(agent, text, payload), created, codec.pack(text)))
            if kind == "usage_recorded":
                cost += usd(payload.get("cost_usd"))
        db.executemany("INSERT INTO events (id, kind, agent, created, payload)"
                       " VALUES (?, ?, ?, ?, ?)", values)
        seqs = list(range(first, first + len(values)))
        db.execute("UPDATE sessions SET last_seq = ?, cost_usd = cost_usd + ? WHERE id = ?",
                   (first + len(values) - 1, cost, session_id))
        return seqs

    # -- references to events ------------------------------------------------------------------

    def note(self, sid: str, branch: str, seq: int, kind: str, payload: Mapping[str, Any]
             ) -> None:
        """Remember a committed event that a checkpoint's label or state may refer to."""
        if kind == "message_completed" and isinstance(payload.get("text"), str):
            self._said[(sid, branch)] = (seq, payload["text"])
        elif kind == "state_patched" and isinstance(payload.get("state"), Mapping):
            self._patched[(sid, branch)] = (seq, json.loads(encode(payload["state"])))

    def label_value(self, sid: str, branch: str, codec: Codec, label: str) -> int | str | bytes:
        said = self._said.get((sid, branch))
        ref = None if said is None else label_ref(label, *said)
        return codec.pack(label) if ref is None else ref

    def state_value(self, sid: str, branch: str, codec: Codec, state: str) -> int | str | bytes:
        patched = self._patched.get((sid, branch))
        if patched is not None and encode({**patched[1], "_routing": {}}) == state:
            return patched[0]
        return codec.pack(state)

    def _payload(self, db: sqlite3.Connection, sid: str, n: int, seq: int) -> dict[str, Any]:
        row = db.execute("SELECT payload FROM events WHERE id = ?", (lo(n) | seq,)).fetchone()
        value = {} if row is None else json.loads(self.codec(db, sid).unpack(row[0]))
        return value if isinstance(value, dict) else {}

    def label(self, db: sqlite3.Connection, sid: str, n: int, value: int | str | bytes,
              said: str | bytes | None = None) -> str:
        """A stored label; ``said`` is the payload it refers to when the query joined it."""
        if not isinstance(value, int):
            return self.codec(db, sid).unpack(value)
        if said is None:
            payload = self._payload(db, sid, n, value >> 8)
        else:
            payload = json.loads(self.codec(db, sid).unpack(said))
        return summary(str(payload.get("text", "")), value & 255)

    def state(self, db: sqlite3.Connection, sid: str, n: int, value: int | str | bytes | None
              ) -> str | None:
        if value is None or not isinstance(value, int):
            return self.codec(db, sid).unpack_opt(value)
        state = self._payload(db, sid, n, value).get("state")
        return encode({**(state if isinstance(state, dict) else {}), "_routing": {}})

    # -- rows ----------------------------------------------------------------------------------

    def event_values(self, db: sqlite3.Connection, sid: str, n: int, seq: int, kind: str,
                     agent: str, payload: str, created: str) -> tuple[Any, ...]:
        """The column values of an event row (``payload`` is its encoded JSON)."""
        return (lo(n) | seq, self.kind(db, kind), agent_column(agent, payload),
                pack_time(created), self.codec(db, sid).pack(payload))

    def event(self, db: sqlite3.Connection, sid: str, row: tuple[Any, ...]) -> EventTuple:
        key = int(row[0])
        return (key & LOW, self.name(db, key >> SHIFT), self.kind_name(db, row[1]), row[2],
                self.codec(db, sid).unpack(row[4]), unpack_time(row[3]))

    def checkpoint(self, db: sqlite3.Connection, sid: str, row: tuple[Any, ...]
                   ) -> CheckpointTuple:
        key = int(row[0])
        n = key >> SHIFT
        said = row[6] if len(row) > 6 else None
        return (int(row[1]), self.name(db, n), key & LOW, self.state(db, sid, n, row[4]),
                self.label(db, sid, n, row[2], said), unpack_time(row[3]),
                self.codec(db, sid).unpack_opt(row[5]))


def agent_column(agent: str, payload: str, given: Mapping[str, Any] | None = None
                 ) -> str | None:
    """NULL when the payload names the same agent (read back from it). ``given`` is the mapping
    ``payload`` was encoded from, when there is one: its top level is checked instead of
    parsing ``payload`` again (an event's ``agent`` is required, so encoding keeps it)."""
    if not agent or f'"agent":{json.dumps(agent, ensure_ascii=False)}' not in payload:
        return agent
    if given is not None:
        return None if given.get("agent") == agent else agent
    try:
        value = json.loads(payload)
    except ValueError:
        return agent
    return None if isinstance(value, dict) and value.get("agent") == agent else agent
