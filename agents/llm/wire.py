"""An OpenAI-style chat stream read straight off the wire.

litellm sends the request (for OpenAI-style providers, through its own HTTP handler) and hands
back a stream whose chunks it would rebuild as its own objects, one by one, then rebuild the
whole answer from at the end; for a plain OpenAI-format stream that costs ~0.3 ms a chunk. When
the stream is that plain format, the open HTTP response is read here instead: the server-sent
events are parsed with httpx-sse and each event strictly, so a chunk that is not JSON, an error
the provider reports mid-stream, or a stream that stops without finishing is an error, never a
reply quietly stored as complete.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from agents.llm.chunks import LLMChunk, ToolCall
from agents.llm.errors import LLMError, error_for_status

_PLAIN_ITERATOR: type | None = None


def plain_openai_response(stream: Any) -> httpx.Response | None:
    """The open HTTP response behind ``stream`` (what ``litellm.acompletion`` returned) when its
    chunks are plain OpenAI chat-completion chunks, else None (read it through litellm)."""
    global _PLAIN_ITERATOR
    provider_stream = getattr(stream, "completion_stream", None)
    if provider_stream is None:
        return None
    if _PLAIN_ITERATOR is None:
        from litellm.llms.openai.chat.gpt_transformation import (
            OpenAIChatCompletionStreamingHandler,
        )

        _PLAIN_ITERATOR = OpenAIChatCompletionStreamingHandler
    if type(provider_stream) is not _PLAIN_ITERATOR:  # a subclass reshapes its provider's chunks
        return None
    response = getattr(provider_stream, "http_response", None)
    if not isinstance(response, httpx.Response) or response.is_stream_consumed:
        return None
    return response


async def read_openai_stream(response: httpx.Response, model: str) -> AsyncIterator[LLMChunk]:
    """The answer in ``response``'s event stream: text as it comes, then one last chunk with the
    tool calls, usage and finish reason. Raises :class:`LLMError` when the stream breaks."""
    tools: dict[int, ToolCall] = {}
    finish: str | None = None
    usage: dict[str, Any] = {}
    done = False
    try:
        async for event in EventSource(response).aiter_sse():
            data = event.data.strip()
            if data == "[DONE]":
                done = True
                break
            if not data:
                continue
            chunk = _parse(data, model)
            if event.event == "error" or chunk.get("error"):
                raise _reported_error(chunk, model)
            for choice in _dicts(chunk.get("choices"), model):
                delta = _dict(choice.get("delta"), model)
                finish = choice.get("finish_reason") or finish
                for call in _dicts(delta.get("tool_calls"), model):
                    index = call.get("index")
                    slot = tools.setdefault(index if isinstance(index, int) else 0,
                                            ToolCall(name="", arguments=""))
                    function = _dict(call.get("function"), model)
                    slot.name += str(function.get("name") or "")
                    slot.arguments += str(function.get("arguments") or "")
                text = delta.get("content")
                if text:
                    yield LLMChunk(text=str(text))
            if isinstance(chunk.get("usage"), dict):
                usage = chunk["usage"]
    except httpx.TimeoutException as exc:
        raise LLMError("timeout", f"{model} did not answer in time.", retryable=True) from exc
    except SSEError as exc:  # an httpx.TransportError too, so it is caught first
        kind = response.headers.get("content-type", "no content type")
        raise LLMError("bad_response", f"{model}'s provider answered a streamed request with "
                       f"{kind!r}, not an event stream.") from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise _dropped(model) from exc
    if not done and finish is None:
        raise _dropped(model)  # the body ended cleanly, but the answer did not
    yield LLMChunk(
        tool_calls=[tools[i] for i in sorted(tools) if tools[i].name],
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        finish_reason=finish,
    )


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
    error = chunk.get("error")
    message = str(error.get("message") or "") if isinstance(error, dict) else str(error or "")
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    return error_for_status(status, message, model)


def _dropped(model: str, why: str = "") -> LLMError:
    detail = f" ({why})" if why else ""
    return LLMError("dropped", f"the connection to {model} dropped in the middle of its "
                    f"answer{detail}.", retryable=True)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
