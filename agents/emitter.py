"""How a running session emits its events and writes what takes a seq of its own, through its
outbox (see agents/outbox.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from agents.events import Event, MessageCompleted, MessageStarted
from agents.outbox import Runtime
from agents.store.rows import Pending

T = TypeVar("T")


class Emitter:
    """The emitting half of a Session; ``_rt`` is set while it runs."""

    branch_id: str
    last_seq: int
    _rt: Runtime | None

    async def _emit(self, event: Event) -> None:
        self._post(event)

    def _post(self, event: Event) -> None:
        """Emit: kept kinds are written, then every event is delivered, all in order (the
        writes are batched)."""
        assert self._rt is not None
        self._rt.outbox.emit(event, self.branch_id)

    def _post_message(self, event: MessageStarted | MessageCompleted) -> None:
        """Emit the start (its streaming row) or the end of a message."""
        assert self._rt is not None
        if isinstance(event, MessageStarted):
            self._rt.outbox.start_message(event, self.branch_id)
        else:
            self._rt.outbox.finish_message(event, self.branch_id)

    async def _save(self) -> None:
        """Write the events emitted so far (before a write that takes a seq of its own)."""
        if self._rt is not None:
            await self._rt.outbox.flush()

    async def _save_with(self, write: Callable[[Pending | None], Awaitable[T]]) -> T:
        """Run a store write that takes a seq of its own, the events emitted so far written
        first in its transaction (``write`` gets them; see ``Outbox.write_with``)."""
        if self._rt is None:
            return await write(None)
        return await self._rt.outbox.write_with(write)

    async def _save_behind(self, write: Callable[[Pending | None], Awaitable[T]],
                           then: Callable[[T], Event]) -> None:
        """Like :meth:`_save_with`, without waiting for the write: ``then(result)`` is emitted
        once it has committed, and the session goes on meanwhile (``Outbox.write_behind``)."""
        if self._rt is None:
            self._post(then(await write(None)))
            return
        self._rt.outbox.write_behind(write, then)

    def _saved(self, seq: int) -> None:
        self.last_seq = max(self.last_seq, seq)
