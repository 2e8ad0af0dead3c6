"""The session store against real SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import pytest

from agents.store import EventRow, Store, StoreError, default_db_path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "agentchat.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(db_path) as opened:
        yield opened


async def _session(store: Store, session_id: str = "s1", **overrides: str) -> str:
    fields = {"title": "Design review", "topic": "caching", "pack_name": "review", "model": "m"}
    fields.update(overrides)
    return await store.create_session(
        session_id=session_id, pack_json={"pack": {"name": "review"}}, **fields
    )


async def _say(store: Store, session_id: str, branch: str, text: str) -> int:
    return await store.append_event(session_id, branch, "message_completed", "ada", {"text": text})


def _texts(events: list[EventRow]) -> list[str]:
    return [e.payload["text"] for e in events]


def test_default_db_path_env_and_platformdirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTCHAT_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("AGENTCHAT_DB")
    assert default_db_path() == platformdirs.user_data_path("agentchat") / "agentchat.db"


async def test_round_trip(store: Store, db_path: Path) -> None:
    main = await _session(store)
    first = await _say(store, "s1", main, "hello")
    seqs = await store.append_events(
        "s1",
        main,
        [
            ("state_patched", "bob", {"patch": {"goal": "x"}}),
            ("message_completed", "bob", {"text": "hi", "at": datetime(2024, 1, 2, tzinfo=UTC)}),
        ],
    )
    assert (first, seqs) == (1, [2, 3])
    await store.close()

    async with await Store.open(db_path) as reopened:
        events = await reopened.events("s1", main)
        assert [(e.seq, e.kind, e.agent, e.branch_id) for e in events] == [
            (1, "message_completed", "ada", main),
            (2, "state_patched", "bob", main),
            (3, "message_completed", "bob", main),
        ]
        assert events[1].payload == {"patch": {"goal": "x"}}
        assert events[2].payload["at"] == "2024-01-02T00:00:00+00:00"
        assert isinstance(events[0].created, datetime)
        assert [e.seq for e in await reopened.events("s1", main, upto_seq=2)] == [1, 2]
        session = await reopened.get_session("s1")
        assert session is not None
        assert (session.title, session.topic, session.pack_name, session.model) == (
            "Design review",
            "caching",
            "review",
            "m",
        )
        assert session.pack_json == {"pack": {"name": "review"}}
        assert session.head_branch == main
        assert [b.name for b in await reopened.branches("s1")] == ["main"]


async def test_pragmas(store: Store) -> None:
    async def pragma(name: str) -> object:
        return next(iter(await store._conn.execute_fetchall(f"PRAGMA {name}")))[0]

    assert await pragma("journal_mode") == "wal"
    assert await pragma("synchronous") == 1  # NORMAL
    assert await pragma("foreign_keys") == 1
    assert await pragma("busy_timeout") == 5000


async def test_branch_view_stops_at_fork_point(store: Store) -> None:
    main = await _session(store)
    for text in ["m1", "m2", "m3", "m4", "m5"]:
        await _say(store, "s1", main, text)
    alt = await store.fork_branch("s1", main, 3, "alt")
    assert await _say(store, "s1", alt, "a6") == 6  # seq is per session, across branches
    await _say(store, "s1", main, "m7")
    await _say(store, "s1", alt, "a8")

    assert _texts(await store.events("s1", alt)) == ["m1", "m2", "m3", "a6", "a8"]
    assert [e.seq for e in await store.events("s1", alt)] == [1, 2, 3, 6, 8]
    assert _texts(await store.events("s1", main)) == ["m1", "m2", "m3", "m4", "m5", "m7"]
    assert _texts(await store.events("s1", alt, upto_seq=6)) == ["m1", "m2", "m3", "a6"]
    assert await store.events("s1", "no-such-branch") == []
    branches = await store.branches("s1")
    assert [(b.name, b.parent_branch, b.fork_seq) for b in branches] == [
        ("main", None, None),
        ("alt", main, 3),
    ]


async def test_fork_of_a_fork(store: Store) -> None:
    main = await _session(store)
    for text in ["m1", "m2", "m3", "m4"]:
        await _say(store, "s1", main, text)
    b = await store.fork_branch("s1", main, 3, "b")
    await _say(store, "s1", b, "b5")
    await _say(store, "s1", b, "b6")
    c = await store.fork_branch("s1", b, 5, "c")
    await _say(store, "s1", c, "c7")
    # forking b at a seq inherited from main: the grandparent bound is the smaller fork point
    d = await store.fork_branch("s1", b, 2, "d")
    await _say(store, "s1", d, "d8")

    assert _texts(await store.events("s1", c)) == ["m1", "m2", "m3", "b5", "c7"]
    assert _texts(await store.events("s1", d)) == ["m1", "m2", "d8"]
    assert _texts(await store.events("s1", b)) == ["m1", "m2", "m3", "b5", "b6"]


async def test_streaming_message_reopens_as_interrupted(store: Store, db_path: Path) -> None:
    main = await _session(store)
    done = await store.begin_message("s1", main, "ada", {"text": ""})
    await store.finish_message("s1", done, {"text": "complete answer"})
    await store.begin_message("s1", main, "bob", {"text": "half an ans"})
    await store.close()  # the process "crashes" before bob's message finishes

    async with await Store.open(db_path) as reopened:
        first, second = await reopened.events("s1", main)
        assert (first.kind, first.payload) == ("message_completed", {"text": "complete answer"})
        assert second.kind == "message_completed"
        assert second.payload == {"text": "half an ans", "interrupted": True}
        with pytest.raises(StoreError, match="no message with that seq is streaming"):
            await reopened.finish_message("s1", done, {"text": "again"})
        session = await reopened.get_session("s1")
        assert session is not None and session.messages == 2


async def test_checkpoints_inherited_across_fork(store: Store) -> None:
    main = await _session(store)
    for turn in (1, 2, 3):
        seq = await _say(store, "s1", main, f"t{turn}")
        await store.add_checkpoint(
            "s1", main, seq=seq, turn=turn, state={"goal": f"g{turn}"}, label=f"turn {turn}"
        )
    alt = await store.fork_branch("s1", main, 2, "alt")
    seq = await _say(store, "s1", alt, "alt t3")
    await store.add_checkpoint("s1", alt, seq=seq, turn=3, state={"goal": "alt"}, label="alt 3")

    inherited = await store.checkpoints("s1", alt)
    assert [(c.turn, c.branch_id, c.label) for c in inherited] == [
        (1, main, "turn 1"),
        (2, main, "turn 2"),
        (3, alt, "alt 3"),
    ]
    at2 = await store.checkpoint_at("s1", alt, 2)
    assert at2 is not None and (at2.seq, at2.state) == (2, {"goal": "g2"})
    alt3 = await store.checkpoint_at("s1", alt, 3)
    main3 = await store.checkpoint_at("s1", main, 3)
    assert alt3 is not None and alt3.state == {"goal": "alt"}
    assert main3 is not None and main3.state == {"goal": "g3"}
    assert await store.checkpoint_at("s1", alt, 4) is None
    with pytest.raises(StoreError, match="checkpoint of turn 3"):
        await store.add_checkpoint("s1", alt, seq=seq, turn=3, state={}, label="dup")


async def test_list_sessions_aggregates_and_order(store: Store) -> None:
    a = await _session(store, "aaaa1111", title="first")
    for turn, cost in [(1, 0.25), (2, None), (3, 0.5)]:
        seq = await _say(store, "aaaa1111", a, f"t{turn}")
        await store.append_event(
            "aaaa1111", a, "usage_recorded", "ada", {"cost_usd": cost, "prompt_tokens": 3}
        )
        await store.add_checkpoint("aaaa1111", a, seq=seq, turn=turn, state={}, label="")
    b = await _session(store, "bbbb2222", title="second")
    await _say(store, "bbbb2222", b, "only")

    listed = await store.list_sessions()
    assert [s.id for s in listed] == ["bbbb2222", "aaaa1111"]  # newest update first
    by_id = {s.id: s for s in listed}
    assert (by_id["aaaa1111"].turns, by_id["aaaa1111"].messages) == (3, 3)
    assert math.isclose(by_id["aaaa1111"].cost_usd, 0.75)
    assert (by_id["bbbb2222"].turns, by_id["bbbb2222"].cost_usd, by_id["bbbb2222"].messages) == (
        0,
        0.0,
        1,
    )

    await store.touch("aaaa1111")
    assert [s.id for s in await store.list_sessions()] == ["aaaa1111", "bbbb2222"]

    # the head branch decides turns and messages; cost counts every branch
    alt = await store.fork_branch("aaaa1111", a, 2, "alt")
    await store.append_event("aaaa1111", alt, "usage_recorded", "ada", {"cost_usd": 0.25})
    await store.set_head("aaaa1111", alt)
    session = await store.get_session("aaaa1111")
    assert session is not None and session.head_branch == alt
    assert (session.turns, session.messages) == (1, 1)
    assert math.isclose(session.cost_usd, 1.0)


async def test_get_session_by_prefix(store: Store) -> None:
    for session_id in ["abcd1234", "abcd5678", "ffff0000"]:
        await _session(store, session_id)
    found = await store.get_session("ffff")
    assert found is not None and found.id == "ffff0000"
    exact = await store.get_session("abcd1234")
    assert exact is not None and exact.id == "abcd1234"
    with pytest.raises(StoreError, match=r"'abcd' is ambiguous .*abcd1234, abcd5678"):
        await store.get_session("abcd")
    assert await store.get_session("fff") is None  # prefixes need 4 characters
    assert await store.get_session("zzzz") is None


async def test_delete_cascades(store: Store, db_path: Path) -> None:
    main = await _session(store, "gone")
    keep = await _session(store, "kept")
    seq = await _say(store, "gone", main, "x")
    alt = await store.fork_branch("gone", main, seq, "alt")
    await _say(store, "gone", alt, "y")
    await store.add_checkpoint("gone", alt, seq=seq, turn=1, state={}, label="")
    await _say(store, "kept", keep, "z")

    assert await store.delete_session("gone") is True
    assert await store.delete_session("gone") is False
    with sqlite3.connect(db_path) as raw:
        assert raw.execute(
            "SELECT count(*) FROM branches WHERE session_id = 'gone'").fetchone()[0] == 0
        # events and checkpoints are keyed by branch number: only "kept"'s row is left
        assert raw.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0
        assert raw.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    assert [s.id for s in await store.list_sessions()] == ["kept"]


async def test_errors_name_the_file(store: Store, db_path: Path) -> None:
    main = await _session(store)
    with pytest.raises(StoreError, match=str(db_path)):
        await _say(store, "no-such-session", main, "x")
    with pytest.raises(StoreError):
        await store.fork_branch("s1", "no-such-branch", 1, "alt")
    with pytest.raises(StoreError, match="no such branch"):
        await store.set_head("s1", "no-such-branch")
    with pytest.raises(StoreError):
        await _session(store)  # duplicate id
    # a failed write leaves nothing half-done and the store usable
    assert await _say(store, "s1", main, "still fine") == 1


async def test_file_modes(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        main = await _session(store)
        await _say(store, "s1", main, "x")
        assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db_path}{suffix}")
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix


async def test_secrets_are_never_written(store: Store, db_path: Path) -> None:
    secret = "sk-live-do-not-store-0123456789"
    main = await store.create_session(
        session_id="s1",
        title="t",
        topic="t",
        pack_name="p",
        pack_json={"llm": {"api_key": secret, "base": "http://x"}},
        model="m",
    )
    await store.append_event(
        "s1",
        main,
        "usage_recorded",
        "ada",
        {
            "prompt_tokens": 7,
            "Authorization": f"Bearer {secret}",
            "headers": [{"X-Api-Key": secret, "accept": "json"}],
            "token": secret,
            "cost_usd": float("nan"),
        },
    )
    await store.add_checkpoint("s1", main, seq=1, turn=1, state={"password": secret}, label="")
    (event,) = await store.events("s1", main)
    assert event.payload == {"prompt_tokens": 7, "headers": [{"accept": "json"}], "cost_usd": None}
    session = await store.get_session("s1")
    assert session is not None and session.pack_json == {"llm": {"base": "http://x"}}
    await store.close()
    for name in os.listdir(db_path.parent):
        assert secret.encode() not in (db_path.parent / name).read_bytes(), name


async def test_reader_and_writer_connections(db_path: Path) -> None:
    writer = await Store.open(db_path)
    reader = await Store.open(db_path)
    try:
        main = await _session(writer)
        seen: list[int] = []

        async def write() -> None:
            for i in range(150):
                await _say(writer, "s1", main, f"m{i}")

        async def read() -> None:
            while len(seen) < 1 or seen[-1] < 150:
                seen.append(len(await reader.events("s1", main)))

        await asyncio.gather(write(), read())
        assert seen == sorted(seen)  # each read sees a committed prefix, never an error
        assert any(0 < n < 150 for n in seen)  # and the reads really overlapped the writes
        assert len(await reader.events("s1", main)) == 150
    finally:
        await writer.close()
        await reader.close()


async def test_two_processes_write_one_session(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        main = await _session(store)
        script = textwrap.dedent(
            f"""
            import asyncio, sys
            from pathlib import Path
            from agents.store import Store

            async def main() -> None:
                async with await Store.open(Path({str(db_path)!r})) as store:
                    print("ready", flush=True)
                    sys.stdin.readline()
                    for i in range(100):
                        await store.append_event("s1", {main!r}, "note", "child", {{"i": i}})

            asyncio.run(main())
            """
        )
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert child.stdin is not None and child.stdout is not None
        assert await child.stdout.readline() == b"ready\n"
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        for i in range(100):
            await store.append_event("s1", main, "note", "parent", {"i": i})
        assert await child.wait() == 0

        events = await store.events("s1", main)
        assert [e.seq for e in events] == list(range(1, 201))
        assert sorted(e.agent for e in events).count("child") == 100
        with sqlite3.connect(db_path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
