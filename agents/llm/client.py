"""The LLM client seam: one protocol, one litellm implementation with bounded retries."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agents.llm.chunks import LLMChunk, ToolCall
from agents.llm.errors import LLMError, classify_error
from agents.llm.setup import litellm_module, loaded_litellm

__all__ = ["LLMChunk", "LLMClient", "LLMRequest", "LiteLLMClient", "RetryPolicy", "ToolCall"]


@dataclass(frozen=True)
class LLMRequest:
    model: str
    messages: list[dict[str, Any]]
    temperature: float = 0.7
    max_tokens: int = 400
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    api_base: str | None = None
    timeout_s: float = 120.0
    #: False when the answer is only wanted whole (a decision): one call without streaming,
    #: which costs litellm far less than a stream (no per-chunk objects, no rebuilt answer).
    stream: bool = True


class LLMClient(Protocol):
    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_s: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, with AGENTCHAT_RETRY_ATTEMPTS (1-10) honoured when set."""
        raw = os.environ.get("AGENTCHAT_RETRY_ATTEMPTS", "")
        if raw.isdigit() and 1 <= int(raw) <= 10:
            return cls(attempts=int(raw))
        return cls()


Sleeper = Callable[[float], Awaitable[None]]

#: Headers an ``openai/`` call carries when their variable is set (as the OpenAI SDK does).
OPENAI_ENV_HEADERS = ((("OPENAI_ORGANIZATION", "OPENAI_ORG_ID"), "OpenAI-Organization"),
                      (("OPENAI_PROJECT_ID",), "OpenAI-Project"))


class LiteLLMClient:
    """Streams chat completions through litellm, retrying transient failures before any output.

    Retries happen on 408, 429 (honouring Retry-After), 5xx and connection errors, with
    exponential backoff and jitter, bounded in count and in total time. Once text has been
    streamed an error is not retried (the partial text would be duplicated); it is raised.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleeper = asyncio.sleep,
        on_retry: Callable[[LLMError, float], None] | None = None,
    ) -> None:
        self._api_key = api_key
        self._retry = retry or RetryPolicy.from_env()
        self._sleep = sleep
        self.on_retry = on_retry

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        litellm = await litellm_module()
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            emitted = False
            try:
                async for chunk in self._stream_once(litellm, request):
                    emitted = True
                    yield chunk
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # litellm raises many exception types; classify them all
                error = classify_error(exc, request.model)
                elapsed = time.monotonic() - started
                if emitted or not error.retryable or attempt >= self._retry.attempts:
                    raise error from exc
                delay = error.retry_after_s
                if delay is None:
                    delay = min(
                        self._retry.max_delay_s, self._retry.base_delay_s * 2 ** (attempt - 1)
                    )
                    delay *= 0.5 + random.random()  # jitter
                if elapsed + delay > self._retry.max_total_s:
                    raise error from exc
                if self.on_retry is not None:
                    self.on_retry(error, delay)
                await self._sleep(delay)

    def completion_kwargs(self, request: LLMRequest) -> dict[str, Any]:
        """The arguments of litellm.acompletion for a request (without retries of its own)."""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": request.stream,
            "timeout": request.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if request.stream:
            kwargs["stream_options"] = {"include_usage": True}
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if request.tools:
            kwargs["tools"] = request.tools
        if request.api_base:
            kwargs["api_base"] = request.api_base
            # A server that wants a key gets AGENTCHAT_API_KEY (or, for openai/<model>, the
            # usual OPENAI_API_KEY); litellm wants some key even when the server needs none.
            key = self._api_key or os.environ.get("AGENTCHAT_API_KEY")
            if not key and request.model.startswith("openai/"):
                key = os.environ.get("OPENAI_API_KEY")
            kwargs["api_key"] = key or "sk-no-key-required"
        elif self._api_key:
            kwargs["api_key"] = self._api_key
        if _goes_to_openai(request.model):
            # The OpenAI SDK sends these from the environment; litellm's own HTTP handler does not.
            headers = {}
            for names, header in OPENAI_ENV_HEADERS:
                value = next((os.environ[n] for n in names if os.environ.get(n)), None)
                if value:
                    headers[header] = value
            if headers:
                kwargs["extra_headers"] = headers
        return kwargs

    async def _stream_once(self, litellm: Any, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        response = await litellm.acompletion(**self.completion_kwargs(request))
        if not request.stream:
            for chunk in _whole_answer(response):
                yield chunk
            return
        from agents.llm import wire  # imports httpx: only once litellm (which needs it) is in

        http = wire.plain_openai_response(response)
        if http is not None:  # read straight off the wire: see agents.llm.wire
            said: list[str] = []
            try:
                async for chunk in wire.read_openai_stream(http, request.model):
                    if chunk.text:
                        said.append(chunk.text)
                    elif chunk.prompt_tokens is None or chunk.completion_tokens is None:
                        _count_missing_usage(litellm, request, chunk, "".join(said))
                    yield chunk
            finally:
                await response.aclose()
            return
        tools: dict[int, ToolCall] = {}
        finish: str | None = None
        usage: Any = None
        try:
            async for part in response:
                usage = getattr(part, "usage", None) or usage
                for choice in part.choices or []:
                    delta = choice.delta
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    for call in getattr(delta, "tool_calls", None) or []:
                        index = getattr(call, "index", 0) or 0
                        slot = tools.setdefault(index, ToolCall(name="", arguments=""))
                        fn = call.function
                        if fn is not None:
                            slot.name += fn.name or ""
                            slot.arguments += fn.arguments or ""
                    if delta.content:
                        yield LLMChunk(text=delta.content)
                if finish is not None and getattr(usage, "completion_tokens", None):
                    # litellm hands over the usage in a chunk of its own, made once the
                    # provider's stream has ended: nothing comes after it.
                    break
        finally:
            aclose = getattr(response, "aclose", None)
            if aclose is not None:
                await aclose()
        yield LLMChunk(
            tool_calls=[tools[i] for i in sorted(tools) if tools[i].name],
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            finish_reason=finish,
        )


def _goes_to_openai(model: str) -> bool:
    """Whether litellm sends ``model`` to an OpenAI-style endpoint as provider "openai"."""
    if model.startswith("openai/"):
        return True
    litellm = loaded_litellm()
    if "/" in model or litellm is None:
        return False
    try:
        return bool(litellm.get_llm_provider(model)[1] == "openai")
    except Exception:  # not a model litellm knows: no provider, no headers
        return False


def _count_missing_usage(litellm: Any, request: LLMRequest, last: LLMChunk, text: str) -> None:
    """Tokens counted with litellm's tokenizer for a server that sent no usage (as litellm's own
    stream reader does), so the call is still costed and budgeted."""
    calls = "".join(call.name + call.arguments for call in last.tool_calls)
    try:
        if last.prompt_tokens is None:
            last.prompt_tokens = int(litellm.token_counter(model=request.model,
                                                           messages=request.messages))
        if last.completion_tokens is None:
            last.completion_tokens = int(litellm.token_counter(model=request.model,
                                                               text=text + calls))
    except Exception:  # no tokenizer for it: the engine estimates from the characters
        return


def _whole_answer(response: Any) -> list[LLMChunk]:
    """A non-streamed completion as the chunks a stream would have ended with."""
    choice = (response.choices or [None])[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None) or ""
    calls = [ToolCall(name=call.function.name or "", arguments=call.function.arguments or "")
             for call in getattr(message, "tool_calls", None) or []
             if call.function is not None and call.function.name]
    usage = getattr(response, "usage", None)
    last = LLMChunk(
        tool_calls=calls,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        finish_reason=getattr(choice, "finish_reason", None),
    )
    return [LLMChunk(text=text), last] if text else [last]
