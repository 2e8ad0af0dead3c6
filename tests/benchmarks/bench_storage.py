"""Storage: bytes on disk per turn must not grow with the session's length, and must stay close
to what was actually said (the raw UTF-8 bytes of the messages).

Sessions of 1,000 and 10,000 turns are built with the engine's rows (see
:mod:`tests.benchmarks.sessions`); the size is the database file with its WAL after the store is
closed. Two cross-checks keep the synthetic sessions honest: the same 1,000 turns written through
the Store API, and a session written by the engine itself (instant provider).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agents.store import Store
from tests.benchmarks import sessions
from tests.benchmarks.bench_turns import PRICED_MODEL, turn_times
from tests.benchmarks.common import Figure, InstantLLM, Scale, at_most, info

NAME = "storage"
TITLE = "Storage"


async def engine_session(db: Path, count: int) -> tuple[int, int]:
    """(bytes on disk, message bytes) of a session the engine wrote itself."""
    await turn_times(db, count, InstantLLM(), PRICED_MODEL)
    store = await Store.open(db)
    try:
        row = (await store.list_sessions())[0]
        events = await store.events(row.id, row.head_branch)
    finally:
        await store.close()
    said = sum(len(str(e.payload.get("text", "")).encode()) for e in events
               if e.kind == "message_completed")
    return sessions.disk_bytes(db), said


async def run(scale: Scale) -> list[Figure]:
    small, large = scale.pick(1000, 1000, 20), scale.pick(10_000, 4000, 60)
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        root = Path(tmp)
        per_turn: dict[int, float] = {}
        ratio: dict[int, float] = {}
        for count in (small, large):
            db = root / f"s{count}.db"
            built = await sessions.build(db, count)
            size = sessions.disk_bytes(db)
            per_turn[count] = size / count
            ratio[count] = size / built.message_bytes
        via_store = root / "via-store.db"
        built = await sessions.build(via_store, small, via="store")
        store_per_turn = sessions.disk_bytes(via_store) / small
        engine_turns = scale.pick(300, 100, 3)
        engine_bytes, engine_said = await engine_session(root / "engine.db", engine_turns)
    growth = per_turn[large] / per_turn[small]
    return [
        info("storage.bytes_per_turn_small", f"Storage: bytes on disk per turn at {small:,}",
             per_turn[small], "B"),
        info("storage.bytes_per_turn_large", f"Storage: bytes on disk per turn at {large:,}",
             per_turn[large], "B"),
        at_most("storage.growth", f"Storage: per-turn bytes at {large:,} ÷ at {small:,} "
                "(within 10%)", growth, 1.10, "×",
                note="" if growth >= 0.9 else "shrinks by more than 10%"),
        at_most("storage.vs_message_bytes", f"Storage: bytes on disk ÷ raw message bytes at "
                f"{large:,}", ratio[large], 1.5, "×",
                note="messages of 300-600 bytes; the rest is metadata, checkpoints, indexes"),
        info("storage.store_api_bytes_per_turn",
             f"Storage: same {small:,} turns through the Store API, bytes per turn",
             store_per_turn, "B", vs_direct=round(store_per_turn / per_turn[small], 3)),
        info("storage.engine_vs_message_bytes",
             f"Storage: engine-written session ({engine_turns} turns) ÷ its message bytes",
             engine_bytes / max(1, engine_said), "×",
             bytes_per_turn=round(engine_bytes / engine_turns, 1)),
    ]
