"""Concurrency: readers never see "database is locked" while a run writes, and two `agentchat
run` processes share one database file without harm."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.events import PERSISTED_KINDS
from agents.store import Store
from tests.reliability.harness import (
    ChatResponder,
    SocketLines,
    Zygote,
    integrity,
    json_lines,
    run_args,
)
from tests.support.openai_server import ScriptedServer


@pytest.fixture
def busy_server() -> Iterator[ScriptedServer]:
    """Short streamed answers, one or three speakers a turn, state patches: many commits."""
    with ScriptedServer() as server:
        server.responder = ChatResponder(delay_s=0.003, chunk_size=6, speaker_counts=(1, 3),
                                         patch_every=2)
        yield server


class Run:
    """One `agentchat run --json` process whose stdout is collected as it comes."""

    def __init__(self, zygote: Zygote, server: ScriptedServer, db: Path, tag: str,
                 turns: int) -> None:
        self.zygote = zygote
        self.lines = SocketLines(f"\0agentchat-conc-{os.getpid()}-{tag}")
        self.pid = zygote.spawn(run_args(server, db, "--max-turns", str(turns), "--json"),
                                stdout_socket=self.lines.name, stderr=db.parent / f"{tag}.err")
        self.lines.accept()
        self.events: list[dict[str, Any]] = []
        self.drained = asyncio.ensure_future(asyncio.to_thread(self._drain))

    def _drain(self) -> None:
        while (line := self.lines.next_line(time.monotonic() + 60)) is not None:
            self.events += json_lines(line)

    async def session_id(self) -> str:
        while not self.events:  # the first line is session_started, sent after its commit
            if self.drained.done():
                raise AssertionError("the run printed nothing")
            await asyncio.sleep(0.01)
        return str(self.events[0]["session_id"])

    async def finish(self) -> int:
        await self.drained
        self.lines.close()
        return await asyncio.to_thread(self.zygote.wait, self.pid)


async def read_timeline_until(runs: list[Run], db: Path) -> tuple[int, set[int]]:
    """Read every session's timeline in a loop until the runs end; raises on any store error
    (a lock included). Returns the number of rounds and the checkpoint counts seen."""
    ids = [await run.session_id() for run in runs]
    rounds, sizes = 0, set()
    async with await Store.open(db) as store:
        while not all(run.drained.done() for run in runs):
            for session_id in ids:
                row = await store.get_session(session_id)
                assert row is not None
                checkpoints = await store.checkpoints(session_id, row.head_branch)
                await store.events(session_id, row.head_branch)
                await store.branches(session_id)
                sizes.add(len(checkpoints))
            await store.list_sessions()
            rounds += 1
            if rounds % 10 == 0:  # the session browser opens the file meanwhile, too
                async with await Store.open(db) as other:
                    await other.list_sessions()
    return rounds, sizes


async def check_saved(run: Run, db: Path, turns: int) -> None:
    ended = run.events[-1]
    assert ended["kind"] == "session_ended" and ended["reason"] == "max_turns", ended
    assert not [e for e in run.events if e["kind"] == "error_raised"]
    async with await Store.open(db) as store:
        row = await store.get_session(ended["session_id"])
        assert row is not None and row.turns == turns
        stored = Counter(e.kind for e in await store.events(row.id, row.head_branch))
    printed = Counter(e["kind"] for e in run.events if e["kind"] in PERSISTED_KINDS)
    assert stored == printed


async def test_reading_the_timeline_while_a_run_writes_never_meets_a_lock(
    zygote: Zygote, busy_server: ScriptedServer, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    run = Run(zygote, busy_server, db, "solo", turns=10)
    rounds, sizes = await read_timeline_until([run], db)
    assert await run.finish() == 0
    assert rounds >= 20 and len(sizes) >= 4  # it read often, and saw the timeline grow
    await check_saved(run, db, 10)
    assert integrity(db) == "ok"


async def test_two_runs_on_one_database_both_complete(
    zygote: Zygote, busy_server: ScriptedServer, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"  # not created yet: both processes race to create it
    runs = [Run(zygote, busy_server, db, f"twin{i}", turns=6) for i in range(2)]
    rounds, _ = await read_timeline_until(runs, db)
    assert [await run.finish() for run in runs] == [0, 0]
    assert rounds >= 10
    for run in runs:
        await check_saved(run, db, 6)
    assert {r.id for r in await _sessions(db)} == {run.events[0]["session_id"] for run in runs}
    assert integrity(db) == "ok"


async def _sessions(db: Path) -> list[Any]:
    async with await Store.open(db) as store:
        return await store.list_sessions()
