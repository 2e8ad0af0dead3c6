"""Engine events → Textual messages.

:class:`Bridge` iterates ``session.events()`` in a Textual worker (group ``"engine"``) and posts
each event to its owner (the main screen) as an :class:`EngineEvent`. Token deltas are coalesced
per message and flushed at most every :attr:`Bridge.FLUSH_S` seconds (and always before any other
event, so order is kept). The UI thread only ever handles messages; model calls and database
writes happen in the engine's tasks.
"""

from __future__ import annotations

import asyncio
import contextlib

from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from agents import stored
from agents.events import CheckpointCreated, Event, TokenDelta
from agents.session import Session
from agents.store import Store
from tui import heap


class EngineEvent(Message):
    """One engine event (token deltas arrive coalesced)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunFinished(Message):
    """``session.events()`` returned; ``error`` is a one-line reason if it raised."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class Bridge:
    """Runs one session's event loop in a worker owned by ``owner``."""

    FLUSH_S = 0.02
    """About a frame: the transcript draws what arrived within it at once (a write is cheap; only
    a new line of text costs a layout)."""

    def __init__(self, owner: Widget, session: Session) -> None:
        self.owner = owner
        self.session = session
        self.worker: Worker[None] | None = None
        self._pending: dict[str, tuple[TokenDelta, list[str]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.posted = 0

    @property
    def running(self) -> bool:
        worker = self.worker
        return worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def start(self) -> Worker[None]:
        """Start a run (a new ``session.events()`` iteration)."""
        if self.running:
            raise RuntimeError("the session is already running")
        self.worker = self.owner.run_worker(
            self._pump(), name="engine", group="engine", exclusive=True, exit_on_error=False)
        return self.worker

    async def wait(self) -> None:
        """Until the current run (if any) has finished."""
        worker = self.worker
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.wait()

    async def stop(self) -> None:
        """Stop the run and wait for it to end (the engine records why)."""
        if self.running:
            self.session.stop()
        await self.wait()

    async def _pump(self) -> None:
        error: str | None = None
        heap.run_started()  # full collections wait for the ends of turns (see tui.heap)
        try:
            async for event in self.session.events():
                if isinstance(event, TokenDelta):
                    self._buffer(event)
                    continue
                self.flush()
                self._post(EngineEvent(event))
                if isinstance(event, CheckpointCreated):
                    heap.turn_ended()  # every reply of the turn is in: nothing streams now
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine's own errors come as events; this is a crash
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            heap.run_finished()
            self.flush()
            self._post(RunFinished(error))

    def _post(self, message: Message) -> None:
        self.posted += 1
        self.owner.post_message(message)

    def _buffer(self, event: TokenDelta) -> None:
        held = self._pending.get(event.message_id)
        if held is None:
            self._pending[event.message_id] = (event, [event.text])
        else:
            held[1].append(event.text)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.FLUSH_S, self.flush)

    def flush(self) -> None:
        """Post the held token deltas now, one per message."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, {}
        for first, parts in pending.values():
            self._post(EngineEvent(first.model_copy(update={"text": "".join(parts)})))


async def stored_view(store: Store, session_id: str, branch_id: str, *,
                      tail: bool = False) -> list[Event]:
    """A branch's stored events with its checkpoints slotted in where they were taken.

    Checkpoints live in their own table (they carry a state snapshot); for the timeline they come
    back as :class:`CheckpointCreated` events after the event whose seq they point at. With
    ``tail``, only the newest page (a :class:`agents.stored.StoredPage`: the newest messages
    with everything since, ``has_older``, ``first_seq`` to load the page before with
    :func:`agents.stored.stored_before`, and the whole view's cost ``ledger``), at a cost that
    does not grow with the session."""
    if tail:
        return await stored.stored_tail(store, session_id, branch_id)
    return await stored.stored_view(store, session_id, branch_id)


class OlderPages:
    """The pages before a shown one (see :meth:`tui.widgets.transcript.Transcript.set_older`):
    each call loads the page before the last one loaded."""

    def __init__(self, store: Store, session_id: str, branch_id: str, page: stored.StoredPage
                 ) -> None:
        self.store = store
        self.session_id = session_id
        self.branch_id = branch_id
        self.first_seq = page.first_seq
        self.has_older = page.has_older

    async def __call__(self, everything: bool = False) -> tuple[list[Event], bool]:
        """The page before the last one loaded (``everything``: all that is before it)."""
        if not self.has_older:
            return [], False
        messages, chars = (2**31, 0) if everything else (stored.TAIL_MESSAGES, stored.TAIL_CHARS)
        page = await stored.stored_before(self.store, self.session_id, self.branch_id,
                                          self.first_seq, messages=messages, chars=chars,
                                          kinds=stored.TRANSCRIPT_KINDS)
        self.first_seq, self.has_older = page.first_seq, page.has_older
        return page.events, page.has_older
