"""The bridge: engine events reach the screen in order, token deltas coalesced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from textual.app import App, ComposeResult
from textual.widget import Widget

from agents.events import Event, MessageCompleted, MessageStarted, TokenDelta
from tests.tui.app_helpers import wait_for
from tui.bridge import Bridge, EngineEvent, RunFinished


class FakeSession:
    """Yields a burst of 200 one-character deltas, then the finished message."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.stopped = False

    async def events(self) -> AsyncIterator[Event]:
        yield MessageStarted(message_id="m", agent="a", name="A", role="expert", turn=1)
        for i in range(200):
            yield TokenDelta(message_id="m", agent="a", text=str(i % 10))
            if i % 50 == 0:
                await asyncio.sleep(0.06)  # a pause longer than the flush interval
        if self.fail:
            raise RuntimeError("the database went away\nsecond line")
        yield MessageCompleted(message_id="m", agent="a", name="A", role="expert", turn=1,
                               text="done")

    def stop(self) -> None:
        self.stopped = True


class Sink(Widget):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Event] = []
        self.finished: list[str | None] = []

    def on_engine_event(self, message: EngineEvent) -> None:
        self.seen.append(message.event)

    def on_run_finished(self, message: RunFinished) -> None:
        self.finished.append(message.error)


class BridgeApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Sink()


async def test_deltas_are_coalesced_and_order_is_kept() -> None:
    app = BridgeApp()
    async with app.run_test() as pilot:
        sink = app.query_one(Sink)
        bridge = Bridge(sink, FakeSession())  # type: ignore[arg-type]
        bridge.start()
        await wait_for(pilot, lambda: sink.finished, "the run to finish")
        kinds = [e.kind for e in sink.seen]
        assert kinds[0] == "message_started" and kinds[-1] == "message_completed"
        deltas = [e for e in sink.seen if isinstance(e, TokenDelta)]
        assert 2 <= len(deltas) <= 12, f"{len(deltas)} delta messages for 200 deltas"
        assert "".join(d.text for d in deltas) == "".join(str(i % 10) for i in range(200))
        assert sink.finished == [None] and not bridge.running


async def test_an_engine_crash_is_reported_in_one_line() -> None:
    app = BridgeApp()
    async with app.run_test() as pilot:
        sink = app.query_one(Sink)
        bridge = Bridge(sink, FakeSession(fail=True))  # type: ignore[arg-type]
        bridge.start()
        await wait_for(pilot, lambda: sink.finished, "the run to finish")
        assert sink.finished == ["RuntimeError: the database went away"]
        assert sum(len(e.text) for e in sink.seen if isinstance(e, TokenDelta)) == 200
