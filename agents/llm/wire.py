"""An OpenAI-style chat stream read straight off the wire.

litellm sends the request (for OpenAI-style providers, through its own HTTP handler) and hands
back a stream whose chunks it would rebuild as its own objects, one by one, then rebuild the
whole answer from at the end; for a plain OpenAI-format stream that costs ~0.3 ms a chunk. When
the stream is that plain format, the open HTTP response is read here instead: the server-sent
events are parsed with httpx-sse and each event strictly, so a chunk that is not JSON, an error
the provider reports mid-stream, or a stream that stops without finishing is an error, never a
reply quietly stored as complete.

Imported only once litellm is loaded (the client imports it when it reads a stream).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import EventSource
from litellm.llms.openai.chat.gpt_transformation import OpenAIChatCompletionStreamingHandler

from agents.llm.chunks import LLMChunk, ToolCall
from agents.llm.errors import LLMError, error_for_status, named_error


def plain_openai_response(stream: Any) -> httpx.Response | None:
    """The open HTTP response behind ``stream`` (what ``litellm.acompletion`` returned) when its
    chunks are plain OpenAI chat-completion chunks, else None (read it through litellm)."""
    provider_stream = getattr(stream, "completion_stream", None)
    if type(provider_stream) is not OpenAIChatCompletionStreamingHandler:
        return None  # another provider's stream, or a subclass that reshapes its chunks
    response = getattr(provider_stream, "http_response", None)
    if not isinstance(response, httpx.Response) or response.is_stream_consumed:
        return None
    if "text/event-stream" not in response.headers.get("content-type", ""):
        return None  # an odd server's answer: litellm's reader makes what it can of it
    return response


async def read_openai_stream(response: httpx.Response, model: str) -> AsyncIterator[LLMChunk]:
    """The answer in ``response``'s event stream: text as it comes, then one last chunk with the
    tool calls, usage (None when the server sent none) and finish reason. Raises
    :class:`LLMError` when the stream breaks."""
    calls = _ToolCalls()
    finish: str | None = None
    usage: dict[str, Any] = {}
    done = False
    try:
        async with contextlib.aclosing(EventSource(response).aiter_sse()) as events:
            async for event in events:
                data = event.data.strip()
                if data == "[DONE]":
                    done = True
                    break
                if event.event not in ("", "message", "error"):
                    continue  # a named event of the server's own (a ping): not part of the answer
                if not data:
                    continue
                chunk = _parse(data, model)
                if event.event == "error" or chunk.get("error"):
                    raise _reported_error(chunk, model)
                for choice in _dicts(chunk.get("choices"), model):
                    delta = _dict(choice.get("delta"), model)
                    finish = choice.get("finish_reason") or finish
                    calls.add(_dicts(delta.get("tool_calls"), model), model)
                    text = _content(delta.get("content"))
                    if text:
                        yield LLMChunk(text=text)
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
    except httpx.TimeoutException as exc:
        raise named_error("Timeout", model) from exc
    except (httpx.RequestError, httpx.StreamError) as exc:
        raise _dropped(model) from exc
    if not done and finish is None:
        raise _dropped(model)  # the body ended cleanly, but the answer did not
    yield LLMChunk(
        tool_calls=calls.done(),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        finish_reason=finish or "stop",  # [DONE] without a finish reason: a normal end
    )


class _ToolCalls:
    """Tool calls assembled from their pieces. A piece names its call by ``index`` (its place in
    its delta when it has none); a piece with a new ``id`` under a known index starts another
    call (some servers number every call 0)."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []
        self.ids: list[str | None] = []
        self.at: dict[int, int] = {}

    def add(self, pieces: list[dict[str, Any]], model: str) -> None:
        for place, piece in enumerate(pieces):
            index = piece.get("index")
            key = index if isinstance(index, int) and not isinstance(index, bool) else place
            call_id = piece.get("id") if isinstance(piece.get("id"), str) else None
            at = self.at.get(key)
            if at is None or (call_id and self.ids[at] and call_id != self.ids[at]):
                self.calls.append(ToolCall(name="", arguments=""))
                self.ids.append(call_id)
                at = self.at[key] = len(self.calls) - 1
            elif call_id and not self.ids[at]:
                self.ids[at] = call_id
            function = _dict(piece.get("function"), model)
            name = function.get("name")
            self.calls[at].name += name if isinstance(name, str) else ""
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                self.calls[at].arguments += arguments
            elif arguments is not None:  # an object where a JSON string is due
                self.calls[at].arguments += json.dumps(arguments)

    def done(self) -> list[ToolCall]:
        return [call for call in self.calls if call.name]


def _content(value: Any) -> str:
    """A delta's text: a string, or the text parts of a list of content parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part["text"] for part in value if isinstance(part, dict)
                       and part.get("type", "text") == "text" and isinstance(part.get("text"), str))
    return ""


def _parse(data: str, model: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        chunk = None
    if not isinstance(chunk, dict):
        raise _dropped(model, "it sent a chunk that is not JSON")
    return chunk


def _dict(value: Any, model: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _dropped(model, "it sent a chunk that is not a chat completion")
    return value


def _dicts(value: Any, model: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _dropped(model, "it sent a chunk that is not a chat completion")
    return [_dict(item, model) for item in value]


def _reported_error(chunk: dict[str, Any], model: str) -> LLMError:
    """An error the provider sent in the stream, classified by its code, type and message."""
    error = chunk.get("error") or chunk
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code, kind = error.get("code"), error.get("type")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    words = " ".join(str(part) for part in (error.get("message"), code, kind) if part)
    return error_for_status(status or _status_of(words), words, model)


#: Status for an error whose code is a word (OpenAI's ``code``/``type`` and the like).
_WORD_STATUS = ((r"rate[\s_-]*limit|insufficient_quota", 429),
                (r"authentication|invalid_api_key", 401), (r"permission", 403),
                (r"not_found", 404), (r"overloaded|unavailable", 503),
                (r"invalid_request|context_length", 400))


def _status_of(words: str) -> int:
    lowered = words.lower()
    return next((status for pattern, status in _WORD_STATUS if re.search(pattern, lowered)), 500)


def _dropped(model: str, why: str = "") -> LLMError:
    return named_error("MidStreamFallbackError", model, why)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if 0 <= value < 1e12 else None
