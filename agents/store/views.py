"""Reads of branch views, run on the database thread as plain functions of an
``sqlite3.Connection`` (one hand-off per call).

A view's ancestors contribute disjoint, decreasing seq ranges (a branch's own events come after
its fork point), and each branch's rows are one rowid range (see :mod:`agents.store.layout`), so
"the newest N rows of a view" is the newest rows of the branch itself, then of its parent up to
the fork point, and so on, each a rowid range read backwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from agents.store import queries
from agents.store.layout import (
    CHECKPOINT_COLUMNS,
    CHECKPOINT_LIST,
    EVENT_COLUMNS,
    LOW,
    CheckpointTuple,
    EventTuple,
    Layout,
    hi,
    lo,
)
from agents.store.rows import CheckpointRow, decode, parse_time

Ancestor = tuple[str, int, int]  # (branch id, branch number, highest seq it gives the view)

_ANCESTRY_SQL = (queries.VIEW + "SELECT view.id, b.n, coalesce(view.bound, :max) FROM view "
                 "JOIN branches AS b ON b.session_id = :sid AND b.id = view.id")


def ancestry(db: sqlite3.Connection, sid: str, branch: str, upto: int | None = None
             ) -> list[Ancestor]:
    """The view's branches, the branch itself first, each with the highest seq it gives."""
    cap = min(LOW, queries.MAX_SEQ if upto is None else upto)
    rows = db.execute(_ANCESTRY_SQL, {"sid": sid, "branch": branch, "max": queries.MAX_SEQ})
    return [(str(r[0]), int(r[1]), min(int(r[2]), cap)) for r in rows]


def events(db: sqlite3.Connection, layout: Layout, sid: str, branch: str, *, after: int = 0,
           upto: int | None = None, kinds: tuple[int, ...] = ()) -> list[EventTuple]:
    """The view's events with ``after < seq <= upto``, oldest first."""
    out: list[EventTuple] = []
    where = f" AND kind IN ({','.join(map(str, kinds))})" if kinds else ""
    for _name, n, bound in ancestry(db, sid, branch, upto):
        if bound <= after:
            break
        rows = db.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE id BETWEEN ? AND ?"
                          f"{where} ORDER BY id", (lo(n) | (after + 1), hi(n, bound)))
        out[:0] = [layout.event(db, sid, r) for r in rows]
    return out


def all_events(db: sqlite3.Connection, layout: Layout, sid: str) -> list[EventTuple]:
    out: list[EventTuple] = []
    for n in layout.branch_numbers(db, sid):
        rows = db.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE id BETWEEN ? AND ?",
                          (lo(n), hi(n)))
        out.extend(layout.event(db, sid, r) for r in rows)
    out.sort(key=lambda e: e[0])
    return out


def latest_event(db: sqlite3.Connection, layout: Layout, sid: str, kind: str
                 ) -> EventTuple | None:
    """The newest event of a kind in the session, on any branch."""
    code = layout.kind(db, kind, create=False)
    if code is None:
        return None
    rare = "" if 2 <= code <= 7 else " AND NOT (kind BETWEEN 2 AND 7)"
    best: tuple[Any, ...] | None = None
    for n in layout.branch_numbers(db, sid):
        row = db.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE kind = ?{rare} AND id"
                         " BETWEEN ? AND ? ORDER BY id DESC LIMIT 1",
                         (code, lo(n), hi(n))).fetchone()
        if row is not None and (best is None or row[0] & LOW > best[0] & LOW):
            best = tuple(row)
    return None if best is None else layout.event(db, sid, best)


def newest_messages(db: sqlite3.Connection, layout: Layout, sid: str, branch: str, upto: int,
                    *, min_chars: int, min_rows: int, before: int | None = None
                    ) -> list[EventTuple]:
    """The newest message rows of the view with seq <= ``upto`` (and < ``before``), oldest
    first: enough to hold ``min_chars`` characters of payload and ``min_rows`` rows (or all)."""
    picked: list[EventTuple] = []
    chars = 0
    codes = tuple(c for c in (layout.kind(db, queries.COMPLETED, create=False),
                              layout.kind(db, queries.STREAMING, create=False)) if c is not None)
    if not codes:
        return []
    cap = upto if before is None else min(upto, before - 1)
    for _name, n, bound in ancestry(db, sid, branch, cap):
        cursor = db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id BETWEEN ? AND ? AND kind IN "
            f"({','.join(map(str, codes))}) ORDER BY id DESC", (lo(n), hi(n, bound)))
        for row in cursor:
            event = layout.event(db, sid, row)
            picked.append(event)
            chars += len(event[4])
            if chars >= min_chars and len(picked) >= min_rows:
                cursor.close()
                picked.reverse()
                return picked
    picked.reverse()
    return picked


# -- checkpoints -------------------------------------------------------------------------------

_INDEX = {"AND state IS NOT NULL": " INDEXED BY checkpoints_state",
          "AND meta IS NOT NULL": " INDEXED BY checkpoints_meta"}


def _newest(db: sqlite3.Connection, n: int, bound: int, where: str = "",
            top: int = LOW) -> tuple[Any, ...] | None:
    """The branch's newest checkpoint row with seq <= ``bound`` and turn <= ``top``.

    Within a branch, turns and seqs grow together, so when the newest row is past ``bound``
    the answer is found by bisecting the turns (a few rowid seeks, not a scan)."""
    table = "checkpoints" + _INDEX.get(where, "")
    sql = (f"SELECT {CHECKPOINT_COLUMNS} FROM {table} WHERE id BETWEEN ? AND ? {where} "
           "ORDER BY id DESC LIMIT 1")
    row = db.execute(sql, (lo(n), hi(n, top))).fetchone()
    if row is None or int(row[1]) <= bound:
        return None if row is None else tuple(row)
    first = db.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM {table} WHERE id BETWEEN ? AND ?"
                       f" {where} ORDER BY id LIMIT 1", (lo(n), hi(n, top))).fetchone()
    if first is None or int(first[1]) > bound:
        return None
    good, bad = int(first[0]) & LOW, int(row[0]) & LOW  # seq(good) <= bound < seq(bad)
    while bad - good > 1:
        mid = (good + bad) // 2
        probe = db.execute(sql, (lo(n), hi(n, mid))).fetchone()
        assert probe is not None
        if int(probe[1]) <= bound:
            good = max(mid, int(probe[0]) & LOW)
            first = probe
        else:
            bad = mid
    return tuple(first)


def _newest_in_view(db: sqlite3.Connection, view: list[Ancestor], where: str = "",
                    top: tuple[int, int] | None = None) -> tuple[Any, ...] | None:
    """The view's newest checkpoint row (``where`` filtering), at or before ``top`` = (branch
    number, turn) when given."""
    started = top is None
    for _name, n, bound in view:
        if not started:
            if n != top[0]:  # type: ignore[index]
                continue
            started = True
            row = _newest(db, n, bound, where, top[1])  # type: ignore[index]
        else:
            row = _newest(db, n, bound, where)
        if row is not None:
            return row
    return None


def _tuple(db: sqlite3.Connection, layout: Layout, sid: str, view: list[Ancestor],
           row: tuple[Any, ...]) -> CheckpointTuple:
    cp = layout.checkpoint(db, sid, row)
    if cp[3] is None:
        key = int(row[0])
        found = _newest_in_view(db, view, "AND state IS NOT NULL", (key >> 32, key & LOW))
        state = "{}" if found is None else layout.state(db, sid, int(found[0]) >> 32, found[4])
        cp = (cp[0], cp[1], cp[2], state, cp[4], cp[5], cp[6])
    return cp


def _row(cp: CheckpointTuple) -> CheckpointRow:
    return CheckpointRow(cp[0], cp[1], cp[2], decode(cp[3] or "{}"), cp[4], parse_time(cp[5]))


def last_checkpoint(db: sqlite3.Connection, layout: Layout, sid: str, branch: str
                    ) -> tuple[CheckpointRow, dict[str, Any] | None, int] | None:
    """The view's newest checkpoint, the newest running totals (``meta``) at or before it
    with the seq they were taken at; None if the view has no checkpoint."""
    view = ancestry(db, sid, branch)
    row = _newest_in_view(db, view)
    if row is None:
        return None
    checkpoint = _row(_tuple(db, layout, sid, view, row))
    key = int(row[0])
    meta_row = row if row[5] is not None else _newest_in_view(
        db, view, "AND meta IS NOT NULL", (key >> 32, key & LOW))
    if meta_row is None:
        return checkpoint, None, 0
    return checkpoint, decode(layout.codec(db, sid).unpack(meta_row[5])), int(meta_row[1])


def branch_state(db: sqlite3.Connection, layout: Layout, sid: str, branch: str, *,
                 min_chars: int, min_rows: int
                 ) -> tuple[tuple[CheckpointRow, dict[str, Any] | None, int] | None,
                            list[EventTuple], list[EventTuple]]:
    """What loading a branch reads, in one go: :func:`last_checkpoint`; then, when it has
    running totals, the newest messages up to them and the events after them, else no window
    and every event of the view."""
    found = last_checkpoint(db, layout, sid, branch)
    if found is None or found[1] is None:
        return found, [], events(db, layout, sid, branch)
    since = found[2]
    return (found, newest_messages(db, layout, sid, branch, since, min_chars=min_chars,
                                   min_rows=min_rows),
            events(db, layout, sid, branch, after=since))


def checkpoint_at(db: sqlite3.Connection, layout: Layout, sid: str, branch: str, turn: int
                  ) -> CheckpointRow | None:
    view = ancestry(db, sid, branch)
    for _name, n, bound in view:
        row = db.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = ?",
                         (lo(n) | turn,)).fetchone()
        if row is not None and int(row[1]) <= bound:
            return _row(_tuple(db, layout, sid, view, tuple(row)))
    return None


def checkpoints(db: sqlite3.Connection, layout: Layout, sid: str, branch: str | None
                ) -> list[CheckpointTuple]:
    """The view's checkpoints (every branch's when ``branch`` is None), ordered by (seq, turn),
    states as stored (None = unchanged)."""
    if branch is None:
        ranges = [(n, LOW) for n in layout.branch_numbers(db, sid)]
    else:
        ranges = [(n, bound) for _name, n, bound in ancestry(db, sid, branch)]
    out: list[CheckpointTuple] = []
    for n, bound in ranges:
        rows = db.execute(CHECKPOINT_LIST, (lo(n), hi(n), bound))
        out.extend(layout.checkpoint(db, sid, r) for r in rows)
    out.sort(key=lambda c: (c[0], c[2]))
    return out


def mark_before(db: sqlite3.Connection, sid: str, branch: str, upto: int) -> int:
    """The seq of the view's newest checkpoint with seq <= ``upto`` (0 if none)."""
    row = _newest_in_view(db, ancestry(db, sid, branch, upto))
    return 0 if row is None else int(row[1])


def marks(db: sqlite3.Connection, layout: Layout, sid: str, branch: str, after: int,
          upto: int | None) -> list[tuple[int, str, int, str]]:
    """(seq, branch id, turn, label) of the view's checkpoints with ``after < seq <= upto``,
    ordered by (seq, turn); states are not read."""
    out: list[tuple[int, str, int, str]] = []
    for name, n, bound in ancestry(db, sid, branch, upto):
        if bound <= after:
            break
        below = _newest(db, n, after)
        start = 0 if below is None else (int(below[0]) & LOW) + 1
        rows = db.execute(CHECKPOINT_LIST + " AND c.seq > ?", (lo(n) | start, hi(n), bound, after))
        out.extend((int(r[1]), name, int(r[0]) & LOW, layout.label(db, sid, n, r[2], r[6]))
                   for r in rows)
    out.sort(key=lambda c: (c[0], c[2]))
    return out


def resolve_states(rows: Iterable[CheckpointTuple], parents: dict[str, tuple[str | None, int]]
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
        seq, branch, turn = row[0], row[1], row[2]
        state = row[3] if row[3] is not None else lookup(branch, seq, turn)
        seen.setdefault(branch, []).append((seq, turn, state))
        out.append(CheckpointRow(seq, branch, turn, decode(state), row[4], parse_time(row[5])))
    return out
