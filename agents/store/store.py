"""The session store: one SQLite file (WAL), append-only events, branches and checkpoints.

A branch's *view* is its own events plus, recursively, its parent's events up to the fork
point. ``seq`` is monotonic per session across all branches, so a view is a handful of rowid
range scans (one per ancestor, see :mod:`agents.store.layout`) merged by ``seq``. Forking writes
one branch row; nothing is copied. Every write method commits before it returns; rows are packed
small (:mod:`agents.store.codec`): about 1.4 times the bytes of what was said.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import aiosqlite

from agents.store import queries
from agents.store.codec import pack_time, session_words
from agents.store.imports import import_rows
from agents.store.layout import Layout, agent_column, lo
from agents.store.opening import connect
from agents.store.reads import StoreReads
from agents.store.rows import Finish, NewEvent, Pending, decode, encode, encode_event, now_iso
from agents.store.schema import StoreError, locked_error

T = TypeVar("T")

_NEXT_N = "(SELECT coalesce(max(n), 0) + 1 FROM branches)"


class Store(StoreReads):
    """Async access to one session database. Build it with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._lock = asyncio.Lock()
        self._layout = Layout()
        # The encoded state of the last checkpoint written per (session, branch).
        self._last_state: dict[tuple[str, str], str] = {}

    @property
    def path(self) -> Path:
        return self._path

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) and upgrade the database at ``path``; see
        :func:`agents.store.opening.connect` for the errors it raises."""
        path = Path(path).expanduser()
        return cls(await connect(path), path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------------------------

    async def _on_thread(self, what: str, fn: Callable[[sqlite3.Connection], T], *,
                         write: bool, first: Pending | None = None) -> T:
        """Run ``fn`` on the database thread in one hand-off; a write is one transaction,
        committed before the caller's ``await`` returns, that appends ``first``'s events
        before running ``fn`` (``fn`` can read their seqs in ``first.seqs``)."""
        conn = self._conn

        def transaction(db: sqlite3.Connection) -> T:  # begun
            try:
                if first is not None:
                    first.seqs = self._insert_first(db, first)
                result = fn(db)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._layout.reset()  # it may have cached rows that were rolled back
                if first is not None:
                    first.seqs = []
                raise
            return result

        def job() -> T:
            db: sqlite3.Connection = conn._conn
            if not write:
                return fn(db)
            db.execute("BEGIN IMMEDIATE")
            return transaction(db)

        run = cast(Callable[[Callable[[], T]], Awaitable[T]], conn._execute)
        async with self._lock:
            try:
                return await run(job)
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc

    def _insert_first(self, db: sqlite3.Connection, first: Pending) -> list[int]:
        """Do a write's pending appends and finishes (noted at once: its checkpoint may refer
        to them; a rollback forgets the notes)."""
        layout, sid = self._layout, first.session_id
        seqs: list[int] = []
        for op in first.ops:
            if isinstance(op, Finish):
                branch = self._finish_row(db, sid, op.seq,
                                          encode_event(queries.COMPLETED, op.payload))
                layout.note(sid, branch, op.seq, queries.COMPLETED, op.payload)
                continue
            branch, items = op
            if not items:
                continue
            run = layout.insert_events(db, sid, branch, items)
            for seq, (kind, _agent, payload) in zip(run, items, strict=True):
                layout.note(sid, branch, seq, kind, payload)
            seqs += run
        return seqs

    def _finish_row(self, db: sqlite3.Connection, session_id: str, seq: int, text: str) -> str:
        """Turn streaming message ``seq`` into a completed one; return its branch's id."""
        layout = self._layout
        streaming = layout.kind(db, queries.STREAMING)
        row = db.execute(
            "SELECT id, agent, payload FROM events WHERE kind = ? AND id IN"
            " (SELECT (n << 32) | ? FROM branches WHERE session_id = ?)",
            (streaming, seq, session_id)).fetchone()
        if row is None:
            raise StoreError(
                f"Could not finish message {seq} of session {session_id} in {self._path}: "
                "no message with that seq is streaming.",
                self._path,
            )
        codec = layout.codec(db, session_id)
        agent = row[1]
        if agent is None:
            agent = str(decode(codec.unpack(row[2])).get("agent", ""))
        db.execute("UPDATE events SET kind = ?, agent = ?, payload = ? WHERE id = ?",
                   (layout.kind(db, queries.COMPLETED), agent_column(agent, text),
                    codec.pack(text), row[0]))
        return layout.name(db, int(row[0]) >> 32)

    async def _fetch(self, what: str, sql: str, params: Mapping[str, Any]) -> list[Any]:
        return await self._on_thread(
            what, lambda db: db.execute(sql, params).fetchall(), write=False)

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return locked_error(self._path)
        if isinstance(exc, sqlite3.IntegrityError):
            return StoreError(
                f"Could not {what} in {self._path} ({exc}); the session or branch it refers to "
                "does not exist or the entry is already there.",
                self._path,
            )
        return StoreError(
            f"Could not {what} in {self._path} ({exc}); check the disk and the file, or use "
            "--db to choose another file.",
            self._path,
        )

    @staticmethod
    def _touch(db: sqlite3.Connection, session_id: str) -> None:
        db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now_iso(), session_id))

    # -- writes --------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        session_id: str,
        title: str,
        topic: str,
        pack_name: str,
        pack_json: Mapping[str, Any],
        model: str,
    ) -> str:
        """Create a session and its root branch ``main``; return the branch id."""
        branch_id = uuid.uuid4().hex
        now = now_iso()
        pack = encode(pack_json)
        words = session_words(pack_json, model, topic)

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO sessions (id, title, topic, pack_name, pack_json, model, created,"
                " updated, head_branch, words) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, title, topic, pack_name, pack, model, now, now, branch_id, words),
            )
            db.execute(
                "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created, n)"
                f" VALUES (?, ?, NULL, NULL, 'main', ?, {_NEXT_N})",
                (branch_id, session_id, now),
            )

        await self._on_thread("create the session", write, write=True)
        return branch_id

    async def append_event(
        self, session_id: str, branch_id: str, kind: str, agent: str, payload: Mapping[str, Any]
    ) -> int:
        """Append one event; return its seq (monotonic per session)."""
        seq = await self._on_thread(
            "save the event",
            lambda db: self._layout.insert_events(
                db, session_id, branch_id, [(kind, agent, payload)])[0],
            write=True)
        self._layout.note(session_id, branch_id, seq, kind, payload)
        return seq

    async def append_events(
        self,
        session_id: str,
        branch_id: str,
        events: Iterable[NewEvent],
    ) -> list[int]:
        """Append ``(kind, agent, payload)`` events in one transaction; return their seqs."""
        first = Pending(session_id, [(branch_id, list(events))])
        await self.write_pending(first)
        return first.seqs

    async def write_pending(self, first: Pending) -> None:
        """Do ``first``'s appends and finishes in one transaction."""
        if any(isinstance(op, Finish) or op[1] for op in first.ops):
            await self._on_thread("save the events", lambda db: None, write=True, first=first)

    async def begin_message(
        self, session_id: str, branch_id: str, agent: str, payload: Mapping[str, Any], *,
        first: Pending | None = None,
    ) -> int:
        """Insert a message that is still streaming; read back as interrupted until finished.
        ``first``'s events are appended before it, in the same transaction."""
        return await self._on_thread(
            "save the message",
            lambda db: self._layout.insert_events(
                db, session_id, branch_id, [(queries.STREAMING, agent, payload)])[0],
            write=True, first=first)

    async def finish_message(self, session_id: str, seq: int, payload: Mapping[str, Any], *,
                             first: Pending | None = None) -> None:
        """Finalise a streaming message in place (the only in-place update of an event),
        appending ``first``'s events in the same transaction."""
        text = encode_event(queries.COMPLETED, payload)
        branch = await self._on_thread(
            "finish the message", lambda db: self._finish_row(db, session_id, seq, text),
            write=True, first=first)
        self._layout.note(session_id, branch, seq, queries.COMPLETED, payload)

    async def add_checkpoint(
        self,
        session_id: str,
        branch_id: str,
        *,
        seq: int,
        turn: int,
        state: Mapping[str, Any],
        label: str,
        meta: Mapping[str, Any] | None = None,
        first: Pending | None = None,
    ) -> int:
        """Record that ``turn`` ended at ``seq`` on the branch, with the shared-state snapshot;
        return that seq: ``first``'s events are appended before it in the same transaction,
        and the checkpoint covers them (its seq is at least the last of theirs).

        The state is stored only when it differs from the previous checkpoint this store wrote
        on the branch (NULL stands for "unchanged"; reads resolve it). ``meta`` holds running
        totals that let a branch load without reading its whole history."""
        key = (session_id, branch_id)
        layout = self._layout
        now = now_iso()

        def write(db: sqlite3.Connection) -> tuple[int, str]:
            encoded = encode(state)
            stored = None if self._last_state.get(key) == encoded else encoded
            extra = None if meta is None else encode(meta)
            at = max(seq, *first.seqs) if first is not None and first.seqs else seq
            codec = layout.codec(db, session_id)
            db.execute(
                "INSERT INTO checkpoints (id, seq, label, created, state, meta)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (lo(layout.number(db, session_id, branch_id)) | turn, at,
                 layout.label_value(session_id, branch_id, codec, label), pack_time(now),
                 None if stored is None else layout.state_value(session_id, branch_id, codec,
                                                                stored),
                 None if extra is None else codec.pack(extra)))
            db.execute("UPDATE sessions SET updated = max(updated, ?) WHERE id = ?",
                       (now, session_id))
            return at, encoded

        at, encoded = await self._on_thread(f"save the checkpoint of turn {turn}", write,
                                            write=True, first=first)
        self._last_state[key] = encoded
        return at

    async def fork_branch(
        self, session_id: str, parent_branch: str, fork_seq: int, name: str
    ) -> str:
        """Create a branch whose view is the parent's up to ``fork_seq``; return its id."""
        branch_id = uuid.uuid4().hex

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created, n)"
                f" VALUES (?, ?, ?, ?, ?, ?, {_NEXT_N})",
                (branch_id, session_id, parent_branch, fork_seq, name, now_iso()),
            )
            self._touch(db, session_id)

        await self._on_thread("create the branch", write, write=True)
        return branch_id

    async def set_head(self, session_id: str, branch_id: str) -> None:
        """Make ``branch_id`` the branch a session reopens on."""

        def write(db: sqlite3.Connection) -> None:
            cursor = db.execute(
                "UPDATE sessions SET head_branch = ?, updated = ? WHERE id = ? AND EXISTS"
                " (SELECT 1 FROM branches WHERE session_id = sessions.id AND id = ?)",
                (branch_id, now_iso(), session_id, branch_id),
            )
            if cursor.rowcount != 1:
                raise StoreError(
                    f"Could not switch session {session_id} to branch {branch_id} in "
                    f"{self._path}: no such branch in that session.",
                    self._path,
                )

        await self._on_thread("switch branch", write, write=True)

    async def touch(self, session_id: str) -> None:
        await self._on_thread(
            "update the session", lambda db: self._touch(db, session_id), write=True)

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session with its branches, events and checkpoints; False if absent."""
        for key in [k for k in self._last_state if k[0] == session_id]:
            del self._last_state[key]
        self._layout.forget(session_id)
        return await self._on_thread(
            "delete the session",
            lambda db: db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0,
            write=True)

    async def import_tree(
        self,
        session: Mapping[str, Any],
        branches: Iterable[Mapping[str, Any]],
        events: Iterable[Mapping[str, Any]],
        checkpoints: Iterable[Mapping[str, Any]],
    ) -> None:
        """Insert a whole exported session tree as it was, in one transaction."""
        sid = str(session["id"])
        rows = (list(branches), list(events), list(checkpoints))
        await self._on_thread(
            f"import session {sid}",
            lambda db: import_rows(db, self._layout, self._path, session, *rows), write=True)
