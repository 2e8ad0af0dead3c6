"""Streaming: three agents stream at once at 200 tokens/s each (the scripted server in its own
process: one token of four characters per chunk, 5 ms apart; the moderator names three speakers
each turn) into the real app (headless ``run_test``, the real litellm client).

* lag: for every chunk, the time from its arrival in the app (yielded by the LLM client) to the
  first frame whose transcript shows it (the streaming message's Markdown holds that much text);
* keys: while they stream, a key is sent to the chat input every ~50 ms; latency is the time from
  sending it to the first frame where the input shows it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from textual import events
from textual.widgets import Markdown

from agents.llm.client import LiteLLMClient, LLMChunk, LLMRequest
from agents.session import RunOptions
from tests.benchmarks.common import (
    Figure,
    Scale,
    at_most,
    hermetic_env,
    info,
    median,
    percentile,
    server_process,
)
from tests.benchmarks.frames import FrameProbe
from tui.app import AgentChatApp
from tui.screens.main import MainScreen
from tui.widgets.message_view import MessageView

NAME = "streaming"
TITLE = "Streaming"
TOKEN_DELAY_S = 0.005
TAG = 5  # "[NNN]": the first characters of every streamed reply (see tests/benchmarks/serve.py)


@dataclass
class Stream:
    started: float
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (time, chars so far)
    text: str = ""


class TimingClient:
    """The real litellm client, noting when each chunk of each reply arrived."""

    def __init__(self) -> None:
        self.inner = LiteLLMClient()
        self.streams: dict[str, Stream] = {}

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        current = Stream(time.perf_counter())
        async for chunk in self.inner.stream(request):
            if chunk.text:
                current.text += chunk.text
                current.arrivals.append((time.perf_counter(), len(current.text)))
                if len(current.text) >= TAG and current.text.startswith("["):
                    self.streams.setdefault(current.text[:TAG], current)
            yield chunk


class ScreenWatch:
    """At every frame: how much of each tagged reply the transcript shows."""

    def __init__(self, app: AgentChatApp) -> None:
        self.app = app
        self.shown: dict[str, list[tuple[float, int]]] = {}

    def __call__(self, now: float) -> None:
        screen = self.app.screen
        if not isinstance(screen, MainScreen):
            return
        for view in screen.transcript.views:
            if not isinstance(view, MessageView) or not view.is_mounted:
                continue
            for markdown in view.query(Markdown):
                source = markdown.source
                if len(source) < TAG or not source.startswith("["):
                    continue
                seen = self.shown.setdefault(source[:TAG], [])
                if not seen or seen[-1][1] != len(source):
                    seen.append((now, len(source)))

    def lags(self, streams: dict[str, Stream]) -> list[float]:
        """Milliseconds from each chunk's arrival to the first frame showing it."""
        out: list[float] = []
        for tag, stream in streams.items():
            frames = self.shown.get(tag, [])
            for arrived, upto in stream.arrivals:
                painted = next((t for t, length in frames if length >= upto and t >= arrived),
                               None)
                if painted is not None:
                    out.append((painted - arrived) * 1000)
        return out


def streaming_views(app: AgentChatApp) -> int:
    screen = app.screen
    if not isinstance(screen, MainScreen):
        return 0
    return sum(1 for v in screen.transcript.views if isinstance(v, MessageView) and v.is_streaming)


async def press_keys(app: AgentChatApp, probe: FrameProbe, stop: asyncio.Event) -> list[float]:
    """Type into the chat input while at least two replies stream; ms per key to the screen."""
    latencies: list[float] = []
    while not stop.is_set():
        await asyncio.sleep(0.05)
        screen = app.screen
        if not isinstance(screen, MainScreen) or streaming_views(app) < 2:
            continue
        chat = screen.chat_input
        if app.focused is not chat:
            chat.focus()
            continue
        before = len(chat.value)
        driver = app._driver
        assert driver is not None
        key = events.Key("x", "x")
        key.set_sender(app)
        sent = time.perf_counter()
        driver.send_message(key)
        try:
            painted = await probe.frame_where(
                lambda c=chat, n=before: len(c.value) > n, timeout=10)  # type: ignore[misc]
        except TimeoutError:
            continue
        latencies.append((painted - sent) * 1000)
        if len(chat.value) > 40:
            chat.value = ""
    return latencies


async def run(scale: Scale) -> list[Figure]:
    from agents.llm.setup import load_litellm

    await asyncio.to_thread(load_litellm)  # imported once, before anything is timed
    tokens = scale.pick(400, 200, 20)
    turns = scale.pick(3, 1, 1)
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        root = Path(tmp)
        args = ("--speakers", "3", "--tokens", str(tokens), "--token-delay", str(TOKEN_DELAY_S))
        with server_process(hermetic_env(home=root / "home"), *args) as api_base:
            client = TimingClient()
            options = RunOptions(model="openai/test-model", api_base=api_base, max_turns=turns)
            app = AgentChatApp(db_path=root / "stream.db", pack="design-review",
                               topic="Add a read-through cache to the orders API",
                               options=options, llm=client, provider_loader=lambda: None)
            probe = FrameProbe(app)
            watch = ScreenWatch(app)
            probe.watchers.append(watch)
            stop = asyncio.Event()
            async with app.run_test(size=(120, 40)):
                keys = asyncio.create_task(press_keys(app, probe, stop))
                await probe.frame_where(lambda: isinstance(app.screen, MainScreen)
                                        and app.screen.run_state == "ended", timeout=300)
                stop.set()
                latencies = await keys
                await app.action_quit()
    lags = watch.lags(client.streams)
    rates = [len(s.arrivals) / (s.arrivals[-1][0] - s.arrivals[0][0])
             for s in client.streams.values() if len(s.arrivals) > 10]
    return [
        at_most("streaming.lag_p95_ms", "Streaming ×3 at 200 tok/s: on-screen text behind the "
                "stream (p95)", percentile(lags, 95), 100.0, "ms",
                median_ms=round(median(lags), 1), chunks=len(lags)),
        info("streaming.lag_max_ms", "Streaming ×3: on-screen lag (max)",
             max(lags) if lags else None, "ms"),
        at_most("streaming.key_median_ms", "Streaming ×3: key press to screen (median)",
                median(latencies), 50.0, "ms", keys=len(latencies),
                p95_ms=round(percentile(latencies, 95), 1)),
        info("streaming.tokens_per_s", "Streaming: tokens/s received per agent (median)",
             median(rates), "tok/s", streams=len(rates)),
    ]
