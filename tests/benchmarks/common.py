"""What every benchmark shares: figures and verdicts, scales, a hermetic environment, an instant
in-process LLM client, the scripted server in its own process, and small statistics."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.llm.client import LLMChunk, LLMRequest

ROOT = Path(__file__).resolve().parents[2]
Verdict = Literal["pass", "fail", "info"]
Mode = Literal["full", "quick", "tiny"]

# Two to three short paragraphs: the 300-600 bytes a persona's message typically holds.
ANSWER = (
    "I would keep the first version small: a read-through cache in front of the orders API "
    "with a 60 s TTL, invalidated on every write, and a hit-rate metric from day one. "
    "The risk I see is a stampede when a hot key expires, so we should add request "
    "coalescing before launch. I suggest we measure p95 latency for a week first and decide "
    "on the size of the cache from those figures rather than from guesses."
)


@dataclass
class Figure:
    """One measured figure, its target and the verdict (``info`` when it has no target)."""

    key: str
    label: str
    value: float | None
    unit: str
    target: str = ""
    verdict: Verdict = "info"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def shown(self) -> str:
        if self.value is None:
            return "—"
        value = self.value
        if self.unit in ("", "×", "bool"):
            text = f"{value:.2f}" if self.unit == "×" else f"{value:g}"
        elif abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        else:
            text = f"{value:.2f}"
        return f"{text} {self.unit}".strip() if self.unit not in ("", "bool") else text

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        if isinstance(self.value, float):
            data["value"] = round(self.value, 6)
        return data


def at_most(key: str, label: str, value: float | None, limit: float, unit: str,
            note: str = "", **extra: Any) -> Figure:
    """A figure whose target is ``value <= limit``."""
    verdict: Verdict = "fail" if value is None or value > limit else "pass"
    shown = f"≤ {limit:g} {unit}".strip()
    return Figure(key, label, value, unit, shown, verdict, note, dict(extra))


def holds(key: str, label: str, ok: bool, shown: str, target: str, note: str = "",
          **extra: Any) -> Figure:
    """A yes/no figure (``shown`` is what was found)."""
    figure = Figure(key, label, 1.0 if ok else 0.0, "bool", target, "pass" if ok else "fail",
                    note, dict(extra))
    figure.extra.setdefault("shown", shown)
    return figure


def info(key: str, label: str, value: float | None, unit: str, note: str = "",
         **extra: Any) -> Figure:
    return Figure(key, label, value, unit, "", "info", note, dict(extra))


@dataclass(frozen=True)
class Scale:
    """How big to make things: ``full`` (the issue's sizes), ``quick`` or ``tiny`` (smoke)."""

    mode: Mode = "full"

    def pick(self, full: int, quick: int, tiny: int) -> int:
        return {"full": full, "quick": quick, "tiny": tiny}[self.mode]

    @property
    def full(self) -> bool:
        return self.mode == "full"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return float(ordered[index])


# ------------------------------------------------------------------ environment

_SECRET_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_SECRET_KEY", "_ACCESS_KEY_ID")


def hermetic_env(base: Mapping[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without provider credentials, with litellm offline and,
    when ``home`` is given, the XDG dirs under it (so nothing touches the user's files)."""
    env = {k: v for k, v in (base if base is not None else os.environ).items()
           if not k.upper().endswith(_SECRET_SUFFIXES) and k.upper() not in
           ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "AGENTCHAT_MODEL", "AGENTCHAT_DB")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MODE": "PRODUCTION",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    if home is not None:
        for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
            path = home / kind.lower()
            path.mkdir(parents=True, exist_ok=True)
            env[f"XDG_{kind}_HOME"] = str(path)
    return env


def make_hermetic(home: Path) -> None:
    """Apply :func:`hermetic_env` to this process."""
    env = hermetic_env(home=home)
    for name in list(os.environ):
        if name not in env:
            del os.environ[name]
    os.environ.update(env)


def machine() -> dict[str, Any]:
    import platform

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": memory_gb,
            "python": platform.python_version(), "platform": platform.platform(),
            "textual": _version("textual"), "litellm": _version("litellm")}


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


# ------------------------------------------------------------------ an instant provider


class InstantLLM:
    """An :class:`~agents.llm.client.LLMClient` that answers at once, with usage: valid JSON for a
    structured decision (its enums picked round-robin), a 450-byte paragraph otherwise."""

    def __init__(self, answer: str = ANSWER) -> None:
        self.answer = answer
        self.calls = 0

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        from tests.support.replies import schema_instance

        self.calls += 1
        fmt = request.response_format
        if fmt is not None and fmt.get("type") == "json_schema":
            text = json.dumps(schema_instance(fmt["json_schema"]["schema"], self.calls))
        else:
            text = self.answer
        yield LLMChunk(text=text)
        yield LLMChunk(prompt_tokens=600, completion_tokens=max(1, len(text) // 4),
                       finish_reason="stop")


# ------------------------------------------------------------------ the scripted server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server_process(env: Mapping[str, str] | None = None, *args: str) -> Iterator[str]:
    """The scripted OpenAI-compatible server in its own process (so it does not share our GIL),
    shaped by ``args`` (see :mod:`tests.benchmarks.serve`); yields its ``api_base``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.serve", "--port", str(port), *args],
        cwd=ROOT, env=dict(env or hermetic_env()), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "127.0.0.1" not in line:
            raise RuntimeError(f"the scripted server did not start: {line!r}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.ms``."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.ms = 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.ms = (time.perf_counter() - self.started) * 1000
