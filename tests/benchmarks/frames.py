"""Knowing when the app has painted something: :class:`FrameProbe` notes every frame Textual
composes (headless, the compositor still renders each update; only the terminal write is
skipped) and lets a benchmark await the first frame in which a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.app import App


class FrameProbe:
    """Install before ``app.run_test()``; ``frames`` are ``perf_counter()`` times of paints."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.frames: list[float] = []
        self.watchers: list[Callable[[float], None]] = []
        self._waiting: list[tuple[Callable[[], object], asyncio.Future[float]]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            now = time.perf_counter()
            self.frames.append(now)
            for watcher in self.watchers:
                watcher(now)
            for item in list(self._waiting):
                check, future = item
                if future.done():
                    self._waiting.remove(item)
                elif check():
                    self._waiting.remove(item)
                    future.set_result(now)

        app._display = display  # type: ignore[method-assign]

    async def frame_where(self, check: Callable[[], object], timeout: float = 60.0) -> float:
        """The time of the first frame painted (from now on) while ``check()`` holds."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.append((check, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no frame within {timeout:g} s where {check!r} held") from None
