"""SQL for branch views and session listings, and converters from result rows to typed rows.

A branch's view is its own events plus, recursively, its parent's events up to the fork point.
``VIEW`` walks the (short) ancestry with a recursive CTE; each ancestor then contributes one
rowid range of ``events`` (see :mod:`agents.store.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.store.rows import EventRow, SessionRow, decode, decode_event, parse_time

MAX_SEQ = 2**63 - 1
STREAMING = "message_streaming"
COMPLETED = "message_completed"

# The rows of a branch view: (id, parent, fork_seq, bound); ``bound`` caps the seqs an ancestor
# contributes (NULL for the branch itself): the smallest fork point on the path down to it.
VIEW = """
WITH RECURSIVE view(id, parent, fork_seq, bound) AS (
    SELECT id, parent_branch, fork_seq, NULL
    FROM branches WHERE session_id = :sid AND id = :branch
    UNION ALL
    SELECT b.id, b.parent_branch, b.fork_seq,
           CASE WHEN view.bound IS NULL THEN view.fork_seq
                ELSE min(view.bound, view.fork_seq) END
    FROM branches AS b JOIN view ON b.session_id = :sid AND b.id = view.parent
)
"""

# Sessions with aggregates; ``:only`` restricts to one id (NULL = all).
SESSIONS_SQL = """
WITH RECURSIVE view(sid, id, n, parent, fork_seq, bound) AS (
    SELECT s.id, b.id, b.n, b.parent_branch, b.fork_seq, NULL
    FROM sessions AS s JOIN branches AS b ON b.session_id = s.id AND b.id = s.head_branch
    WHERE :only IS NULL OR s.id = :only
    UNION ALL
    SELECT view.sid, b.id, b.n, b.parent_branch, b.fork_seq,
           CASE WHEN view.bound IS NULL THEN view.fork_seq
                ELSE min(view.bound, view.fork_seq) END
    FROM branches AS b JOIN view ON b.session_id = view.sid AND b.id = view.parent
),
turns(sid, n) AS (
    SELECT view.sid, max(c.id & 4294967295)
    FROM view JOIN checkpoints AS c
         ON c.id BETWEEN view.n << 32 AND (view.n << 32) | 4294967295
    WHERE c.seq <= coalesce(view.bound, :max)
    GROUP BY view.sid
),
messages(sid, n) AS (
    SELECT view.sid, count(*)
    FROM view JOIN events AS e
         ON e.id BETWEEN view.n << 32
                     AND (view.n << 32) | min(coalesce(view.bound, :max), 4294967295)
    WHERE e.kind IN (2, 3)
    GROUP BY view.sid
)
SELECT s.id, s.title, s.topic, s.pack_name, s.pack_json, s.model, s.created, s.updated,
       s.head_branch, coalesce(turns.n, 0), s.cost_usd, coalesce(messages.n, 0)
FROM sessions AS s
LEFT JOIN turns ON turns.sid = s.id
LEFT JOIN messages ON messages.sid = s.id
WHERE :only IS NULL OR s.id = :only
ORDER BY s.updated DESC, s.created DESC, s.id
"""


# A session without the aggregates (turns and messages are not counted: 0).
SESSION_HEAD_SQL = """
SELECT s.id, s.title, s.topic, s.pack_name, s.pack_json, s.model, s.created, s.updated,
       s.head_branch, 0, s.cost_usd, 0
FROM sessions AS s WHERE s.id = :only
"""


def event_row(row: Sequence[Any]) -> EventRow:
    """An event from (seq, branch id, kind, agent or None, payload text, created text)."""
    kind = str(row[2])
    streaming = kind == STREAMING  # the process died while this message streamed
    if streaming:
        kind = COMPLETED
    payload = decode_event(kind, row[4], row[5])
    agent = row[3] if row[3] is not None else str(payload.get("agent", ""))
    if streaming:
        payload["interrupted"] = True
    return EventRow(int(row[0]), str(row[1]), kind, str(agent), payload, parse_time(row[5]))


def session_row(row: Sequence[Any]) -> SessionRow:
    return SessionRow(
        id=row[0],
        title=row[1],
        topic=row[2],
        pack_name=row[3],
        pack_json=decode(row[4]),
        model=row[5],
        created=parse_time(row[6]),
        updated=parse_time(row[7]),
        head_branch=row[8],
        turns=int(row[9]),
        cost_usd=float(row[10]),
        messages=int(row[11]),
    )
