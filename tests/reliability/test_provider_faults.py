"""Provider faults, through the real litellm client and the scripted server, into a real DB.

For every fault: the session keeps going, or stops with one clear sentence; nothing already
said is lost (every streamed token is in the saved message, every completed message is saved);
retries are bounded in count and in time.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from agents.events import Event
from agents.llm.client import LiteLLMClient, LLMChunk, LLMClient, LLMRequest, RetryPolicy
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.reliability.harness import MODEL, TOPIC, ChatResponder, decision_enum, one_sentence
from tests.support.openai_server import ScriptedServer
from tests.support.replies import ContentFilter, Drop, Error, Hang, Malformed, Reply, Text

FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.05, max_delay_s=0.2, max_total_s=10.0)
DROP_TEXT = "This reply is cut off before it ends."


class Planned:
    """Faults by arrival number: ``persona[n]`` answers the n-th persona request (the opening
    is #1; retries count), ``decision[n]`` the n-th moderator decision request; everything
    else gets a normal chat reply. Records each request's arrival time and kind."""

    def __init__(self, *, persona: dict[int, Reply] | None = None,
                 decision: dict[int, Reply] | None = None,
                 base: ChatResponder | None = None) -> None:
        self.plans = {"persona": persona or {}, "decision": decision or {}}
        self.counters = {"persona": itertools.count(1), "decision": itertools.count(1)}
        self.base = base or ChatResponder()
        self.arrivals: list[tuple[float, str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        kind = "decision" if decision_enum(body) is not None else "persona"
        with self._lock:
            number = next(self.counters[kind])
            self.arrivals.append((time.monotonic(), kind, number))
        return self.plans[kind].get(number) or self.base(body)

    def count(self, kind: str) -> int:
        return sum(1 for _, k, _ in self.arrivals if k == kind)

    def at(self, kind: str, number: int) -> float:
        return next(t for t, k, n in self.arrivals if k == kind and n == number)


@dataclass
class WithTimeout:
    """Every request with a short timeout (the engine's default is 120 s)."""

    inner: LLMClient
    timeout_s: float

    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        return self.inner.stream(replace(request, timeout_s=self.timeout_s))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    db = await Store.open(tmp_path / "faults.db")
    try:
        yield db
    finally:
        await db.close()


async def run(server: ScriptedServer, store: Store, plan: Planned, *, max_turns: int = 2,
              retry: RetryPolicy = FAST_RETRY, timeout_s: float | None = None,
              transcript_chars: int = 12000) -> tuple[Session, list[Event]]:
    server.responder = plan
    llm: LLMClient = LiteLLMClient(retry=retry)
    if timeout_s is not None:
        llm = WithTimeout(llm, timeout_s)
    session = await Session.start(
        pack=load_pack("design-review"), topic=TOPIC, store=store, llm=llm,
        options=RunOptions(model=MODEL, api_base=server.url, max_turns=max_turns,
                           transcript_chars=transcript_chars))
    events = [event async for event in session.events()]
    await assert_nothing_lost(store, session, events)
    assert_clear_ending(events)
    return session, events


async def assert_nothing_lost(store: Store, session: Session, events: list[Event]) -> None:
    """Every completed message is saved as shown, and every streamed token is in its message."""
    stored = {e.payload["message_id"]: e.payload
              for e in await store.events(session.id, session.branch_id)
              if e.kind == "message_completed"}
    streamed: dict[str, str] = {}
    for event in events:
        if event.kind == "token_delta":
            streamed[event.message_id] = streamed.get(event.message_id, "") + event.text
    for event in events:
        if event.kind != "message_completed":
            continue
        saved = stored.get(event.message_id)
        assert saved is not None, f"message {event.message_id} was shown but not saved"
        assert saved["text"] == event.text and saved["interrupted"] == event.interrupted
        assert event.text == streamed.get(event.message_id, event.text), (
            "the saved text is not what was streamed")


def assert_clear_ending(events: list[Event]) -> None:
    ended = events[-1]
    assert ended.kind == "session_ended"
    for event in events:
        if event.kind == "error_raised":
            assert one_sentence(event.message), event.message
    if ended.reason == "error":
        assert one_sentence(ended.detail), ended.detail
        assert any(e.kind == "error_raised" and e.fatal for e in events)


def messages(events: list[Event]) -> list[Any]:
    return [e for e in events if e.kind == "message_completed"]


def errors(events: list[Event]) -> list[Any]:
    return [e for e in events if e.kind == "error_raised"]


# ----------------------------------------------------------------------------- retried faults


async def test_429_retry_after_is_honoured_and_the_chat_goes_on(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(persona={2: Error.rate_limit(0.4), 3: Error.rate_limit(0.4)})
    _, events = await run(scripted_server, store, plan)
    assert events[-1].reason == "max_turns"
    assert len(messages(events)) == 3 and not any(m.interrupted for m in messages(events))
    assert not errors(events)
    assert plan.count("persona") == 3 + 2  # opening, two speakers, two retries
    for number in (2, 3):  # each retry waited for Retry-After, and not much longer
        gap = plan.at("persona", number + 1) - plan.at("persona", number)
        assert 0.38 <= gap < 2.0, gap


@pytest.mark.parametrize("fault", [Error.server(500), Error.server(503)], ids=["500", "503"])
async def test_server_errors_are_retried_and_the_chat_goes_on(
    scripted_server: ScriptedServer, store: Store, fault: Error
) -> None:
    plan = Planned(persona={2: fault, 3: fault}, decision={1: fault})
    _, events = await run(scripted_server, store, plan)
    assert events[-1].reason == "max_turns"
    assert not errors(events)
    assert len(messages(events)) == 3
    assert plan.count("persona") == 5 and plan.count("decision") == 3


@pytest.mark.parametrize(
    "fault", [Error.server(503), Error.rate_limit(0.01), Hang(5.0)], ids=["503", "429", "timeout"])
async def test_a_fault_that_persists_is_retried_a_bounded_number_of_times(
    scripted_server: ScriptedServer, store: Store, fault: Reply
) -> None:
    plan = Planned(persona={n: fault for n in range(2, 50)})
    started = time.monotonic()
    _, events = await run(scripted_server, store, plan, timeout_s=0.5,
                          retry=replace(FAST_RETRY, attempts=3))
    elapsed = time.monotonic() - started
    assert plan.count("persona") == 1 + 3  # the opening, then exactly three attempts
    assert events[-1].reason == "error"
    assert elapsed < 3 * 0.5 + 3 * 0.2 + 5.0
    opening = messages(events)[0]
    assert opening.agent == "chair" and opening.text and not opening.interrupted


async def test_retries_stop_when_their_time_budget_is_spent(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(persona={n: Error.rate_limit(0.3) for n in range(2, 50)})
    retry = RetryPolicy(attempts=10, base_delay_s=0.05, max_delay_s=0.2, max_total_s=1.0)
    await run(scripted_server, store, plan, retry=retry)
    first, last = plan.at("persona", 2), plan.arrivals[-1][0]
    assert last - first <= 1.1  # no attempt starts after the 1 s budget (+ request overhead)
    assert 3 <= plan.count("persona") - 1 <= 5  # Retry-After 0.3 s fits about 3 times in 1 s


async def test_a_timeout_is_retried_and_the_chat_goes_on(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(persona={2: Hang(5.0)})
    started = time.monotonic()
    _, events = await run(scripted_server, store, plan, timeout_s=0.5)
    assert time.monotonic() - started < 5.0  # it did not wait for the hung answer
    assert events[-1].reason == "max_turns" and not errors(events)
    assert plan.count("persona") == 4 and len(messages(events)) == 3


@pytest.mark.parametrize("fault", [Drop(after_chunks=0), Malformed(after_chunks=0)],
                         ids=["dropped", "malformed"])
async def test_a_stream_broken_before_any_text_is_retried(
    scripted_server: ScriptedServer, store: Store, fault: Reply
) -> None:
    plan = Planned(persona={2: fault}, decision={2: fault})
    _, events = await run(scripted_server, store, plan)
    assert events[-1].reason == "max_turns" and not errors(events)
    assert [m.interrupted for m in messages(events)] == [False, False, False]
    assert plan.count("persona") == 4 and plan.count("decision") == 3


# ----------------------------------------------------------------------------- broken mid-stream


@pytest.mark.parametrize(
    ("fault", "partial"),
    [(Drop(after_chunks=3, content=DROP_TEXT), DROP_TEXT[:24]),
     (Malformed(after_chunks=2, content="Half a reply"), "Half a r")],
    ids=["dropped", "malformed"])
async def test_a_stream_broken_mid_answer_keeps_what_was_said(
    scripted_server: ScriptedServer, store: Store, fault: Reply, partial: str
) -> None:
    plan = Planned(persona={2: fault})
    _, events = await run(scripted_server, store, plan, max_turns=3)
    broken = messages(events)[1]
    assert broken.interrupted and broken.text == partial
    assert plan.count("persona") == 4  # not retried: the partial answer would be repeated
    said = [e for e in errors(events) if e.agent == broken.agent]
    assert len(said) == 1 and "dropped" in said[0].message
    if events[-1].reason != "error":  # it went on: the later turns are complete
        assert events[-1].reason == "max_turns"
        assert [m.interrupted for m in messages(events)[2:]] == [False, False]


# ----------------------------------------------------------------------------- other faults


async def test_invalid_moderator_json_falls_back_visibly_and_the_chat_goes_on(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(decision={1: Text('{"speakers": ["architect"], "reason": '),
                             2: Text("no JSON here at all"),
                             3: Text('{"speakers": ["nobody"], "reason": "x", "done": false}'),
                             4: Text('{"speakers": ["critic"], "reason": "fixed", "done": false}')})
    _, events = await run(scripted_server, store, plan)
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.fallback for d in decisions] == [True, False]
    assert one_sentence(decisions[0].fallback_reason)
    assert decisions[1].speakers == ["critic"] and decisions[1].reason == "fixed"
    assert plan.count("decision") == 4  # each invalid answer retried once, no more
    assert events[-1].reason == "max_turns"


async def test_context_window_exceeded_is_reported_and_nothing_is_lost(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(persona={3: Error.context_length(), 4: Error.context_length(),
                            5: Error.context_length()})
    _, events = await run(scripted_server, store, plan, max_turns=3)
    assert events[-1].reason in ("max_turns", "error")
    said = [e for e in errors(events) if "context window" in e.message]
    assert said, [e.message for e in errors(events)]
    assert 4 <= plan.count("persona") <= 6  # at most one retry per call


def prompt_size(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body["messages"])


async def test_context_window_exceeded_trims_the_oldest_turns_and_retries_once(
    scripted_server: ScriptedServer, store: Store
) -> None:
    """The retry keeps the system prompts and a summary (the shared state, and a note that
    earlier turns were left out) but not the oldest turns; it is tried once."""
    plan = Planned(persona={5: Error.context_length()},
                   base=ChatResponder(pad_to=500, patch_every=2))
    _, events = await run(scripted_server, store, plan, max_turns=5, transcript_chars=2400)
    bodies = [b for b in scripted_server.chat_bodies if decision_enum(b) is None]
    failed, retried = bodies[4], bodies[5]
    assert plan.count("persona") == 7  # the opening, five turns, one retry
    assert events[-1].reason == "max_turns"
    assert [m.interrupted for m in messages(events)] == [False] * 6
    assert all(not e.fatal and "context" in e.message for e in errors(events))
    systems = [m for m in failed["messages"] if m["role"] == "system"]
    assert [m for m in retried["messages"] if m["role"] == "system"] == systems
    assert prompt_size(retried) < prompt_size(failed) * 0.8  # the oldest turns were cut
    decided = set(re.findall(r"Decision \d+", str(failed["messages"])))
    assert decided and decided <= set(re.findall(r"Decision \d+", str(retried["messages"])))
    assert re.search(r"earlier|omitted|summar", str(retried["messages"]), re.IGNORECASE)


@pytest.mark.parametrize(
    "fault",
    [ContentFilter("A partial answer"),
     Error(400, "Your request was rejected as a result of our safety system.",
           code="content_policy_violation")],
    ids=["finish", "refused"])
async def test_content_filter_is_reported_and_the_chat_goes_on(
    scripted_server: ScriptedServer, store: Store, fault: Reply
) -> None:
    plan = Planned(persona={2: fault})
    _, events = await run(scripted_server, store, plan, max_turns=2)
    assert events[-1].reason == "max_turns"
    said = [e for e in errors(events) if not e.fatal]
    assert len(said) == 1 and "content" in said[0].message.lower()
    filtered = messages(events)[1]
    if isinstance(fault, ContentFilter):  # the part the provider let through is kept
        assert filtered.text == "A partial answer"
    assert plan.count("persona") == 3  # refused on content: never retried
    assert not messages(events)[2].interrupted


async def test_an_authentication_error_stops_at_once_with_one_sentence(
    scripted_server: ScriptedServer, store: Store
) -> None:
    plan = Planned(persona={2: Error.auth()})
    session, events = await run(scripted_server, store, plan, max_turns=3)
    assert events[-1].reason == "error" and "API key" in events[-1].detail
    assert plan.count("persona") == 2  # never retried
    saved = [e for e in await store.events(session.id, session.branch_id)
             if e.kind == "message_completed"]
    assert saved[0].payload["agent"] == "chair" and saved[0].payload["text"]
    checkpoints = await store.checkpoints(session.id, session.branch_id)
    assert [c.turn for c in checkpoints] == [0]  # the failed turn left no checkpoint
