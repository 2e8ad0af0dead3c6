"""Making one persona speak: the budgeted, accounted model call, streaming into a committed
message, state patches, the human holding a seat, and orchestration decisions."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from typing import Any

from agents import prompts
from agents.cost import (
    BudgetVerdict,
    CostLedger,
    call_cost,
    check_budget,
    worst_case_bound,
    worst_case_cost,
)
from agents.emitter import Emitter
from agents.events import (
    ErrorRaised,
    HumanInputRequested,
    MessageCompleted,
    MessageStarted,
    PatchRejected,
    StatePatched,
    TokenDelta,
    UsageRecorded,
    event_payload,
)
from agents.llm.client import LLMChunk, LLMClient, LLMRequest
from agents.llm.errors import LLMError
from agents.lookups import inline, lookup, price_known, supports_tools
from agents.moderator import parse_json_object
from agents.patterns.base import Assignment, Decision, Result
from agents.session_options import RunOptions
from agents.state import PATCH_TOOL, PatchError, SharedState, StatePatch, apply_patch, extract_patch
from agents.store import Store
from personas.models import Pack, Persona

# A persona's failed message is kept (interrupted) and the chat goes on; others stop it.
NON_FATAL_ERRORS = frozenset({"content_filter", "context_window", "bad_request", "dropped"})
LOCAL_TRANSCRIPT_CHARS = 2400
LOCAL_MAX_TOKENS = 160
MIN_TRANSCRIPT_CHARS = 600


class SessionStop(Exception):
    """Ends the run loop with a reason (see SessionEnded.reason)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class PersonaOverBudget(Exception):
    pass


class Speaker(Emitter):
    """The model-calling half of a Session (the run loop and controls are in session.py)."""

    store: Store
    options: RunOptions
    llm: LLMClient
    id: str
    branch_id: str
    pack: Pack
    topic: str
    model: str
    state: SharedState
    turn: int
    lines: list[prompts.Line]
    ledger: CostLedger
    last_seq: int
    other_branches_usd: float
    budget_usd: float | None
    human_seats: set[str]
    budget_chars: int

    def _ids(self, event_cls: type[Any], **fields: Any) -> Any:
        return event_cls(session_id=self.id, branch_id=self.branch_id, **fields)

    # ------------------------------------------------------------- budgets and calls

    def _max_tokens(self, model: str) -> int:
        limit = self.pack.pack.max_tokens
        return min(limit, LOCAL_MAX_TOKENS) if model.startswith("local/") else limit

    async def _call(
        self, agent: str, request: LLMRequest, turn: int, *, overhead: bool,
        on_text: Any = None,
    ) -> tuple[str, list[Any], str | None]:
        """One model call with the budget checked first and usage recorded after."""
        # Calls of one step run together: each holds its worst case until its usage is in.
        reservations: dict[object, tuple[str, float]] = self.__dict__.setdefault(
            "_reservations", {})

        def check(estimate: float | None) -> BudgetVerdict:
            return check_budget(
                self.ledger, agent=agent, overhead=overhead, estimate=estimate,
                session_usd=self.budget_usd, per_persona_usd=self.pack.budget.per_persona_usd,
                elsewhere_usd=self.other_branches_usd,
                in_flight_usd=sum(cost for _who, cost in reservations.values()),
                in_flight_agent_usd=sum(cost for who, cost in reservations.values()
                                        if who == agent and not overhead))

        # An upper bound first (no tokenizer); the exact worst case only when the bound is tight.
        estimate = await lookup(
            request.model, worst_case_bound, request.model, request.messages, request.max_tokens)
        verdict = check(estimate)
        if not verdict.allowed:
            estimate = await asyncio.to_thread(
                worst_case_cost, request.model, request.messages, request.max_tokens)
            verdict = check(estimate)
        if not verdict.allowed:
            if verdict.scope == "session":
                raise SessionStop("budget", verdict.reason)
            raise PersonaOverBudget(verdict.reason)
        token = object()
        reservations[token] = ("" if overhead else agent, estimate or 0.0)
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
            try:
                if parts or last.prompt_tokens is not None:
                    latency = (time.monotonic() - started) * 1000
                    record = functools.partial(self._record_usage, agent, request, turn,
                                               overhead, latency, parts, last)
                    if not inline(request.model):
                        await price_known(request.model, record)
                    record()
            finally:
                reservations.pop(token, None)
        return "".join(parts), last.tool_calls, last.finish_reason

    def _record_usage(
        self, agent: str, request: LLMRequest, turn: int, overhead: bool, latency: float,
        parts: list[str], last: LLMChunk,
    ) -> None:
        """On the ledger and emitted at once (the model's price is cached by now)."""
        text = "".join(parts)
        prompt_tokens = last.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in request.messages) // 4
        completion_tokens = last.completion_tokens
        if completion_tokens is None:
            completion_tokens = max(1, len(text) // 4) if text else 0
        cost = call_cost(request.model, prompt_tokens, completion_tokens)
        usage = self._ids(
            UsageRecorded, agent=agent, model=request.model, turn=turn,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            latency_ms=round(latency, 1), cost_usd=cost, overhead=overhead)
        self.ledger.record(usage)
        self._post(usage)

    def _shrink_context(self) -> bool:
        """After a context-window error: keep a quarter of the transcript (the newest part)."""
        if self.budget_chars <= MIN_TRANSCRIPT_CHARS:
            return False
        self.budget_chars = max(MIN_TRANSCRIPT_CHARS, self.budget_chars // 4)
        return True

    # ------------------------------------------------------------- orchestration calls

    async def decide(
        self, *, agent: str, system: str, user: str, schema: dict[str, Any], name: str,
        max_tokens: int = 300, validate: Any = None,
    ) -> Decision:
        error: str | None = None
        for _attempt in range(2):
            prompt = user if error is None else (
                f"{user}\n\nYour previous answer was invalid: {error}. "
                "Answer again with valid JSON only.")
            request = LLMRequest(
                model=self.model, temperature=0.2, max_tokens=max_tokens,
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": prompt}],
                response_format={"type": "json_schema", "json_schema": {
                    "name": name, "schema": schema, "strict": True}},
                api_base=self.options.api_base, stream=False)
            try:
                text, _tools, _finish = await self._call(agent, request, self.turn + 1,
                                                         overhead=True)
            except LLMError as exc:
                if exc.kind == "context_window" and self._shrink_context():
                    return Decision(None, "the prompt did not fit the context window")
                raise
            data = parse_json_object(text)
            if data is None:
                error = "the answer is not a JSON object"
                continue
            error = validate(data) if validate is not None else None
            if error is None:
                return Decision(data)
        return Decision(None, error)

    async def patch(self, patch: StatePatch, author: str) -> None:
        """Apply a patch on behalf of the orchestration (a plan, subtask status…)."""
        try:
            self.state = apply_patch(self.state, patch, author)
        except PatchError as exc:
            await self._emit(self._ids(PatchRejected, agent=author, turn=self.turn,
                                       error=str(exc)))
            return
        await self._emit(self._ids(StatePatched, agent=author, turn=self.turn, patch=patch,
                                   state=self.state))

    # ------------------------------------------------------------- speaking

    async def run_assignment(self, assignment: Assignment, turn: int) -> Result:
        """Run one assignment with its attempts and timeout; failures become a Result."""
        result = Result(assignment, "", error="not run")
        for attempt in range(1, assignment.attempts + 1):
            try:
                if assignment.timeout_s is not None:
                    result = await asyncio.wait_for(self._speak(assignment, turn),
                                                    assignment.timeout_s)
                else:
                    result = await self._speak(assignment, turn)
            except TimeoutError:
                result = Result(assignment, "", interrupted=True,
                                error=f"timed out after {assignment.timeout_s:g} s")
            if result.error is None or attempt == assignment.attempts:
                break
            what = f"task {assignment.task_id}" if assignment.task_id else assignment.persona.name
            await self._emit(self._ids(
                ErrorRaised, agent=assignment.persona.id,
                message=f"{what} failed ({result.error}); retrying ({attempt + 1} of "
                        f"{assignment.attempts})."))
        return result

    async def _speak(self, assignment: Assignment, turn: int) -> Result:
        persona = assignment.persona
        if persona.id in self.human_seats:
            return await self._human_seat(assignment, turn)
        model = assignment.model or self.options.persona_models.get(persona.id) or (
            self.model if self.options.model or not persona.model else persona.model)
        use_tools = await lookup(model, supports_tools, model)
        message_id = uuid.uuid4().hex[:12]
        started = self._ids(MessageStarted, message_id=message_id, agent=persona.id,
                            name=persona.name, role=persona.role, turn=turn)
        self._post_message(started)  # its streaming row is written before it is delivered
        streamed: list[str] = []

        async def on_text(text: str) -> None:
            streamed.append(text)
            await self._emit(self._ids(TokenDelta, message_id=message_id, agent=persona.id,
                                       text=text))

        try:
            for attempt in range(2):
                request = self._request(assignment, model, use_tools)
                try:
                    text, tool_calls, finish = await self._call(
                        persona.id, request, turn, overhead=False, on_text=on_text)
                    break
                except LLMError as exc:
                    if (exc.kind == "context_window" and attempt == 0 and not streamed
                            and self._shrink_context()):
                        await self._emit(self._ids(
                            ErrorRaised, agent=persona.id,
                            message="The conversation no longer fit the model's context "
                                    "window; retrying with only the newest messages."))
                        continue
                    raise
        except PersonaOverBudget as exc:
            self._finish(started, "", interrupted=True)
            await self._emit(self._ids(ErrorRaised, agent=persona.id, message=str(exc)))
            return Result(assignment, "", interrupted=True, error=str(exc))
        except asyncio.CancelledError:
            self._finish(started, "".join(streamed), interrupted=True)
            raise
        except LLMError as exc:
            self._finish(started, "".join(streamed), interrupted=True)
            if exc.kind in NON_FATAL_ERRORS or assignment.stateless:
                await self._emit(self._ids(ErrorRaised, agent=persona.id, message=str(exc)))
                return Result(assignment, "".join(streamed), interrupted=True, error=str(exc))
            raise
        self._finish(started, text, interrupted=False)
        if finish == "content_filter":
            await self._emit(self._ids(
                ErrorRaised, agent=persona.id,
                message=f"{persona.name}'s answer was cut by the provider's content filter."))
        await self._apply_patches(persona, text, tool_calls, turn)
        return Result(assignment, text, tool_calls=tool_calls)

    def _request(self, assignment: Assignment, model: str, use_tools: bool) -> LLMRequest:
        persona = assignment.persona
        if assignment.stateless:
            messages = prompts.task_messages(self.pack, persona, self.topic,
                                             assignment.instruction)
        else:
            messages = prompts.persona_messages(
                self.pack, persona, self.topic, self.state, self.lines,
                instruction=assignment.instruction, use_tools=use_tools,
                budget_chars=self.budget_chars)
        temperature = persona.temperature if persona.temperature is not None else (
            self.pack.pack.temperature)
        tools = ([PATCH_TOOL] if use_tools and not assignment.stateless else [])
        if use_tools:
            tools += assignment.tools
        return LLMRequest(
            model=model, messages=messages, temperature=temperature,
            max_tokens=self._max_tokens(model), api_base=self.options.api_base,
            tools=tools or None)

    def _finish(self, started: MessageStarted, text: str, *, interrupted: bool) -> None:
        done = self._ids(MessageCompleted, message_id=started.message_id, agent=started.agent,
                         name=started.name, role=started.role, turn=started.turn, text=text,
                         interrupted=interrupted)
        if text:
            self.lines.append(prompts.Line(started.agent, started.name, started.role, text))
        self._post_message(done)  # committed (its row finished) before it is delivered

    async def _commit_message(self, *, agent: str, name: str, role: str, text: str,
                              to: str | None, message_id: str) -> None:
        done = self._ids(MessageCompleted, message_id=message_id, agent=agent, name=name,
                         role=role, turn=self.turn, text=text, to=to)
        await self._save()
        seq = await self.store.append_event(
            self.id, self.branch_id, done.kind, agent, event_payload(done))
        self.last_seq = max(self.last_seq, seq)
        self.lines.append(prompts.Line(agent, name, role, text, to))
        await self._emit(done)

    async def _human_seat(self, assignment: Assignment, turn: int) -> Result:
        persona = assignment.persona
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        await self._emit(self._ids(HumanInputRequested, agent=persona.id, turn=turn,
                                   future=future))
        text = await future
        if not text:
            return Result(assignment, "", error="skipped by the human")
        await self._commit_message(agent=persona.id, name=f"{persona.name} (you)",
                                   role=persona.role, text=text, to=None,
                                   message_id=uuid.uuid4().hex[:12])
        await self._apply_patches(persona, text, [], turn)
        return Result(assignment, text)

    async def _apply_patches(self, persona: Persona, text: str, tool_calls: list[Any],
                             turn: int) -> None:
        patches: list[tuple[StatePatch | None, str | None]] = []
        for call in tool_calls:
            if call.name != "update_shared_state":
                continue
            try:
                patches.append((StatePatch.model_validate_json(call.arguments or "{}"), None))
            except ValueError as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                patches.append((None, f"invalid update_shared_state arguments: {first}"))
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
