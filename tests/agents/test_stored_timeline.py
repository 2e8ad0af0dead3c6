"""The timeline of a stored view read on its own (checkpoints and forks, not the messages), and
the steps that move the workflow graph."""

from __future__ import annotations

from agents.events import BranchForked, CheckpointCreated, Event, event_payload
from agents.store import Store
from agents.stored import (
    STEP_KINDS,
    TRANSCRIPT_KINDS,
    stored_before,
    stored_steps,
    stored_timeline,
    stored_view,
)
from tests.agents.test_stored import _build, _plain
from tests.benchmarks import sessions


def _timeline(events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, (CheckpointCreated, BranchForked))]


async def test_the_timeline_is_the_views_checkpoints_and_forks(store: Store) -> None:
    main = await _build(store, 30)
    middle = await store.checkpoint_at(sessions.SESSION_ID, main, 12)
    assert middle is not None
    fork = await store.fork_branch(sessions.SESSION_ID, main, middle.seq, "alt")
    forked = BranchForked(session_id=sessions.SESSION_ID, branch_id=fork, parent_branch_id=main,
                          fork_seq=middle.seq, turn=12, name="alt")
    await store.append_event(sessions.SESSION_ID, fork, forked.kind, "", event_payload(forked))
    for branch in (main, fork):
        full = _timeline(await stored_view(store, sessions.SESSION_ID, branch))
        assert _plain(await stored_timeline(store, sessions.SESSION_ID, branch)) == _plain(full)
    assert any(isinstance(e, BranchForked) for e in full)
    assert all(isinstance(e, CheckpointCreated) and e.speaker for e in full[:5])


async def test_the_timeline_before_a_page(store: Store) -> None:
    main = await _build(store, 30)
    page = await stored_before(store, sessions.SESSION_ID, main, None, messages=5, chars=0)
    older = await stored_timeline(store, sessions.SESSION_ID, main, page.first_seq - 1)
    full = _timeline(await stored_view(store, sessions.SESSION_ID, main))
    assert _plain(older + _timeline(page.events)) == _plain(full)


def _steps(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind in STEP_KINDS]


async def test_the_steps_are_the_views_decisions_turns_tasks_and_handoffs(store: Store) -> None:
    main = await _build(store, 30)
    middle = await store.checkpoint_at(sessions.SESSION_ID, main, 12)
    assert middle is not None
    fork = await store.fork_branch(sessions.SESSION_ID, main, middle.seq, "alt")
    for branch in (main, fork):
        full = _steps(await stored_view(store, sessions.SESSION_ID, branch))
        assert _plain(await stored_steps(store, sessions.SESSION_ID, branch)) == _plain(full)
    assert {e.kind for e in full} >= {"turn_started", "moderator_decision"}
    assert len([e for e in full if e.kind == "turn_started"]) == 12


async def test_the_steps_before_a_page(store: Store) -> None:
    main = await _build(store, 30)
    page = await stored_before(store, sessions.SESSION_ID, main, None, messages=5, chars=0)
    assert page.has_older
    older = await stored_steps(store, sessions.SESSION_ID, main, page.first_seq - 1)
    full = _steps(await stored_view(store, sessions.SESSION_ID, main))
    assert older and _plain(older + _steps(page.events)) == _plain(full)


async def test_a_page_of_the_transcripts_kinds_only(store: Store) -> None:
    main = await _build(store, 30)
    page = await stored_before(store, sessions.SESSION_ID, main, None, messages=5, chars=0)
    whole = await stored_before(store, sessions.SESSION_ID, main, page.first_seq,
                                messages=2**31, chars=0)
    shown = await stored_before(store, sessions.SESSION_ID, main, page.first_seq,
                                messages=2**31, chars=0, kinds=TRANSCRIPT_KINDS)
    assert (shown.first_seq, shown.has_older) == (whole.first_seq, whole.has_older) == (1, False)
    assert _plain(shown.events) == _plain([e for e in whole.events if e.kind in TRANSCRIPT_KINDS])
    assert {e.kind for e in whole.events} - {e.kind for e in shown.events} >= {
        "usage_recorded", "turn_started", "checkpoint_created"}
