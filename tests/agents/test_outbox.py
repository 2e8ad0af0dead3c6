"""The outbox on a real store: held events ride along with the next write that takes a seq of
its own, a message's row is written once when it ends before it was written, and every event
reaches the consumer in the order emitted, the kept ones only once committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.events import (
    CheckpointCreated,
    Event,
    MessageCompleted,
    MessageStarted,
    TokenDelta,
    UsageRecorded,
)
from agents.outbox import Outbox
from agents.store import Store, StoreError

SID = "s1"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "outbox.db") as opened:
        yield opened


async def _branch(store: Store) -> str:
    return await store.create_session(session_id=SID, title="t", topic="caching",
                                      pack_name="review", pack_json={}, model="m")


async def _cost(store: Store) -> float:
    row = await store.get_session(SID)
    assert row is not None
    return row.cost_usd


def _started(branch: str) -> MessageStarted:
    return MessageStarted(session_id=SID, branch_id=branch, message_id="m1", agent="ada",
                          name="Ada", role="architect", turn=1)


def _done(branch: str, text: str) -> MessageCompleted:
    return MessageCompleted(session_id=SID, branch_id=branch, message_id="m1", agent="ada",
                            name="Ada", role="architect", turn=1, text=text)


def _usage(branch: str) -> UsageRecorded:
    return UsageRecorded(session_id=SID, branch_id=branch, agent="ada", model="m", turn=1,
                         prompt_tokens=10, completion_tokens=5, latency_ms=1.0, cost_usd=0.25)


def _delta(branch: str, text: str) -> TokenDelta:
    return TokenDelta(session_id=SID, branch_id=branch, message_id="m1", agent="ada", text=text)


async def test_a_turn_rides_along_with_its_checkpoint(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    saved: list[int] = []
    outbox = Outbox(store, SID, seen.append, saved.append)
    started, usage, done = _started(branch), _usage(branch), _done(branch, "Use a cache.")
    outbox.start_message(started, branch)
    outbox.emit(_delta(branch, "Use a "), branch)
    outbox.emit(usage, branch)
    outbox.finish_message(done, branch)
    assert seen == []  # nothing is delivered before it is committed, nor ahead of it
    at = await outbox.write_with(lambda first: store.add_checkpoint(
        SID, branch, seq=0, turn=1, state={}, label="", first=first))
    assert [e.kind for e in seen] == ["message_started", "token_delta", "usage_recorded",
                                      "message_completed"]
    rows = await store.events(SID, branch)
    assert [(r.kind, r.payload.get("text")) for r in rows] == [
        ("message_completed", "Use a cache."), ("usage_recorded", None)]
    assert not rows[0].payload.get("interrupted")
    assert at == saved[-1] == rows[-1].seq  # the checkpoint covers what rode along
    assert [c.seq for c in await store.checkpoints(SID, branch)] == [at]
    assert await _cost(store) == pytest.approx(0.25)
    await outbox.close()


async def test_a_message_written_while_streaming_is_finished_in_place(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    outbox = Outbox(store, SID, seen.append, lambda _seq: None)
    outbox.start_message(_started(branch), branch)
    await outbox.flush()  # as when the session waits for the model
    assert [e.kind for e in seen] == ["message_started"]
    [row] = await store.events(SID, branch)
    assert row.payload.get("interrupted") is True  # streaming: read back as interrupted
    outbox.emit(_delta(branch, "Use"), branch)  # nothing held: delivered at once
    assert seen[-1].kind == "token_delta"
    outbox.emit(_usage(branch), branch)
    outbox.finish_message(_done(branch, "Use a queue."), branch)
    outbox.emit(_delta(branch, "late"), branch)
    assert len(seen) == 2  # not kept, but it waits behind the held events
    await outbox.flush()
    assert [e.kind for e in seen[2:]] == ["usage_recorded", "message_completed", "token_delta"]
    rows = await store.events(SID, branch)
    assert [(r.seq, r.kind, r.payload.get("text")) for r in rows] == [
        (row.seq, "message_completed", "Use a queue."), (row.seq + 1, "usage_recorded", None)]
    assert not rows[0].payload.get("interrupted")
    await outbox.close()


async def test_a_failed_write_rolls_back_what_rode_along(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    outbox = Outbox(store, SID, seen.append, lambda _seq: None)
    outbox.emit(_usage(branch), branch)
    with pytest.raises(StoreError):
        await outbox.write_with(lambda first: store.add_checkpoint(
            SID, "no-such-branch", seq=0, turn=1, state={}, label="", first=first))
    assert seen == []
    assert await store.events(SID, branch) == []
    assert await _cost(store) == 0
    await outbox.close()


async def test_a_cancelled_write_still_delivers_what_it_commits(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    outbox = Outbox(store, SID, seen.append, lambda _seq: None)
    task = asyncio.create_task(outbox.write_with(lambda first: store.add_checkpoint(
        SID, branch, seq=0, turn=1, state={}, label="", first=first)))
    outbox.emit(_usage(branch), branch)  # its flush comes after the write, which takes it
    await asyncio.sleep(0)  # the write is under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [e.kind for e in seen] == ["usage_recorded"]
    assert [r.kind for r in await store.events(SID, branch)] == ["usage_recorded"]
    assert len(await store.checkpoints(SID, branch)) == 1
    await outbox.close()


def _checkpoint_made(branch: str, seq: int) -> CheckpointCreated:
    return CheckpointCreated(session_id=SID, branch_id=branch, turn=1, seq=seq, speaker="ada",
                             summary="")


async def test_a_checkpoint_written_behind_keeps_every_event_in_order(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    outbox = Outbox(store, SID, seen.append, lambda _seq: None)
    outbox.emit(_usage(branch), branch)
    outbox.write_behind(
        lambda first: store.add_checkpoint(SID, branch, seq=0, turn=1, state={"goal": "g"},
                                           label="", first=first),
        lambda seq: _checkpoint_made(branch, seq))
    # The session goes on at once; what it emits now waits behind the checkpoint.
    outbox.emit(_delta(branch, "next turn"), branch)
    outbox.start_message(_started(branch), branch)
    assert seen == []
    await outbox.close()
    assert [e.kind for e in seen] == ["usage_recorded", "checkpoint_created", "token_delta",
                                      "message_started"]
    [checkpoint] = await store.checkpoints(SID, branch)
    rows = await store.events(SID, branch)
    made = seen[1]
    assert isinstance(made, CheckpointCreated) and made.seq == checkpoint.seq == rows[0].seq
    assert [r.kind for r in rows] == ["usage_recorded", "message_completed"]
    assert rows[1].seq > checkpoint.seq  # the next turn's message comes after the checkpoint


async def test_a_message_finished_while_its_row_is_written_is_covered_by_the_checkpoint(
        store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    saved: list[int] = []
    outbox = Outbox(store, SID, seen.append, saved.append)
    outbox.start_message(_started(branch), branch)
    flushing = asyncio.create_task(outbox.flush())  # as when the session waits for the model
    await asyncio.sleep(0)  # the streaming row's write is under way
    outbox.emit(_delta(branch, "Use"), branch)  # waits: its message is not delivered yet
    outbox.finish_message(_done(branch, "Use a queue."), branch)
    outbox.write_behind(  # the session's last seq is read when the write starts
        lambda first: store.add_checkpoint(SID, branch, seq=max(saved, default=0), turn=1,
                                           state={}, label="", first=first),
        lambda seq: _checkpoint_made(branch, seq))
    await flushing
    await outbox.close()
    assert [e.kind for e in seen] == ["message_started", "token_delta", "message_completed",
                                      "checkpoint_created"]
    [row] = await store.events(SID, branch)
    assert row.payload.get("text") == "Use a queue." and not row.payload.get("interrupted")
    [checkpoint] = await store.checkpoints(SID, branch)
    assert checkpoint.seq == row.seq


async def test_a_failed_write_behind_is_raised_by_the_next_write(store: Store) -> None:
    branch = await _branch(store)
    seen: list[Event] = []
    outbox = Outbox(store, SID, seen.append, lambda _seq: None)
    outbox.emit(_usage(branch), branch)
    outbox.write_behind(
        lambda first: store.add_checkpoint(SID, "no-such-branch", seq=0, turn=1, state={},
                                           label="", first=first),
        lambda seq: _checkpoint_made(branch, seq))
    outbox.emit(_delta(branch, "next turn"), branch)
    with pytest.raises(StoreError):
        await outbox.flush()
    assert seen == []  # nothing it carried was committed, and nothing overtakes it
    assert await store.events(SID, branch) == []
    assert await _cost(store) == 0
