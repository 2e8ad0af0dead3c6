"""What keeps a frame cheap while messages arrive and replies stream: the screen arranged once per
layout, the transcript's own lines not repainted when only its entries move, a streamed reply
measured once per batch of writes, a finished message parsed once."""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from agents.events import MessageCompleted, MessageStarted, TokenDelta
from personas.loader import load_pack
from tests.tui.app_helpers import wait_for
from tui.compositor import SingleArrangeCompositor
from tui.widgets.message_view import MessageView
from tui.widgets.streaming_markdown import StreamingMarkdown
from tui.widgets.transcript import Transcript
from tui.widgets.transcript_marker import TranscriptMarker

PACK = load_pack("design-review")
WORDS = "The cache sits in front of the orders API and is invalidated on every write. "


def message(i: int) -> MessageCompleted:
    return MessageCompleted(message_id=f"m{i}", agent="architect", name="Priya", role="expert",
                            turn=i, text=f"Message **{i}**. " + WORDS * (i % 3 + 1))


class TranscriptScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self._compositor = SingleArrangeCompositor()

    def compose(self) -> ComposeResult:
        yield Static("top", id="top")
        yield Transcript(PACK, id="transcript")


class PaintApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(TranscriptScreen())

    @property
    def transcript(self) -> Transcript:
        return self.screen.query_one(Transcript)


def screen_text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_the_full_map_after_a_reflow_is_the_one_a_fresh_arrangement_gives() -> None:
    app = PaintApp()
    async with app.run_test(size=(70, 20)) as pilot:
        transcript = app.transcript
        for i in range(6):
            await transcript.handle(message(i))
        await pilot.pause()
        compositor = app.screen._compositor
        assert isinstance(compositor, SingleArrangeCompositor)
        assert not compositor._full_map_invalidated  # a new widget was mounted: reflow built it
        fresh, _ = compositor._arrange_root(app.screen, compositor.size, visible_only=False)
        assert compositor.full_map == fresh
        last = transcript.views[-1]
        assert last.region == fresh[last].region


async def test_the_screen_after_appends_is_the_screen_drawn_from_scratch() -> None:
    """Layouts do not repaint the transcript's own lines: none may be left stale."""
    app = PaintApp()
    async with app.run_test(size=(70, 20)) as pilot:
        transcript = app.transcript
        for i in range(12):
            await transcript.handle(message(i))
            await pilot.pause()
        await transcript.handle(MessageStarted(message_id="s", agent="critic", name="Sam",
                                               role="critic", turn=13))
        for _ in range(30):
            await transcript.handle(TokenDelta(message_id="s", agent="critic", text=WORDS[:20]))
        await pilot.pause()
        await wait_for(pilot, lambda: transcript.scroll_y >= transcript.max_scroll_y, "the end")
        drawn = screen_text(app)
        for node in app.screen.walk_children(with_self=True):
            node.refresh()  # repaint everything, from nothing
        await pilot.pause()
        assert screen_text(app) == drawn
        assert "Message 11" in drawn


class StreamApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamingMarkdown("")


async def test_a_streamed_reply_grows_to_its_height_after_a_batch_of_writes() -> None:
    app = StreamApp()
    async with app.run_test(size=(40, 30)) as pilot:
        markdown = app.query_one(StreamingMarkdown)
        markdown.write("Start.")
        await pilot.pause()
        assert markdown.size.height == 1
        for _ in range(8):  # one batch, before the widget is idle again: measured once
            markdown.write(" " + WORDS)
        await pilot.pause()
        size = markdown.size
        expected = markdown.get_content_height(size, size, size.width)
        assert expected > 8
        await wait_for(pilot, lambda: markdown.size.height == expected, "the new height")


async def test_a_finished_message_is_parsed_once_and_again_when_it_changes() -> None:
    app = PaintApp()
    async with app.run_test(size=(70, 20)) as pilot:
        transcript = app.transcript
        await transcript.handle(message(1))
        await pilot.pause()
        view = transcript.views[-1]
        assert isinstance(view, MessageView)
        assert view.render() is view.render()  # the height and the lines share one parse
        before = view.render()
        view.entry.text += " More."
        await view.append(" More.")
        after = view.render()
        assert after is not before
        await wait_for(pilot, lambda: "More." in screen_text(app), "the appended text")


async def test_the_earlier_marker_changes_without_arranging_the_screen_early() -> None:
    """The "N earlier" count changes with every message once the window slides, right after
    the message's widget is mounted (which leaves the screen's map out of date): setting it must
    not ask for a size then, which would arrange the whole screen there and then and again for
    the frame. It is set once the frame's layout is done."""
    app = PaintApp()
    async with app.run_test(size=(70, 20)) as pilot:
        transcript = app.transcript
        for i in range(Transcript.WINDOW + 5):
            await transcript.handle(message(i))
        await pilot.pause()
        earlier = transcript.query_one("#transcript-earlier", TranscriptMarker)
        await wait_for(pilot, lambda: "5 earlier" in str(earlier.render()), "the count")
        compositor = app.screen._compositor
        callers: list[str] = []
        original = compositor._arrange_root

        def counting(*args: object, **kwargs: object) -> object:
            callers.append(sys._getframe(1).f_code.co_name)
            return original(*args, **kwargs)  # type: ignore[arg-type]

        compositor._arrange_root = counting  # type: ignore[assignment,method-assign]
        compositor._full_map_invalidated = True  # as a widget mounted in this frame leaves it
        earlier.show("↑ 6 earlier · scroll up, click or press Home")
        assert callers == []
        app.screen.refresh(layout=True)
        await wait_for(pilot, lambda: "6 earlier" in str(earlier.render()), "the new count")
        assert "full_map" not in callers  # arranged by the frame's layout only
