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
import socket
import threading
from collections import deque
from types import TracebackType
from typing import Any

from .openai_handler import HTTPServer, _Handler
from .replies import (
    ContentFilter,
    DefaultResponder,
    Drop,
    Error,
    Hang,
    Malformed,
    RawStream,
    Reply,
    Responder,
    Text,
    ToolCall,
)

__all__ = [
    "ContentFilter",
    "DefaultResponder",
    "Drop",
    "Error",
    "Hang",
    "Malformed",
    "RawStream",
    "Reply",
    "Responder",
    "ScriptedServer",
    "Text",
    "ToolCall",
    "_Handler",
]


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
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"scripted-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_until_interrupted(self) -> None:
        """Block until Ctrl-C, then stop (for running the server by hand)."""
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

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
    server.serve_until_interrupted()


if __name__ == "__main__":
    main()
