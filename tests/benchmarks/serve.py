"""The scripted OpenAI-compatible server as the benchmarks run it: its own process, with
``TCP_NODELAY`` (a real provider's server sends each chunk at once; without it Nagle's algorithm
and delayed ACKs add ~40 ms to every streamed reply on loopback) and a responder shaped by flags.

``python -m tests.benchmarks.serve --port N [--speakers K] [--tokens N] [--token-delay S]
[--first-byte-delay S]``
"""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from tests.support import openai_server
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text, schema_instance

WORDS = ("cache ", "orders ", "latency ", "write ", "TTL ", "metric ", "rollout ", "risk ")


class BenchResponder:
    """Decisions name ``speakers`` personas at once (round-robin over the allowed ones); texts
    are ``tokens`` tokens of four characters, one per chunk, ``token_delay`` apart, the first one
    a tag ``[NNN] `` numbering the replies."""

    def __init__(self, speakers: int, tokens: int, token_delay: float,
                 first_byte_delay: float) -> None:
        self.default = DefaultResponder()
        self.speakers = speakers
        self.tokens = tokens
        self.token_delay = token_delay
        self.first_byte_delay = first_byte_delay
        self._lock = threading.Lock()
        self._decisions = 0
        self._texts = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            with self._lock:
                turn, self._decisions = self._decisions, self._decisions + 1
            decision = schema_instance(schema, turn)
            allowed = _allowed(schema)
            if isinstance(decision, dict) and allowed and self.speakers > 1:
                count = min(self.speakers, len(allowed))
                start = (turn * count) % len(allowed)
                decision["speakers"] = [allowed[(start + i) % len(allowed)] for i in range(count)]
            return Text(json.dumps(decision))
        if self.tokens <= 0:
            reply = self.default(body)
            if isinstance(reply, Text) and self.first_byte_delay:
                return Text(reply.content, first_byte_delay_s=self.first_byte_delay)
            return reply
        with self._lock:
            self._texts += 1
            tag = f"[{self._texts % 1000:03d}]"
        words = "".join(WORDS[i % len(WORDS)][:4].ljust(4) for i in range(self.tokens - 1))
        content = tag + " " + words  # the tag lets the benchmark find this stream on screen
        return Text(content, chunk_size=4, delay_s=self.token_delay,
                    first_byte_delay_s=self.first_byte_delay, completion_tokens=self.tokens)


def _allowed(schema: dict[str, Any]) -> list[str]:
    speakers = (schema.get("properties") or {}).get("speakers") or {}
    enum = (speakers.get("items") or {}).get("enum")
    return [str(e) for e in enum] if isinstance(enum, list) else []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The scripted server for the benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--speakers", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=0)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--first-byte-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    openai_server._Handler.disable_nagle_algorithm = True
    server = ScriptedServer(port=args.port)
    server.responder = BenchResponder(args.speakers, args.tokens, args.token_delay,
                                      args.first_byte_delay)
    server.start()
    print(f"Scripted OpenAI-compatible server at {server.url}", flush=True)
    server.serve_until_interrupted()


if __name__ == "__main__":
    main()
