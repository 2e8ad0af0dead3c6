"""The run loop: the moderator opens, decides who speaks each turn, personas stream their
messages, state patches are applied, everything is committed and emitted as events."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agents import prompts
from agents.cost import CostLedger, call_cost, check_budget, worst_case_cost
from agents.events import (
    PERSISTED_KINDS,
    BranchForked,
    CheckpointCreated,
    ErrorRaised,
    Event,
    HumanInputRequested,
    MessageCompleted,
    MessageStarted,
    ModeratorDecision,
    PatchRejected,
    SessionEnded,
    SessionPaused,
    SessionStarted,
    StatePatched,
    TokenDelta,
    TurnStarted,
    UsageRecorded,
    event_payload,
)
from agents.history import SessionSnapshot, load_snapshot
from agents.llm.client import LiteLLMClient, LLMChunk, LLMClient, LLMRequest
from agents.llm.errors import LLMError
from agents.llm.models import choose_model
from agents.moderator import DecisionError, parse_decision, round_robin
from agents.state import (
    PATCH_TOOL,
    PatchError,
    SharedState,
    StatePatch,
    apply_patch,
    extract_patch,
)
from agents.store import Store
from personas.models import Pack, Persona

# A persona's failed message is kept (interrupted) and the chat goes on; others stop it.
NON_FATAL_ERRORS = frozenset({"content_filter", "context_window", "bad_request", "dropped"})
MAX_SPEAKERS = 3


@dataclass
class RunOptions:
    model: str | None = None
    api_base: str | None = None
    max_turns: int | None = None
    budget_usd: float | None = None
    human_seats: frozenset[str] = frozenset()
    transcript_chars: int = 12000


class _Stop(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Pending:
    text: str
    to: str | None


@dataclass
class _Runtime:
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task[None] | None = None


class Session:
    """One group chat. Iterate :meth:`events` to run it; control it from anywhere meanwhile."""

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
        self.paused = False
        self.finished = False
        self.end_reason: str | None = None
        self._steps = 0
        self._stop_requested = False
        self._pending: list[_Pending] = []
        self._rt: _Runtime | None = None

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
        snapshot = await load_snapshot(store, session_id, branch_id)
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
        snapshot = await load_snapshot(self.store, self.id, new_branch)
        self._adopt(snapshot)
        event = BranchForked(session_id=self.id, branch_id=new_branch, parent_branch_id=parent,
                             fork_seq=checkpoint.seq, turn=turn, name=name)
        self.last_seq = await self.store.append_event(
            self.id, new_branch, event.kind, "", event_payload(event))
        self.finished = False
        self.end_reason = None
        self._stop_requested = False
        return event

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

    def _poke(self) -> None:
        if self._rt is not None:
            self._rt.wake.set()

    # ---------------------------------------------------------------- the loop

    async def events(self) -> AsyncIterator[Event]:
        """Run the session, yielding every event as it happens, until it ends."""
        if self._rt is not None:
            raise RuntimeError("this session is already running")
        rt = self._rt = _Runtime()
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

    async def _emit(self, event: Event) -> None:
        if event.kind in PERSISTED_KINDS and event.kind != "message_completed":
            self.last_seq = await self.store.append_event(
                self.id, self.branch_id, event.kind, getattr(event, "agent", ""),
                event_payload(event))
        assert self._rt is not None
        await self._rt.queue.put(event)

    def _ids(self, event_cls: type[Any], **fields: Any) -> Any:
        return event_cls(session_id=self.id, branch_id=self.branch_id, **fields)

    async def _run(self) -> None:
        await self._emit(self._ids(
            SessionStarted, title=prompts.summarise(self.topic, 70), pack=self.pack.name,
            topic=self.topic, model=self.model, model_note=self.model_note,
            resumed=self.resumed or self.opened))
        try:
            if not self.opened:
                await self._flush_human()
                await self._opening()
            while True:
                await self._wait_if_paused()
                await self._flush_human()
                if self.turn >= self.max_turns:
                    raise _Stop("max_turns", f"reached {self.max_turns} turns")
                await self._turn()
                if self._steps > 0:
                    self._steps -= 1
        except _Stop as stop:
            await self._end(stop.reason, stop.detail)
        except asyncio.CancelledError:
            await self._end("user", "stopped by the user")
        except LLMError as exc:
            await self._emit(self._ids(ErrorRaised, agent="", message=str(exc), fatal=True))
            await self._end("error", str(exc))

    async def _end(self, reason: str, detail: str) -> None:
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
                raise _Stop("user", "stopped by the user")
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

    # ---------------------------------------------------------------- turns

    async def _opening(self) -> None:
        mod = self.pack.moderator
        await self._speak(mod, prompts.opening_instruction(self.topic), turn=0)
        if not self.state.goal:
            self.state = apply_patch(self.state, StatePatch(set_goal=self.topic), mod.id)
        self.opened = True
        await self._checkpoint(0, mod.id)

    async def _turn(self) -> None:
        turn = self.turn + 1
        addressed = next((to for to in reversed(self._last_human()) if to), None)
        speakers, reason, done, fallback, why = await self._decide(turn, addressed)
        await self._emit(self._ids(
            ModeratorDecision, turn=turn, speakers=speakers, reason=reason, done=done,
            fallback=fallback, fallback_reason=why))
        if done:
            raise _Stop("goal_met", reason)
        await self._emit(self._ids(TurnStarted, turn=turn, speakers=speakers))
        self.turn = turn
        personas = [p for p in (self.pack.persona(s) for s in speakers) if p is not None]
        if len(personas) == 1:
            await self._speak(personas[0], self._instruction(personas[0], reason), turn)
        else:
            await self._speak_together(personas, reason, turn)
        self.last_speaker = speakers[-1]
        await self._checkpoint(turn, ",".join(speakers))
        if self._stop_requested:
            raise _Stop("user", "stopped by the user")
        phrase = self.pack.termination.stop_phrase
        recent = self.lines[-len(personas):]
        if phrase and any(phrase.lower() in line.text.lower() for line in recent):
            raise _Stop("stop_phrase", f"someone said {phrase!r}")

    def _last_human(self) -> list[str | None]:
        """Addressees of the human messages since the last persona spoke."""
        out: list[str | None] = []
        for line in reversed(self.lines):
            if line.agent != "human":
                break
            out.append(line.to)
        return list(reversed(out))

    def _instruction(self, persona: Persona, reason: str) -> str:
        return (f"{self.pack.moderator.name} gives you the floor ({reason}). "
                f"It is your turn, {persona.name}: reply in a few sentences.")

    async def _speak_together(self, personas: list[Persona], reason: str, turn: int) -> None:
        tasks = [asyncio.create_task(self._speak(p, self._instruction(p, reason), turn))
                 for p in personas]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    async def _decide(
        self, turn: int, addressed: str | None
    ) -> tuple[list[str], str, bool, bool, str]:
        allowed = [p.id for p in self.pack.speakers]
        mod = self.pack.moderator
        error: str | None = None
        for _attempt in range(2):
            messages = prompts.decision_messages(
                self.pack, self.topic, self.state, self.lines, allowed=allowed, turn=turn,
                max_turns=self.max_turns, pending_address=addressed,
                budget_chars=self.options.transcript_chars, error=error)
            request = LLMRequest(
                model=self.model, messages=messages, temperature=0.2, max_tokens=200,
                response_format=prompts.response_format(
                    prompts.decision_schema(allowed, MAX_SPEAKERS)),
                api_base=self.options.api_base)
            text, _tools, _finish = await self._call(mod.id, request, turn, overhead=True)
            try:
                decision = parse_decision(text, allowed, MAX_SPEAKERS)
            except DecisionError as exc:
                error = str(exc)
                continue
            return decision.speakers, decision.reason, decision.done, False, ""
        rule = round_robin(allowed, self.last_speaker, addressed)
        return rule.speakers, rule.reason, False, True, f"invalid decision twice ({error})"

    async def _call(
        self, agent: str, request: LLMRequest, turn: int, *, overhead: bool,
        on_text: Any = None,
    ) -> tuple[str, list[Any], str | None]:
        """One model call with the budget checked first and usage recorded after."""
        estimate = await asyncio.to_thread(
            worst_case_cost, request.model, request.messages, request.max_tokens)
        ledger_view = CostLedger(agents=self.ledger.agents, overhead=self.ledger.overhead,
                                 per_turn={})
        verdict = check_budget(
            _with_offset(ledger_view, self.other_branches_usd), agent=agent, overhead=overhead,
            estimate=estimate, session_usd=self.budget_usd,
            per_persona_usd=self.pack.budget.per_persona_usd)
        if not verdict.allowed:
            if verdict.scope == "session":
                raise _Stop("budget", verdict.reason)
            raise _PersonaBudget(verdict.reason)
        started = time.monotonic()
        parts: list[str] = []
        last = LLMChunk()
        try:
            async for chunk in self.llm.stream(request):
                if chunk.text:
                    parts.append(chunk.text)
                    if on_text is not None:
                        await on_text(chunk.text)
                last = chunk
        finally:
            if parts or last.prompt_tokens is not None:
                await asyncio.shield(
                    self._record_usage(agent, request, turn, overhead, started, parts, last))
        return "".join(parts), last.tool_calls, last.finish_reason

    async def _record_usage(
        self, agent: str, request: LLMRequest, turn: int, overhead: bool, started: float,
        parts: list[str], last: LLMChunk,
    ) -> None:
        latency = (time.monotonic() - started) * 1000
        text = "".join(parts)
        prompt_tokens = last.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in request.messages) // 4
        completion_tokens = last.completion_tokens
        if completion_tokens is None:
            completion_tokens = max(1, len(text) // 4) if text else 0
        cost = await asyncio.to_thread(
            call_cost, request.model, prompt_tokens, completion_tokens)
        usage = self._ids(
            UsageRecorded, agent=agent, model=request.model, turn=turn,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            latency_ms=round(latency, 1), cost_usd=cost, overhead=overhead)
        self.ledger.record(usage)
        await self._emit(usage)

    async def _speak(self, persona: Persona, instruction: str, turn: int) -> None:
        if persona.id in self.human_seats:
            await self._human_seat(persona, turn)
            return
        await self._speak_model(persona, instruction, turn)

    async def _speak_model(self, persona: Persona, instruction: str, turn: int) -> None:
        model = self.model if self.options.model or not persona.model else persona.model
        use_tools = await asyncio.to_thread(_supports_tools, model)
        messages = prompts.persona_messages(
            self.pack, persona, self.topic, self.state, self.lines, instruction=instruction,
            use_tools=use_tools, budget_chars=self.options.transcript_chars)
        temperature = persona.temperature if persona.temperature is not None else (
            self.pack.pack.temperature)
        request = LLMRequest(
            model=model, messages=messages, temperature=temperature,
            max_tokens=self.pack.pack.max_tokens, api_base=self.options.api_base,
            tools=[PATCH_TOOL] if use_tools else None)
        message_id = uuid.uuid4().hex[:12]
        started = self._ids(MessageStarted, message_id=message_id, agent=persona.id,
                            name=persona.name, role=persona.role, turn=turn)
        seq = await self.store.begin_message(self.id, self.branch_id, persona.id,
                                             event_payload(started))
        await self._emit(started)
        streamed: list[str] = []

        async def on_text(text: str) -> None:
            streamed.append(text)
            await self._emit(self._ids(TokenDelta, message_id=message_id, agent=persona.id,
                                       text=text))

        try:
            text, tool_calls, finish = await self._call(
                persona.id, request, turn, overhead=False, on_text=on_text)
        except _PersonaBudget as exc:
            await self._finish(seq, started, "", interrupted=True)
            await self._emit(self._ids(ErrorRaised, agent=persona.id, message=str(exc)))
            return
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(seq, started, "".join(streamed), interrupted=True))
            raise
        except LLMError as exc:
            await self._finish(seq, started, "".join(streamed), interrupted=True)
            if exc.kind in NON_FATAL_ERRORS:
                await self._emit(self._ids(ErrorRaised, agent=persona.id, message=str(exc)))
                return
            raise
        await self._finish(seq, started, text, interrupted=False)
        if finish == "content_filter":
            await self._emit(self._ids(
                ErrorRaised, agent=persona.id,
                message=f"{persona.name}'s answer was cut by the provider's content filter."))
        await self._apply_patches(persona, text, tool_calls, turn)

    async def _finish(self, seq: int, started: MessageStarted, text: str,
                      *, interrupted: bool) -> None:
        done = self._ids(MessageCompleted, message_id=started.message_id, agent=started.agent,
                         name=started.name, role=started.role, turn=started.turn, text=text,
                         interrupted=interrupted)
        await self.store.finish_message(self.id, seq, event_payload(done))
        self.last_seq = max(self.last_seq, seq)
        if text:
            self.lines.append(prompts.Line(started.agent, started.name, started.role, text))
        await self._emit(done)

    async def _commit_message(self, *, agent: str, name: str, role: str, text: str,
                              to: str | None, message_id: str) -> None:
        done = self._ids(MessageCompleted, message_id=message_id, agent=agent, name=name,
                         role=role, turn=self.turn, text=text, to=to)
        self.last_seq = await self.store.append_event(
            self.id, self.branch_id, done.kind, agent, event_payload(done))
        self.lines.append(prompts.Line(agent, name, role, text, to))
        await self._emit(done)

    async def _human_seat(self, persona: Persona, turn: int) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        await self._emit(self._ids(HumanInputRequested, agent=persona.id, turn=turn,
                                   future=future))
        text = await future
        if text:
            await self._commit_message(agent=persona.id, name=f"{persona.name} (you)",
                                       role=persona.role, text=text, to=None,
                                       message_id=uuid.uuid4().hex[:12])
            await self._apply_patches(persona, text, [], turn)

    async def _apply_patches(self, persona: Persona, text: str, tool_calls: list[Any],
                             turn: int) -> None:
        patches: list[tuple[StatePatch | None, str | None]] = []
        for call in tool_calls:
            if call.name != "update_shared_state":
                continue
            try:
                patches.append((StatePatch.model_validate_json(call.arguments or "{}"), None))
            except ValueError as exc:
                patches.append((None, f"invalid update_shared_state arguments: {_first(exc)}"))
        patches.append(extract_patch(text))
        for patch, error in patches:
            if error is not None:
                await self._emit(self._ids(PatchRejected, agent=persona.id, turn=turn,
                                           error=error))
                continue
            if patch is None or patch.is_empty():
                continue
            try:
                self.state = apply_patch(self.state, patch, persona.id)
            except PatchError as exc:
                await self._emit(self._ids(PatchRejected, agent=persona.id, turn=turn,
                                           error=str(exc)))
                continue
            await self._emit(self._ids(StatePatched, agent=persona.id, turn=turn, patch=patch,
                                       state=self.state))

    async def _checkpoint(self, turn: int, speaker: str) -> None:
        last = next((line for line in reversed(self.lines) if line.agent != "human"), None)
        summary = prompts.summarise(last.text if last else self.topic)
        await self.store.add_checkpoint(
            self.id, self.branch_id, seq=self.last_seq, turn=turn,
            state=self.state.model_dump(mode="json"), label=summary)
        await self._emit(self._ids(CheckpointCreated, turn=turn, seq=self.last_seq,
                                   speaker=speaker, summary=summary))


class _PersonaBudget(Exception):
    pass


def _first(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _with_offset(ledger: CostLedger, offset: float) -> CostLedger:
    """The ledger as the session budget sees it: spending on other branches counts too."""
    if offset <= 0:
        return ledger
    from agents.cost import AgentCost

    extra = AgentCost(cost_usd=ledger.overhead.cost_usd + offset)
    return CostLedger(agents=ledger.agents, overhead=extra, per_turn={})


def _supports_tools(model: str) -> bool:
    if model.startswith("local/"):
        return False
    from agents.llm.setup import load_litellm

    try:
        return bool(load_litellm().supports_function_calling(model=model))
    except Exception:
        return False
