"""Shared helpers of the reliability suite: the CLI as a subprocess, a pre-warmed launcher for
crash trials, a configurable scripted responder, and database checks."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/test-model"
PRICED_MODEL = "openai/gpt-4o-mini"  # in litellm's bundled price map
TOPIC = "Move the job queue from Redis to Postgres?"


# ----------------------------------------------------------------------------- the CLI


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


SECRET_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_SECRET_KEY", "_TOKEN", "_PROXY")


def hermetic_env(root: Path) -> dict[str, str]:
    """An environment for processes started outside a test's own (function-scoped) hermetic
    fixture: no provider keys or proxies, XDG homes under ``root``, the offline price map."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith(SECRET_SUFFIXES) and not k.upper().startswith("AWS_")}
    for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
        path = root / kind.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{kind}_HOME"] = str(path)
    env.update({"PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_MODE": "PRODUCTION", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost", "AGENTCHAT_LOG": str(root / "agentchat.log")})
    env.pop("AGENTCHAT_DB", None)
    return env


def agentchat(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 120,
              umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """``agentchat ARGS`` as a user runs it: a fresh process, stdin closed."""
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                          text=True, env=cli_env(env_extra), timeout=timeout, cwd=ROOT,
                          stdin=subprocess.DEVNULL, umask=-1 if umask is None else umask)


def start_agentchat(*args: str, env_extra: dict[str, str] | None = None,
                    umask: int | None = None) -> subprocess.Popen[str]:
    """``agentchat ARGS`` started in the background, its output piped."""
    return subprocess.Popen([sys.executable, "-m", "tui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(env_extra), cwd=ROOT,
                            stdin=subprocess.DEVNULL, umask=-1 if umask is None else umask)


def run_args(server: ScriptedServer, db: Path, *extra: str, pack: str = "design-review",
             model: str = MODEL, topic: str = TOPIC) -> list[str]:
    return ["run", "--pack", pack, "--topic", topic, "--model", model, "--api-base", server.url,
            "--db", str(db), *extra]


def json_lines(text: str) -> list[dict[str, Any]]:
    """The complete JSON lines of a ``run --json`` output (a torn last line is dropped)."""
    out: list[dict[str, Any]] = []
    for line in text.split("\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def one_sentence(text: str) -> bool:
    """True if ``text`` is one line of prose, not a traceback or a dump."""
    text = text.strip()
    return (bool(text) and len(text.splitlines()) == 1 and "Traceback" not in text
            and len(text) < 400)


# ----------------------------------------------------------------------------- replies


def decision_enum(body: dict[str, Any]) -> list[str] | None:
    """The speaker ids a moderator decision request allows, or None for other requests."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema") or {}
    items = ((schema.get("properties") or {}).get("speakers") or {}).get("items") or {}
    enum = items.get("enum")
    return [str(s) for s in enum] if isinstance(enum, list) else []


class ChatResponder:
    """A plausible group chat, tunable: streaming speed, how many speakers each decision picks
    (``speaker_counts`` cycles), the usage the server reports for every reply (with
    ``bill_max_tokens``, every answer is billed as long as the request's ``max_tokens``), and
    a state patch (a fenced JSON block) in every ``patch_every``-th message, and answers
    padded to ``pad_to`` characters."""

    def __init__(self, *, delay_s: float = 0.0, chunk_size: int = 8,
                 speaker_counts: Sequence[int] = (1,), prompt_tokens: int | None = None,
                 completion_tokens: int | None = None, bill_max_tokens: bool = False,
                 patch_every: int = 0, pad_to: int = 0) -> None:
        self.delay_s = delay_s
        self.patch_every = patch_every
        self.pad_to = pad_to
        self.chunk_size = chunk_size
        self.speaker_counts = list(speaker_counts)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.bill_max_tokens = bill_max_tokens
        self._lock = threading.Lock()
        self._decisions = itertools.count()
        self._texts = itertools.count(1)
        self._next_speaker = 0

    def _text(self, content: str, body: dict[str, Any]) -> Text:
        completion = self.completion_tokens
        if self.bill_max_tokens and isinstance(body.get("max_tokens"), int):
            completion = body["max_tokens"]
        return Text(content, chunk_size=self.chunk_size, delay_s=self.delay_s,
                    prompt_tokens=self.prompt_tokens, completion_tokens=completion)

    def __call__(self, body: dict[str, Any]) -> Reply:
        allowed = decision_enum(body)
        with self._lock:
            if allowed is not None:
                count = self.speaker_counts[next(self._decisions) % len(self.speaker_counts)]
                count = max(1, min(count, len(allowed)))
                chosen = [allowed[(self._next_speaker + i) % len(allowed)] for i in range(count)]
                self._next_speaker += count
                decision = {"speakers": chosen, "reason": f"{len(chosen)} voices needed",
                            "done": False}
                return self._text(json.dumps(decision), body)
            point = next(self._texts)
        text = DefaultResponder.text_for(body, point)
        while len(text) < self.pad_to:
            text += f" Detail {len(text)}: the numbers hold up under load."
        if self.patch_every and point % self.patch_every == 0:
            patch = {"add_decisions": [f"Decision {point}"],
                     "add_open_questions": [f"Question {point}?"]}
            text += f"\n\n```json\n{json.dumps(patch)}\n```\n"
        return self._text(text, body)


# ----------------------------------------------------------------------------- database checks


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` plus ``foreign_key_check``, as one string ("ok" when sound)."""
    conn = sqlite3.connect(db)
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    result = "; ".join(rows)
    return result if not fk else f"{result}; foreign keys broken: {fk[:3]}"


def snapshot_files(paths: Iterable[Path]) -> dict[Path, bytes | None]:
    return {p: (p.read_bytes() if p.exists() else None) for p in paths}


# ----------------------------------------------------------------------------- crash launcher


class Zygote:
    """Client of ``tests.reliability.zygote``: forks warm `agentchat` processes on request."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.zygote"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True, env=env, cwd=ROOT)
        self._lock = threading.Lock()
        self._live: set[int] = set()
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"the launcher did not start: {ready} (see {log})")

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the launcher exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            return self._read()

    def spawn(self, argv: Sequence[str], *, stdout_socket: str, stderr: Path,
              env: dict[str, str] | None = None) -> int:
        """Start ``agentchat ARGV`` writing its stdout to the unix socket ``stdout_socket``."""
        reply = self._ask({"op": "run", "argv": list(argv), "env": env or {},
                           "stdout_socket": stdout_socket, "stderr": str(stderr)})
        pid = int(reply["pid"])
        self._live.add(pid)
        return pid

    def wait(self, pid: int) -> int:
        """Reap the child; its exit code, or ``-signal`` if a signal ended it."""
        status = int(self._ask({"op": "wait", "pid": pid})["status"])
        self._live.discard(pid)
        return status

    def close(self) -> None:
        for pid in list(self._live):  # children this suite started and did not reap
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self.wait(pid)
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


class SocketLines:
    """A child's stdout, read line by line from a unix socket it writes to.

    EOF comes when the child dies; bytes it wrote before are still delivered.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(name)
        self._listener.listen(1)
        self._conn: socket.socket | None = None
        self._buffer = b""
        self.eof = False

    def accept(self, timeout: float = 15.0) -> None:
        self._listener.settimeout(timeout)
        self._conn, _ = self._listener.accept()

    def next_line(self, deadline: float) -> str | None:
        """The next complete line; None at the deadline or at EOF (then ``eof`` is True)."""
        assert self._conn is not None
        while b"\n" not in self._buffer:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._conn.settimeout(remaining)
            try:
                data = self._conn.recv(65536)
            except TimeoutError:
                return None
            if not data:
                self.eof = True
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._listener.close()
