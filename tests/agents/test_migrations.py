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
V3_COLUMNS = {
    "sessions": [*V2_COLUMNS["sessions"], "last_seq", "words"],
    "branches": [*V1_COLUMNS["branches"], "n"],
    "kinds": ["code", "name"],
    "events": ["id", "kind", "agent", "created", "payload"],
    "checkpoints": ["id", "seq", "label", "created", "state", "meta"],
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
    assert _version(path) == latest_version() == 3
    with sqlite3.connect(path) as raw:
        tables = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert tables == set(V3_COLUMNS)
        for table, columns in V3_COLUMNS.items():
            assert [row[1] for row in raw.execute(f"PRAGMA table_info({table})")] == columns
        indexes = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"branches_n", "checkpoints_state", "checkpoints_meta", "events_rare",
                "sessions_updated"} <= indexes
        # events and checkpoints are keyed by their rowid (branch number << 32 | seq or turn)
        for table in ("events", "checkpoints"):
            assert [row[1] for row in raw.execute(f"PRAGMA table_info({table})") if row[5]] == [
                "id"]
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

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    with pytest.raises(StoreError, match=r"Could not upgrade .* from schema 3 to 4"):
        await Store.open(path)
    assert _version(path) == 3
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

    async def v5(conn: aiosqlite.Connection) -> None:
        applied.append(5)
        await conn.execute("UPDATE sessions SET note = 'from v5'")

    v4 = "ALTER TABLE sessions ADD COLUMN note TEXT;\nCREATE INDEX sessions_note ON sessions(note);"
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, v4, v5])
    async with await Store.open(path) as store:
        session = await store.get_session("s1")
        assert session is not None and session.head_branch == main
    assert _version(path) == 5 and applied == [5]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT note FROM sessions").fetchall() == [("from v5",)]
    async with await Store.open(path):
        pass
    assert applied == [5]  # an applied migration never runs again


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
    assert _version(path) == 3
    with sqlite3.connect(path) as raw:
        stored = raw.execute("SELECT id & 4294967295, state FROM checkpoints ORDER BY id"
                             ).fetchall()
        assert stored[2:] == [(2, '{"goal":"g2"}'), (3, None)]


async def test_v2_file_with_branches_migrates_to_v3(tmp_path: Path) -> None:
    """A v2 file (text ids in every row, JSON payloads) keeps every row, seq, time, state,
    running total and cost; new rows continue its seqs."""
    path = tmp_path / "agentchat.db"
    t = "2026-01-01T00:00:0{}.000000+00:00"
    with sqlite3.connect(path, isolation_level=None) as raw:
        for migration in (schema.SCHEMA_V1, schema.SCHEMA_V2):
            for statement in schema.split_sql(migration):
                raw.execute(statement)
        raw.execute("PRAGMA user_version = 2")
        raw.execute("INSERT INTO sessions (id, title, topic, pack_name, pack_json, model, created,"
                    " updated, head_branch) VALUES ('s1', 't', 'topic', 'p', '{}', 'm', ?, ?,"
                    " 'alt')", (t.format(0), t.format(0)))
        raw.execute("INSERT INTO branches VALUES ('main', 's1', NULL, NULL, 'main', ?)",
                    (t.format(0),))
        raw.execute("INSERT INTO branches VALUES ('alt', 's1', 'main', 2, 'b2-t1', ?)",
                    (t.format(5),))
        rows = [("main", 1, "message_completed", "ada", '{"~":1,"agent":"ada","text":"one"}'),
                ("main", 2, "usage_recorded", "ada", '{"~":1,"agent":"ada","cost_usd":0.5}'),
                ("main", 3, "message_completed", "bob", '{"~":1,"agent":"bob","text":"two"}'),
                ("alt", 4, "note", "", '{"n":4}'),
                ("alt", 5, "usage_recorded", "ada", '{"~":1,"agent":"ada","cost_usd":0.25}')]
        for branch, seq, kind, agent, payload in rows:
            raw.execute("INSERT INTO events (session_id, branch_id, seq, kind, agent, payload,"
                        " created) VALUES ('s1', ?, ?, ?, ?, ?, ?)",
                        (branch, seq, kind, agent, payload, t.format(seq)))
        for branch, seq, turn, state, meta in [
                ("main", 2, 1, '{"goal":"g1"}', '{"lines":1}'), ("main", 3, 2, None, None),
                ("alt", 5, 2, None, None)]:
            raw.execute("INSERT INTO checkpoints (session_id, branch_id, seq, turn, state_json,"
                        " label, created, meta) VALUES ('s1', ?, ?, ?, ?, ?, ?, ?)",
                        (branch, seq, turn, state, f"turn {turn}", t.format(seq), meta))
    async with await Store.open(path) as store:
        session = await store.get_session("s1")
        assert session is not None and session.cost_usd == 0.75 and session.turns == 2
        assert session.messages == 1
        alt = await store.events("s1", "alt")
        assert [(e.seq, e.branch_id, e.kind, e.agent) for e in alt] == [
            (1, "main", "message_completed", "ada"), (2, "main", "usage_recorded", "ada"),
            (4, "alt", "note", ""), (5, "alt", "usage_recorded", "ada")]
        assert alt[2].payload == {"n": 4}
        assert alt[0].payload["text"] == "one" and alt[0].payload["at"] == t.format(1)
        assert [(c.branch_id, c.turn, c.state, c.label) for c in
                await store.checkpoints("s1", "alt")] == [
            ("main", 1, {"goal": "g1"}, "turn 1"), ("alt", 2, {"goal": "g1"}, "turn 2")]
        found = await store.last_checkpoint("s1", "alt")
        assert found is not None and found[0].turn == 2 and found[1:] == ({"lines": 1}, 2)
        assert len(await store.all_events("s1")) == 5
        assert (await store.latest_event("s1", "note")) is not None
        seq = await store.append_event("s1", "alt", "usage_recorded", "ada",
                                       {"kind": "usage_recorded", "at": t.format(9),
                                        "agent": "ada", "cost_usd": 1.0})
        assert seq == 6
        session = await store.get_session("s1")
        assert session is not None and session.cost_usd == 1.75
    assert _version(path) == 3
