"""What an orchestration pattern is: a strategy the session asks "what runs next?"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agents.events import Event
from agents.prompts import Line
from agents.state import SharedState, StatePatch
from personas.models import Pack, Persona


@dataclass
class Assignment:
    """One persona asked to speak (or to do one task) in a step."""

    persona: Persona
    instruction: str
    stateless: bool = False  # a worker sees only its task, not the conversation
    model: str | None = None  # e.g. escalation to a more capable model
    timeout_s: float | None = None
    attempts: int = 1
    task_id: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)  # extra tools (handoff transfers)


@dataclass
class Step:
    """What runs in one turn."""

    assignments: list[Assignment]
    reason: str
    concurrency: int | None = None  # None: all at once
    fallback: bool = False
    fallback_reason: str = ""


@dataclass(frozen=True)
class End:
    """The pattern is finished."""

    reason: Literal["goal_met", "max_turns", "stop_phrase", "budget", "user", "error"]
    detail: str


@dataclass
class Result:
    """What one assignment produced."""

    assignment: Assignment
    text: str
    interrupted: bool = False
    error: str | None = None
    tool_calls: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """A structured answer from an orchestration call, or why there is none."""

    data: dict[str, Any] | None
    error: str | None = None


class PatternContext(Protocol):
    """What a pattern may see and do; the session implements it."""

    id: str  # the session id (for events a pattern emits)
    branch_id: str
    pack: Pack
    topic: str
    state: SharedState
    lines: list[Line]
    turn: int
    max_turns: int
    last_speaker: str | None
    interactive: bool
    model: str  # the session's model
    budget_chars: int  # how much transcript fits in a prompt for the current model

    async def decide(self, *, agent: str, system: str, user: str, schema: dict[str, Any],
                     name: str, max_tokens: int = 300,
                     validate: Callable[[dict[str, Any]], str | None] | None = None) -> Decision:
        """A structured-output call accounted as orchestration overhead. An answer that is not
        a JSON object, or that ``validate`` rejects (returning why), is retried once with the
        reason; ``Decision.data`` is None when the retry fails too."""
        ...

    async def patch(self, patch: StatePatch, author: str) -> None: ...

    async def emit(self, event: Event) -> None: ...

    def new_human_lines(self) -> list[Line]:
        """Human messages since the pattern last asked (each returned once)."""
        ...

    async def wait_for_human(self) -> bool:
        """Wait for a human message (interactive sessions); False if stopping."""
        ...

    def transcript(self, budget_chars: int | None = None) -> str: ...


class Pattern(Protocol):
    name: str

    def opening(self, ctx: PatternContext) -> Assignment | None:
        """Who speaks at turn 0, before the first step (None: nobody)."""
        ...

    async def next_step(self, ctx: PatternContext) -> Step | End: ...

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        ...

    def save(self) -> dict[str, Any]:
        """Routing state to keep in the checkpoint (whose turn, counters, queues)."""
        ...

    def restore(self, data: dict[str, Any]) -> None: ...


class BasePattern:
    """Defaults: no opening, nothing to do after a step, no routing state."""

    name = "base"

    def __init__(self, pack: Pack) -> None:
        self.pack = pack

    def opening(self, ctx: PatternContext) -> Assignment | None:
        return None

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        return None

    def save(self) -> dict[str, Any]:
        return {}

    def restore(self, data: dict[str, Any]) -> None:
        return None

    def persona(self, persona_id: str) -> Persona:
        found = self.pack.persona(persona_id)
        if found is None:
            raise KeyError(persona_id)
        return found

    def ids(self, role: str | None = None) -> list[str]:
        return [p.id for p in self.pack.personas if role is None or p.role == role]


def speak_instruction(ctx: PatternContext, persona: Persona, reason: str) -> str:
    return (f"{ctx.pack.moderator.name} gives you the floor ({reason}). "
            f"It is your turn, {persona.name}: reply in a few sentences.")
