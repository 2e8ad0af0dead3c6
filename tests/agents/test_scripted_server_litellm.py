"""The scripted server with the real litellm as its client: what the engine will see.

Each error kind is pinned to the litellm exception class it surfaces as, so the engine's error
handling is written against facts. ``num_retries=0`` everywhere: without it the OpenAI SDK inside
litellm silently retries 429, 5xx and dropped connections twice (honouring Retry-After).
"""

from __future__ import annotations

import asyncio
import json
from types import ModuleType
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped]
import openai
import pytest
from pydantic import BaseModel

from tests.support.openai_server import (
    ContentFilter,
    Drop,
    Error,
    Hang,
    Malformed,
    Reply,
    ScriptedServer,
    Text,
    ToolCall,
)

MESSAGES = [{"role": "system", "content": "You are Ada, a pragmatic engineer."},
            {"role": "user", "content": "What should we build first?"}]
TOOLS = [{"type": "function", "function": {
    "name": "add_action_item", "description": "Record an action item.",
    "parameters": {"type": "object", "required": ["title"], "properties": {
        "title": {"type": "string"}, "owner": {"type": "string"}}}}}]


async def _call(litellm: ModuleType, server: ScriptedServer, stream: bool = True,
                **extra: Any) -> Any:
    return await litellm.acompletion(
        model="openai/test-model", api_base=server.url, api_key="sk-test", messages=MESSAGES,
        stream=stream, num_retries=0, **extra)


async def _collect(response: Any) -> tuple[str, list[Any]]:
    chunks = [chunk async for chunk in response]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


async def test_stream_yields_text_and_usage(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Text("The first step is a walking skeleton.", prompt_tokens=42))
    response = await _call(litellm_module, scripted_server,
                           stream_options={"include_usage": True})
    text, chunks = await _collect(response)
    assert text == "The first step is a walking skeleton."
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (42, len(text) // 4)
    body = scripted_server.chat_bodies[0]
    assert body["stream"] is True and body["model"] == "test-model"
    assert scripted_server.requests[0]["has_auth"] is True


async def test_non_stream_call(litellm_module: ModuleType, scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("Non-streamed.", completion_tokens=7))
    response = await _call(litellm_module, scripted_server, stream=False)
    assert response.choices[0].message.content == "Non-streamed."
    assert response.usage.completion_tokens == 7
    assert response.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_call_comes_back_parsed(
    litellm_module: ModuleType, scripted_server: ScriptedServer, stream: bool,
) -> None:
    arguments = {"title": "Write the store migrations", "owner": "ada"}
    scripted_server.script(ToolCall("add_action_item", arguments, content="On it."))
    response = await _call(litellm_module, scripted_server, stream=stream, tools=TOOLS)
    if stream:
        _, chunks = await _collect(response)
        response = litellm_module.stream_chunk_builder(chunks, messages=MESSAGES)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "add_action_item"
    assert json.loads(call.function.arguments) == arguments
    assert scripted_server.chat_bodies[0]["tools"][0]["function"]["name"] == "add_action_item"


async def test_rate_limit_then_success(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Error.rate_limit(retry_after=3), Text("Recovered."))
    with pytest.raises(litellm_module.RateLimitError) as caught:
        await _collect(await _call(litellm_module, scripted_server))
    assert caught.value.status_code == 429
    assert len(scripted_server.requests) == 1  # num_retries=0: nothing retried behind our back
    text, _ = await _collect(await _call(litellm_module, scripted_server))
    assert text == "Recovered."


ERROR_CASES: list[tuple[str, Reply, str, dict[str, Any]]] = [
    ("429", Error.rate_limit(), "RateLimitError", {}),
    ("500", Error.server(500), "InternalServerError", {}),
    ("503", Error.server(503), "ServiceUnavailableError", {}),
    ("401", Error.auth(), "AuthenticationError", {}),
    ("400-context", Error.context_length(), "ContextWindowExceededError", {}),
    ("drop", Drop(after_chunks=2), "MidStreamFallbackError", {}),
    ("hang", Hang(30), "Timeout", {"timeout": 0.3}),
]


@pytest.mark.parametrize(("reply", "exception", "extra"),
                         [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
async def test_streamed_error_kinds_map_to_litellm_exceptions(
    litellm_module: ModuleType, scripted_server: ScriptedServer, reply: Reply, exception: str,
    extra: dict[str, Any],
) -> None:
    scripted_server.script(reply)
    with pytest.raises(getattr(litellm_module.exceptions, exception)) as caught:
        await _collect(await _call(litellm_module, scripted_server, **extra))
    assert type(caught.value).__name__ == exception
    assert isinstance(caught.value, openai.APIError)  # the one common base
    if exception == "MidStreamFallbackError":  # not exported at litellm's top level
        original = getattr(caught.value, "original_exception", None)
        assert isinstance(original, litellm_module.APIConnectionError)
    assert len(scripted_server.requests) == 1


NON_STREAM_CASES: list[tuple[str, Reply, str]] = [
    ("drop", Drop(), "InternalServerError"),
    ("malformed", Malformed(), "APIError"),  # with status_code 200: see agents.llm.errors
    ("hang", Hang(30), "Timeout"),
]


@pytest.mark.parametrize(("reply", "exception"), [c[1:] for c in NON_STREAM_CASES],
                         ids=[c[0] for c in NON_STREAM_CASES])
async def test_non_stream_failures_map_to_litellm_exceptions(
    litellm_module: ModuleType, scripted_server: ScriptedServer, reply: Reply, exception: str,
) -> None:
    scripted_server.script(reply)
    with pytest.raises(getattr(litellm_module, exception)):
        await _call(litellm_module, scripted_server, stream=False, timeout=0.3)


@pytest.mark.parametrize(("reply", "said"), [
    (Malformed(after_chunks=2, content="Half a reply"), "Half a r"),
    (Text("Step one [DONE] step two.", chunk_size=8), "Step onestep two."),
], ids=["malformed", "done-in-text"])
async def test_litellm_reads_a_broken_plain_stream_as_a_complete_reply(
    litellm_module: ModuleType, scripted_server: ScriptedServer, reply: Reply, said: str,
) -> None:
    """Why agents.llm.wire reads plain OpenAI streams itself: litellm's iterator for them skips a
    chunk that is not JSON and takes any chunk with "[DONE]" in it for the end, and the reply
    still finishes with "stop". Meant to fail the day a litellm upgrade reads them strictly:
    then the wire reader may go."""
    scripted_server.script(reply)
    text, chunks = await _collect(await _call(litellm_module, scripted_server))
    assert text == said
    assert "stop" in [c.choices[0].finish_reason for c in chunks if c.choices]


async def test_drop_delivers_the_first_chunks_before_failing(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Drop(after_chunks=2, content="abcdefghijklmnopqrstuvwxyz", chunk_size=4))
    received: list[str] = []
    with pytest.raises(litellm_module.exceptions.MidStreamFallbackError) as caught:
        async for chunk in await _call(litellm_module, scripted_server):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "abcdefgh"
    assert caught.value.generated_content == "abcdefgh"


async def test_content_filter_finish_reason(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(ContentFilter())
    _, chunks = await _collect(await _call(litellm_module, scripted_server))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"


async def test_cancelling_a_hung_call_is_prompt(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Hang(60))

    async def ask() -> tuple[str, list[Any]]:
        return await _collect(await _call(litellm_module, scripted_server))

    task = asyncio.create_task(ask())
    await scripted_server.await_requests(1)
    started = asyncio.get_running_loop().time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.get_running_loop().time() - started < 2


class Decision(BaseModel):
    speakers: list[Literal["ada", "bob", "critic"]]
    reason: str
    done: bool


async def test_default_json_schema_reply_is_a_valid_decision(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    picks = []
    for _ in range(3):
        response = await _call(litellm_module, scripted_server, stream=False,
                               response_format=Decision)
        decision = Decision.model_validate_json(response.choices[0].message.content)
        picks.append(decision.speakers)
        assert decision.done is False and decision.reason
    assert picks == [["ada"], ["bob"], ["critic"]]
    sent = scripted_server.chat_bodies[0]["response_format"]
    assert sent["type"] == "json_schema"
    jsonschema.validate({"speakers": ["ada"], "reason": "r", "done": False},
                        sent["json_schema"]["schema"])


def test_sync_completion_streams_too(
    litellm_module: ModuleType, scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Text("Sync works."))
    response = litellm_module.completion(
        model="openai/test-model", api_base=scripted_server.url, api_key="sk-test",
        messages=MESSAGES, stream=True, num_retries=0)
    assert "".join(c.choices[0].delta.content or "" for c in response) == "Sync works."
