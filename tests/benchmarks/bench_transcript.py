"""Transcript: a 10,000-message session must open at once, take new messages smoothly and not
grow in memory. The real app (``AgentChatApp`` reopening a stored session, headless through
``run_test``), frames observed with :class:`~tests.benchmarks.frames.FrameProbe`.

* open: app start → the first frame of the main screen with the transcript's newest messages;
* append: a finished message arrives (as the engine's event, through the main screen) → the first
  frame where it is mounted and the transcript is scrolled to the end;
* memory: traced Python memory (``tracemalloc``) before and after appending 1,000 live messages
  (after 500 more to warm Textual's caches), after a garbage collection, per 1,000 messages;
* home: Home pressed in the transcript → the first frame showing the session's first entry
  (every older page read and built), and the longest the event loop was held meanwhile (a timer
  asking to run every 10 ms, how late it ran).

The provider import (litellm, in a thread after the first frame) is stubbed out here so it does
not compete for the CPU with what is measured; the startup benchmark covers it.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from agents.events import MessageCompleted
from tests.benchmarks import sessions
from tests.benchmarks.common import ANSWER, Figure, Scale, at_most, info, median, percentile
from tests.benchmarks.frames import FrameProbe
from tui.app import AgentChatApp
from tui.bridge import EngineEvent
from tui.screens.main import MainScreen
from tui.widgets.message_view import MessageView

NAME = "transcript"
TITLE = "Transcript"


def main_screen(app: AgentChatApp) -> MainScreen | None:
    screen = app.screen
    return screen if isinstance(screen, MainScreen) else None


def shown(app: AgentChatApp) -> bool:
    screen = main_screen(app)
    return screen is not None and screen.is_mounted and screen.transcript.mounted_count > 0


def message(i: int, screen: MainScreen) -> MessageCompleted:
    persona = screen.session.pack.speakers[i % len(screen.session.pack.speakers)]
    return MessageCompleted(session_id=screen.session.id, branch_id=screen.session.branch_id,
                            message_id=f"live{i}", agent=persona.id, name=persona.name,
                            role=persona.role, turn=screen.session.turn + 1,
                            text=f"Live message {i}. {ANSWER}")


def at_end_with(screen: MainScreen, message_id: str) -> bool:
    views = screen.transcript.views
    last = views[-1] if views else None
    transcript = screen.transcript
    return (isinstance(last, MessageView) and last.entry.message_id == message_id
            and last.is_mounted and transcript.scroll_y >= transcript.max_scroll_y)


async def append_live(probe: FrameProbe, screen: MainScreen, first: int, count: int) -> None:
    """``count`` messages as a live session sends them, letting a frame through every 20."""
    for i in range(first, first + count):
        event = message(i, screen)
        screen.post_message(EngineEvent(event))
        if i % 20 == 0 or i == first + count - 1:
            await probe.frame_where(
                lambda mid=event.message_id: at_end_with(screen, mid))  # type: ignore[misc]


async def measure(db: Path, appends: int, warm: int, live: int) -> dict[str, Any]:
    app = AgentChatApp(db_path=db, session_id=sessions.SESSION_ID, provider_loader=lambda: None)
    probe = FrameProbe(app)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        opened = await probe.frame_where(lambda: shown(app), timeout=120)
        open_ms = (opened - started) * 1000
        screen = main_screen(app)
        assert screen is not None
        entries = len(screen.transcript.model)
        await pilot.pause()
        append_ms: list[float] = []
        for i in range(appends):
            event = message(i, screen)
            sent = time.perf_counter()
            screen.post_message(EngineEvent(event))
            painted = await probe.frame_where(
                lambda mid=event.message_id: at_end_with(screen, mid))  # type: ignore[misc]
            append_ms.append((painted - sent) * 1000)
        await append_live(probe, screen, appends, warm)  # warm Textual's caches first
        await pilot.pause()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await append_live(probe, screen, appends + warm, live)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        home_ms, stall_ms = await press_home(pilot, probe, screen)
        await app.action_quit()
    return {"open_ms": open_ms, "entries": entries, "append_ms": append_ms,
            "mb_per_1000": (after - before) / 1e6 * 1000 / live, "home_ms": home_ms,
            "stall_ms": stall_ms}


async def press_home(pilot: Any, probe: FrameProbe, screen: MainScreen) -> tuple[float, float]:
    """Home in the transcript: ms to the first frame showing the first entry, and the longest
    the event loop was held meanwhile."""
    transcript = screen.transcript
    transcript.focus()
    await pilot.pause()
    first: list[float] = []

    def at_first(now: float) -> None:
        views = transcript.views
        if not first and not transcript.has_older and views and views[0].index == 0:
            first.append(now)

    late: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            late.append(time.perf_counter() - asked - 0.01)

    probe.watchers.append(at_first)
    ticker = asyncio.create_task(tick())
    sent = time.perf_counter()
    await pilot.press("home")
    deadline = sent + 120
    while not first and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    stop.set()
    await ticker
    probe.watchers.remove(at_first)
    if not first:
        raise RuntimeError("Home did not show the first entry within 120 s")
    return (first[0] - sent) * 1000, max(late, default=0.0) * 1000


async def run(scale: Scale) -> list[Figure]:
    count = scale.pick(10_000, 3000, 30)
    with tempfile.TemporaryDirectory(prefix="bench-transcript-") as tmp:
        db = Path(tmp) / "transcript.db"
        built = await sessions.build(db, count - 1)  # the opening + count - 1 turns
        messages = built.turns + 1
        result = await measure(db, scale.pick(40, 20, 3), scale.pick(500, 150, 10),
                               scale.pick(1000, 300, 20))
    appends = result["append_ms"]
    return [
        at_most("transcript.open_ms", f"Transcript: open a {messages:,}-message session to its "
                "first frame", result["open_ms"], 1000.0, "ms",
                entries=result["entries"]),
        at_most("transcript.append_ms", f"Transcript: append a message and scroll to the end at "
                f"{messages:,} (median)", median(appends), 25.0, "ms",
                p95_ms=round(percentile(appends, 95), 2)),
        at_most("transcript.memory_mb_per_1000", "Transcript: memory growth per 1,000 messages",
                result["mb_per_1000"], 20.0, "MB"),
        info("transcript.append_p95_ms", "Transcript: append and scroll to the end (p95)",
             percentile(appends, 95), "ms"),
        info("transcript.home_ms", f"Transcript: Home at {messages:,} messages to the first "
             "entry on screen", result["home_ms"], "ms"),
        info("transcript.home_stall_ms", "Transcript: longest the event loop was held "
             "during Home", result["stall_ms"], "ms"),
    ]
