"""Rollback: ``Session.rollback(turn)`` to the middle of a long session, as the user's /rollback
does it (find the checkpoint, fork a branch, make it the head, load the new branch's working
state), at 1,000, 10,000 and 100,000 turns, the same number of times at each size (medians; the
first rollback after opening is reported beside them). The store's part alone (checkpoint lookup,
branch row, head switch) is reported beside it, so a slow figure says where the time goes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agents.session import Session
from agents.store import Store
from tests.benchmarks import sessions
from tests.benchmarks.common import Figure, Scale, at_most, info, median

NAME = "rollback"
TITLE = "Rollback"


async def rollback_ms(db: Path, reps: int) -> tuple[float, float, float]:
    """(median ms of ``Session.rollback`` to the middle turn, median ms of its store part, ms of
    the first rollback after opening the store)."""
    full: list[float] = []
    store_part: list[float] = []
    store = await Store.open(db)
    try:
        row = (await store.list_sessions())[0]
        middle = row.turns // 2
        for _ in range(reps):
            session = await Session.reopen(store=store, session_id=row.id,
                                           branch_id=row.head_branch)
            started = time.perf_counter()
            event = await session.rollback(middle)
            full.append((time.perf_counter() - started) * 1000)
            if event.turn != middle or session.turn != middle:
                raise RuntimeError(f"rolled back to turn {session.turn}, not {middle}")
            await store.set_head(row.id, row.head_branch)
            started = time.perf_counter()
            checkpoint = await store.checkpoint_at(row.id, row.head_branch, middle)
            assert checkpoint is not None
            await store.branches(row.id)
            branch = await store.fork_branch(row.id, row.head_branch, checkpoint.seq, "bench")
            await store.set_head(row.id, branch)
            store_part.append((time.perf_counter() - started) * 1000)
            await store.set_head(row.id, row.head_branch)
    finally:
        await store.close()
    return median(full), median(store_part), full[0]


async def run(scale: Scale) -> list[Figure]:
    sizes = [scale.pick(1000, 500, 20), scale.pick(10_000, 2000, 50),
             scale.pick(100_000, 10_000, 100)]
    # The same number of rollbacks at every size, so the growth ratio compares like with like
    # (a single first rollback at one size against a median of warm ones at another would not).
    rep = scale.pick(5, 3, 1)
    reps = [rep, rep, rep]
    results: dict[int, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rollback-") as tmp:
        for size, times in zip(sizes, reps, strict=True):
            db = Path(tmp) / f"r{size}.db"
            await sessions.build(db, size)
            results[size] = await rollback_ms(db, times)
            db.unlink()
    small, middle, large = sizes
    figures = [
        at_most("rollback.mid_ms", f"Rollback to the middle of {middle:,} turns",
                results[middle][0], 20.0, "ms"),
        at_most("rollback.growth", f"Rollback at {large:,} turns ÷ at {small:,} "
                f"(medians of {rep})",
                results[large][0] / results[small][0], 1.5, "×"),
    ]
    for size in sizes:
        figures.append(info(f"rollback.ms_{size}", f"Rollback at {size:,} turns",
                            results[size][0], "ms", store_part_ms=round(results[size][1], 2),
                            first_ms=round(results[size][2], 2)))
    figures.append(info("rollback.store_part_ms", f"Rollback's store part (checkpoint, fork, head) "
                        f"at {large:,} turns", results[large][1], "ms"))
    return figures
