"""Where a running session's events go: the kinds that are kept are written to the store in
batches (every kept event emitted between two writes goes in one transaction) and each reaches
the consumer once it is committed. Every event reaches the consumer in the order emitted: one
that is not kept (a token delta, a checkpoint made...) goes at once unless a kept one before it
is still waiting for its write, then right after that one.

A streaming message is a row of its own (read back as interrupted until finished): held like
a kept event, its ``message_started`` delivered once that row is committed. Finishing it while
the row is still held makes that row the completed message (one insert, no update).

A batch is written as soon as the session next waits for anything (a model, the human, the
database) and, explicitly, before any write that takes a seq of its own, so the store's order is
the order of emission: such a write goes through :meth:`Outbox.write_with`, which does the batch
first in that write's own transaction (one hand-off to the database instead of two). With an
instant model a whole turn is the one transaction of its checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from agents.events import PERSISTED_KINDS, Event, MessageCompleted, MessageStarted, event_payload
from agents.store import Store
from agents.store.queries import COMPLETED, STREAMING
from agents.store.rows import Finish, NewEvent, Pending

T = TypeVar("T")

#: Written by the outbox as they come; a message's start and end are written as its one row.
WRITTEN_KINDS = PERSISTED_KINDS - {"message_completed"}


@dataclass(slots=True)
class _Held:
    """An event waiting for its write (``row``: what is appended; ``None``: nothing, it only
    keeps its place in line), or the end of a streaming message already written (``finish``)."""

    event: Event
    branch: str
    row: NewEvent | None
    message: str = ""  # the message id of a streaming row or a finish
    finish: bool = False


class Outbox:
    """Events on their way to the consumer (``deliver``), kept ones through the store."""

    def __init__(self, store: Store, session_id: str, deliver: Callable[[Event], None],
                 saved: Callable[[int], None]) -> None:
        self._store = store
        self._session_id = session_id
        self._deliver = deliver
        self._saved = saved  # told the highest seq of each batch written
        self._held: list[_Held] = []
        self._streaming: dict[str, int] = {}  # message id -> seq of its row, once written
        self._lock = asyncio.Lock()
        self._free = asyncio.Event()  # set while no write is under way (the lock is free)
        self._free.set()
        self._soon: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def emit(self, event: Event, branch_id: str) -> None:
        """Deliver ``event`` now or, when it must be written first or wait for one that must,
        hold it for the next batch."""
        if event.kind in WRITTEN_KINDS:
            agent = str(getattr(event, "agent", ""))
            self._hold(_Held(event, branch_id, (event.kind, agent, event_payload(event))))
        elif self._held:
            self._held.append(_Held(event, branch_id, None))
        else:
            self._deliver(event)

    def start_message(self, started: MessageStarted, branch_id: str) -> None:
        """Hold the streaming row of a message; ``started`` is delivered once it is written."""
        self._hold(_Held(started, branch_id, (STREAMING, started.agent, event_payload(started)),
                         message=started.message_id))

    def finish_message(self, done: MessageCompleted, branch_id: str) -> None:
        """Hold the end of a message started with :meth:`start_message`; ``done`` is delivered
        once written."""
        row: NewEvent = (COMPLETED, done.agent, event_payload(done))
        for held in self._held:
            if held.message == done.message_id and not held.finish:
                held.row = row  # never written: it is inserted completed
                self._held.append(_Held(done, branch_id, None))
                return
        self._hold(_Held(done, branch_id, row, message=done.message_id, finish=True))

    def _hold(self, held: _Held) -> None:
        self._held.append(held)
        if self._soon is None:
            self._soon = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self) -> None:
        """Write and deliver everything held; raises a write's error (a held one's included)."""
        async with self._writing():
            while self._held:
                batch, first = self._take()
                await self._store.write_pending(first)
                self._written(batch, first)
        self._raise_held()

    async def write_with(self, write: Callable[[Pending | None], Awaitable[T]]) -> T:
        """Run ``write``, a store write that takes a seq of its own, given everything held
        (``None`` if nothing is) to do first in its own transaction; once it has committed,
        deliver those events. Raises a held write's error before writing."""
        async with self._writing():
            self._raise_held()
            if not self._held:
                return await write(None)
            batch, first = self._take()
            task = asyncio.ensure_future(write(first))
            try:
                result = await asyncio.shield(task)
            except asyncio.CancelledError:
                # Cancelled (the session is stopped): the write still finishes, so what it
                # commits is delivered before this stops; a failed one delivers nothing.
                with contextlib.suppress(BaseException):
                    await task
                if first.seqs:
                    self._written(batch, first)
                raise
            self._written(batch, first)
            return result

    def _take(self) -> tuple[list[_Held], Pending]:
        """Everything held, and what writing it takes."""
        batch, self._held = self._held, []
        ops: list[tuple[str, list[NewEvent]] | Finish] = []
        for held in batch:
            if held.row is None:
                continue
            if held.finish:
                seq = self._streaming.pop(held.message, None)
                if seq is not None:  # else its row's write failed (that error was raised)
                    ops.append(Finish(seq, held.row[2]))
                continue
            last = ops[-1] if ops else None
            if isinstance(last, tuple) and last[0] == held.branch:
                last[1].append(held.row)
            else:
                ops.append((held.branch, [held.row]))
        return batch, Pending(self._session_id, ops)

    def _written(self, batch: list[_Held], first: Pending) -> None:
        """Deliver a batch once committed."""
        seqs = iter(first.seqs)
        for held in batch:
            if held.row is not None and not held.finish:
                seq = next(seqs)
                if held.row[0] == STREAMING:
                    self._streaming[held.message] = seq
        if first.seqs:
            self._saved(max(first.seqs))
        for held in batch:
            self._deliver(held.event)

    def _raise_held(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        async with self._lock:
            self._free.clear()
            try:
                yield
            finally:
                self._free.set()

    async def _flush_soon(self) -> None:
        try:
            # Not queued on the lock while a write is under way: that write took the batch,
            # and the session goes on at once after it, so what it emits meanwhile can ride
            # along with its next write; queued, this flush would come first, on its own.
            while self._lock.locked():
                await self._free.wait()
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
