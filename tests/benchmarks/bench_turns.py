"""Turn overhead: what the engine itself costs per turn (moderator decision, a persona's message,
usage, state, checkpoint, every event committed), with the model taken out of the picture.

* In-process: :class:`~tests.benchmarks.common.InstantLLM` answers at once; a real store in a temp
  dir; the model is ``openai/gpt-4o-mini`` so prices, budgets and tool support are looked up as for
  a real provider. Median over 1,000 turns after a warm-up.
* Through litellm: the real :class:`~agents.llm.client.LiteLLMClient` to the scripted server (its
  own process, zero delay) on loopback; everything a real turn does except the model's thinking.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

from agents.llm.client import LLMClient
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.benchmarks.common import (
    Figure,
    InstantLLM,
    Scale,
    at_most,
    hermetic_env,
    info,
    median,
    percentile,
    server_process,
)

NAME = "turns"
TITLE = "Turn overhead"
WARMUP = 10
PRICED_MODEL = "openai/gpt-4o-mini"


async def turn_times(db: Path, turns: int, llm: LLMClient | None, model: str,
                     api_base: str | None = None) -> list[float]:
    """Milliseconds between consecutive turn checkpoints, warm-up turns left out."""
    store = await Store.open(db)
    try:
        options = RunOptions(model=model, api_base=api_base, max_turns=turns + WARMUP,
                             budget_usd=1_000_000.0)
        session = await Session.start(pack=load_pack("design-review"),
                                      topic="Add a read-through cache to the orders API",
                                      store=store, options=options, llm=llm)
        stamps: list[float] = []
        ended = ""
        async for event in session.events():
            if event.kind == "checkpoint_created":
                stamps.append(time.perf_counter())
            elif event.kind == "session_ended":
                ended = event.reason
        if ended != "max_turns":
            raise RuntimeError(f"the benchmark session ended early ({ended or 'no end event'})")
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]
        return gaps[WARMUP:]
    finally:
        await store.close()


async def run(scale: Scale) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        turns = scale.pick(1000, 200, 5)
        times = await turn_times(Path(tmp) / "instant.db", turns, InstantLLM(), PRICED_MODEL)
        figures.append(at_most(
            "turns.instant_median_ms", f"Turn overhead, instant provider (median of {turns:,})",
            median(times), 1.0, "ms", p95_ms=round(percentile(times, 95), 3)))
        figures.append(info("turns.instant_p95_ms", "Turn overhead, instant provider (p95)",
                            percentile(times, 95), "ms"))

        turns = scale.pick(200, 40, 3)
        with server_process(hermetic_env(home=Path(tmp) / "home")) as api_base:
            times = await turn_times(Path(tmp) / "litellm.db", turns, None, "openai/test-model",
                                     api_base)
        figures.append(at_most(
            "turns.litellm_median_ms",
            f"Turn through litellm to the scripted server (median of {turns:,})",
            median(times), 10.0, "ms", p95_ms=round(percentile(times, 95), 3),
            note="2 HTTP calls per turn (decision + message), zero server delay"))
    return figures
