"""Parsing the moderator's structured decision, and the predictable fallback rule."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Decision(BaseModel):
    model_config = ConfigDict(extra="ignore")

    speakers: list[str] = Field(min_length=1)
    reason: str = ""
    done: bool = False


class DecisionError(ValueError):
    pass


_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_BRACES = re.compile(r"\{.*\}", re.DOTALL)


def parse_json_object(text: str) -> dict[str, object] | None:
    """The JSON object in a model's answer (bare, fenced, or amid prose), or None."""
    candidates = [text.strip(), *_FENCE.findall(text), *_BRACES.findall(text)]
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    return None


def parse_decision(text: str, allowed: list[str], max_speakers: int) -> Decision:
    """Parse and check a decision; raise DecisionError with a one-line reason when invalid."""
    data = parse_json_object(text)
    if data is None:
        raise DecisionError("the answer is not a JSON object")
    try:
        decision = Decision.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "decision"
        raise DecisionError(f"{where}: {first['msg']}") from None
    unknown = [s for s in decision.speakers if s not in allowed]
    if unknown:
        raise DecisionError(f"unknown speaker {unknown[0]!r}; allowed: {', '.join(allowed)}")
    speakers = list(dict.fromkeys(decision.speakers))[:max_speakers]
    return decision.model_copy(update={"speakers": speakers})


@dataclass(frozen=True)
class Fallback:
    speakers: list[str]
    reason: str


def round_robin(allowed: list[str], last: str | None, addressed: str | None) -> Fallback:
    """The predictable rule used when the moderator's decision is invalid twice."""
    if addressed and addressed in allowed:
        return Fallback([addressed], f"the human addressed @{addressed}")
    nxt = allowed[(allowed.index(last) + 1) % len(allowed)] if last in allowed else allowed[0]
    return Fallback([nxt], f"round-robin after {last or 'the opening'}")
