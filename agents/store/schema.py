"""The database schema as an ordered list of migrations, and the code that applies them.

The schema version lives in ``PRAGMA user_version``: version ``N`` means the first ``N``
entries of :data:`MIGRATIONS` have been applied. Each migration runs in its own
``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so a migration is
applied completely or not at all, and two processes opening the same file cannot both apply it.

To change the schema, append a migration (an SQL script or an async callable taking the
connection); never edit one that has shipped.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiosqlite


class StoreError(Exception):
    """A problem with the session database; the message is one sentence naming the file and fix."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


Migration = str | Callable[[aiosqlite.Connection], Awaitable[None]]

SCHEMA_V1 = """
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    topic       TEXT NOT NULL,
    pack_name   TEXT NOT NULL,
    pack_json   TEXT NOT NULL,
    model       TEXT NOT NULL,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    head_branch TEXT NOT NULL
);
CREATE INDEX sessions_updated ON sessions (updated);

CREATE TABLE branches (
    id            TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_branch TEXT,
    fork_seq      INTEGER,
    name          TEXT NOT NULL,
    created       TEXT NOT NULL,
    UNIQUE (session_id, id),
    FOREIGN KEY (session_id, parent_branch)
        REFERENCES branches (session_id, id) ON DELETE CASCADE,
    CHECK ((parent_branch IS NULL) = (fork_seq IS NULL)),
    CHECK (fork_seq IS NULL OR fork_seq >= 0)
);
CREATE INDEX branches_parent ON branches (session_id, parent_branch);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    branch_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    agent      TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL,
    created    TEXT NOT NULL,
    UNIQUE (session_id, seq),
    FOREIGN KEY (session_id, branch_id)
        REFERENCES branches (session_id, id) ON DELETE CASCADE
);
CREATE INDEX events_branch_seq ON events (session_id, branch_id, seq);
CREATE INDEX events_usage ON events (session_id) WHERE kind = 'usage_recorded';

CREATE TABLE checkpoints (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    branch_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    turn       INTEGER NOT NULL,
    state_json TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    created    TEXT NOT NULL,
    PRIMARY KEY (session_id, branch_id, turn),
    FOREIGN KEY (session_id, branch_id)
        REFERENCES branches (session_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX checkpoints_branch_seq ON checkpoints (session_id, branch_id, seq);
"""

# v2: checkpoints become an ordinary rowid table (WITHOUT ROWID rows just above the in-page
# limit took a 4 KB overflow page each); ``state_json`` NULL means "the same state as the
# previous checkpoint of the branch view"; ``meta`` holds running totals (ledger, message count)
# on some checkpoints so a branch loads without reading its whole history; ``sessions.cost_usd``
# is the running total of every usage event, kept by a trigger; a checkpoint bumps
# ``sessions.updated`` (events no longer do, one write fewer per event).
SCHEMA_V2 = """
CREATE TABLE checkpoints_v2 (
    id         INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    branch_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    turn       INTEGER NOT NULL,
    state_json TEXT,
    label      TEXT NOT NULL DEFAULT '',
    created    TEXT NOT NULL,
    meta       TEXT,
    UNIQUE (session_id, branch_id, turn),
    FOREIGN KEY (session_id, branch_id)
        REFERENCES branches (session_id, id) ON DELETE CASCADE
);
INSERT INTO checkpoints_v2 (session_id, branch_id, seq, turn, state_json, label, created)
    SELECT session_id, branch_id, seq, turn, state_json, label, created
    FROM checkpoints ORDER BY session_id, seq, turn;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v2 RENAME TO checkpoints;
CREATE INDEX checkpoints_branch_seq ON checkpoints (session_id, branch_id, seq);
CREATE INDEX checkpoints_state ON checkpoints (session_id, branch_id, seq)
    WHERE state_json IS NOT NULL;
CREATE INDEX checkpoints_meta ON checkpoints (session_id, branch_id, seq)
    WHERE meta IS NOT NULL;

ALTER TABLE sessions ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
UPDATE sessions SET cost_usd = (
    SELECT total(coalesce(json_extract(e.payload, '$.cost_usd'), 0)) FROM events AS e
    WHERE e.session_id = sessions.id AND e.kind = 'usage_recorded');
CREATE TRIGGER events_cost AFTER INSERT ON events
WHEN NEW.kind = 'usage_recorded'
BEGIN
    UPDATE sessions SET cost_usd = cost_usd + coalesce(json_extract(NEW.payload, '$.cost_usd'), 0)
    WHERE id = NEW.session_id;
END;
CREATE TRIGGER checkpoints_touch AFTER INSERT ON checkpoints
BEGIN
    UPDATE sessions SET updated = max(updated, NEW.created) WHERE id = NEW.session_id;
END;
"""

# v3: compact rows (see agents/store/layout.py and codec.py). Events and checkpoints are keyed
# by their rowid, ``branches.n << 32 | seq`` (``| turn`` for checkpoints), so a branch is one
# rowid range and neither table needs the per-row session/branch text nor an index on them;
# ``kind`` is a code from ``kinds``; new rows store integer times, a NULL ``agent`` when the
# payload names it, and payloads packed with a preset dictionary (``sessions.words``). Rows of
# older versions are copied as they are (TEXT times and payloads stay readable). The running
# cost and the last seq of a session are kept by the store in ``sessions`` (payloads may be
# packed, so no trigger can read them); deleting a branch deletes its rows by trigger.
SCHEMA_V3 = """
ALTER TABLE sessions ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN words TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seq = coalesce(
    (SELECT max(seq) FROM events WHERE events.session_id = sessions.id), 0);
ALTER TABLE branches ADD COLUMN n INTEGER;
UPDATE branches SET n = rowid;
CREATE UNIQUE INDEX branches_n ON branches (n);

CREATE TABLE kinds (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO kinds (code, name) VALUES (1, 'session_started'), (2, 'message_completed'),
    (3, 'message_streaming'), (4, 'usage_recorded'), (5, 'moderator_decision'),
    (6, 'turn_started'), (7, 'state_patched');
INSERT OR IGNORE INTO kinds (name) SELECT DISTINCT kind FROM events ORDER BY kind;

CREATE TABLE events_v3 (
    id      INTEGER PRIMARY KEY,
    kind    INTEGER NOT NULL,
    agent   TEXT,
    created NOT NULL,
    payload NOT NULL
);
INSERT INTO events_v3 (id, kind, agent, created, payload)
    SELECT (b.n << 32) | e.seq, k.code, e.agent, e.created, e.payload
    FROM events AS e
    JOIN branches AS b ON b.session_id = e.session_id AND b.id = e.branch_id
    JOIN kinds AS k ON k.name = e.kind;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE INDEX events_rare ON events (kind) WHERE NOT (kind BETWEEN 2 AND 7);

CREATE TABLE checkpoints_v3 (
    id      INTEGER PRIMARY KEY,
    seq     INTEGER NOT NULL,
    label   NOT NULL DEFAULT '',
    created NOT NULL,
    state,
    meta
);
INSERT INTO checkpoints_v3 (id, seq, label, created, state, meta)
    SELECT (b.n << 32) | c.turn, c.seq, c.label, c.created, c.state_json, c.meta
    FROM checkpoints AS c
    JOIN branches AS b ON b.session_id = c.session_id AND b.id = c.branch_id;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v3 RENAME TO checkpoints;
CREATE INDEX checkpoints_state ON checkpoints (id) WHERE state IS NOT NULL;
CREATE INDEX checkpoints_meta ON checkpoints (id) WHERE meta IS NOT NULL;

CREATE TRIGGER branches_rows AFTER DELETE ON branches
BEGIN
    DELETE FROM events WHERE id BETWEEN OLD.n << 32 AND (OLD.n << 32) | 4294967295;
    DELETE FROM checkpoints WHERE id BETWEEN OLD.n << 32 AND (OLD.n << 32) | 4294967295;
END;
"""

#: Ordered migrations; index ``i`` takes the schema from version ``i`` to ``i + 1``.
MIGRATIONS: list[Migration] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3]


def latest_version() -> int:
    """The schema version this code writes (read at call time, so tests can patch the list)."""
    return len(MIGRATIONS)


def split_sql(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement.rstrip(";").strip():
                yield statement
    leftover = [ln for ln in buffer.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]!r}")


def newer_schema_error(path: Path, found: int, known: int) -> StoreError:
    return StoreError(
        f"{path} was written by a newer agentchat (schema {found}, this one knows {known}); "
        "upgrade agentchat or use --db to choose another file.",
        path,
    )


def corrupt_error(path: Path) -> StoreError:
    return StoreError(
        f"{path} is not an agentchat database or is damaged; it was left untouched — move it "
        "aside or use --db to choose another file.",
        path,
    )


def locked_error(path: Path) -> StoreError:
    return StoreError(
        f"{path} stayed locked by another program for over 5 seconds; close it and retry, or "
        "use --db to choose another file.",
        path,
    )


async def read_version(conn: aiosqlite.Connection) -> tuple[int, int]:
    """``(user_version, number of schema objects)``, read in one statement (one snapshot)."""
    async with conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_master)"
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _rollback(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        await conn.execute("ROLLBACK")


async def migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Apply every pending migration, each in its own transaction; return the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    target = latest_version()
    while True:
        await conn.execute("BEGIN IMMEDIATE")
        current = -1
        try:
            current, _ = await read_version(conn)
            if current > target:
                raise newer_schema_error(path, current, target)
            if current == target:
                await conn.execute("COMMIT")
                return current
            step = MIGRATIONS[current]
            if isinstance(step, str):
                for statement in split_sql(step):
                    await conn.execute(statement)
            else:
                await step(conn)
            await conn.execute(f"PRAGMA user_version = {current + 1}")
            await conn.execute("COMMIT")
        except StoreError:
            await _rollback(conn)
            raise
        except (sqlite3.Error, ValueError) as exc:
            await _rollback(conn)
            raise StoreError(
                f"Could not upgrade {path} from schema {current} to {current + 1} ({exc}); "
                "the file was left as it was — report this bug, or use --db to choose another "
                "file.",
                path,
            ) from exc
        except BaseException:
            await _rollback(conn)
            raise
