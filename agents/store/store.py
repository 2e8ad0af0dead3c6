"""The session store: one SQLite file (WAL), append-only events, branches and checkpoints.

A branch's *view* is its own events plus, recursively, its parent's events up to the fork
point. ``seq`` is monotonic per session across all branches, so a view is a handful of index
range scans (one per ancestor) merged by ``seq``. Forking writes one branch row; nothing is
copied. Every write method commits before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from agents.store import queries, schema
from agents.store.paths import prepare_file
from agents.store.rows import (
    BranchRow,
    CheckpointRow,
    EventRow,
    SessionRow,
    encode,
    now_iso,
    parse_time,
)
from agents.store.schema import StoreError, corrupt_error, locked_error


class Store:
    """Async access to one session database. Build it with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._path

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) and upgrade the database at ``path``.

        Raises :class:`StoreError`, leaving the file untouched, if it is not an SQLite file,
        is damaged, or was written by a newer agentchat.
        """
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

    @contextlib.asynccontextmanager
    async def _write(self, what: str) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, committed before the caller's ``await`` returns."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await self._conn.execute("ROLLBACK")
                    raise
                await self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc

    async def _fetch(self, what: str, sql: str, params: Mapping[str, Any]) -> list[Any]:
        async with self._lock:
            try:
                return list(await self._conn.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc

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
    async def _touch(conn: aiosqlite.Connection, session_id: str) -> None:
        await conn.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now_iso(), session_id))

    @staticmethod
    async def _next_seq(conn: aiosqlite.Connection, session_id: str) -> int:
        async with conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM events WHERE session_id = ?", (session_id,)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def _insert_event(
        self,
        conn: aiosqlite.Connection,
        session_id: str,
        branch_id: str,
        kind: str,
        agent: str,
        payload: Mapping[str, Any],
    ) -> int:
        seq = await self._next_seq(conn, session_id)
        await conn.execute(
            "INSERT INTO events (session_id, branch_id, seq, kind, agent, payload, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, branch_id, seq, kind, agent, encode(payload), now_iso()),
        )
        return seq

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
        async with self._write("create the session") as conn:
            await conn.execute(
                "INSERT INTO sessions (id, title, topic, pack_name, pack_json, model, created,"
                " updated, head_branch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    title,
                    topic,
                    pack_name,
                    encode(pack_json),
                    model,
                    now,
                    now,
                    branch_id,
                ),
            )
            await conn.execute(
                "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created)"
                " VALUES (?, ?, NULL, NULL, 'main', ?)",
                (branch_id, session_id, now),
            )
        return branch_id

    async def append_event(
        self, session_id: str, branch_id: str, kind: str, agent: str, payload: Mapping[str, Any]
    ) -> int:
        """Append one event; return its seq (monotonic per session)."""
        async with self._write("save the event") as conn:
            seq = await self._insert_event(conn, session_id, branch_id, kind, agent, payload)
            await self._touch(conn, session_id)
        return seq

    async def append_events(
        self,
        session_id: str,
        branch_id: str,
        events: Iterable[tuple[str, str, Mapping[str, Any]]],
    ) -> list[int]:
        """Append ``(kind, agent, payload)`` events in one transaction; return their seqs."""
        items = list(events)
        seqs: list[int] = []
        async with self._write("save the events") as conn:
            for kind, agent, payload in items:
                seqs.append(
                    await self._insert_event(conn, session_id, branch_id, kind, agent, payload)
                )
            await self._touch(conn, session_id)
        return seqs

    async def begin_message(
        self, session_id: str, branch_id: str, agent: str, payload: Mapping[str, Any]
    ) -> int:
        """Insert a message that is still streaming; read back as interrupted until finished."""
        async with self._write("save the message") as conn:
            seq = await self._insert_event(
                conn, session_id, branch_id, queries.STREAMING, agent, payload
            )
            await self._touch(conn, session_id)
        return seq

    async def finish_message(self, session_id: str, seq: int, payload: Mapping[str, Any]) -> None:
        """Finalise a streaming message in place (the only in-place update of an event)."""
        async with self._write("finish the message") as conn:
            cursor = await conn.execute(
                "UPDATE events SET kind = ?, payload = ? "
                "WHERE session_id = ? AND seq = ? AND kind = ?",
                (queries.COMPLETED, encode(payload), session_id, seq, queries.STREAMING),
            )
            if cursor.rowcount != 1:
                raise StoreError(
                    f"Could not finish message {seq} of session {session_id} in {self._path}: "
                    "no message with that seq is streaming.",
                    self._path,
                )
            await self._touch(conn, session_id)

    async def add_checkpoint(
        self,
        session_id: str,
        branch_id: str,
        *,
        seq: int,
        turn: int,
        state: Mapping[str, Any],
        label: str,
    ) -> None:
        """Record that ``turn`` ended at ``seq`` on the branch, with the shared-state snapshot."""
        async with self._write(f"save the checkpoint of turn {turn}") as conn:
            await conn.execute(
                "INSERT INTO checkpoints (session_id, branch_id, seq, turn, state_json, label,"
                " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, branch_id, seq, turn, encode(state), label, now_iso()),
            )
            await self._touch(conn, session_id)

    async def fork_branch(
        self, session_id: str, parent_branch: str, fork_seq: int, name: str
    ) -> str:
        """Create a branch whose view is the parent's up to ``fork_seq``; return its id."""
        branch_id = uuid.uuid4().hex
        async with self._write("create the branch") as conn:
            await conn.execute(
                "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (branch_id, session_id, parent_branch, fork_seq, name, now_iso()),
            )
            await self._touch(conn, session_id)
        return branch_id

    async def set_head(self, session_id: str, branch_id: str) -> None:
        """Make ``branch_id`` the branch a session reopens on."""
        async with self._write("switch branch") as conn:
            cursor = await conn.execute(
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

    async def touch(self, session_id: str) -> None:
        async with self._write("update the session") as conn:
            await self._touch(conn, session_id)

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session with its branches, events and checkpoints; False if absent."""
        async with self._write("delete the session") as conn:
            cursor = await conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            deleted = cursor.rowcount > 0
        return deleted

    # -- reads ---------------------------------------------------------------------------------

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

    async def events(
        self, session_id: str, branch_id: str, *, upto_seq: int | None = None
    ) -> list[EventRow]:
        """The branch's view (inherited events included), ordered by seq; empty if unknown."""
        rows = await self._fetch(
            "read the events",
            queries.EVENTS_SQL,
            {"sid": session_id, "branch": branch_id, "upto": upto_seq, "max": queries.MAX_SEQ},
        )
        return [queries.event_row(r) for r in rows]

    async def checkpoints(self, session_id: str, branch_id: str) -> list[CheckpointRow]:
        """The branch view's checkpoints (inherited ones included), ordered by seq."""
        rows = await self._fetch(
            "read the checkpoints",
            queries.CHECKPOINTS_SQL,
            {"sid": session_id, "branch": branch_id, "max": queries.MAX_SEQ},
        )
        return [queries.checkpoint_row(r) for r in rows]

    async def import_tree(
        self,
        session: Mapping[str, Any],
        branches: Iterable[Mapping[str, Any]],
        events: Iterable[Mapping[str, Any]],
        checkpoints: Iterable[Mapping[str, Any]],
    ) -> None:
        """Insert a whole exported session tree as it was, in one transaction."""
        sid = str(session["id"])
        async with self._write(f"import session {sid}") as conn:
            cursor = await conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,))
            if await cursor.fetchone() is not None:
                raise StoreError(
                    f"session {sid} is already in {self._path}; delete it first or import "
                    "into another database with --db.", self._path)
            await conn.execute(
                "INSERT INTO sessions (id, title, topic, pack_name, pack_json, model, created,"
                " updated, head_branch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, session["title"], session["topic"], session["pack_name"],
                 encode(session["pack"]), session["model"], session["created"],
                 session["updated"], session["head_branch"]),
            )
            for b in branches:
                await conn.execute(
                    "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (b["id"], sid, b["parent_branch"], b["fork_seq"], b["name"], b["created"]),
                )
            for e in events:
                await conn.execute(
                    "INSERT INTO events (session_id, branch_id, seq, kind, agent, payload,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (sid, e["branch_id"], e["seq"], e["kind"], e["agent"], encode(e["payload"]),
                     e["created"]),
                )
            for c in checkpoints:
                await conn.execute(
                    "INSERT INTO checkpoints (session_id, branch_id, seq, turn, state_json, label,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (sid, c["branch_id"], c["seq"], c["turn"], encode(c["state"]), c["label"],
                     c.get("created") or now_iso()),
                )

    async def all_events(self, session_id: str) -> list[EventRow]:
        """Every event of every branch of the session, ordered by seq (for exports)."""
        rows = await self._fetch(
            "read the events",
            "SELECT seq, branch_id, kind, agent, payload, created FROM events "
            "WHERE session_id = :sid ORDER BY seq",
            {"sid": session_id},
        )
        return [queries.event_row(r) for r in rows]

    async def all_checkpoints(self, session_id: str) -> list[CheckpointRow]:
        """Every checkpoint of every branch of the session, ordered by seq (for exports)."""
        rows = await self._fetch(
            "read the checkpoints",
            f"SELECT {queries.CHECKPOINT_COLUMNS} FROM checkpoints AS c "
            "WHERE c.session_id = :sid ORDER BY c.seq, c.turn",
            {"sid": session_id},
        )
        return [queries.checkpoint_row(r) for r in rows]

    async def checkpoint_at(
        self, session_id: str, branch_id: str, turn: int
    ) -> CheckpointRow | None:
        """The checkpoint of ``turn`` in the branch view, or None."""
        rows = await self._fetch(
            "read the checkpoint",
            queries.CHECKPOINT_AT_SQL,
            {"sid": session_id, "branch": branch_id, "turn": turn, "max": queries.MAX_SEQ},
        )
        return queries.checkpoint_row(rows[0]) if rows else None

    async def list_sessions(self) -> list[SessionRow]:
        """Every session, most recently updated first, with turns/cost/message aggregates."""
        rows = await self._fetch(
            "list the sessions", queries.SESSIONS_SQL, {"only": None, "max": queries.MAX_SEQ}
        )
        return [queries.session_row(r) for r in rows]

    async def get_session(self, session_id: str) -> SessionRow | None:
        """A session by id, or by a unique id prefix of at least 4 characters."""
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
        rows = await self._fetch(
            "read the session", queries.SESSIONS_SQL, {"only": ids[0], "max": queries.MAX_SEQ}
        )
        return queries.session_row(rows[0]) if rows else None
