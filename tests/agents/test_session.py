"""The group chat run loop against the scripted server, through the real litellm and a real DB."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents.events import Event
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Error, Reply, Text, ToolCall
from tests.support.sessions import collect, is_decision


def options(server: ScriptedServer, **kw: Any) -> RunOptions:
    base: dict[str, Any] = {"model": "openai/test-model", "api_base": server.url, "max_turns": 3}
    base.update(kw)
    return RunOptions(**base)


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body["messages"])


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


async def test_group_chat_runs_and_everything_is_saved(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="Pick a queue", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    assert events[0].kind == "session_started"
    assert events[-1].kind == "session_ended"
    assert events[-1].reason == "max_turns"
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert len(decisions) == 3
    speakers = {p.id for p in pack.speakers}
    for decision in decisions:
        assert decision.speakers and set(decision.speakers) <= speakers
        assert not decision.fallback
        assert decision.reason
    messages = [e for e in events if e.kind == "message_completed"]
    assert messages[0].agent == pack.moderator.id  # the opening
    assert len(messages) == 4
    assert all(m.text and not m.interrupted for m in messages)
    usage = [e for e in events if e.kind == "usage_recorded"]
    assert sum(1 for u in usage if u.overhead) == 3
    assert all(u.cost_usd is None for u in usage)  # an unknown model is unpriced, not $0
    assert [e.turn for e in events if e.kind == "checkpoint_created"] == [0, 1, 2, 3]

    stored = await store.events(session.id, session.branch_id)
    stored_kinds = [r.kind for r in stored]
    assert stored_kinds.count("message_completed") == 4
    assert stored_kinds.count("moderator_decision") == 3
    assert stored_kinds.count("usage_recorded") == len(usage)
    assert [c.turn for c in await store.checkpoints(session.id, session.branch_id)] == [0, 1, 2, 3]
    row = await store.get_session(session.id)
    assert row is not None and row.turns == 3 and row.pack_name == "design-review"


async def test_invalid_decision_is_retried_once_then_falls_back(
    scripted_server: ScriptedServer, store: Store
) -> None:
    default = DefaultResponder()
    decisions: list[int] = []

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body):
            decisions.append(1)
            return Text('{"speakers": ["nobody"], "reason": "x", "done": false}')
        return default(body)

    scripted_server.responder = responder
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=2))
    events = await collect(session)
    made = [e for e in events if e.kind == "moderator_decision"]
    assert len(decisions) == 4  # two tries per turn
    assert all(d.fallback for d in made)
    assert "unknown speaker" in made[0].fallback_reason
    order = [p.id for p in pack.speakers]
    assert made[0].speakers == [order[0]] and made[1].speakers == [order[1]]
    # the retry tells the moderator what was wrong
    retry_bodies = [b for b in scripted_server.chat_bodies if is_decision(b)]
    assert "previous answer was invalid" in user_text(retry_bodies[1])


async def test_decision_valid_on_retry_is_used(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    critic = next(p.id for p in pack.personas if p.role == "critic")
    default = DefaultResponder()
    answers = iter(["not json at all",
                    json.dumps({"speakers": [critic], "reason": "challenge it", "done": False})])

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body):
            return Text(next(answers, '{"speakers": [], "reason": "", "done": true}'))
        return default(body)

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await collect(session)
    decision = next(e for e in events if e.kind == "moderator_decision")
    assert decision.speakers == [critic] and not decision.fallback
    assert decision.reason == "challenge it"


async def test_moderator_can_declare_the_goal_met(
    scripted_server: ScriptedServer, store: Store
) -> None:
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body):
            return Text('{"speakers": ["critic"], "reason": "all settled", "done": true}')
        return default(body)

    scripted_server.responder = responder
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=5))
    events = await collect(session)
    assert events[-1].kind == "session_ended" and events[-1].reason == "goal_met"
    assert events[-1].detail == "all settled"


async def test_fenced_state_patch_applies_and_invalid_one_is_rejected(
    scripted_server: ScriptedServer, store: Store
) -> None:
    default = DefaultResponder()
    speeches = iter([
        "Opening.",
        'We agree.\n```json\n{"state_patch": {"add_decisions": ["Use Postgres"], '
        '"add_action_items": [{"text": "Write migration", "owner": "sre"}]}}\n```',
        'Bad patch.\n```json\n{"state_patch": {"add_decisions": "not a list"}}\n```',
        'Resolving.\n```json\n{"state_patch": {"resolve_questions": ["never asked"]}}\n```',
    ])

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body):
            return default(body)
        return Text(next(speeches, "More."))

    scripted_server.responder = responder
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=3))
    events = await collect(session)
    patched = [e for e in events if e.kind == "state_patched"]
    rejected = [e for e in events if e.kind == "patch_rejected"]
    assert len(patched) == 1
    assert patched[0].state.decisions == ["Use Postgres"]
    assert patched[0].state.action_items[0].owner == "sre"
    assert len(rejected) == 2
    assert "add_decisions" in rejected[0].error
    assert "never asked" in rejected[1].error
    assert events[-1].reason == "max_turns"  # the turns went on
    assert session.state.decisions == ["Use Postgres"]
    checkpoints = await store.checkpoints(session.id, session.branch_id)
    assert checkpoints[-1].state["decisions"] == ["Use Postgres"]


async def test_tool_call_patch_with_a_priced_model(
    scripted_server: ScriptedServer, store: Store
) -> None:
    default = DefaultResponder()
    calls = iter([ToolCall("update_shared_state",
                           {"put_artifacts": [{"name": "plan.md", "kind": "plan",
                                               "content": "1. migrate"}]},
                           content="Here is the plan.")])

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body) or "tools" not in body:
            return default(body)
        return next(calls, Text("Fine."))

    scripted_server.responder = responder
    pack = load_pack("design-review")
    session = await Session.start(
        pack=pack, topic="t", store=store,
        options=options(scripted_server, model="openai/gpt-4o-mini", max_turns=1))
    events = await collect(session)
    tool_bodies = [b for b in scripted_server.chat_bodies if "tools" in b]
    assert tool_bodies, "a model that supports tools gets the patch tool"
    assert tool_bodies[0]["tools"][0]["function"]["name"] == "update_shared_state"
    patched = [e for e in events if e.kind == "state_patched"]
    assert patched and "plan.md" in patched[0].state.artifacts
    usage = [e for e in events if e.kind == "usage_recorded"]
    assert all(u.cost_usd is not None and u.cost_usd > 0 for u in usage)


async def test_budget_stops_before_it_is_overspent(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    budget = 0.0009
    session = await Session.start(
        pack=pack, topic="t", store=store,
        options=options(scripted_server, model="openai/gpt-4o-mini", max_turns=50,
                        budget_usd=budget))
    events = await collect(session)
    assert events[-1].reason == "budget"
    spent = sum(e.cost_usd or 0 for e in events if e.kind == "usage_recorded")
    assert 0 < spent <= budget
    assert session.turn < 50


async def test_stop_mid_stream_keeps_partial_text_marked_interrupted(
    scripted_server: ScriptedServer, store: Store
) -> None:
    scripted_server.script(Text("word " * 400, chunk_size=5, delay_s=0.02))
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events: list[Event] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "token_delta" and sum(e.kind == "token_delta" for e in events) == 3:
            session.stop()
    done = [e for e in events if e.kind == "message_completed"]
    assert len(done) == 1 and done[0].interrupted
    assert 0 < len(done[0].text) < len("word " * 400)
    assert events[-1].kind == "session_ended" and events[-1].reason == "user"
    rows = [r for r in await store.events(session.id, session.branch_id)
            if r.kind == "message_completed"]
    assert rows[0].payload["interrupted"] is True
    assert rows[0].payload["text"] == done[0].text


async def test_human_message_reaches_the_moderator(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    critic = next(p for p in pack.personas if p.role == "critic")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=2))
    events: list[Event] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "checkpoint_created" and event.turn == 0:
            session.say(f"@{critic.id} what could go wrong with the cutover?")
    human = [e for e in events if e.kind == "message_completed" and e.agent == "human"]
    assert len(human) == 1 and human[0].to == critic.id
    assert human[0].text == "what could go wrong with the cutover?"
    # the moderator hears it on its next decision (the one for turn 1 may already be in flight)
    decision_bodies = [b for b in scripted_server.chat_bodies if is_decision(b)]
    heard = [b for b in decision_bodies if "what could go wrong with the cutover?" in user_text(b)]
    assert heard and f"@{critic.id}" in user_text(heard[0])
    stored = await store.events(session.id, session.branch_id)
    assert any(r.kind == "message_completed" and r.agent == "human" for r in stored)


async def test_pause_step_resume(scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=4))
    session.pause()
    events: list[Event] = []
    turns_when_paused: list[int] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "session_paused" and event.paused:
            turns_when_paused.append(session.turn)
            if len(turns_when_paused) == 1:
                session.step()
            else:
                session.resume()
    # paused after the opening (turn 0), stepped exactly one turn, paused again at turn 1
    assert turns_when_paused == [0, 1]
    assert events[-1].reason == "max_turns" and session.turn == 4


async def test_retry_on_429_then_success(scripted_server: ScriptedServer, store: Store) -> None:
    scripted_server.script(Error.rate_limit(retry_after=0.05), Error.server(503))
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await collect(session)
    assert events[-1].reason == "max_turns"
    opening = next(e for e in events if e.kind == "message_completed")
    assert opening.text and not opening.interrupted


async def test_auth_error_stops_the_session_with_one_sentence(
    scripted_server: ScriptedServer, store: Store
) -> None:
    scripted_server.script(Error.auth())
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert events[-1].kind == "session_ended" and events[-1].reason == "error"
    error = next(e for e in events if e.kind == "error_raised")
    assert error.fatal and "API key" in error.message
    assert "\n" not in error.message and "Traceback" not in error.message


async def test_reopen_continues_from_the_last_checkpoint(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    first = await Session.start(pack=pack, topic="t", store=store,
                                options=options(scripted_server, max_turns=2))
    await collect(first)
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=4))
    assert again.turn == 2 and again.opened
    assert again.last_speaker == first.last_speaker
    assert len(again.lines) == len(first.lines)
    events = await collect(again)
    assert [e.turn for e in events if e.kind == "checkpoint_created"] == [3, 4]
    assert not any(e.kind == "message_completed" and e.turn == 0 for e in events)


async def test_rollback_forks_a_branch_that_never_sees_later_messages(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("design-review")
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=3))
    await collect(session)
    old_branch = session.branch_id
    old_count = len(session.lines)
    fork = await session.rollback(1)
    assert fork.parent_branch_id == old_branch and session.branch_id != old_branch
    assert session.turn == 1 and len(session.lines) == 2
    session.max_turns = 2
    await collect(session)
    new_view = await store.events(session.id, session.branch_id)
    old_view = await store.events(session.id, old_branch)
    assert sum(r.kind == "message_completed" for r in old_view) == old_count
    assert sum(r.kind == "message_completed" for r in new_view) == 3
    old_seqs = {r.seq for r in old_view}
    fork_seq = fork.fork_seq
    assert not any(r.seq in old_seqs and r.seq > fork_seq for r in new_view)


async def test_concurrent_sessions_do_not_interfere(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack("code-review")
    a = await Session.start(pack=pack, topic="a", store=store, options=options(scripted_server))
    b = await Session.start(pack=pack, topic="b", store=store, options=options(scripted_server))
    ea, eb = await asyncio.gather(collect(a), collect(b))
    assert ea[-1].reason == eb[-1].reason == "max_turns"
    assert {e.session_id for e in ea} == {a.id}
