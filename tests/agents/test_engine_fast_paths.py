"""The engine's cheaper paths keep its promises: decisions are asked for whole (not streamed),
a whole answer comes back like a streamed one, and events written in batches are each saved
before anyone sees them, in the order they happened."""

from __future__ import annotations

import json
from collections import Counter

from agents.events import PERSISTED_KINDS, Event
from agents.llm.client import LiteLLMClient, LLMChunk, LLMRequest
from agents.outbox import WRITTEN_KINDS
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error, Text, ToolCall

MESSAGES = [{"role": "user", "content": "Pick a queue."}]


def whole(server: ScriptedServer, **kw: object) -> LLMRequest:
    return LLMRequest(model="openai/test-model", messages=MESSAGES, api_base=server.url,
                      stream=False, **kw)  # type: ignore[arg-type]


async def chunks_of(request: LLMRequest) -> list[LLMChunk]:
    return [chunk async for chunk in LiteLLMClient().stream(request)]


async def test_a_whole_answer_comes_back_as_text_then_usage(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Text("Use SQS.", prompt_tokens=12, completion_tokens=3))
    chunks = await chunks_of(whole(scripted_server))
    assert [c.text for c in chunks] == ["Use SQS.", ""]
    last = chunks[-1]
    assert (last.prompt_tokens, last.completion_tokens, last.finish_reason) == (12, 3, "stop")
    body = scripted_server.chat_bodies[0]
    assert not body.get("stream") and "stream_options" not in body


async def test_a_whole_answer_carries_its_tool_calls(scripted_server: ScriptedServer) -> None:
    arguments = {"title": "Write the migrations"}
    scripted_server.script(ToolCall("add_action_item", arguments))
    chunks = await chunks_of(whole(scripted_server))
    last = chunks[-1]
    assert last.finish_reason == "tool_calls"
    assert [c.name for c in last.tool_calls] == ["add_action_item"]
    assert json.loads(last.tool_calls[0].arguments) == arguments


async def test_a_whole_answer_is_retried_like_a_stream(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Error.rate_limit(0.01), Text("Second time lucky."))
    chunks = await chunks_of(whole(scripted_server))
    assert chunks[0].text == "Second time lucky."
    assert len(scripted_server.chat_bodies) == 2


async def test_decisions_are_not_streamed_and_messages_are(
    scripted_server: ScriptedServer, store: Store,
) -> None:
    session = await Session.start(
        pack=load_pack("design-review"), topic="Pick a queue", store=store,
        options=RunOptions(model="openai/test-model", api_base=scripted_server.url,
                           max_turns=2))
    events = [event async for event in session.events()]
    assert events[-1].kind == "session_ended" and events[-1].reason == "max_turns"
    bodies = scripted_server.chat_bodies
    decisions = [b for b in bodies if b.get("response_format")]
    messages = [b for b in bodies if not b.get("response_format")]
    assert len(decisions) == 2 and len(messages) == 3
    assert not any(b.get("stream") for b in decisions)
    assert all(b["stream"] is True and b["stream_options"] == {"include_usage": True}
               for b in messages)


async def test_every_event_is_saved_before_it_is_seen_and_in_order(
    scripted_server: ScriptedServer, store: Store,
) -> None:
    """Batched writes: when an event that is kept reaches the consumer, it is in the database,
    and the database holds the kept events in the order the consumer saw them."""
    pack = load_pack("estimate-panel")  # parallel: several speakers stream at once
    session = await Session.start(
        pack=pack, topic="Estimate SSO login", store=store,
        options=RunOptions(model="openai/test-model", api_base=scripted_server.url,
                           max_turns=3))
    seen: list[Event] = []
    async for event in session.events():
        seen.append(event)
        if event.kind in WRITTEN_KINDS:
            stored = Counter(r.kind for r in await store.events(session.id, session.branch_id))
            delivered = sum(1 for e in seen if e.kind == event.kind)
            assert stored[event.kind] >= delivered, f"{event.kind} seen before it was saved"
    assert seen[-1].kind == "session_ended" and seen[-1].reason == "max_turns"
    kept = [e.kind for e in seen if e.kind in PERSISTED_KINDS]
    rows = [r.kind for r in await store.events(session.id, session.branch_id)]
    assert [k for k in rows if k != "message_completed"] == [
        k for k in kept if k != "message_completed"]
    assert Counter(rows) == Counter(kept)
    checkpoints = await store.checkpoints(session.id, session.branch_id)
    last_seq = max(r.seq for r in await store.events(session.id, session.branch_id)
                   if r.kind != "session_ended")
    assert checkpoints[-1].seq == last_seq  # the last checkpoint covers the whole last turn
