"""The scripted OpenAI-compatible server, spoken to over raw HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest
from pydantic import BaseModel

from tests.support.openai_server import (
    ContentFilter,
    DefaultResponder,
    Drop,
    Error,
    Hang,
    Malformed,
    ScriptedServer,
    Text,
    ToolCall,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MESSAGES = [{"role": "system", "content": "You are Ada, a pragmatic engineer who ships."},
            {"role": "user", "content": "What next?"}]


_OPEN: list[http.client.HTTPConnection] = []


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _connect(server: ScriptedServer, timeout: float = 10) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    _OPEN.append(conn)
    return conn


def _post(server: ScriptedServer, body: dict[str, Any],
          headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = _connect(server)
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json", **(headers or {})})
    return conn.getresponse()


def _chat(server: ScriptedServer, **extra: Any) -> dict[str, Any]:
    response = _post(server, {"model": "test-model", "messages": MESSAGES, **extra})
    assert response.status == 200
    result: dict[str, Any] = json.loads(response.read())
    return result


def _events(response: http.client.HTTPResponse) -> list[Any]:
    """The SSE ``data:`` payloads of a whole stream, ``[DONE]`` kept as a string."""
    lines = response.read().decode().split("\n\n")
    return [json.loads(p[6:]) if p[6:] != "[DONE]" else "[DONE]" for p in lines if p]


def test_models_and_request_recording(scripted_server: ScriptedServer) -> None:
    conn = _connect(scripted_server)
    conn.request("GET", "/v1/models", headers={"Authorization": "Bearer sk-secret"})
    listing = json.loads(conn.getresponse().read())
    assert [m["id"] for m in listing["data"]] == ["test-model"]
    _post(scripted_server, {"model": "m", "messages": MESSAGES}).read()
    first, second = scripted_server.requests
    assert (first["method"], first["path"], first["has_auth"]) == ("GET", "/v1/models", True)
    assert "sk-secret" not in json.dumps(scripted_server.requests)
    assert second["has_auth"] is False
    assert second["body"]["messages"] == MESSAGES
    assert scripted_server.chat_bodies == [second["body"]]
    assert scripted_server.url == f"http://127.0.0.1:{scripted_server.port}/v1"


def test_stream_follows_the_openai_chunk_format(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("Hello, group!", chunk_size=5, completion_tokens=3))
    response = _post(scripted_server, {"model": "m1", "messages": MESSAGES, "stream": True,
                                       "stream_options": {"include_usage": True}})
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    events = _events(response)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:4]]
    assert pieces == ["Hello", ", gro", "up!"]
    assert chunks[4]["choices"][0]["finish_reason"] == "stop"
    assert chunks[5]["choices"] == []
    prompt = (len(MESSAGES[0]["content"]) + len(MESSAGES[1]["content"])) // 4
    assert chunks[5]["usage"] == {"prompt_tokens": prompt, "completion_tokens": 3,
                                  "total_tokens": prompt + 3}


def test_stream_without_include_usage_has_no_usage_chunk(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("abc"))
    events = _events(_post(scripted_server, {"model": "m", "messages": [], "stream": True}))
    assert all(e == "[DONE]" or "usage" not in e for e in events)
    assert [e["choices"][0]["finish_reason"] for e in events[:-1]] == [None, None, "stop"]


def test_non_stream_completion_and_tool_call(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Text("Plain answer."), ToolCall("add_item", {"title": "x"}))
    reply = _chat(scripted_server)
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "Plain answer."}
    assert reply["usage"]["completion_tokens"] == len("Plain answer.") // 4
    call = _chat(scripted_server)["choices"][0]
    assert call["finish_reason"] == "tool_calls"
    function = call["message"]["tool_calls"][0]["function"]
    assert (function["name"], json.loads(function["arguments"])) == ("add_item", {"title": "x"})


def test_streamed_tool_call_arguments_come_in_pieces(scripted_server: ScriptedServer) -> None:
    scripted_server.script(ToolCall("add_item", {"title": "Write the tests"}, chunk_size=6))
    events = _events(_post(scripted_server, {"model": "m", "messages": [], "stream": True}))
    calls = [e["choices"][0]["delta"]["tool_calls"][0] for e in events[:-1]
             if "tool_calls" in e["choices"][0]["delta"]]
    assert calls[0]["function"]["name"] == "add_item" and calls[0]["id"]
    assert len(calls) > 3
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {
        "title": "Write the tests"}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_script_is_consumed_in_order_then_the_responder_answers(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Text("one"), lambda body: Text(f"two for {body['model']}"))
    assert scripted_server.pending == 2
    contents = [_chat(scripted_server)["choices"][0]["message"]["content"] for _ in range(3)]
    assert contents[:2] == ["one", "two for test-model"]
    assert "test-model" in contents[2] and "You are Ada" in contents[2]
    scripted_server.responder = lambda body: Text("custom")
    assert _chat(scripted_server)["choices"][0]["message"]["content"] == "custom"
    scripted_server.reset()
    assert scripted_server.requests == [] and scripted_server.pending == 0


def test_default_text_is_deterministic_and_numbered() -> None:
    responder = DefaultResponder()
    body = {"model": "gpt-x", "messages": MESSAGES}
    first, second = responder(body), responder(body)
    assert isinstance(first, Text) and isinstance(second, Text)
    assert "gpt-x" in first.content and "point 1" in first.content
    assert "point 2" in second.content
    assert DefaultResponder()(body) == first


class _Decision(BaseModel):
    speakers: list[Literal["ada", "bob", "critic"]]
    reason: str
    done: bool


class _Route(BaseModel):
    next_speaker: Literal["ada", "bob"]
    reason: str


@pytest.mark.parametrize("model", [_Decision, _Route])
def test_default_decisions_fit_the_schema_and_go_round_robin(
    scripted_server: ScriptedServer, model: type[BaseModel],
) -> None:
    schema = model.model_json_schema()
    response_format = {"type": "json_schema",
                       "json_schema": {"name": "decision", "schema": schema, "strict": True}}
    picks = []
    for _ in range(4):
        content = _chat(scripted_server, response_format=response_format)
        decision = json.loads(content["choices"][0]["message"]["content"])
        jsonschema.validate(decision, schema)
        assert decision["reason"] and decision.get("done", False) is False
        picks.append(decision.get("next_speaker") or decision["speakers"][0])
    expected = ["ada", "bob", "critic", "ada"] if model is _Decision else ["ada", "bob"] * 2
    assert picks == expected


def test_default_decision_follows_refs() -> None:
    schema = {"type": "object", "required": ["speakers"],
              "properties": {"speakers": {"type": "array", "items": {"$ref": "#/$defs/Id"}}},
              "$defs": {"Id": {"enum": ["x", "y"], "type": "string"}}}
    body = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    responder = DefaultResponder()
    replies = [responder(body), responder(body)]
    assert all(isinstance(r, Text) for r in replies)
    assert [json.loads(r.content) for r in replies if isinstance(r, Text)] == [
        {"speakers": ["x"]}, {"speakers": ["y"]}]


@pytest.mark.parametrize(("error", "status", "code"), [
    (Error.rate_limit(2), 429, "rate_limit_exceeded"),
    (Error.auth(), 401, "invalid_api_key"),
    (Error.context_length(), 400, "context_length_exceeded"),
    (Error.server(503), 503, None),
])
def test_errors_have_openai_bodies(scripted_server: ScriptedServer, error: Error,
                                   status: int, code: str | None) -> None:
    scripted_server.script(error)
    response = _post(scripted_server, {"model": "m", "messages": [], "stream": True})
    assert response.status == status
    payload = json.loads(response.read())
    assert payload["error"]["code"] == code and payload["error"]["message"]
    if status == 429:
        assert response.getheader("Retry-After") == "2"


def test_drop_cuts_the_stream_mid_body(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Drop(after_chunks=2))
    response = _post(scripted_server, {"model": "m", "messages": [], "stream": True})
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert b"This rep" in caught.value.partial and b"[DONE]" not in caught.value.partial


def test_malformed_and_content_filter(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Malformed(), ContentFilter())
    raw = _post(scripted_server, {"model": "m", "messages": [], "stream": True}).read().decode()
    broken = [p[6:] for p in raw.split("\n\n") if p.startswith("data: {")]
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken[-1])
    assert _chat(scripted_server)["choices"][0]["finish_reason"] == "content_filter"


def test_hang_answers_late_and_stop_ends_it_promptly() -> None:
    server = ScriptedServer().start()
    server.script(Hang(0.2, then=Text("late")), Hang(60))
    started = time.monotonic()
    assert _chat(server)["choices"][0]["message"]["content"] == "late"
    assert time.monotonic() - started >= 0.2
    failures: list[BaseException] = []

    def hang() -> None:
        try:
            _post(server, {"model": "m", "messages": []}).read()
        except (OSError, http.client.HTTPException) as exc:
            failures.append(exc)

    client = threading.Thread(target=hang)
    client.start()
    server.wait_for_requests(2)
    idle = _connect(server)  # an idle keep-alive connection must not block stop() either
    idle.request("GET", "/v1/models")
    idle.getresponse().read()
    started = time.monotonic()
    server.stop()
    client.join(timeout=5)
    assert time.monotonic() - started < 3
    assert not client.is_alive() and len(failures) == 1


def test_parallel_requests_are_all_answered(scripted_server: ScriptedServer) -> None:
    scripted_server.responder = lambda body: Text(body["model"], delay_s=0.05, chunk_size=1)
    results: dict[str, str] = {}

    def ask(model: str) -> None:
        events = _events(_post(scripted_server, {"model": model, "messages": [], "stream": True}))
        results[model] = "".join(e["choices"][0]["delta"].get("content") or ""
                                 for e in events[:-1])

    threads = [threading.Thread(target=ask, args=(f"m{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {f"m{i}": f"m{i}" for i in range(4)}
    assert len(scripted_server.requests) == 4


def test_a_failing_responder_becomes_a_500(scripted_server: ScriptedServer) -> None:
    def broken(body: dict[str, Any]) -> Text:
        raise KeyError("missing")

    scripted_server.responder = broken
    response = _post(scripted_server, {"model": "m", "messages": []})
    assert response.status == 500
    assert "KeyError" in json.loads(response.read())["error"]["message"]


def test_unknown_path_is_a_404(scripted_server: ScriptedServer) -> None:
    conn = _connect(scripted_server)
    conn.request("POST", "/v1/embeddings", "{}")
    response = conn.getresponse()
    assert response.status == 404 and "error" in json.loads(response.read())


def test_module_entry_point_serves_until_interrupted() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.openai_server", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = urlsplit(line.split()[line.split().index("at") + 1])
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        _OPEN.append(conn)
        conn.request("GET", "/v1/models")
        assert json.loads(conn.getresponse().read())["data"][0]["id"] == "test-model"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
