"""Plain OpenAI-format streams are read off the wire (agents.llm.wire), strictly: the real
LiteLLMClient and litellm over HTTP to the scripted server."""

from __future__ import annotations

import json
import socket

import pytest

from agents.llm.client import LiteLLMClient, LLMChunk, LLMRequest, RetryPolicy
from agents.llm.errors import LLMError
from agents.llm.setup import litellm_module
from agents.llm.wire import plain_openai_response
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Malformed, RawStream, Reply, Text, ToolCall

MESSAGES = [{"role": "user", "content": "Pick a queue."}]
ONE_TRY = RetryPolicy(attempts=1)


def request(server: ScriptedServer) -> LLMRequest:
    return LLMRequest(model="openai/test-model", messages=MESSAGES, api_base=server.url)


async def chunks_of(server: ScriptedServer, retry: RetryPolicy = ONE_TRY) -> list[LLMChunk]:
    return [chunk async for chunk in LiteLLMClient(retry=retry).stream(request(server))]


def chunk(delta: dict[str, object], finish: str | None = None) -> str:
    return "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0,
                                  "model": "test-model", "choices": [
                                      {"index": 0, "delta": delta, "finish_reason": finish}]})


async def test_a_plain_openai_stream_is_read_off_the_wire(scripted_server: ScriptedServer) -> None:
    litellm = await litellm_module()
    scripted_server.script(Text("Use SQS."))
    kwargs = LiteLLMClient().completion_kwargs(request(scripted_server))
    response = await litellm.acompletion(**kwargs)
    try:
        assert plain_openai_response(response) is not None  # else the client reads via litellm
    finally:
        await response.aclose()


async def test_text_then_usage_and_finish(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("The first step is a walking skeleton.", prompt_tokens=42,
                                completion_tokens=9, chunk_size=5))
    chunks = await chunks_of(scripted_server)
    assert "".join(c.text for c in chunks) == "The first step is a walking skeleton."
    assert len(chunks) == 9  # eight pieces of text as they came, then the last chunk
    last = chunks[-1]
    assert (last.text, last.prompt_tokens, last.completion_tokens, last.finish_reason) == (
        "", 42, 9, "stop")
    assert scripted_server.chat_bodies[0]["stream_options"] == {"include_usage": True}


async def test_done_inside_the_text_is_text(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("Step one [DONE] step two.", chunk_size=8))
    chunks = await chunks_of(scripted_server)
    assert "".join(c.text for c in chunks) == "Step one [DONE] step two."
    assert chunks[-1].finish_reason == "stop"


async def test_tool_calls_are_assembled(scripted_server: ScriptedServer) -> None:
    arguments = {"title": "Write the store migrations", "owner": "ada"}
    scripted_server.script(ToolCall("add_action_item", arguments, content="On it.", chunk_size=6))
    chunks = await chunks_of(scripted_server)
    last = chunks[-1]
    assert "".join(c.text for c in chunks) == "On it."
    assert last.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in last.tool_calls] == [
        ("add_action_item", arguments)]


async def test_comments_pings_and_blank_events_are_skipped(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(RawStream((": keep-alive", chunk({"content": "Hi"}), "data: ",
                                      "event: ping\ndata: ping", chunk({}, "stop"),
                                      "data: [DONE]")))
    chunks = await chunks_of(scripted_server)
    assert [(c.text, c.finish_reason) for c in chunks] == [("Hi", None), ("", "stop")]


async def test_without_usage_from_the_server_tokens_are_counted(
    scripted_server: ScriptedServer,
) -> None:
    litellm = await litellm_module()
    scripted_server.script(RawStream((chunk({"content": "Use SQS for the queue."}),
                                      chunk({}, "stop"), "data: [DONE]")))
    last = (await chunks_of(scripted_server))[-1]
    assert last.prompt_tokens == litellm.token_counter(model="openai/test-model",
                                                       messages=MESSAGES)
    assert last.completion_tokens == litellm.token_counter(model="openai/test-model",
                                                           text="Use SQS for the queue.")
    assert last.completion_tokens > 1


async def test_usage_as_numbers_of_any_kind_and_done_without_finish(
    scripted_server: ScriptedServer,
) -> None:
    usage = 'data: {"choices": [], "usage": {"prompt_tokens": 12.0, "completion_tokens": 3}}'
    scripted_server.script(RawStream((chunk({"content": "Hi"}), usage, "data: [DONE]")))
    last = (await chunks_of(scripted_server))[-1]
    assert (last.prompt_tokens, last.completion_tokens, last.finish_reason) == (12, 3, "stop")


async def test_content_given_as_parts_is_their_text(scripted_server: ScriptedServer) -> None:
    parts = [{"type": "text", "text": "Use "}, {"type": "image_url", "image_url": {}},
             {"type": "text", "text": "SQS."}]
    scripted_server.script(RawStream((chunk({"content": parts}), chunk({}, "stop"),
                                      "data: [DONE]")))
    assert "".join(c.text for c in await chunks_of(scripted_server)) == "Use SQS."


def call(function: dict[str, object], **fields: object) -> dict[str, object]:
    return {**fields, "type": "function", "function": function}


@pytest.mark.parametrize("deltas", [
    # two calls in one delta, without an index
    [[call({"name": "add_note", "arguments": '{"a": 1}'}),
      call({"name": "add_action_item", "arguments": "{}"})]],
    # every call numbered 0, told apart by their ids (as some servers send them)
    [[call({"name": "add_note", "arguments": '{"a"'}, index=0, id="c1")],
     [call({"arguments": ": 1}"}, index=0)],
     [call({"name": "add_action_item", "arguments": "{}"}, index=0, id="c2")]],
    # arguments sent as an object rather than a JSON string
    [[call({"name": "add_note", "arguments": {"a": 1}}, index=0, id="c1"),
      call({"name": "add_action_item", "arguments": {}}, index=1, id="c2")]],
], ids=["no-index", "all-index-0", "object-arguments"])
async def test_several_tool_calls_stay_apart(
    scripted_server: ScriptedServer, deltas: list[list[dict[str, object]]],
) -> None:
    lines = [chunk({"tool_calls": pieces}) for pieces in deltas]
    scripted_server.script(RawStream((*lines, chunk({}, "tool_calls"), "data: [DONE]")))
    last = (await chunks_of(scripted_server))[-1]
    assert [(c.name, json.loads(c.arguments)) for c in last.tool_calls] == [
        ("add_note", {"a": 1}), ("add_action_item", {})]
    assert last.finish_reason == "tool_calls"


async def test_a_chunk_that_is_not_json_breaks_the_answer(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Malformed(after_chunks=2, content="Half a reply"))
    received: list[str] = []
    with pytest.raises(LLMError) as caught:
        async for piece in LiteLLMClient(retry=ONE_TRY).stream(request(scripted_server)):
            received.append(piece.text)
    assert "".join(received) == "Half a r"
    assert caught.value.kind == "dropped" and caught.value.retryable
    assert str(caught.value) == ("the connection to openai/test-model dropped in the middle of "
                                 "its answer (it sent a chunk that is not JSON).")


async def test_a_chunk_that_is_not_a_chat_completion_breaks_the_answer(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(RawStream((chunk({"content": "Hi"}),
                                      'data: {"choices": [{"delta": "oops"}]}',
                                      "data: [DONE]")))
    with pytest.raises(LLMError) as caught:
        await chunks_of(scripted_server)
    assert caught.value.kind == "dropped"
    assert "not a chat completion" in str(caught.value)


@pytest.mark.parametrize(("lines", "kind", "retryable"), [
    ((chunk({"content": "Hi"}), 'data: {"error": {"message": "Overloaded", "code": 503}}'),
     "unavailable", True),
    (('data: {"error": {"message": "This model\'s maximum context length is 8192 tokens", '
      '"code": 400}}',), "context_window", False),
    (('data: {"error": {"message": "Too long", "code": "context_length_exceeded"}}',),
     "context_window", False),
    (('data: {"error": {"message": "the request exceeds the available context size", '
      '"code": 400}}',), "context_window", False),
    (('data: {"error": {"message": "Slow down", "type": "requests", '
      '"code": "rate_limit_exceeded"}}',), "rate_limit", True),
    (('data: {"error": {"message": "Rate limit reached for requests per minute"}}',),
     "rate_limit", True),
    (("event: error\ndata: {\"message\": \"boom\"}",), "server_error", True),
], ids=["503", "context-window", "context-code", "llama-cpp-context", "rate-limit-code",
        "rate-limit-words", "error-event"])
async def test_an_error_reported_in_the_stream_is_classified(
    scripted_server: ScriptedServer, lines: tuple[str, ...], kind: str, retryable: bool,
) -> None:
    scripted_server.script(RawStream(lines))
    with pytest.raises(LLMError) as caught:
        await chunks_of(scripted_server)
    assert (caught.value.kind, caught.value.retryable) == (kind, retryable)
    assert "openai/test-model" in str(caught.value)


async def test_a_stream_that_stops_without_finishing_is_dropped(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(RawStream((chunk({"content": "Half"}),)))
    with pytest.raises(LLMError) as caught:
        await chunks_of(scripted_server)
    assert caught.value.kind == "dropped"


async def test_a_stream_under_another_content_type_is_read_by_litellm(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(RawStream((chunk({"content": "Hi"}), chunk({}, "stop"),
                                      "data: [DONE]"), content_type="text/plain"))
    chunks = await chunks_of(scripted_server)
    assert "".join(c.text for c in chunks) == "Hi" and chunks[-1].finish_reason == "stop"


@pytest.mark.parametrize("fault", [Malformed(after_chunks=0),
                                   RawStream(('data: {"error": {"code": 502}}',))],
                         ids=["malformed", "502"])
async def test_a_break_before_any_text_is_retried(
    scripted_server: ScriptedServer, fault: Reply,
) -> None:
    scripted_server.script(fault, Text("Second time lucky."))
    retry = RetryPolicy(attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    chunks = await chunks_of(scripted_server, retry)
    assert "".join(c.text for c in chunks) == "Second time lucky."
    assert len(scripted_server.chat_bodies) == 2


async def test_a_whole_answer_that_is_not_json_is_retryable(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Malformed())
    whole = LLMRequest(model="openai/test-model", messages=MESSAGES, api_base=scripted_server.url,
                       stream=False)
    with pytest.raises(LLMError) as caught:
        [c async for c in LiteLLMClient(retry=ONE_TRY).stream(whole)]
    assert caught.value.kind == "bad_response" and caught.value.retryable


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
async def test_a_refused_connection_is_cannot_reach(stream: bool) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = LLMRequest(model="openai/test-model", messages=MESSAGES,
                         api_base=f"http://127.0.0.1:{port}/v1", stream=stream)
    with pytest.raises(LLMError) as caught:
        [c async for c in LiteLLMClient(retry=ONE_TRY).stream(refused)]
    assert caught.value.kind == "connection" and caught.value.retryable
    assert str(caught.value) == ("cannot reach openai/test-model's provider; check --api-base "
                                 "and the network.")


async def test_with_the_sdk_path_chosen_streams_go_through_litellm(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER=false sends OpenAI-style calls through the OpenAI
    SDK; its streams are not plain litellm iterators, so litellm's wrapper reads them."""
    litellm = await litellm_module()
    monkeypatch.setenv("EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER", "false")
    scripted_server.script(Text("Use SQS."), Text("The first step is small.", prompt_tokens=7,
                                                  completion_tokens=5))
    response = await litellm.acompletion(**LiteLLMClient().completion_kwargs(
        request(scripted_server)))
    try:
        assert plain_openai_response(response) is None
    finally:
        await response.aclose()
    chunks = await chunks_of(scripted_server)
    assert "".join(c.text for c in chunks) == "The first step is small."
    assert (chunks[-1].prompt_tokens, chunks[-1].completion_tokens) == (7, 5)


@pytest.mark.parametrize(("org_variable", "model"), [
    ("OPENAI_ORGANIZATION", "openai/test-model"), ("OPENAI_ORG_ID", "gpt-4o-mini")])
async def test_organization_and_project_headers_come_from_the_environment(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, org_variable: str,
    model: str,
) -> None:
    monkeypatch.setenv(org_variable, "org-team")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-review")
    scripted_server.script(Text("Use SQS."), Text("Use SQS."))
    client = LiteLLMClient(retry=ONE_TRY)
    for stream in (True, False):
        asked = LLMRequest(model=model, messages=MESSAGES, api_base=scripted_server.url,
                           stream=stream)
        assert "".join([c.text async for c in client.stream(asked)]) == "Use SQS."
    assert len(scripted_server.requests) == 2
    for sent in scripted_server.requests:
        headers = {k.lower(): v for k, v in sent["headers"].items()}
        assert (headers["openai-organization"], headers["openai-project"]) == (
            "org-team", "proj-review")
