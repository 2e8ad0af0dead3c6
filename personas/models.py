"""Pydantic models of a persona pack: the cast, the pattern, models, budgets, termination."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

Role = Literal["moderator", "expert", "critic", "executor"]
Pattern = Literal[
    "group_chat", "sequential", "parallel", "hierarchical", "router", "orchestrator_worker",
    "handoff",
]

PERSONA_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Persona(_Strict):
    """One participant of the chat."""

    id: str = Field(pattern=PERSONA_ID_PATTERN, description="short lowercase id, used in @mentions")
    name: str = Field(min_length=1, max_length=60, description="display name")
    role: Role
    expertise: str = ""
    system_prompt: str = Field(min_length=1)
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    colour: str = "white"


class PackMeta(_Strict):
    """The `[pack]` table."""

    name: str = Field(min_length=1, max_length=60)
    version: str = "1.0"
    description: str = ""
    pattern: Pattern = "group_chat"
    model: str | None = None
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=400, ge=16, le=32000)


class Budget(_Strict):
    """The `[budget]` table: USD limits, checked before every call."""

    session_usd: float | None = Field(default=None, gt=0)
    per_persona_usd: float | None = Field(default=None, gt=0)


class Termination(_Strict):
    """The `[termination]` table. ``max_turns`` always ends the session; the other conditions
    combine with ``mode``: ``any`` ends at the first one met, ``all`` when every one is met."""

    max_turns: int = Field(default=12, ge=1, le=10000)
    stop_phrase: str | None = None
    mode: Literal["any", "all"] = "any"
    goal_met: bool = True  # the moderator (or the pattern) may declare the goal met
    min_decisions: int | None = Field(default=None, ge=1)
    min_artifacts: int | None = Field(default=None, ge=1)


class HandoffRule(_Strict):
    """A `[[flow.handoff_rules]]` entry: hand control to ``to`` when the condition holds."""

    to: str
    keywords: list[str] = Field(default_factory=list)
    state: str | None = Field(
        default=None,
        pattern=r"^(decisions|open_questions|action_items|open_action_items|artifacts)"
        r"\s*(>=|<=|==|>|<)\s*\d+$",
        description='a predicate on the shared state, e.g. "open_questions >= 3"',
    )


class Flow(_Strict):
    """The `[flow]` table: settings of the orchestration pattern, all optional."""

    order: list[str] = Field(default_factory=list)  # sequential: the pipeline
    rounds: int = Field(default=1, ge=1, le=100)  # sequential / parallel: passes
    members: list[str] = Field(default_factory=list)  # parallel / router / handoff: who takes part
    merge_by: str | None = None  # parallel: who merges; orchestrator_worker: who aggregates
    workers: list[str] = Field(default_factory=list)  # orchestrator_worker: the pool
    concurrency: int = Field(default=3, ge=1, le=32)  # orchestrator_worker / parallel bound
    task_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    task_attempts: int = Field(default=2, ge=1, le=5)
    max_tasks: int = Field(default=6, ge=1, le=50)
    start: str | None = None  # handoff: who is active first
    escalate_to: str | None = None  # handoff: the more capable persona
    escalate_model: str | None = None  # handoff: or a more capable model
    handoff_rules: list[HandoffRule] = Field(default_factory=list)
    transitions: dict[str, list[str]] = Field(default_factory=dict)  # who may follow whom


class Pack(_Strict):
    """A whole persona pack, as read from TOML."""

    pack: PackMeta
    budget: Budget = Budget()
    termination: Termination = Termination()
    flow: Flow = Flow()
    personas: list[Persona] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_cast(self) -> Pack:
        # Custom error types carry the offending index in their context, so the loader can
        # point at the exact `[[personas]]` entry and line.
        seen: dict[str, int] = {}
        for index, persona in enumerate(self.personas):
            if persona.id in seen:
                raise PydanticCustomError(
                    "duplicate_persona_id",
                    "persona ids must be unique, but {id} appears twice",
                    {"id": persona.id, "index": index, "first": seen[persona.id]},
                )
            seen[persona.id] = index
            if persona.id == "human":
                raise PydanticCustomError(
                    "reserved_persona_id",
                    "persona id 'human' is reserved for the user; choose another id",
                    {"id": persona.id, "index": index},
                )
        moderators = [p.id for p in self.personas if p.role == "moderator"]
        if len(moderators) != 1:
            raise PydanticCustomError(
                "moderator_count",
                'a pack needs exactly one persona with role = "moderator", found {count}',
                {"count": len(moderators)},
            )
        if not any(p.role == "expert" for p in self.personas):
            raise PydanticCustomError(
                "no_expert", 'a pack needs at least one persona with role = "expert"'
            )
        self._check_flow(set(seen))
        return self

    def _check_flow(self, ids: set[str]) -> None:
        flow = self.flow
        named: list[tuple[str, str]] = [("flow.order", i) for i in flow.order]
        named += [("flow.members", i) for i in flow.members]
        named += [("flow.workers", i) for i in flow.workers]
        for field_name, value in (("flow.merge_by", flow.merge_by), ("flow.start", flow.start),
                                  ("flow.escalate_to", flow.escalate_to)):
            if value is not None:
                named.append((field_name, value))
        named += [("flow.handoff_rules", r.to) for r in flow.handoff_rules]
        for source, targets in flow.transitions.items():
            named.append(("flow.transitions", source))
            named += [("flow.transitions", t) for t in targets]
        for field_name, value in named:
            if value not in ids and not (field_name == "flow.transitions" and value == "human"):
                raise PydanticCustomError(
                    "unknown_persona",
                    "{field} names {value!r}, which is not a persona id of this pack "
                    "(ids: {ids})",
                    {"field": field_name, "value": value, "ids": ", ".join(sorted(ids))},
                )

    @property
    def name(self) -> str:
        return self.pack.name

    @property
    def moderator(self) -> Persona:
        return next(p for p in self.personas if p.role == "moderator")

    @property
    def speakers(self) -> list[Persona]:
        """Everyone the moderator may give the floor to."""
        return [p for p in self.personas if p.role != "moderator"]

    def persona(self, persona_id: str) -> Persona | None:
        return next((p for p in self.personas if p.id == persona_id), None)
