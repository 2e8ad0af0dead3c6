"""Typed rows returned by the store, and how payloads are encoded (secrets scrubbed first)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    return isinstance(key, str) and _is_secret_name(key)


@functools.lru_cache(maxsize=4096)
def _is_secret_name(key: str) -> bool:  # payloads repeat the same few keys
    return key.strip().lower().replace("-", "_") in SECRET_KEYS


def _scrub_value(value: Any) -> Any:
    # The plain JSON types first, by exact type (what nearly every payload is made of); any
    # other value, a subclass of those included, takes the general path below.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k: _scrub_value(v) for k, v in value.items() if not _is_secret_key(k)}
    if kind is list:
        return [_scrub_value(v) for v in value]
    if kind is float:
        return value if math.isfinite(value) else None
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


_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":"))


def encode(payload: Mapping[str, Any]) -> str:
    """Scrub then serialise a payload to compact JSON."""
    return _ENCODER.encode(_scrub(payload))


@functools.cache
def _event_defaults() -> dict[str, dict[str, Any]]:
    """Per event kind, the fields with a plain default value (what the store leaves out)."""
    out: dict[str, dict[str, Any]] = {}
    for model in _event_models():
        kind = model.model_fields["kind"].default
        out[kind] = {
            name: f.default for name, f in model.model_fields.items()
            if name not in ("session_id", "branch_id", "kind", "at") and not f.is_required()
            and f.default_factory is None and not f.exclude
            and (f.default is None or isinstance(f.default, bool | int | float | str))}
    return out


def _event_models() -> list[type[BaseModel]]:
    from agents import events

    return [obj for obj in vars(events).values()
            if isinstance(obj, type) and issubclass(obj, events._Event)
            and obj is not events._Event and "kind" in obj.model_fields]


def _same(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def encode_event(kind: str, payload: Mapping[str, Any]) -> str:
    """An event payload as stored. An event's own payload (it has ``kind`` and ``at``) is
    stored without those two (the row's columns hold them) and without fields equal to their
    defaults, marked ``"~":1``; :func:`decode_event` puts them back. Others are kept as given."""
    if "kind" not in payload or "at" not in payload:
        return encode(payload)
    defaults = _event_defaults().get(str(payload["kind"]), {})
    slim: dict[str, Any] = {"~": 1}
    slim.update((k, v) for k, v in payload.items()
                if k not in ("kind", "at") and not (k in defaults and _same(v, defaults[k])))
    return encode(slim)


def decode_event(kind: str, text: str, created: str) -> dict[str, Any]:
    """A stored payload as it was given to :func:`encode_event`."""
    payload = decode(text)
    if payload.pop("~", None) is None:
        return payload
    out: dict[str, Any] = {"at": created, "kind": kind, **_event_defaults().get(kind, {})}
    out.update(payload)
    return out


def decode(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def usd(value: Any) -> float:
    """A usage payload's ``cost_usd`` as the session total counts it (anything else is 0)."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


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


#: An event to append: ``(kind, agent, payload)``.
NewEvent = tuple[str, str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Finish:
    """A streaming message (its seq) finalised in place with its completed payload."""

    seq: int
    payload: Mapping[str, Any]


@dataclass(slots=True)
class Pending:
    """What a write does first, in its own transaction, in order: runs of events appended on
    one branch, and streaming messages finished; ``seqs`` are the appended events' once that
    write has committed (empty if it did not)."""

    session_id: str
    ops: list[tuple[str, list[NewEvent]] | Finish]
    seqs: list[int] = field(default_factory=list)
