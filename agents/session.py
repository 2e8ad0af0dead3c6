"""The run loop: the pattern decides what runs next, personas stream their messages, state
patches are applied, everything is committed and emitted as events."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agents import prompts
from agents.cost import CostLedger
from agents.events import (
    BranchForked,
    ErrorRaised,
    Event,
    MessageCompleted,
    SessionEnded,
    SessionPaused,
    SessionStarted,
    event_payload,
)
from agents.history import (
    WINDOW_CHARS,
    SessionSnapshot,
    load_events,
    load_snapshot,
)
from agents.llm.client import LiteLLMClient, LLMClient
from agents.llm.errors import LLMError
from agents.llm.models import choose_model
from agents.outbox import Outbox, Runtime
from agents.patterns import make_pattern
from agents.patterns.base import Pattern
from agents.session_options import RunOptions
from agents.speaker import LOCAL_TRANSCRIPT_CHARS, SessionStop
from agents.state import SharedState
from agents.store import Store
from agents.turns import META_EVERY, TurnRunner
from personas.models import Pack

__all__ = ["META_EVERY", "RunOptions", "Session"]

def _window_chars(options: RunOptions) -> int:
    return max(WINDOW_CHARS, 4 * options.transcript_chars)


@dataclass
class _Pending:
    text: str
    to: str | None


class Session(TurnRunner):
    """One chat. Iterate :meth:`events` to run it; control it from anywhere meanwhile."""

    def __init__(
        self,
        *,
        store: Store,
        snapshot: SessionSnapshot,
        options: RunOptions,
        llm: LLMClient | None,
        model_note: str,
    ) -> None:
        self.store = store
        self.options = options
        self.llm: LLMClient = llm or LiteLLMClient()
        self.id = snapshot.session_id
        self.branch_id = snapshot.branch_id
        self.pack: Pack = snapshot.pack
        self.topic = snapshot.topic
        self.model = snapshot.model
        self.model_note = model_note
        self.state: SharedState = snapshot.state
        self.turn = snapshot.turn
        self.lines = snapshot.lines
        self.ledger: CostLedger = snapshot.ledger
        self.last_speaker = snapshot.last_speaker
        self.opened = snapshot.opened
        self.last_seq = snapshot.last_seq
        self.other_branches_usd = snapshot.other_branches_usd
        self.resumed = snapshot.resumed
        self.budget_usd = options.budget_usd or self.pack.budget.session_usd
        self.max_turns = options.max_turns or self.pack.termination.max_turns
        self.human_seats: set[str] = set(options.human_seats)
        self.interactive = options.interactive
        self.budget_chars = options.transcript_chars
        if self.model.startswith("local/"):
            self.budget_chars = min(self.budget_chars, LOCAL_TRANSCRIPT_CHARS)
        self.pattern: Pattern = make_pattern(self.pack)
        self.pattern.restore(snapshot.routing)
        self._human_seen = len(self.lines)
        self._meta_due = True  # the next checkpoint saves running totals (see _checkpoint)
        self.paused = False
        self.finished = False
        self.end_reason: str | None = None
        self._steps = 0
        self._stop_requested = False
        self._pending: list[_Pending] = []
        self._rt: Runtime | None = None

    # ---------------------------------------------------------------- construction

    @classmethod
    async def start(
        cls,
        *,
        pack: Pack,
        topic: str,
        store: Store,
        options: RunOptions | None = None,
        llm: LLMClient | None = None,
    ) -> Session:
        options = options or RunOptions()
        choice = choose_model(options.model, pack.pack.model)
        session_id = uuid.uuid4().hex[:12]
        title = prompts.summarise(topic, 70)
        branch_id = await store.create_session(
            session_id=session_id,
            title=title,
            topic=topic,
            pack_name=pack.name,
            pack_json=pack.model_dump(mode="json"),
            model=choice.model,
        )
        snapshot = SessionSnapshot.fresh(session_id, branch_id, pack, topic, choice.model)
        return cls(store=store, snapshot=snapshot, options=options, llm=llm,
                   model_note=choice.note)

    @classmethod
    async def reopen(
        cls,
        *,
        store: Store,
        session_id: str,
        options: RunOptions | None = None,
        llm: LLMClient | None = None,
        branch_id: str | None = None,
    ) -> Session:
        options = options or RunOptions()
        snapshot = await load_snapshot(store, session_id, branch_id,
                                       window_chars=_window_chars(options))
        if options.max_turns is None or options.budget_usd is None:
            # keep the limits the session last ran with unless new ones are given
            last = await store.latest_event(snapshot.session_id, "session_started")
            if last is not None:
                options = dataclasses.replace(
                    options,
                    max_turns=options.max_turns or last.payload.get("max_turns"),
                    budget_usd=options.budget_usd or last.payload.get("budget_usd"))
        model = options.model or snapshot.model
        snapshot.model = model
        return cls(store=store, snapshot=snapshot, options=options, llm=llm,
                   model_note=f"Continuing with {model}.")

    # ---------------------------------------------------------------- control

    def say(self, text: str, to: str | None = None) -> None:
        """A message from the human; ``to`` addresses a persona. Heard on the next decision."""
        text = text.strip()
        if not text:
            return
        if to is None and text.startswith("@"):
            head, _, rest = text.partition(" ")
            if self.pack.persona(head[1:]) is not None:
                to, text = head[1:], rest.strip() or text
        self._pending.append(_Pending(text, to))
        self._poke()

    def pause(self) -> None:
        self.paused = True
        self._poke()

    def resume(self) -> None:
        self.paused = False
        self._steps = 0
        self._poke()

    def step(self) -> None:
        """Run exactly one more turn, then pause."""
        self.paused = True
        self._steps += 1
        self._poke()

    def stop(self) -> None:
        """End the session; a message being streamed is kept and marked interrupted."""
        self._stop_requested = True
        if self._rt is not None and self._rt.runner is not None:
            self._rt.runner.cancel()
        self._poke()

    def set_budget(self, usd: float) -> None:
        self.budget_usd = usd

    def take_seat(self, persona_id: str) -> None:
        if self.pack.persona(persona_id) is None:
            raise ValueError(f"no persona with id {persona_id!r} in pack {self.pack.name}")
        self.human_seats.add(persona_id)

    def leave_seat(self, persona_id: str) -> None:
        self.human_seats.discard(persona_id)

    async def rollback(self, turn: int) -> BranchForked:
        """Fork a new branch at ``turn``'s checkpoint; the old branch stays intact."""
        if self._rt is not None:
            raise RuntimeError("stop or finish the running session before rolling back")
        checkpoint = await self.store.checkpoint_at(self.id, self.branch_id, turn)
        if checkpoint is None:
            raise ValueError(f"there is no checkpoint at turn {turn} on this branch")
        branches = await self.store.branches(self.id)
        name = f"b{len(branches) + 1}-t{turn}"
        parent = self.branch_id
        new_branch = await self.store.fork_branch(self.id, parent, checkpoint.seq, name)
        await self.store.set_head(self.id, new_branch)
        snapshot = await load_snapshot(self.store, self.id, new_branch,
                                       window_chars=_window_chars(self.options))
        self._adopt(snapshot)
        event = BranchForked(session_id=self.id, branch_id=new_branch, parent_branch_id=parent,
                             fork_seq=checkpoint.seq, turn=turn, name=name)
        self.last_seq = await self.store.append_event(
            self.id, new_branch, event.kind, "", event_payload(event))
        self.finished = False
        self.end_reason = None
        self._stop_requested = False
        return event

    async def edit_message(self, message_id: str, text: str) -> MessageCompleted:
        """Replace a message on this branch (after a rollback) before re-running from there.

        The original stays on the branch it was said on; this branch sees the new text."""
        if self._rt is not None:
            raise RuntimeError("stop or pause the session before editing a message")
        text = text.strip()
        if not text:
            raise ValueError("an edited message cannot be empty")
        events = await load_events(self.store, self.id, self.branch_id)
        original = next((e for e in events if e.kind == "message_completed"
                         and e.message_id == message_id), None)
        if original is None:
            raise ValueError(f"there is no message {message_id!r} on this branch")
        assert isinstance(original, MessageCompleted)
        edited = original.model_copy(update={
            "text": text, "edited": True, "interrupted": False, "branch_id": self.branch_id})
        self.last_seq = await self.store.append_event(
            self.id, self.branch_id, edited.kind, edited.agent, event_payload(edited))
        snapshot = await load_snapshot(self.store, self.id, self.branch_id,
                                       window_chars=_window_chars(self.options))
        self.lines = snapshot.lines
        self._human_seen = len(self.lines)
        return edited

    def _adopt(self, snapshot: SessionSnapshot) -> None:
        self.branch_id = snapshot.branch_id
        self.state = snapshot.state
        self.turn = snapshot.turn
        self.lines = snapshot.lines
        self.ledger = snapshot.ledger
        self.last_speaker = snapshot.last_speaker
        self.opened = snapshot.opened
        self.last_seq = snapshot.last_seq
        self.other_branches_usd = snapshot.other_branches_usd
        self.pattern = make_pattern(self.pack)
        self.pattern.restore(snapshot.routing)
        self._human_seen = len(self.lines)
        self._meta_due = True

    def _poke(self) -> None:
        if self._rt is not None:
            self._rt.wake.set()

    # ---------------------------------------------------------------- the loop

    async def events(self) -> AsyncIterator[Event]:
        """Run the session, yielding every event as it happens, until it ends."""
        if self._rt is not None:
            raise RuntimeError("this session is already running")
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        rt = self._rt = Runtime(Outbox(self.store, self.id, queue.put_nowait, self._saved), queue)
        runner = rt.runner = asyncio.create_task(self._run())
        runner.add_done_callback(lambda _t: rt.queue.put_nowait(None))
        try:
            while True:
                event = await rt.queue.get()
                if event is None:
                    break
                yield event
            exc = runner.exception() if not runner.cancelled() else None
            if exc is not None:
                raise exc
        finally:
            if not runner.done():
                self.stop()
                runner.cancel()
                with contextlib.suppress(BaseException):
                    await runner
            self._rt = None

    async def emit(self, event: Event) -> None:
        """For patterns: emit (and persist) an event of their own, such as a handoff."""
        await self._emit(event)

    async def _run(self) -> None:
        assert self._rt is not None
        try:
            await self._loop()
        finally:
            await self._rt.outbox.close()

    async def _loop(self) -> None:
        await self._emit(self._ids(
            SessionStarted, title=prompts.summarise(self.topic, 70), pack=self.pack.name,
            topic=self.topic, model=self.model, model_note=self.model_note,
            resumed=self.resumed or self.opened, max_turns=self.max_turns,
            budget_usd=self.budget_usd))
        try:
            if not self.opened:
                await self._flush_human()
                await self._opening()
            while True:
                await self._wait_if_paused()
                await self._flush_human()
                if self.turn >= self.max_turns:
                    raise SessionStop("max_turns", f"reached {self.max_turns} turns")
                await self._turn()
                if self._steps > 0:
                    self._steps -= 1
        except SessionStop as stop:
            await self._end(stop.reason, stop.detail)
        except asyncio.CancelledError:
            await self._end("user", "stopped by the user")
        except LLMError as exc:
            await self._emit(self._ids(ErrorRaised, agent="", message=str(exc), fatal=True))
            await self._end("error", str(exc))

    async def _end(self, reason: str, detail: str) -> None:
        await self._flush_human()  # a message sent during the last turn is kept, not lost
        self.finished = True
        self.end_reason = reason
        await self.store.touch(self.id)
        await self._emit(self._ids(
            SessionEnded, reason=reason, detail=detail, turns=self.turn,
            cost_usd=round(self.ledger.total_usd, 6)))

    async def _wait_if_paused(self) -> None:
        assert self._rt is not None
        announced = False
        while True:
            if self._stop_requested:
                raise SessionStop("user", "stopped by the user")
            if not self.paused or self._steps > 0:
                break
            if not announced:
                await self._emit(self._ids(SessionPaused, paused=True))
                announced = True
            await self._flush_human()
            self._rt.wake.clear()
            await self._rt.wake.wait()
        if announced:
            await self._emit(self._ids(SessionPaused, paused=False))

    async def _flush_human(self) -> None:
        while self._pending:
            item = self._pending.pop(0)
            await self._commit_message(
                agent="human", name="You", role="human", text=item.text, to=item.to,
                message_id=uuid.uuid4().hex[:12])

    def new_human_lines(self) -> list[prompts.Line]:
        fresh = [line for line in self.lines[self._human_seen:] if line.agent == "human"]
        self._human_seen = len(self.lines)
        return fresh

    async def wait_for_human(self) -> bool:
        """Wait until the human says something (or the session is stopped)."""
        assert self._rt is not None
        while not self._pending:
            if self._stop_requested:
                return False
            self._rt.wake.clear()
            await self._rt.wake.wait()
        await self._flush_human()
        return True

    def transcript(self, budget_chars: int | None = None) -> str:
        return prompts.render_transcript(self.lines, budget_chars or self.budget_chars)
