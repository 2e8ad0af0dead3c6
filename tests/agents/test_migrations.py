"""Schema versions and migrations: each applied and checked; unreadable files left untouched."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from agents.store import Store, StoreError, latest_version, schema

V1_COLUMNS = {
    "sessions": [
        "id",
        "title",
        "topic",
        "pack_name",
        "pack_json",
        "model",
        "created",
        "updated",
        "head_branch",
    ],
    "branches": ["id", "session_id", "parent_branch", "fork_seq", "name", "created"],
    "events": ["id", "session_id", "branch_id", "seq", "kind", "agent", "payload", "created"],
    "checkpoints": ["session_id", "branch_id", "seq", "turn", "state_json", "label", "created"],
}
V2_COLUMNS = {
    **V1_COLUMNS,
    "sessions": [*V1_COLUMNS["sessions"], "cost_usd"],
    "checkpoints": ["id", "session_id", "branch_id", "seq", "turn", "state_json", "label",
                    "created", "meta"],
}


def _version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


@pytest.mark.parametrize("existing", [False, True], ids=["missing", "empty-file"])
async def test_latest_schema_on_a_new_file(tmp_path: Path, existing: bool) -> None:
    path = tmp_path / "agentchat.db"
    if existing:
        path.touch()
    async with await Store.open(path):
        pass
    assert _version(path) == latest_version() == 2
    with sqlite3.connect(path) as raw:
        tables = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert tables == set(V2_COLUMNS)
        for table, columns in V2_COLUMNS.items():
            assert [row[1] for row in raw.execute(f"PRAGMA table_info({table})")] == columns
        indexes = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"events_branch_seq", "checkpoints_branch_seq", "sessions_updated"} <= indexes
        uniques = [
            [col[2] for col in raw.execute(f"PRAGMA index_info({idx[1]})")]
            for idx in raw.execute("PRAGMA index_list(events)")
            if idx[2]
        ]
        assert ["session_id", "seq"] in uniques
        # an ordinary rowid table since v2 (WITHOUT ROWID rows each took an overflow page)
        assert [row[1] for row in raw.execute("PRAGMA table_info(checkpoints)") if row[5]] == [
            "id"]
        checkpoint_uniques = [
            [col[2] for col in raw.execute(f"PRAGMA index_info({idx[1]})")]
            for idx in raw.execute("PRAGMA index_list(checkpoints)")
            if idx[2]
        ]
        assert ["session_id", "branch_id", "turn"] in checkpoint_uniques
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "agentchat.db"
    async with await Store.open(path) as store:
        main = await store.create_session(
            session_id="s1", title="t", topic="t", pack_name="p", pack_json={}, model="m"
        )
        await store.append_event("s1", main, "note", "", {"n": 1})
    async with await Store.open(path) as store:
        assert [e.payload for e in await store.events("s1", main)] == [{"n": 1}]
    assert _version(path) == latest_version()


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "agentchat.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE future (x)")
        raw.execute(f"PRAGMA user_version = {latest_version() + 1}")
    raw.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    message = str(info.value)
    assert message == (
        f"{path} was written by a newer agentchat (schema {latest_version() + 1}, this one "
        f"knows {latest_version()}); upgrade agentchat or use --db to choose another file."
    )
    assert _files(tmp_path) == before


async def test_random_bytes_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "agentchat.db"
    path.write_bytes(os.urandom(8192))
    before = _files(tmp_path)
    with pytest.raises(StoreError, match="is not an agentchat database or is damaged") as info:
        await Store.open(path)
    assert str(path) in str(info.value)
    assert _files(tmp_path) == before


async def test_damaged_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "agentchat.db"
    async with await Store.open(path):
        pass
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(3996)  # keep the header, wreck the schema page
    path.write_bytes(bytes(data))
    before = _files(tmp_path)
    with pytest.raises(StoreError, match="is not an agentchat database or is damaged"):
        await Store.open(path)
    assert _files(tmp_path) == before


async def test_someone_elses_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE sessions (cookie TEXT)")
    raw.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError, match="not an agentchat database"):
        await Store.open(path)
    assert _files(tmp_path) == before


async def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agentchat.db"
    async with await Store.open(path):
        pass

    async def broken(conn: aiosqlite.Connection) -> None:
        await conn.execute("CREATE TABLE half_done (x)")
        await conn.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(schema, "MIGRATIONS", [schema.SCHEMA_V1, schema.SCHEMA_V2, broken])
    with pytest.raises(StoreError, match=r"Could not upgrade .* from schema 2 to 3"):
        await Store.open(path)
    assert _version(path) == 2
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchall() == []


async def test_pending_migrations_apply_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agentchat.db"
    async with await Store.open(path) as store:
        main = await store.create_session(
            session_id="s1", title="t", topic="t", pack_name="p", pack_json={}, model="m"
        )
    applied: list[int] = []

    async def v4(conn: aiosqlite.Connection) -> None:
        applied.append(4)
        await conn.execute("UPDATE sessions SET note = 'from v4'")

    v3 = "ALTER TABLE sessions ADD COLUMN note TEXT;\nCREATE INDEX sessions_note ON sessions(note);"
    monkeypatch.setattr(schema, "MIGRATIONS", [schema.SCHEMA_V1, schema.SCHEMA_V2, v3, v4])
    async with await Store.open(path) as store:
        session = await store.get_session("s1")
        assert session is not None and session.head_branch == main
    assert _version(path) == 4 and applied == [4]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT note FROM sessions").fetchall() == [("from v4",)]
    async with await Store.open(path):
        pass
    assert applied == [4]  # an applied migration never runs again


async def test_concurrent_first_open(tmp_path: Path) -> None:
    path = tmp_path / "agentchat.db"
    stores = await asyncio.gather(*(Store.open(path) for _ in range(3)))
    for store in stores:
        await store.close()
    assert _version(path) == latest_version()


def test_split_sql_keeps_trigger_bodies_whole() -> None:
    script = """
    CREATE TABLE a (x);
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 1;
        UPDATE a SET x = 2;
    END;
    -- trailing comment
    """
    statements = list(schema.split_sql(script))
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete SQL"):
        list(schema.split_sql("CREATE TABLE b (x)"))


async def test_v1_file_with_data_migrates_to_v2(tmp_path: Path) -> None:
    """A v1 file (WITHOUT ROWID checkpoints, no cost column) keeps everything readable."""
    path = tmp_path / "agentchat.db"
    with sqlite3.connect(path, isolation_level=None) as raw:
        for statement in schema.split_sql(schema.SCHEMA_V1):
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
        now = "2026-01-01T00:00:00.000000+00:00"
        raw.execute("INSERT INTO sessions VALUES ('s1', 't', 'topic', 'p', '{}', 'm', ?, ?, 'b1')",
                    (now, now))
        raw.execute("INSERT INTO branches VALUES ('b1', 's1', NULL, NULL, 'main', ?)", (now,))
        raw.execute("INSERT INTO events (session_id, branch_id, seq, kind, agent, payload, created)"
                    " VALUES ('s1', 'b1', 1, 'usage_recorded', 'ada', ?, ?)",
                    ('{"kind":"usage_recorded","cost_usd":0.25,"turn":1}', now))
        for turn in (0, 1):
            raw.execute("INSERT INTO checkpoints VALUES ('s1', 'b1', 1, ?, ?, 'label', ?)",
                        (turn, f'{{"goal":"g{turn}"}}', now))
    async with await Store.open(path) as store:
        session = await store.get_session("s1")
        assert session is not None and session.cost_usd == 0.25 and session.turns == 1
        events = await store.events("s1", "b1")
        assert [e.payload for e in events] == [
            {"kind": "usage_recorded", "cost_usd": 0.25, "turn": 1}]
        assert [c.state for c in await store.checkpoints("s1", "b1")] == [
            {"goal": "g0"}, {"goal": "g1"}]
        at = await store.checkpoint_at("s1", "b1", 1)
        assert at is not None and at.state == {"goal": "g1"} and at.label == "label"
        # new checkpoints store an unchanged state as NULL; reads still return it
        await store.add_checkpoint("s1", "b1", seq=1, turn=2, state={"goal": "g2"}, label="")
        await store.add_checkpoint("s1", "b1", seq=1, turn=3, state={"goal": "g2"}, label="")
        at = await store.checkpoint_at("s1", "b1", 3)
        assert at is not None and at.state == {"goal": "g2"}
    assert _version(path) == 2
    with sqlite3.connect(path) as raw:
        stored = raw.execute("SELECT turn, state_json FROM checkpoints ORDER BY turn").fetchall()
        assert stored[2:] == [(2, '{"goal":"g2"}'), (3, None)]
