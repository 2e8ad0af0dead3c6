"""Fan-out: five personas answer in parallel (the ``parallel`` pattern), each reply taking 300 ms
at the server (the scripted server in its own process, first byte after 300 ms); the fan-out
turn's wall time, from ``turn_started`` to its checkpoint, through the real litellm client.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.benchmarks.common import (
    Figure,
    Scale,
    at_most,
    hermetic_env,
    info,
    median,
    server_process,
)

NAME = "fanout"
TITLE = "Fan-out"
LATENCY_S = 0.3
MEMBERS = 5


def five_member_pack(rounds: int) -> Pack:
    """``estimate-panel`` (the parallel pattern) with a fifth panellist and ``rounds`` rounds."""
    pack = load_pack("estimate-panel")
    template = next(p for p in pack.personas if p.id == pack.flow.members[0])
    extra = template.model_copy(update={"id": "data", "name": "Noor, Data Engineer",
                                        "expertise": "Pipelines, schemas, backfills"})
    members = [*pack.flow.members, "data"][:MEMBERS]
    return pack.model_copy(update={
        "personas": [*pack.personas, extra],
        "flow": pack.flow.model_copy(update={"members": members, "rounds": rounds}),
        "budget": pack.budget.model_copy(update={"session_usd": None, "per_persona_usd": None}),
    })


async def fan_out_times(db: Path, api_base: str, rounds: int) -> list[float]:
    """Milliseconds of each fan-out turn (odd turns; even ones are the merges)."""
    pack = five_member_pack(rounds)
    if len(pack.flow.members) != MEMBERS:
        raise RuntimeError(f"the pack has {len(pack.flow.members)} members, not {MEMBERS}")
    store = await Store.open(db)
    try:
        session = await Session.start(
            pack=pack, topic="Estimate SSO login with Okta", store=store,
            options=RunOptions(model="openai/test-model", api_base=api_base,
                               max_turns=2 * rounds))
        started: dict[int, float] = {}
        times: list[float] = []
        async for event in session.events():
            if event.kind == "turn_started" and len(event.speakers) == MEMBERS:
                started[event.turn] = time.perf_counter()
            elif event.kind == "checkpoint_created" and event.turn in started:
                times.append((time.perf_counter() - started[event.turn]) * 1000)
        return times
    finally:
        await store.close()


async def run(scale: Scale) -> list[Figure]:
    from agents.llm.setup import load_litellm

    await asyncio.to_thread(load_litellm)  # imported once, before anything is timed
    rounds = scale.pick(5, 2, 1)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        root = Path(tmp)
        args = ("--first-byte-delay", str(LATENCY_S))
        with server_process(hermetic_env(home=root / "home"), *args) as api_base:
            await fan_out_times(root / "warm.db", api_base, 1)  # connections, first-call costs
            times = await fan_out_times(root / "fanout.db", api_base, rounds)
    limit = 1.3 * LATENCY_S * 1000
    return [
        at_most("fanout.wall_ms", f"Fan-out: {MEMBERS} personas in parallel, 300 ms each "
                f"(median of {len(times)})", median(times), limit, "ms",
                runs_ms=[round(t, 1) for t in times]),
        info("fanout.vs_latency", "Fan-out: wall time ÷ one reply's latency",
             median(times) / (LATENCY_S * 1000), "×"),
    ]
