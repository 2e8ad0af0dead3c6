"""Where a running session's events go: the kinds that are kept are written to the store in
batches (every kept event emitted between two writes goes in one transaction) and each reaches
the consumer once it is committed, in the order they were emitted; the others (token deltas, a
message started or finished, a checkpoint...) reach it at once.

A batch is written as soon as the session next waits for anything (a model, the human, the
database) and, explicitly, before any write that takes a seq of its own, so the store's order is
the order of emission."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.events import PERSISTED_KINDS, Event, event_payload
from agents.store import Store

#: Written by the outbox; a finished message is committed by the speaker (``finish_message``).
WRITTEN_KINDS = PERSISTED_KINDS - {"message_completed"}


class Outbox:
    """Events on their way to the consumer (``deliver``), kept ones through the store."""

    def __init__(self, store: Store, session_id: str, deliver: Callable[[Event], None],
                 saved: Callable[[int], None]) -> None:
        self._store = store
        self._session_id = session_id
        self._deliver = deliver
        self._saved = saved  # told the highest seq of each batch written
        self._held: list[tuple[Event, str]] = []  # (event, the branch to write it on)
        self._lock = asyncio.Lock()
        self._soon: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def emit(self, event: Event, branch_id: str) -> None:
        """Deliver ``event`` now or, when it must be written first, hold it for the next batch."""
        if event.kind not in WRITTEN_KINDS:
            self._deliver(event)
            return
        self._held.append((event, branch_id))
        if self._soon is None:
            self._soon = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self) -> None:
        """Write and deliver everything held; raises a write's error (a held one's included)."""
        async with self._lock:
            while self._held:
                batch, self._held = self._held, []
                await self._write(batch)
                for event, _branch in batch:
                    self._deliver(event)
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def _write(self, batch: list[tuple[Event, str]]) -> None:
        start = 0
        while start < len(batch):  # one transaction per run of events on the same branch
            branch = batch[start][1]
            end = start
            while end < len(batch) and batch[end][1] == branch:
                end += 1
            rows = [(event.kind, str(getattr(event, "agent", "")), event_payload(event))
                    for event, _branch in batch[start:end]]
            self._saved(max(await self._store.append_events(self._session_id, branch, rows)))
            start = end

    async def _flush_soon(self) -> None:
        try:
            await self.flush()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # kept for the session's next explicit flush to raise
            self._error = exc
        finally:
            self._soon = None

    async def close(self) -> None:
        """Flush, and wait for a flush that is under way (at the end of a run)."""
        soon = self._soon
        try:
            await self.flush()
        finally:
            if soon is not None and not soon.done():
                with contextlib.suppress(BaseException):
                    await soon


@dataclass
class Runtime:
    """A running session's plumbing: its outbox, the queue its consumer reads, what wakes it
    when paused, and the task running its loop."""

    outbox: Outbox
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task[None] | None = None
