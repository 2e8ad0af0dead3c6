"""The pieces that keep a long transcript and three streams cheap: the one-widget streaming
Markdown, one-line option lists with lazy prompts, finished messages as one widget, and the
garbage collector settling."""

from __future__ import annotations

import gc
import weakref

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Markdown

from agents.events import MessageCompleted, MessageStarted, TokenDelta
from personas.loader import load_pack
from tests.tui.app_helpers import wait_for
from tui import heap
from tui.widgets.line_option_list import LazyOption, LineOptionList
from tui.widgets.message_view import MessageView
from tui.widgets.streaming_markdown import StreamingMarkdown
from tui.widgets.transcript import Transcript

PACK = load_pack("design-review")


def message(i: int) -> MessageCompleted:
    return MessageCompleted(message_id=f"m{i}", agent="architect", name="Priya", role="expert",
                            turn=i, text=f"Message **{i}**.")


class TranscriptApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Transcript(PACK, id="transcript")

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)


def shown_text(widget: MessageView | StreamingMarkdown) -> str:
    return "\n".join(strip.text for strip in widget.render_lines(widget.size.region))


class StreamApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamingMarkdown("# Plan")


async def test_streaming_markdown_is_one_widget_that_draws_its_source() -> None:
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        markdown = app.query_one(StreamingMarkdown)
        assert isinstance(markdown, Markdown) and markdown.source == "# Plan"
        markdown.write("\n\nUse a **cache**")
        await markdown.append(" with a TTL.")
        assert markdown.source == "# Plan\n\nUse a **cache** with a TTL."
        await wait_for(pilot, lambda: "with a TTL." in shown_text(markdown), "the new text")
        assert not markdown.children  # no block widgets
        assert "**" not in shown_text(markdown)  # drawn as Markdown, not as its source
        height = markdown.size.height
        markdown.write("\n\n" + "More words here. " * 30)
        await wait_for(pilot, lambda: markdown.size.height > height, "the widget to grow")
        await markdown.update("Short.")
        await wait_for(pilot, lambda: shown_text(markdown).strip() == "Short.", "a new document")


async def test_a_finished_message_is_a_single_widget_with_header_and_body() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 24)) as pilot:
        transcript = app.transcript
        await transcript.handle(MessageStarted(message_id="s", agent="architect",
                                               name="Priya", role="expert", turn=1))
        await transcript.handle(TokenDelta(message_id="s", agent="architect", text="Half a"))
        view = transcript.views[-1]
        assert isinstance(view, MessageView) and len(view.children) == 2
        await transcript.handle(MessageCompleted(message_id="s", agent="architect", name="Priya",
                                                 role="expert", turn=1, text="Half a *plan*."))
        await pilot.pause()
        assert not view.children and not view.is_streaming
        lines = shown_text(view).splitlines()
        assert "Priya · expert" in lines[0] and "Half a plan." in lines[1]
        await transcript.handle(message(2))
        await pilot.pause()
        assert all(not v.children for v in transcript.views)


async def test_trimmed_views_let_go_of_what_they_drew() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 24)) as pilot:
        transcript = app.transcript
        await transcript.load(message(i) for i in range(transcript.WINDOW))
        await pilot.pause()
        first = transcript.views[0]
        first.render_lines(first.size.region)
        await transcript.handle(message(transcript.WINDOW))
        await pilot.pause()
        assert not first.is_attached and not first._styles_cache._cache


class ListApp(App[None]):
    def __init__(self, made: list[int]) -> None:
        super().__init__()
        self.made = made

    def compose(self) -> ComposeResult:
        yield LineOptionList(id="rows", compact=True)

    def option(self, index: int) -> LazyOption:
        def make() -> Text:
            self.made.append(index)
            return Text(f"row {index} " + "long words " * 20)
        return LazyOption(make, disabled=index == 3)


async def test_line_option_list_takes_one_line_per_option_and_makes_prompts_lazily() -> None:
    made: list[int] = []
    app = ListApp(made)
    async with app.run_test(size=(40, 12)) as pilot:
        rows = app.query_one(LineOptionList)
        rows.styles.height = "auto"
        rows.styles.max_height = 8
        rows.set_options(app.option(i) for i in range(10_000))
        await pilot.pause()
        assert rows.virtual_size.height == 10_000 and rows.size.height == 8
        assert 0 < len(made) < 100  # only the rows drawn
        rows.highlighted = 9_999
        await pilot.pause()
        assert rows.scroll_y == 10_000 - 8
        assert 9_999 in made and "row 9999" in shown_text_of(rows)
        rows.replace_option_prompt_at_index(9_999, "the last row")
        await pilot.pause()
        assert rows.get_option_at_index(9_999).prompt == "the last row"
        assert "the last row" in shown_text_of(rows)
        rows.highlighted = 2
        rows.action_cursor_down()  # over the disabled row 3
        assert rows.highlighted == 4


def shown_text_of(rows: LineOptionList) -> str:
    return "\n".join(strip.text for strip in rows.render_lines(rows.size.region))


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_is_alive_and_collects_before_settling_again() -> None:
    gc.unfreeze()
    try:
        cycle = Cycle()
        ref = weakref.ref(cycle)
        heap.settle()
        assert gc.get_freeze_count() > 0
        del cycle
        gc.collect()
        assert ref() is not None  # frozen: ordinary collections no longer walk it
        heap.settle()
        assert ref() is None  # the next settle gives it back and collects first
    finally:
        gc.unfreeze()


def test_during_a_run_full_collections_wait_for_the_end_of_a_turn() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        heap.run_started()
        assert heap.running() and gc.get_threshold()[:2] == before[:2]
        assert gc.get_threshold()[2] > 100_000  # no full collection in the middle of a turn
        cycle = Cycle()
        ref = weakref.ref(cycle)
        del cycle
        gc.collect(1)  # what a young collection can do in the middle of a turn
        kept = Cycle()
        kept_ref = weakref.ref(kept)
        heap.turn_ended()  # the turn's garbage goes, what lives is frozen
        assert ref() is None and kept_ref() is not None
        frozen = gc.get_freeze_count()
        assert frozen > 0
        del kept
        gc.collect()
        assert kept_ref() is not None  # frozen at the end of its turn
        heap.run_finished()  # the run's frozen garbage goes too; collections as before
        assert kept_ref() is None
        assert not heap.running() and gc.get_threshold() == before
    finally:
        while heap.running():
            heap.run_finished()
        gc.unfreeze()


def test_every_few_turns_the_frozen_objects_are_collected_too() -> None:
    gc.unfreeze()
    try:
        heap.run_started()
        while heap._turns % heap.TURNS_PER_SWEEP != heap.TURNS_PER_SWEEP - 2:
            heap.turn_ended()
        old = Cycle()
        ref = weakref.ref(old)
        heap.turn_ended()  # frozen at this turn's end
        del old
        gc.collect()
        assert ref() is not None
        heap.turn_ended()  # the sweep: frozen objects given back and collected
        assert ref() is None
    finally:
        while heap.running():
            heap.run_finished()
        gc.unfreeze()
