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
instant model a whole turn is the one transaction of its checkpoint.

A checkpoint is written *behind* the session (:meth:`Outbox.write_behind`): the next turn starts
while it commits, on the database thread. Everything emitted meanwhile waits behind it, so
the consumer still sees every event in order and only once committed; the next write waits
for it, and its error is raised by the next write or flush (before anything else is written).
While any batch is being written, an event that is not kept waits for that batch to be
delivered, so nothing overtakes the events written before it."""

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
        self._behind: asyncio.Task[None] | None = None  # a write the session did not wait for
        self._inflight = 0  # batches taken and not yet delivered (or failed)
        self._error: BaseException | None = None

    def emit(self, event: Event, branch_id: str) -> None:
        """Deliver ``event`` now or, when it must be written first or wait for one that must,
        hold it for the next batch."""
        if event.kind in WRITTEN_KINDS:
            agent = str(getattr(event, "agent", ""))
            self._hold(_Held(event, branch_id, (event.kind, agent, event_payload(event))))
        elif self._held or self._inflight:
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
            self._raise_held()
            # A write behind the session taking over (from a flush it interrupted) goes first.
            while self._held and self._behind is None:
                batch, first = self._take()
                self._inflight += 1
                try:
                    await self._store.write_pending(first)
                finally:
                    self._inflight -= 1
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
            self._inflight += 1
            task = asyncio.ensure_future(write(first))
            try:
                result = await asyncio.shield(task)
            except asyncio.CancelledError:
                # Cancelled (the session is stopped): the write still finishes, so what it
                # commits is delivered before this stops; a failed one delivers nothing.
                with contextlib.suppress(BaseException):
                    await task
                self._inflight -= 1
                if first.seqs:
                    self._written(batch, first)
                raise
            except BaseException:
                self._inflight -= 1
                raise
            self._inflight -= 1
            self._written(batch, first)
            return result

    def write_behind(self, write: Callable[[Pending | None], Awaitable[T]],
                     then: Callable[[T], Event]) -> None:
        """Start ``write`` as :meth:`write_with` would, without waiting for it: ``then(result)``
        is delivered right after the events it wrote, once it has committed. Whatever is
        emitted meanwhile is delivered after that; the next write or flush waits for it and
        raises its error. Raises a held write's error before starting."""
        self._raise_held()
        self._start_behind(write, then)

    def _start_behind(self, write: Callable[[Pending | None], Awaitable[T]],
                      then: Callable[[T], Event]) -> None:
        previous = self._behind
        # What is held now is taken once the writes under way are done (the end of a message
        # needs the seq its row is being given).
        upto = self._held[-1] if self._held else None
        self._inflight += 1

        async def run() -> None:
            try:
                if previous is not None:
                    with contextlib.suppress(BaseException):
                        await previous
                async with self._lock:
                    self._free.clear()
                    try:
                        if self._error is not None:  # an earlier write failed: write nothing
                            return
                        count = next((i + 1 for i, held in enumerate(self._held)
                                      if held is upto), 0)
                        batch, first = self._take(count)
                        result = await write(first if first.ops else None)
                    except BaseException as exc:
                        if not isinstance(exc, asyncio.CancelledError):
                            self._error = exc  # raised by the session's next write or flush
                        return
                    finally:
                        self._free.set()
                self._written(batch, first)
                self._deliver(then(result))
            finally:
                self._inflight -= 1
                if self._behind is task:
                    self._behind = None
                self._release()

        task = asyncio.get_running_loop().create_task(run())
        self._behind = task

    def _release(self) -> None:
        """Deliver what waited only for a write now done; have the rest written soon."""
        if self._inflight or self._behind is not None:
            return
        while self._held and self._held[0].row is None and self._error is None:
            self._deliver(self._held.pop(0).event)
        if self._held and self._soon is None and self._error is None:
            self._soon = asyncio.get_running_loop().create_task(self._flush_soon())

    def _take(self, count: int | None = None) -> tuple[list[_Held], Pending]:
        """Everything held (the first ``count``), and what writing it takes."""
        if count is None:
            batch, self._held = self._held, []
        else:
            batch, self._held = self._held[:count], self._held[count:]
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

    async def _settled(self) -> None:
        """Wait for the writes behind the session."""
        while self._behind is not None:
            await asyncio.wait([self._behind])

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        await self._settled()
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
            while self._lock.locked() or self._behind is not None:
                await self._settled()
                if self._lock.locked():
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
            await self._settled()
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
