"""The stored view in pages: the newest page with the whole view's costs, older pages on demand."""

from __future__ import annotations

from typing import Any

from agents.events import Event
from agents.store import Store
from agents.stored import StoredPage, stored_before, stored_tail, stored_view
from personas.loader import load_pack
from tests.benchmarks import sessions


def _plain(events: list[Event]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        data = event.model_dump(mode="json")
        if data["kind"] == "checkpoint_created":
            data.pop("at")  # made when read
        out.append(data)
    return out


async def _build(store: Store, turns: int) -> str:
    pack = load_pack("design-review")
    branch = await sessions.create(store, pack)
    for number, turn in enumerate(sessions.turns(pack, turns)):
        seqs = await store.append_events(sessions.SESSION_ID, branch, turn.rows)
        await store.add_checkpoint(sessions.SESSION_ID, branch, seq=seqs[-1], turn=number,
                                   state=turn.state, label=turn.label)
    return branch


async def test_pages_add_up_to_the_whole_view(store: Store) -> None:
    main = await _build(store, 40)
    middle = await store.checkpoint_at(sessions.SESSION_ID, main, 20)
    assert middle is not None
    fork = await store.fork_branch(sessions.SESSION_ID, main, middle.seq, "alt")
    await store.append_event(sessions.SESSION_ID, fork, "note", "", {"n": 1})
    for branch in (main, fork):
        full = await stored_view(store, sessions.SESSION_ID, branch)
        pages: list[Event] = []
        before = None
        while True:
            page = await stored_before(store, sessions.SESSION_ID, branch, before, messages=7,
                                       chars=0)
            pages[:0] = page.events
            if not page.has_older:
                break
            assert page.first_seq > 1
            before = page.first_seq
        assert _plain(pages) == _plain(full)


async def test_tail_is_the_newest_messages_with_all_costs(store: Store) -> None:
    main = await _build(store, 30)
    full = await stored_view(store, sessions.SESSION_ID, main)
    tail = await stored_tail(store, sessions.SESSION_ID, main, messages=5, chars=0)
    assert tail.has_older
    said = [e for e in tail.events if e.kind == "message_completed"]
    assert 5 <= len(said) < 31
    assert _plain(tail.events) == _plain(full)[-len(tail.events):]
    usage = [e for e in full if e.kind == "usage_recorded"]
    assert round(tail.ledger.total_usd, 9) == round(sum(e.cost_usd or 0 for e in usage), 9)


async def test_a_short_session_is_one_page(store: Store) -> None:
    main = await _build(store, 6)
    full = await stored_view(store, sessions.SESSION_ID, main)
    tail = await stored_tail(store, sessions.SESSION_ID, main)
    assert not tail.has_older and tail.first_seq == 1
    assert _plain(tail) == _plain(full)


async def test_the_bridge_gives_the_tail_on_request(store: Store) -> None:
    from tui.bridge import stored_view as bridge_view

    main = await _build(store, 30)
    tail = await bridge_view(store, sessions.SESSION_ID, main, tail=True)
    # the default tail is 60 messages: 30 turns fit; a smaller page shows has_older
    assert isinstance(tail, StoredPage) and not tail.has_older
    tail = await stored_tail(store, sessions.SESSION_ID, main, messages=10, chars=0)
    assert isinstance(tail, StoredPage) and tail.has_older
    assert _plain(await bridge_view(store, sessions.SESSION_ID, main)) == _plain(
        await stored_view(store, sessions.SESSION_ID, main))
