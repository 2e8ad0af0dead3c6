"""What the screen shows of a stored branch: its events with checkpoints slotted in.

:func:`stored_view` reads the whole view (exports and tests compare against it).
:func:`stored_tail` reads only what a reopened session's first screen needs, at a cost that does
not grow with the session's length: the newest messages (at least ``messages`` of them, or
``chars`` characters) with every event and checkpoint since the oldest of them, the running cost
ledger of the whole view (from the newest checkpoint's totals plus the usage after them), and
whether older messages exist. :func:`stored_before` loads the page before a ``first_seq`` (the
transcript scrolled up); calling it until ``has_older`` is False yields the whole view.
:func:`stored_timeline` reads only the checkpoints and branch forks of a view (the timeline of a
page's older part), without the messages; :func:`stored_steps` only the events that move the
workflow graph (who was chosen to speak, delegated tasks, handoffs).
"""

from __future__ import annotations

import asyncio

from agents.cost import CostLedger
from agents.events import BranchForked, CheckpointCreated, Event, TurnStarted, UsageRecorded
from agents.history import ledger_from_meta, to_event
from agents.store import EventRow, Store

#: How much a reopened screen loads at first (the transcript shows far less).
TAIL_MESSAGES = 60
TAIL_CHARS = 48_000
#: Seqs per read of :func:`stored_timeline` (about 1,000 turns of the engine's rows).
TIMELINE_SLICE = 6_000


class StoredPage(list[Event]):
    """A page of a branch view: its events from ``first_seq`` on (checkpoints slotted in as
    :class:`CheckpointCreated`), ``has_older`` when the view has messages before it, and, from
    :func:`stored_tail`, ``ledger``: the whole view's costs (not only this page's usage)."""

    def __init__(self, events: list[Event], first_seq: int, has_older: bool,
                 ledger: CostLedger | None = None) -> None:
        super().__init__(events)
        self.first_seq = first_seq
        self.has_older = has_older
        self.ledger = ledger if ledger is not None else CostLedger()

    @property
    def events(self) -> list[Event]:
        return list(self)


#: Rows turned into events between two chances for the caller's loop to draw a frame.
CONVERT_SLICE = 2000


async def _converted(session_id: str, rows: list[EventRow]) -> list[tuple[int, Event | None]]:
    """(seq, typed event or None) of each row, a slice at a time (a long page) so that the
    caller's event loop is not held for the whole of it."""
    events: list[tuple[int, Event | None]] = []
    for start in range(0, len(rows), CONVERT_SLICE):
        if start:
            await asyncio.sleep(0)
        events += [(row.seq, to_event(row.kind, row.payload, session_id, row.branch_id))
                   for row in rows[start:start + CONVERT_SLICE]]
    return events


def _merge(session_id: str, rows: list[EventRow], marks: list[tuple[int, str, int, str]],
           converted: list[tuple[int, Event | None]]) -> list[Event]:
    speakers: dict[int, str] = {}
    out: list[tuple[int, int, Event]] = []
    for seq, event in converted:
        if event is None:
            continue
        if isinstance(event, TurnStarted):
            speakers[event.turn] = ",".join(event.speakers)
        out.append((seq, 0, event))
    opener = next((row.agent for row in rows if row.agent and row.agent != "human"
                             and row.kind == "message_completed"), "")
    for seq, branch, turn, label in marks:
        speaker = speakers.get(turn) or (opener if turn == 0 else "")
        out.append((seq, 1, CheckpointCreated(session_id=session_id, branch_id=branch, turn=turn,
                                              seq=seq, speaker=speaker, summary=label)))
    out.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in out]


async def stored_view(store: Store, session_id: str, branch_id: str) -> list[Event]:
    """A branch's stored events with its checkpoints slotted in where they were taken.

    Checkpoints live in their own table (they carry a state snapshot); for the timeline they come
    back as :class:`CheckpointCreated` events after the event whose seq they point at."""
    rows = await store.events(session_id, branch_id)
    marks = await store.checkpoint_marks(session_id, branch_id, 0)
    return _merge(session_id, rows, marks, await _converted(session_id, rows))


#: The event kinds the transcript shows (see ``tui.widgets.transcript_model``): what an older
#: page of it needs, without the usage, state and turn rows (over half of a long session's).
TRANSCRIPT_KINDS = (
    "session_started", "moderator_decision", "message_started", "message_completed",
    "message_streaming", "patch_rejected", "branch_forked", "handoff_occurred", "task_updated",
    "error_raised", "session_paused", "session_ended", "human_input_requested")


async def stored_before(store: Store, session_id: str, branch_id: str, before_seq: int | None,
                        *, messages: int = TAIL_MESSAGES, chars: int = TAIL_CHARS,
                        kinds: tuple[str, ...] = ()) -> StoredPage:
    """The page of the view before ``before_seq`` (None: the newest page). With ``kinds``,
    only the events of those kinds, and no checkpoints."""
    upto = (before_seq - 1) if before_seq is not None else 2**32 - 1
    window = await store.newest_messages(session_id, branch_id, upto, min_chars=chars,
                                         min_rows=messages)
    if not window:
        first = 1
    else:
        first = window[0].seq
        older = await store.newest_messages(session_id, branch_id, first - 1, min_chars=0,
                                            min_rows=1)
        if not older:
            first = 1  # nothing said before: take the events before the first message too
        else:  # start at a turn's start, so its checkpoint finds who spoke
            first = min(first, await store.checkpoint_seq_before(
                session_id, branch_id, first - 1) + 1)
    rows = await store.events_after(session_id, branch_id, first - 1, upto, kinds=kinds)
    marks = [] if kinds else await store.checkpoint_marks(session_id, branch_id, first - 1, upto)
    events = _merge(session_id, rows, marks, await _converted(session_id, rows))
    return StoredPage(events, first, first > 1)


async def stored_tail(store: Store, session_id: str, branch_id: str, *,
                      messages: int = TAIL_MESSAGES, chars: int = TAIL_CHARS) -> StoredPage:
    """The newest page of the view, with the whole view's cost ledger."""
    page = await stored_before(store, session_id, branch_id, None, messages=messages,
                               chars=chars)
    found = await store.last_checkpoint(session_id, branch_id)
    meta = found[1] if found is not None else None
    if meta is not None:
        ledger = ledger_from_meta(meta.get("ledger"))
        usage = await store.events_after(session_id, branch_id, found[2] if found else 0)
        for row in usage:
            if row.kind == "usage_recorded":
                event = to_event(row.kind, row.payload, session_id, row.branch_id)
                if isinstance(event, UsageRecorded):
                    ledger.record(event)
    elif page.first_seq <= 1:
        ledger = CostLedger()
        for event in page:
            if isinstance(event, UsageRecorded):
                ledger.record(event)
    else:  # no running totals stored (an old session): add up the whole view once
        ledger = CostLedger()
        for row in await store.events(session_id, branch_id):
            if row.kind == "usage_recorded":
                event = to_event(row.kind, row.payload, session_id, row.branch_id)
                if isinstance(event, UsageRecorded):
                    ledger.record(event)
    page.ledger = ledger
    return page


#: The event kinds that move the workflow graph (see ``tui.widgets.workflow_graphs.feed``).
STEP_KINDS = ("turn_started", "moderator_decision", "task_updated", "handoff_occurred")


async def _rows_upto(store: Store, session_id: str, branch_id: str, upto_seq: int | None,
                     kinds: tuple[str, ...]) -> list[EventRow]:
    """The view's rows of ``kinds`` with seq <= ``upto_seq``; read in slices, so that no one
    hand-off holds the caller's event loop for long."""
    if upto_seq is None:
        return await store.events_after(session_id, branch_id, 0, None, kinds=kinds)
    rows: list[EventRow] = []
    for start in range(0, upto_seq, TIMELINE_SLICE):
        rows += await store.events_after(session_id, branch_id, start,
                                         min(start + TIMELINE_SLICE, upto_seq), kinds=kinds)
    return rows


async def stored_steps(store: Store, session_id: str, branch_id: str,
                       upto_seq: int | None = None) -> list[Event]:
    """The view's events that move the workflow graph (:data:`STEP_KINDS`), with seq <=
    ``upto_seq``, in order: what :func:`stored_view` gives of them, without the messages."""
    rows = await _rows_upto(store, session_id, branch_id, upto_seq, STEP_KINDS)
    return [event for _, event in await _converted(session_id, rows) if event is not None]


async def stored_timeline(store: Store, session_id: str, branch_id: str,
                          upto_seq: int | None = None) -> list[Event]:
    """The view's checkpoints (as :class:`CheckpointCreated`, with who spoke) and branch forks
    with seq <= ``upto_seq``, in order: what :func:`stored_view` gives of them, without reading
    the messages."""
    marks = await store.checkpoint_marks(session_id, branch_id, 0, upto_seq)
    rows = await _rows_upto(store, session_id, branch_id, upto_seq,
                            ("turn_started", "branch_forked"))
    speakers: dict[int, str] = {}
    out: list[tuple[int, int, Event]] = []
    for row in rows:
        if row.kind == "turn_started":
            turn, who = row.payload.get("turn"), row.payload.get("speakers") or []
            if isinstance(turn, int):
                speakers[turn] = ",".join(str(s) for s in who)
            continue
        event = to_event(row.kind, row.payload, session_id, row.branch_id)
        if isinstance(event, BranchForked):
            out.append((row.seq, 0, event))
    opener = ""
    first = next((seq for seq, _, turn, _ in marks if turn == 0), None)
    if first is not None:
        said = await store.events_after(session_id, branch_id, 0, first,
                                        kinds=("message_completed",))
        opener = next((row.agent for row in said if row.agent and row.agent != "human"), "")
    for count, (seq, branch, turn, label) in enumerate(marks, 1):
        speaker = speakers.get(turn) or (opener if turn == 0 else "")
        out.append((seq, 1, CheckpointCreated(session_id=session_id, branch_id=branch, turn=turn,
                                              seq=seq, speaker=speaker, summary=label)))
        if count % CONVERT_SLICE == 0:
            await asyncio.sleep(0)  # let the caller's loop draw a frame
    out.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in out]
