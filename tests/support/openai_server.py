"""A scripted OpenAI-compatible chat completions server on loopback, for tests.

It speaks enough of the OpenAI protocol for litellm (``openai/<model>`` with ``api_base``):
``POST /v1/chat/completions`` (streamed as SSE or not) and ``GET /v1/models``. Each test queues
the replies it wants with :meth:`ScriptedServer.script`, or sets :attr:`ScriptedServer.responder`;
when nothing is queued :class:`DefaultResponder` answers, which is enough to run a whole group
chat. Replies can fail on purpose: :class:`Error`, :class:`Drop`, :class:`Malformed`,
:class:`Hang`, :class:`ContentFilter`.

Run by hand: ``python -m tests.support.openai_server --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .replies import (
    ContentFilter,
    DefaultResponder,
    Drop,
    Error,
    Hang,
    Malformed,
    Reply,
    Responder,
    Text,
    ToolCall,
    finish_reason_of,
    pieces,
    usage_for,
)

__all__ = [
    "ContentFilter",
    "DefaultResponder",
    "Drop",
    "Error",
    "Hang",
    "Malformed",
    "Reply",
    "Responder",
    "ScriptedServer",
    "Text",
    "ToolCall",
]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64
    owner: ScriptedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal here; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class ScriptedServer:
    """An OpenAI-compatible server on ``127.0.0.1`` in a daemon thread. Thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 models: tuple[str, ...] = ("test-model",)) -> None:
        self.host = host
        self.port = port
        self.models = list(models)
        self.responder: Responder = DefaultResponder()
        self._queue: deque[Reply | Responder] = deque()
        self._requests: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"scripted-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._cond:
            conns = list(self._conns.items())
        for sock, _ in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in conns:
            thread.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The ``api_base`` to give a client, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply | Responder) -> None:
        """Queue replies, consumed one per chat request in arrival order."""
        with self._cond:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._cond:
            return len(self._queue)

    def reset(self) -> None:
        """Forget queued replies and recorded requests; restore the default responder."""
        with self._cond:
            self._queue.clear()
            self._requests.clear()
            self.responder = DefaultResponder()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._cond:
            item = self._queue.popleft() if self._queue else self.responder
        return item(body) if callable(item) else item

    # -- recording -------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request so far: ``method``, ``path``, ``headers`` (no Authorization),
        ``has_auth`` and ``body`` (the parsed JSON, or None)."""
        with self._cond:
            return list(self._requests)

    @property
    def chat_bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests, in arrival order."""
        return [r["body"] for r in self.requests
                if r["path"].endswith("/chat/completions") and isinstance(r["body"], dict)]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` requests arrived; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self._requests)}")
            return list(self._requests)

    async def await_requests(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The async form of :meth:`wait_for_requests`."""
        return await asyncio.to_thread(self.wait_for_requests, count, timeout)

    def _record(self, entry: dict[str, Any]) -> None:
        with self._cond:
            self._requests.append(entry)
            self._cond.notify_all()

    def _track(self, sock: socket.socket, alive: bool) -> None:
        with self._cond:
            if alive:
                self._conns[sock] = threading.current_thread()
            else:
                self._conns.pop(sock, None)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True if it is still running."""
        return seconds <= 0 or not self._stopping.wait(seconds)

    def _new_id(self) -> str:
        return f"chatcmpl-scripted{next(self._ids)}"


class _Abort(Exception):
    """Stop answering and close the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle keep-alive connection is kept
    server: _HTTPServer
    _reply_id = ""

    @property
    def owner(self) -> ScriptedServer:
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, alive=True)

    def finish(self) -> None:
        self.owner._track(self.connection, alive=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # -- routing -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self._record(None)
        if path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"}
                    for m in self.owner.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(Error(404, f"Unknown path {path}.", code="not_found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self._record(body)
        if not path.rstrip("/").endswith("/chat/completions"):
            self._send_error(Error(404, f"Unknown path {path}.", code="not_found"))
            return
        if not isinstance(body, dict):
            self._send_error(Error(400, "The request body is not a JSON object."))
            return
        self._reply_id = self.owner._new_id()
        try:
            reply = self.owner.next_reply(body)
        except Exception as exc:  # a test's responder is broken: say so to the client
            self._send_error(Error(500, f"The scripted responder raised {exc!r}."))
            return
        try:
            self._answer(reply, body)
        except (_Abort, OSError):
            self._hang_up()

    def _record(self, body: Any) -> str:
        path = urlsplit(self.path).path
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.owner._record({"method": self.command, "path": path, "headers": headers,
                            "has_auth": "authorization" in {k.lower() for k in self.headers},
                            "body": body})
        return path

    # -- answers -----------------------------------------------------------------------------
    def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
        stream = bool(body.get("stream"))
        if isinstance(reply, Hang):
            if not self.owner._sleep(reply.seconds):
                raise _Abort
            reply = reply.then or Text("Sorry for the wait.")
        if isinstance(reply, ContentFilter):
            reply = Text(reply.content, finish_reason="content_filter")
        if isinstance(reply, Error):
            self._send_error(reply)
        elif isinstance(reply, Text | ToolCall):
            if isinstance(reply, Text) and not self.owner._sleep(reply.first_byte_delay_s):
                raise _Abort
            if stream:
                self._stream(reply, body)
            else:
                self._send_json(200, self._completion(reply, body))
        elif isinstance(reply, Drop):
            if stream:
                self._start_stream()
                self._event(self._chunk(body, {"role": "assistant", "content": ""}))
                for piece in pieces(reply.content, reply.chunk_size, reply.after_chunks):
                    self._event(self._chunk(body, {"content": piece}))
            raise _Abort
        else:  # Malformed
            if not stream:
                self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
                return
            self._start_stream()
            for piece in pieces(reply.content, 4, reply.after_chunks):
                self._event(self._chunk(body, {"content": piece}))
            self._write_chunk(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n')
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")

    def _stream(self, reply: Text | ToolCall, body: dict[str, Any]) -> None:
        self._start_stream()
        delay = reply.delay_s if isinstance(reply, Text) else 0.0
        self._event(self._chunk(body, {"role": "assistant", "content": ""}))
        for piece in pieces(reply.content, reply.chunk_size):
            if not self.owner._sleep(delay):
                raise _Abort
            self._event(self._chunk(body, {"content": piece}))
        if isinstance(reply, ToolCall):
            first = {"index": 0, "id": reply.call_id, "type": "function",
                     "function": {"name": reply.name, "arguments": ""}}
            self._event(self._chunk(body, {"tool_calls": [first]}))
            for piece in pieces(json.dumps(reply.arguments), reply.chunk_size):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                self._event(self._chunk(body, delta))
        self._event(self._chunk(body, {}, finish_reason_of(reply)))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage_chunk = self._chunk(body, {})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = usage_for(reply, body)
            self._event(usage_chunk)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _completion(self, reply: Text | ToolCall, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
        if isinstance(reply, ToolCall):
            message["tool_calls"] = [{"id": reply.call_id, "type": "function", "function": {
                "name": reply.name, "arguments": json.dumps(reply.arguments)}}]
        elif not reply.content:
            message["content"] = ""
        return {"id": self._reply_id, "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", ""), "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": finish_reason_of(reply)}],
                "usage": usage_for(reply, body)}

    def _chunk(self, body: dict[str, Any], delta: dict[str, Any],
               finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._reply_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", ""), "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}]}
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            chunk["usage"] = None
        return chunk

    # -- wire ----------------------------------------------------------------------------------
    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _event(self, payload: dict[str, Any]) -> None:
        if self.owner._stopping.is_set():
            raise _Abort
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _send_error(self, error: Error) -> None:
        self._send_json(error.status, error.payload(), error.headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, status: int, data: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self) -> None:
        """Close the connection at once, mid-message if need be."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the scripted OpenAI-compatible API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    try:
        server = ScriptedServer(args.host, args.port).start()
    except OSError as exc:
        parser.exit(2, f"Cannot listen on {args.host}:{args.port} ({exc.strerror}); "
                       "pick another port with --port.\n")
    print(f"Scripted OpenAI-compatible server at {server.url} (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
