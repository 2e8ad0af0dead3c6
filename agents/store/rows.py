"""Typed rows returned by the store, and how payloads are encoded (secrets scrubbed first)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

#: Payload keys never written to the database (compared lower-cased, ``-`` read as ``_``).
#: Exact names only: ``token`` is dropped, ``prompt_tokens`` is kept.
SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "authorization",
        "proxy_authorization",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "token",
        "access_token",
        "refresh_token",
        "bearer_token",
        "aws_secret_access_key",
    }
)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower().replace("-", "_") in SECRET_KEYS


def _scrub_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: _scrub_value(v) for k, v in value.items() if not _is_secret_key(k)}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/inf are not JSON; json_extract would choke on them
    return value


def _scrub(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``payload`` without secret-named keys, at any depth (defence in depth)."""
    scrubbed = _scrub_value(payload)
    assert isinstance(scrubbed, dict)
    return scrubbed


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(payload: Mapping[str, Any]) -> str:
    """Scrub then serialise a payload to compact JSON."""
    return json.dumps(
        _scrub(payload), default=_json_default, ensure_ascii=False, separators=(",", ":")
    )


def decode(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    title: str
    topic: str
    pack_name: str
    pack_json: dict[str, Any]
    model: str
    created: datetime
    updated: datetime
    head_branch: str
    turns: int
    """Highest checkpointed turn on the head branch's view (0 if none)."""
    cost_usd: float
    """USD over every ``usage_recorded`` event of the session, all branches (unpriced = 0)."""
    messages: int
    """Messages on the head branch's view (an interrupted one included)."""


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    branch_id: str
    kind: str
    agent: str
    payload: dict[str, Any]
    created: datetime


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    seq: int
    branch_id: str
    turn: int
    state: dict[str, Any]
    label: str
    created: datetime


@dataclass(frozen=True, slots=True)
class BranchRow:
    id: str
    parent_branch: str | None
    fork_seq: int | None
    name: str
    created: datetime
