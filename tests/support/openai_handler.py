"""The HTTP side of :class:`~tests.support.openai_server.ScriptedServer`: the threaded server and
the request handler that answers ``/v1/chat/completions`` (SSE or JSON) and ``/v1/models`` with the
replies the owner hands out."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .replies import (
    ContentFilter,
    Drop,
    Error,
    Hang,
    RawStream,
    Reply,
    Text,
    ToolCall,
    finish_reason_of,
    pieces,
    usage_for,
)

if TYPE_CHECKING:
    from .openai_server import ScriptedServer


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64
    owner: ScriptedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal here; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Abort(Exception):
    """Stop answering and close the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle keep-alive connection is kept
    server: HTTPServer
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
        elif isinstance(reply, RawStream):
            self.send_response(200)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in reply.lines:
                self._write_chunk(line.encode() + b"\n\n")
            self._write_chunk(b"")
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
