"""Rollback at the first, a middle and the last turn; rollback of a rollback; edit and re-run;
compare two branches; resume with routing state restored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.compare import compare_branches
from agents.history import load_events
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    db = await Store.open(tmp_path / "t.db")
    try:
        yield db
    finally:
        await db.close()


def opts(server: ScriptedServer, max_turns: int) -> RunOptions:
    return RunOptions(model="openai/test-model", api_base=server.url, max_turns=max_turns)


async def run(session: Session) -> None:
    async for _ in session.events():
        pass


async def messages(store: Store, session: Session) -> list[Any]:
    return [e for e in await load_events(store, session.id, session.branch_id)
            if e.kind == "message_completed"]


async def new_session(server: ScriptedServer, store: Store, turns: int) -> Session:
    session = await Session.start(pack=load_pack("design-review"), topic="t", store=store,
                                  options=opts(server, turns))
    await run(session)
    return session


@pytest.mark.parametrize("turn", [0, 3, 6])
async def test_rollback_at_first_middle_and_last_turn(
    scripted_server: ScriptedServer, store: Store, turn: int
) -> None:
    session = await new_session(scripted_server, store, 6)
    original = session.branch_id
    before = [m.text for m in await messages(store, session)]
    await session.rollback(turn)
    view = await messages(store, session)
    assert [m.text for m in view] == before[: turn + 1]  # the opening plus one per turn
    assert all(m.turn <= turn for m in view)
    session.max_turns = turn + 2
    await run(session)
    after = await messages(store, session)
    assert [m.turn for m in after][-2:] == [turn + 1, turn + 2]
    # the old branch is intact and still listed
    old = [e for e in await load_events(store, session.id, original)
           if e.kind == "message_completed"]
    assert [m.text for m in old] == before
    assert {b.id for b in await store.branches(session.id)} >= {original, session.branch_id}


async def test_rollback_of_a_rollback(scripted_server: ScriptedServer, store: Store) -> None:
    session = await new_session(scripted_server, store, 5)
    await session.rollback(4)
    session.max_turns = 6
    await run(session)
    second = session.branch_id
    await session.rollback(2)
    branches = {b.id: b for b in await store.branches(session.id)}
    assert branches[session.branch_id].parent_branch == second
    assert [m.turn for m in await messages(store, session)] == [0, 1, 2]
    assert session.turn == 2


async def test_edit_and_rerun(scripted_server: ScriptedServer, store: Store) -> None:
    session = await new_session(scripted_server, store, 3)
    original = session.branch_id
    target = next(m for m in await messages(store, session) if m.turn == 2)
    await session.rollback(2)
    edited = await session.edit_message(target.message_id, "Let us consider SQLite instead.")
    assert edited.edited and edited.agent == target.agent
    texts = [m.text for m in await messages(store, session)]
    assert texts[-1] == "Let us consider SQLite instead." and target.text not in texts
    session.max_turns = 3
    await run(session)
    # the next speaker saw the edited text, not the original
    last_body = scripted_server.chat_bodies[-1]
    prompt = "\n".join(str(m["content"]) for m in last_body["messages"])
    assert "Let us consider SQLite instead." in prompt and target.text not in prompt
    old_texts = [e.text for e in await load_events(store, session.id, original)
                 if e.kind == "message_completed"]
    assert target.text in old_texts and "Let us consider SQLite instead." not in old_texts
    with pytest.raises(ValueError, match="no message"):
        await session.edit_message("nope", "x")


async def test_compare_two_branches(scripted_server: ScriptedServer, store: Store) -> None:
    default = DefaultResponder()
    plan = iter([])

    def responder(body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return default(body)
        return Text(next(plan, "A thought."))

    scripted_server.responder = responder
    session = await new_session(scripted_server, store, 4)
    left = session.branch_id
    plan = iter(['Switching.\n```json\n{"state_patch": {"add_decisions": ["Use SQLite"], '
                 '"put_artifacts": [{"name": "plan.md", "content": "1. do it"}]}}\n```'])
    await session.rollback(2)
    session.say("What about SQLite?")
    session.max_turns = 4
    await run(session)
    result = await compare_branches(store, session.id, left, session.branch_id)
    assert result.fork_turn == 2
    # the human spoke after turn 2 on the new branch; turns 3 and 4 exist on both
    assert [p.turn for p in result.turns] == [2, 3, 4]
    assert not result.turns[0].left and result.turns[0].right[0].agent == "human"
    assert all(p.left and p.right for p in result.turns[1:])
    assert result.state.decisions.added == ["Use SQLite"]
    assert result.state.artifacts.added == ["plan.md"]
    assert not result.state.decisions.removed
    assert result.right_cost.overhead.calls == 2 and result.left_cost.overhead.calls == 2
    human = [m for p in result.turns for m in p.right if m.agent == "human"]
    assert human and human[0].text == "What about SQLite?"
    by_name = await compare_branches(store, session.id, "main", session.branch_id[:6])
    assert by_name.fork_seq == result.fork_seq


async def test_resume_restores_routing_state(scripted_server: ScriptedServer,
                                             store: Store) -> None:
    session = await new_session(scripted_server, store, 2)
    cps = await store.checkpoints(session.id, session.branch_id)
    assert "_routing" in cps[-1].state
    again = await Session.reopen(store=store, session_id=session.id,
                                 options=opts(scripted_server, 3))
    assert again.turn == 2 and again.last_speaker == session.last_speaker
    assert again.ledger.total_tokens == session.ledger.total_tokens
    assert again.state == session.state


async def test_reopen_keeps_the_limits_the_session_ran_with(
    scripted_server: ScriptedServer, store: Store
) -> None:
    first = await Session.start(
        pack=load_pack("design-review"), topic="t", store=store,
        options=RunOptions(model="openai/test-model", api_base=scripted_server.url,
                           max_turns=2, budget_usd=5.0))
    await run(first)
    plain = RunOptions(model="openai/test-model", api_base=scripted_server.url)
    again = await Session.reopen(store=store, session_id=first.id, options=plain)
    assert again.max_turns == 2 and again.budget_usd == 5.0
    raised = await Session.reopen(store=store, session_id=first.id, options=opts(
        scripted_server, 4))
    assert raised.max_turns == 4 and raised.budget_usd == 5.0
    assert plain.max_turns is None  # the caller's options are not changed
