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
import os
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import aiosqlite

from agents.store import queries, schema
from agents.store.codec import pack_time, session_words
from agents.store.imports import import_rows
from agents.store.layout import Layout, agent_column, lo
from agents.store.paths import prepare_file
from agents.store.reads import StoreReads
from agents.store.rows import decode, encode, encode_event, now_iso
from agents.store.schema import StoreError, corrupt_error, locked_error

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
        """Open (creating if needed) and upgrade the database at ``path``.

        Raises :class:`StoreError`, leaving the file untouched, if it is not an SQLite file,
        is damaged, or was written by a newer agentchat. Several processes opening a new file
        at once can find it locked while one switches it to WAL; that is retried briefly.
        """
        for attempt in range(40):
            try:
                return await cls._open_once(path)
            except StoreError as exc:
                locked = isinstance(exc.__cause__, sqlite3.OperationalError) and (
                    "locked" in str(exc.__cause__))
                if not locked or attempt == 39:
                    raise
            await asyncio.sleep(0.05 + 0.01 * attempt)
        raise AssertionError("unreachable")

    @classmethod
    async def _open_once(cls, path: Path) -> Store:
        path = Path(path).expanduser()
        prepare_file(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise corrupt_error(path) from exc
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA foreign_keys = ON")
            try:  # nothing has been written yet: these only read page 1 and the schema
                version, objects = await schema.read_version(conn)
            except sqlite3.DatabaseError as exc:
                raise corrupt_error(path) from exc
            known = schema.latest_version()
            if version > known:
                raise schema.newer_schema_error(path, version, known)
            if version == 0 and objects:
                raise corrupt_error(path)
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                mode = await cursor.fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(
                    f"Cannot switch {path} to WAL mode; put it on a local disk or use --db "
                    "to choose another file.",
                    path,
                )
            await conn.execute("PRAGMA synchronous = NORMAL")
            await schema.migrate(conn, path)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise locked_error(path) from exc
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"Cannot open {path} ({exc}); check the file and its permissions or use "
                    "--db to choose another file.",
                    path,
                ) from exc
            raise
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{path}{suffix}", 0o600)
        return cls(conn, path)

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
                         write: bool) -> T:
        """Run ``fn`` on the database thread in one hand-off; a write is one transaction,
        committed before the caller's ``await`` returns."""
        conn = self._conn

        def job() -> T:
            db: sqlite3.Connection = conn._conn
            if not write:
                return fn(db)
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._layout.reset()  # it may have cached rows that were rolled back
                raise
            return result

        run = cast(Callable[[Callable[[], T]], Awaitable[T]], conn._execute)
        async with self._lock:
            try:
                return await run(job)
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc

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
        events: Iterable[tuple[str, str, Mapping[str, Any]]],
    ) -> list[int]:
        """Append ``(kind, agent, payload)`` events in one transaction; return their seqs."""
        items = list(events)
        seqs = await self._on_thread(
            "save the events",
            lambda db: (self._layout.insert_events(db, session_id, branch_id, items)
                        if items else []),
            write=True)
        for seq, (kind, _agent, payload) in zip(seqs, items, strict=True):
            self._layout.note(session_id, branch_id, seq, kind, payload)
        return seqs

    async def begin_message(
        self, session_id: str, branch_id: str, agent: str, payload: Mapping[str, Any]
    ) -> int:
        """Insert a message that is still streaming; read back as interrupted until finished."""
        return await self._on_thread(
            "save the message",
            lambda db: self._layout.insert_events(
                db, session_id, branch_id, [(queries.STREAMING, agent, payload)])[0],
            write=True)

    async def finish_message(self, session_id: str, seq: int, payload: Mapping[str, Any]) -> None:
        """Finalise a streaming message in place (the only in-place update of an event)."""
        text = encode_event(queries.COMPLETED, payload)
        layout = self._layout

        def write(db: sqlite3.Connection) -> str:
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

        branch = await self._on_thread("finish the message", write, write=True)
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
    ) -> None:
        """Record that ``turn`` ended at ``seq`` on the branch, with the shared-state snapshot.

        The state is stored only when it differs from the previous checkpoint this store wrote
        on the branch (NULL stands for "unchanged"; reads resolve it). ``meta`` holds running
        totals that let a branch load without reading its whole history."""
        key = (session_id, branch_id)
        encoded = encode(state)
        stored = None if self._last_state.get(key) == encoded else encoded
        extra = None if meta is None else encode(meta)
        layout = self._layout
        now = now_iso()

        def write(db: sqlite3.Connection) -> None:
            codec = layout.codec(db, session_id)
            db.execute(
                "INSERT INTO checkpoints (id, seq, label, created, state, meta)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (lo(layout.number(db, session_id, branch_id)) | turn, seq,
                 layout.label_value(session_id, branch_id, codec, label), pack_time(now),
                 None if stored is None else layout.state_value(session_id, branch_id, codec,
                                                                stored),
                 None if extra is None else codec.pack(extra)))
            db.execute("UPDATE sessions SET updated = max(updated, ?) WHERE id = ?",
                       (now, session_id))

        await self._on_thread(f"save the checkpoint of turn {turn}", write, write=True)
        self._last_state[key] = encoded

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
