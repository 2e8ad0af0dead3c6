"""What the scripted server answers: the reply kinds and the default responder.

A test queues replies with ``ScriptedServer.script(...)`` or sets ``server.responder`` to any
``Callable[[dict], Reply]``; the request body (the JSON the client sent) is its argument.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ContentFilter",
    "DefaultResponder",
    "Drop",
    "Error",
    "Hang",
    "Malformed",
    "RawStream",
    "Reply",
    "Responder",
    "Text",
    "ToolCall",
    "count_prompt_tokens",
    "finish_reason_of",
    "pieces",
    "schema_instance",
    "usage_for",
]


@dataclass(frozen=True)
class Text:
    """A normal assistant reply, streamed in ``chunk_size``-character content deltas."""

    content: str
    chunk_size: int = 8
    delay_s: float = 0.0
    first_byte_delay_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class ToolCall:
    """One function call; its JSON arguments are streamed in pieces."""

    name: str
    arguments: dict[str, Any]
    content: str = ""
    call_id: str = "call_scripted_1"
    chunk_size: int = 8
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable",
}


@dataclass(frozen=True)
class Error:
    """An HTTP error with an OpenAI-style ``{"error": {...}}`` body."""

    status: int
    message: str = "Scripted error."
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None
    code: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body OpenAI sends with an error."""
        kind = self.error_type or _ERROR_TYPES.get(self.status, "api_error")
        return {"error": {"message": self.message, "type": kind, "param": None,
                          "code": self.code}}

    @classmethod
    def rate_limit(cls, retry_after: float = 1) -> Error:
        return cls(429, "Rate limit reached for requests.", {"Retry-After": f"{retry_after:g}"},
                   "requests", "rate_limit_exceeded")

    @classmethod
    def auth(cls) -> Error:
        return cls(401, "Incorrect API key provided.", error_type="invalid_request_error",
                   code="invalid_api_key")

    @classmethod
    def context_length(cls) -> Error:
        return cls(400, "This model's maximum context length is 8192 tokens. However, your "
                   "messages resulted in 9000 tokens. Please reduce the length of the messages.",
                   code="context_length_exceeded")

    @classmethod
    def server(cls, status: int = 500) -> Error:
        return cls(status, "The server had an error while processing your request.")


@dataclass(frozen=True)
class Drop:
    """Stream ``after_chunks`` content chunks, then close the connection abruptly."""

    after_chunks: int = 1
    content: str = "This reply is cut off before it ends."
    chunk_size: int = 8


@dataclass(frozen=True)
class Malformed:
    """Send ``after_chunks`` good content chunks, then a chunk that is not valid JSON."""

    after_chunks: int = 0
    content: str = "Half a reply"


@dataclass(frozen=True)
class RawStream:
    """A 200 answer whose body is ``lines`` as written (each gets a blank line after it, as an
    event does), under ``content_type``; the body then ends cleanly. For wire-level faults:
    an error event, a stream that stops without finishing, SSE comments, a wrong content type."""

    lines: tuple[str, ...]
    content_type: str = "text/event-stream"


@dataclass(frozen=True)
class Hang:
    """Wait ``seconds`` (cut short when the server stops), then answer with ``then``."""

    seconds: float
    then: Text | ToolCall | None = None


@dataclass(frozen=True)
class ContentFilter:
    """A reply stopped by the provider's content filter (``finish_reason="content_filter"``)."""

    content: str = ""


Reply = Text | ToolCall | Error | Drop | Malformed | RawStream | Hang | ContentFilter
Responder = Callable[[dict[str, Any]], Reply]


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """A rough prompt token count: the characters of every message's content over 4."""
    messages = body.get("messages")
    chars = sum(len(_text_of(m.get("content"))) for m in messages or [] if isinstance(m, dict))
    return max(1, chars // 4)


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/Name``) to the schema it names."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def schema_instance(schema: dict[str, Any], turn: int, root: dict[str, Any] | None = None,
                    name: str = "") -> Any:
    """A value valid against ``schema``; every ``enum`` picks its ``turn``-th item, cycling,
    so a moderator's speaker choice goes round-robin across calls."""
    root = schema if root is None else root
    node = _resolve(schema, root)
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][turn % len(node["enum"])]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [_resolve(o, root) for o in node.get(key) or []]
        options = [o for o in options if o.get("type") != "null"] or options
        if options:
            return schema_instance(options[0], turn, root, name)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in node:
        props = node.get("properties") or {}
        return {key: schema_instance(sub, turn, root, key) for key, sub in props.items()}
    if kind == "array":
        items = _resolve(node.get("items") or {}, root)
        count = max(1, int(node.get("minItems", 1)))
        count = min(count, int(node.get("maxItems", count)))
        return [schema_instance(items, turn + i, root, name) for i in range(count)]
    if kind == "string":
        text = f"Round-robin choice number {turn + 1}." if name == "reason" else f"{name or 'x'}"
        return text.ljust(int(node.get("minLength", 0)), ".")
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def pieces(text: str, size: int, limit: int | None = None) -> Iterator[str]:
    """``text`` cut into ``size``-character pieces, at most ``limit`` of them."""
    size = max(1, size)
    parts = (text[i:i + size] for i in range(0, len(text), size))
    return itertools.islice(parts, limit)


def finish_reason_of(reply: Text | ToolCall) -> str:
    return "tool_calls" if isinstance(reply, ToolCall) else reply.finish_reason


def usage_for(reply: Text | ToolCall, body: dict[str, Any]) -> dict[str, int]:
    """The ``usage`` object for a reply: the scripted counts, else rough ones (chars / 4)."""
    prompt = reply.prompt_tokens if reply.prompt_tokens is not None else count_prompt_tokens(body)
    produced = reply.content + (json.dumps(reply.arguments) if isinstance(reply, ToolCall) else "")
    completion = reply.completion_tokens
    if completion is None:
        completion = max(1, len(produced) // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


class DefaultResponder:
    """Answers any request plausibly and deterministically, so a run needs no scripting.

    A ``response_format`` of type ``json_schema`` (a moderator's or router's decision) gets JSON
    valid against the schema, its enums (the allowed speaker ids) picked round-robin across calls,
    ``done`` false. Anything else gets a short text naming the model and the speaker's persona.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decisions = 0
        self._texts = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema") or {}
            schema = spec.get("schema") if isinstance(spec, dict) else None
            with self._lock:
                turn, self._decisions = self._decisions, self._decisions + 1
            return Text(json.dumps(schema_instance(schema or {}, turn)))
        if isinstance(response_format, dict) and response_format.get("type") == "json_object":
            return Text(json.dumps({"reply": "ok"}))
        with self._lock:
            self._texts += 1
            point = self._texts
        return Text(self.text_for(body, point))

    @staticmethod
    def text_for(body: dict[str, Any], point: int) -> str:
        model = str(body.get("model") or "the model")
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        systems = [_text_of(m.get("content")) for m in messages if m.get("role") == "system"]
        words = " ".join((systems[-1] if systems else "a participant").split()[:6])
        return f"As {words}... ({model}) I make point {point}: let us keep the next step small."
