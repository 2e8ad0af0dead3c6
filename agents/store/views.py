"""Reads that walk a branch view newest-first, one index seek per ancestor, run on the
database thread as plain functions of an ``sqlite3.Connection`` (one hand-off per call).

A view's ancestors contribute disjoint, decreasing seq ranges (a branch's own events come after
its fork point), so "the newest N rows of a view" is the newest rows of the branch itself, then
of its parent up to the fork point, and so on, each an index range scan read backwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from agents.store import queries
from agents.store.rows import CheckpointRow, decode, parse_time

Ancestor = tuple[str, int]  # (branch id, highest seq it contributes to the view)

_ANCESTRY_SQL = queries.VIEW + "SELECT id, coalesce(bound, :max) FROM view"


def ancestry(db: sqlite3.Connection, sid: str, branch: str, upto: int | None = None
             ) -> list[Ancestor]:
    """The view's branches, the branch itself first, each with the highest seq it gives."""
    cap = queries.MAX_SEQ if upto is None else upto
    rows = db.execute(_ANCESTRY_SQL, {"sid": sid, "branch": branch, "max": queries.MAX_SEQ})
    return [(str(r[0]), min(int(r[1]), cap)) for r in rows]


_CHECKPOINT_COLUMNS = "seq, branch_id, turn, state_json, label, created, meta"


def _newest_checkpoint(db: sqlite3.Connection, sid: str, view: list[Ancestor], where: str,
                       params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    for branch, bound in view:
        row = db.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE session_id = ? AND "
            f"branch_id = ? AND seq <= ? {where} ORDER BY seq DESC LIMIT 1",
            (sid, branch, bound, *params)).fetchone()
        if row is not None:
            return tuple(row)
    return None


def _state_before(db: sqlite3.Connection, sid: str, view: list[Ancestor], seq: int,
                  turn: int) -> str:
    """The stored state a NULL ``state_json`` at (seq, turn) stands for."""
    capped = [(b, min(bound, seq)) for b, bound in view]
    row = _newest_checkpoint(db, sid, capped, "AND state_json IS NOT NULL "
                             "AND (seq < ? OR turn <= ?)", (seq, turn))
    return "{}" if row is None else str(row[3])


def _checkpoint(db: sqlite3.Connection, sid: str, view: list[Ancestor],
                row: tuple[Any, ...]) -> CheckpointRow:
    state = row[3] if row[3] is not None else _state_before(db, sid, view, row[0], row[2])
    return CheckpointRow(int(row[0]), str(row[1]), int(row[2]), decode(state), str(row[4]),
                         parse_time(row[5]))


def last_checkpoint(db: sqlite3.Connection, sid: str, branch: str
                    ) -> tuple[CheckpointRow, dict[str, Any] | None, int] | None:
    """The view's newest checkpoint, the newest running totals (``meta``) at or before it
    with the seq they were taken at; None if the view has no checkpoint."""
    view = ancestry(db, sid, branch)
    row = _newest_checkpoint(db, sid, view, "")
    if row is None:
        return None
    checkpoint = _checkpoint(db, sid, view, row)
    meta_row = row if row[6] is not None else _newest_checkpoint(
        db, sid, view, "AND meta IS NOT NULL")
    if meta_row is None:
        return checkpoint, None, 0
    return checkpoint, decode(meta_row[6]), int(meta_row[0])


def checkpoint_at(db: sqlite3.Connection, sid: str, branch: str, turn: int
                  ) -> CheckpointRow | None:
    view = ancestry(db, sid, branch)
    row = _newest_checkpoint(db, sid, view, "AND turn = ?", (turn,))
    return None if row is None else _checkpoint(db, sid, view, row)


def events_after(db: sqlite3.Connection, sid: str, branch: str, after: int
                 ) -> list[tuple[Any, ...]]:
    """Event rows of the view with seq > ``after``, oldest first."""
    out: list[tuple[Any, ...]] = []
    for name, bound in ancestry(db, sid, branch):
        if bound <= after:
            break
        rows = db.execute(
            "SELECT seq, branch_id, kind, agent, payload, created FROM events WHERE "
            "session_id = ? AND branch_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
            (sid, name, after, bound)).fetchall()
        out[:0] = [tuple(r) for r in rows]
    return out


def newest_messages(db: sqlite3.Connection, sid: str, branch: str, upto: int, *,
                    min_chars: int, min_rows: int) -> list[tuple[Any, ...]]:
    """The newest message rows of the view with seq <= ``upto``, oldest first: enough rows to
    hold ``min_chars`` characters of payload and at least ``min_rows`` rows (or all of them)."""
    picked: list[tuple[Any, ...]] = []
    chars = 0
    for name, bound in ancestry(db, sid, branch, upto):
        cursor = db.execute(
            "SELECT seq, branch_id, kind, agent, payload, created FROM events WHERE "
            "session_id = ? AND branch_id = ? AND seq <= ? AND kind IN (?, ?) "
            "ORDER BY seq DESC", (sid, name, bound, queries.COMPLETED, queries.STREAMING))
        for row in cursor:
            picked.append(tuple(row))
            chars += len(row[4])
            if chars >= min_chars and len(picked) >= min_rows:
                cursor.close()
                picked.reverse()
                return picked
    picked.reverse()
    return picked


def resolve_states(rows: Iterable[tuple[Any, ...]], parents: dict[str, tuple[str | None, int]]
                   ) -> list[CheckpointRow]:
    """Checkpoint rows of any branches, ordered by (seq, turn), with NULL states resolved."""
    seen: dict[str, list[tuple[int, int, str]]] = {}

    def lookup(branch: str | None, seq: int, turn: int) -> str:
        while branch is not None:
            for s, t, state in reversed(seen.get(branch, [])):
                if s < seq or (s == seq and t <= turn):
                    return state
            branch, fork = parents.get(branch, (None, 0))
            seq, turn = min(seq, fork), queries.MAX_SEQ
        return "{}"

    out: list[CheckpointRow] = []
    for row in rows:
        seq, branch, turn = int(row[0]), str(row[1]), int(row[2])
        state = str(row[3]) if row[3] is not None else lookup(branch, seq, turn)
        seen.setdefault(branch, []).append((seq, turn, state))
        out.append(CheckpointRow(seq, branch, turn, decode(state), str(row[4]),
                                 parse_time(row[5])))
    return out
