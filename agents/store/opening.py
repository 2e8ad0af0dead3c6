"""Opening a session database: connect, check the file, switch it to WAL, upgrade the schema."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

import aiosqlite

from agents.store import schema
from agents.store.paths import prepare_file
from agents.store.schema import StoreError, corrupt_error, locked_error

#: How long a statement waits for another connection's lock before failing.
BUSY_TIMEOUT_MS = 5000


async def connect(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) and upgrade the database at ``path``.

    Raises :class:`StoreError`, leaving the file untouched, if it is not an SQLite file,
    is damaged, or was written by a newer agentchat. Several processes opening a new file
    at once can find it locked while one switches it to WAL; that is retried briefly.
    """
    for attempt in range(40):
        try:
            return await _connect_once(path)
        except StoreError as exc:
            locked = isinstance(exc.__cause__, sqlite3.OperationalError) and (
                "locked" in str(exc.__cause__))
            if not locked or attempt == 39:
                raise
        await asyncio.sleep(0.05 + 0.01 * attempt)
    raise AssertionError("unreachable")


async def _connect_once(path: Path) -> aiosqlite.Connection:
    prepare_file(path)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise corrupt_error(path) from exc
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
    return conn
