"""The read side of the session store: branch views, checkpoints and session listings.

Every query here only reads; :class:`agents.store.store.Store` adds the writes and the
connection plumbing (``_fetch`` and ``_on_thread``) these rely on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from agents.store import queries, views
from agents.store.layout import Layout
from agents.store.rows import BranchRow, CheckpointRow, EventRow, SessionRow, parse_time
from agents.store.schema import StoreError

T = TypeVar("T")


class StoreReads:
    """Queries over one session database (mixed into Store)."""

    _path: Path
    _layout: Layout

    async def _on_thread(self, what: str, fn: Callable[[sqlite3.Connection], T], *,
                         write: bool) -> T:
        raise NotImplementedError

    async def _fetch(self, what: str, sql: str, params: Mapping[str, Any]) -> list[Any]:
        raise NotImplementedError

    async def branches(self, session_id: str) -> list[BranchRow]:
        rows = await self._fetch(
            "read the branches",
            "SELECT id, parent_branch, fork_seq, name, created FROM branches"
            " WHERE session_id = :sid ORDER BY created, rowid",
            {"sid": session_id},
        )
        return [
            BranchRow(r[0], r[1], None if r[2] is None else int(r[2]), r[3], parse_time(r[4]))
            for r in rows
        ]

    async def _rows(self, what: str, fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
        return await self._on_thread(f"read the {what}", lambda db: fn(db, self._layout),
                                     write=False)

    async def events(
        self, session_id: str, branch_id: str, *, upto_seq: int | None = None
    ) -> list[EventRow]:
        """The branch's view (inherited events included), ordered by seq; empty if unknown."""
        # Rows are decoded on the store's thread, so a long read leaves the caller's event
        # loop free to draw (the two share the interpreter, but not one long stretch of it).
        return await self._rows("events", lambda db, lay: [
            queries.event_row(r) for r in views.events(db, lay, session_id, branch_id,
                                                       upto=upto_seq)])

    async def events_after(self, session_id: str, branch_id: str, after_seq: int,
                           upto_seq: int | None = None, *, kinds: tuple[str, ...] = ()
                           ) -> list[EventRow]:
        """The branch view's events with ``after_seq < seq <= upto_seq``, ordered by seq (only
        those of ``kinds``, when given)."""

        def read(db: sqlite3.Connection, lay: Layout) -> list[Any]:
            codes = tuple(c for c in (lay.kind(db, k, create=False) for k in kinds)
                          if c is not None)
            if kinds and not codes:
                return []
            return [queries.event_row(r) for r in views.events(
                db, lay, session_id, branch_id, after=after_seq, upto=upto_seq, kinds=codes)]

        return await self._rows("events", read)

    async def checkpoint_seq_before(self, session_id: str, branch_id: str, upto_seq: int) -> int:
        """The seq of the view's newest checkpoint at or before ``upto_seq`` (0 if none)."""
        return await self._rows("checkpoint", lambda db, lay: views.mark_before(
            db, session_id, branch_id, upto_seq))

    async def checkpoint_marks(self, session_id: str, branch_id: str, after_seq: int,
                               upto_seq: int | None = None) -> list[tuple[int, str, int, str]]:
        """(seq, branch id, turn, label) of the view's checkpoints with ``after_seq < seq <=
        upto_seq``, ordered by seq, without their states (for the timeline)."""
        return await self._rows("checkpoints", lambda db, lay: views.marks(
            db, lay, session_id, branch_id, after_seq, upto_seq))

    async def newest_messages(
        self, session_id: str, branch_id: str, upto_seq: int, *, min_chars: int, min_rows: int,
        before_seq: int | None = None,
    ) -> list[EventRow]:
        """The view's newest messages with seq <= ``upto_seq`` and < ``before_seq`` (oldest
        first): enough to hold ``min_chars`` characters of payload and ``min_rows`` messages,
        or all there are."""
        return await self._rows("messages", lambda db, lay: [
            queries.event_row(r) for r in views.newest_messages(
                db, lay, session_id, branch_id, upto_seq, min_chars=min_chars,
                min_rows=min_rows, before=before_seq)])

    async def last_checkpoint(
        self, session_id: str, branch_id: str
    ) -> tuple[CheckpointRow, dict[str, Any] | None, int] | None:
        """The view's newest checkpoint, with the newest running totals (``meta``) at or
        before it and the seq they were taken at (None, 0 when none); None if no checkpoint."""
        return await self._rows("checkpoint", lambda db, lay: views.last_checkpoint(
            db, lay, session_id, branch_id))

    async def branch_state(
        self, session_id: str, branch_id: str, *, min_chars: int, min_rows: int
    ) -> tuple[tuple[CheckpointRow, dict[str, Any] | None, int] | None, list[EventRow],
               list[EventRow]]:
        """(:meth:`last_checkpoint`, the newest messages up to its running totals, the events
        after them) in one read; without running totals, no window and the whole view."""
        found, window, tail = await self._rows("session", lambda db, lay: views.branch_state(
            db, lay, session_id, branch_id, min_chars=min_chars, min_rows=min_rows))
        return (found, [queries.event_row(r) for r in window],
                [queries.event_row(r) for r in tail])

    async def _parents(self, session_id: str) -> dict[str, tuple[str | None, int]]:
        return {b.id: (b.parent_branch, b.fork_seq or 0) for b in await self.branches(session_id)}

    async def checkpoints(self, session_id: str, branch_id: str) -> list[CheckpointRow]:
        """The branch view's checkpoints (inherited ones included), ordered by seq."""
        rows = await self._rows("checkpoints", lambda db, lay: views.checkpoints(
            db, lay, session_id, branch_id))
        return views.resolve_states(rows, await self._parents(session_id))

    async def all_events(self, session_id: str) -> list[EventRow]:
        """Every event of every branch of the session, ordered by seq (for exports)."""
        rows = await self._rows("events", lambda db, lay: views.all_events(db, lay, session_id))
        return [queries.event_row(r) for r in rows]

    async def latest_event(self, session_id: str, kind: str) -> EventRow | None:
        """The newest event of a kind in the session, on any branch."""
        row = await self._rows("events", lambda db, lay: views.latest_event(
            db, lay, session_id, kind))
        return None if row is None else queries.event_row(row)

    async def all_checkpoints(self, session_id: str) -> list[CheckpointRow]:
        """Every checkpoint of every branch of the session, ordered by seq (for exports)."""
        rows = await self._rows("checkpoints", lambda db, lay: views.checkpoints(
            db, lay, session_id, None))
        return views.resolve_states(rows, await self._parents(session_id))

    async def checkpoint_at(
        self, session_id: str, branch_id: str, turn: int
    ) -> CheckpointRow | None:
        """The checkpoint of ``turn`` in the branch view, or None."""
        return await self._rows("checkpoint", lambda db, lay: views.checkpoint_at(
            db, lay, session_id, branch_id, turn))

    async def list_sessions(self) -> list[SessionRow]:
        """Every session, most recently updated first, with turns/cost/message aggregates."""
        rows = await self._fetch(
            "list the sessions", queries.SESSIONS_SQL, {"only": None, "max": queries.MAX_SEQ}
        )
        return [queries.session_row(r) for r in rows]

    async def get_session(self, session_id: str, *, counts: bool = True) -> SessionRow | None:
        """A session by id, or by a unique id prefix of at least 4 characters.

        With ``counts=False`` its turns and messages are not counted (0): a constant-time read."""
        ids = [
            r[0]
            for r in await self._fetch(
                "find the session",
                "SELECT id FROM sessions WHERE id = :id OR (length(:id) >= 4 AND"
                " substr(id, 1, length(:id)) = :id) ORDER BY id = :id DESC, id LIMIT 6",
                {"id": session_id},
            )
        ]
        if not ids:
            return None
        if ids[0] != session_id and len(ids) > 1:
            shown = ", ".join(ids[:5])
            raise StoreError(
                f"Session id '{session_id}' is ambiguous in {self._path} (matches {shown}); "
                "type more of the id.",
                self._path,
            )
        sql = queries.SESSIONS_SQL if counts else queries.SESSION_HEAD_SQL
        rows = await self._fetch("read the session", sql, {"only": ids[0], "max": queries.MAX_SEQ})
        return queries.session_row(rows[0]) if rows else None
