"""Pydantic models of a persona pack: the cast, the pattern, models, budgets, termination."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

Role = Literal["moderator", "expert", "critic", "executor"]
Pattern = Literal["group_chat"]

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
    """The `[termination]` table."""

    max_turns: int = Field(default=12, ge=1, le=10000)
    stop_phrase: str | None = None


class Pack(_Strict):
    """A whole persona pack, as read from TOML."""

    pack: PackMeta
    budget: Budget = Budget()
    termination: Termination = Termination()
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
        return self

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
