"""Budgets: with a tight budget, the recorded costs never add up to more than it.

A priced model (``openai/gpt-4o-mini``, in litellm's bundled price map) is pointed at the
scripted server, which reports every answer as long as ``max_tokens`` allows, so each call
costs close to its worst case. The moderator gives the floor to three personas at once, so
three calls are checked against the budget while none of them has been recorded yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.events import Event
from agents.llm.client import LiteLLMClient, RetryPolicy
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Budget, Pack
from tests.reliability.harness import (
    PRICED_MODEL,
    TOPIC,
    ChatResponder,
    decision_enum,
    one_sentence,
)
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Drop, Error, Reply


class Faulty:
    """A chat whose every fifth request fails once: 429, 503, or a stream dropped mid-answer
    (persona answers only: a moderator's half decision is a fatal error, tested elsewhere)."""

    def __init__(self, inner: ChatResponder, faults: bool) -> None:
        self.inner = inner
        self.faults = faults
        self.count = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.count += 1
        if self.faults and self.count % 5 == 0:
            kind = (self.count // 5) % 3
            if kind == 0:
                return Error.rate_limit(0.05)
            if kind == 1 or decision_enum(body) is not None:
                return Error.server(503)
            return Drop(after_chunks=2)
        return self.inner(body)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    db = await Store.open(tmp_path / "budget.db")
    try:
        yield db
    finally:
        await db.close()


def pack_with(budget: Budget) -> Pack:
    return load_pack("design-review").model_copy(update={"budget": budget})


async def run(server: ScriptedServer, store: Store, pack: Pack, *, faults: bool,
              speakers: int = 3, max_turns: int = 8, budget_usd: float | None = None,
              delay_s: float = 0.0) -> tuple[Session, list[Event]]:
    server.responder = Faulty(ChatResponder(speaker_counts=(speakers,), bill_max_tokens=True,
                                            delay_s=delay_s, chunk_size=4), faults)
    session = await Session.start(
        pack=pack, topic=TOPIC, store=store,
        llm=LiteLLMClient(retry=RetryPolicy(base_delay_s=0.02, max_delay_s=0.05)),
        options=RunOptions(model=PRICED_MODEL, api_base=server.url, max_turns=max_turns,
                           budget_usd=budget_usd))
    events = [event async for event in session.events()]
    return session, events


async def recorded_costs(store: Store, session: Session) -> list[dict[str, Any]]:
    usage = [e.payload for e in await store.all_events(session.id) if e.kind == "usage_recorded"]
    assert usage and all(u["cost_usd"] is not None for u in usage)  # the model is priced
    return usage


async def spent_on(store: Store, session: Session) -> float:
    return sum(u["cost_usd"] for u in await recorded_costs(store, session))


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "with-retries"])
async def test_the_session_budget_is_never_overspent(
    scripted_server: ScriptedServer, store: Store, faults: bool
) -> None:
    budget = 0.003
    session, events = await run(scripted_server, store, pack_with(Budget()), faults=faults,
                                speakers=1, max_turns=30, budget_usd=budget)
    spent = await spent_on(store, session)
    assert spent <= budget, f"spent ${spent:.6f} of a ${budget} budget"
    assert events[-1].kind == "session_ended" and events[-1].reason == "budget"
    assert one_sentence(events[-1].detail)
    assert spent > budget / 2  # the budget was what stopped it, not a lack of turns


async def test_the_session_budget_holds_when_three_speak_at_once(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    overspent: list[str] = []
    for step in range(4):  # budgets that run out at different points of a three-speaker turn
        budget = round(0.0023 + 0.0002 * step, 6)
        async with await Store.open(tmp_path / f"b{step}.db") as store:
            # answers stream for ~0.3 s, so the three calls of a turn are surely all in flight
            session, events = await run(scripted_server, store, pack_with(Budget()),
                                        faults=False, max_turns=30, budget_usd=budget,
                                        delay_s=0.012)
            spent = await spent_on(store, session)
        assert events[-1].reason == "budget"
        if spent > budget:
            overspent.append(f"${spent:.6f} of ${budget}")
    assert not overspent, f"budgets overspent: {overspent}"


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "with-retries"])
async def test_each_persona_budget_is_never_overspent(
    scripted_server: ScriptedServer, store: Store, faults: bool
) -> None:
    per_persona = 0.0012
    session, events = await run(scripted_server, store,
                                pack_with(Budget(per_persona_usd=per_persona)), faults=faults)
    spent: dict[str, float] = defaultdict(float)
    for u in await recorded_costs(store, session):
        if not u["overhead"]:
            spent[u["agent"]] += u["cost_usd"]
    over = {agent: usd for agent, usd in spent.items() if usd > per_persona}
    assert not over, f"over the ${per_persona} persona budget: {over}"
    refused = [e for e in events if e.kind == "error_raised" and "budget" in e.message]
    assert refused and all(one_sentence(e.message) for e in refused)
    assert events[-1].reason in ("max_turns", "budget")
    assert max(spent.values()) > per_persona / 2
