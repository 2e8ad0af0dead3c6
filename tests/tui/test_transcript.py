"""The transcript: events → entries, streaming Markdown, and virtualisation at 10,000 messages."""

from __future__ import annotations

from rich.markdown import Markdown as RichMarkdown
from textual.app import App, ComposeResult
from textual.widgets import Markdown, Static

from agents.events import (
    ErrorRaised,
    HandoffOccurred,
    MessageCompleted,
    MessageStarted,
    ModeratorDecision,
    SessionEnded,
    TaskUpdated,
    TokenDelta,
)
from personas.loader import load_pack
from tests.tui.app_helpers import wait_for
from tui.widgets.entry_line import EntryLine, entry_text
from tui.widgets.message_view import MessageView
from tui.widgets.transcript import Transcript
from tui.widgets.transcript_model import TranscriptModel

PACK = load_pack("design-review")


def message(i: int, agent: str = "architect") -> MessageCompleted:
    persona = PACK.persona(agent)
    assert persona is not None
    return MessageCompleted(message_id=f"m{i}", agent=agent, name=persona.name,
                            role=persona.role, turn=i, text=f"Message **{i}**.")


class TranscriptApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Transcript(PACK, id="transcript")

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)


# ------------------------------------------------------------------ the model


def test_decision_entry_shows_reason_and_fallback() -> None:
    model = TranscriptModel(PACK)
    model.apply(ModeratorDecision(turn=2, speakers=["sre", "security"], reason="failure modes",
                                  fallback=True, fallback_reason="invalid decision twice"))
    entry = model.entries[0]
    text = entry_text(entry).plain
    assert text.startswith("turn 2 ▸ Maya, Review Chair → Sam, Reliability Engineer, Lena")
    assert "failure modes" in text
    assert "fallback: invalid decision twice" in text


def test_decision_without_fallback_does_not_say_fallback() -> None:
    model = TranscriptModel(PACK)
    model.apply(ModeratorDecision(turn=1, speakers=["product"], reason="scope"))
    assert "fallback" not in entry_text(model.entries[0]).plain


def test_fatal_error_has_a_retry_hint_and_other_errors_do_not() -> None:
    model = TranscriptModel(PACK)
    model.apply(ErrorRaised(agent="", message="The provider refused the key.", fatal=True))
    model.apply(ErrorRaised(agent="sre", message="Context too long."))
    fatal, soft = (entry_text(e).plain for e in model.entries)
    assert "The provider refused the key." in fatal and "/resume to retry" in fatal
    assert soft.startswith("⚠ Sam, Reliability Engineer: Context too long.")
    assert "/resume" not in soft


def test_streamed_message_accumulates_and_is_marked_interrupted() -> None:
    model = TranscriptModel(PACK)
    model.apply(MessageStarted(message_id="x", agent="sre", name="Sam", role="expert", turn=1))
    model.apply(TokenDelta(message_id="x", agent="sre", text="Half "))
    change = model.apply(TokenDelta(message_id="x", agent="sre", text="a thought"))
    assert change is not None and change.delta == "a thought"
    assert model.entries[0].text == "Half a thought" and model.entries[0].streaming
    done = model.apply(MessageCompleted(message_id="x", agent="sre", name="Sam", role="expert",
                                        turn=1, text="Half a thought", interrupted=True))
    assert done is not None and done.finished and len(model) == 1
    assert model.entries[0].interrupted and not model.entries[0].streaming


def test_handoffs_and_delegated_tasks_are_compact_lines() -> None:
    model = TranscriptModel(PACK)
    model.apply(HandoffOccurred(turn=3, agent="product", to="sre", how="escalation",
                                reason="needs on-call view", model="openai/big"))
    model.apply(TaskUpdated(turn=3, task_id="t1", title="Load test", agent="sre",
                            status="queued"))
    model.apply(TaskUpdated(turn=3, task_id="t1", title="Load test", agent="sre",
                            status="running"))
    model.apply(TaskUpdated(turn=3, task_id="t1", title="Load test", agent="sre",
                            status="retrying", attempt=2, detail="timeout"))
    texts = [entry_text(e).plain for e in model.entries]
    assert texts[0] == ("turn 3 ▸ Jordan, Product Manager hands off to Sam, Reliability "
                        "Engineer on openai/big (escalation): needs on-call view")
    assert texts[1] == "turn 3 ▸ task “Load test” → Sam, Reliability Engineer"
    assert len(texts) == 3  # "running" adds nothing
    assert "retrying (attempt 2): timeout" in texts[2]


def test_session_end_notice_never_shows_a_fake_zero_cost() -> None:
    model = TranscriptModel(PACK)
    model.apply(SessionEnded(reason="max_turns", detail="reached 3 turns", turns=3, cost_usd=0))
    model.apply(SessionEnded(reason="budget", turns=4, cost_usd=0.0123))
    unpriced, priced = (e.text for e in model.entries)
    assert "$" not in unpriced and "turn limit reached" in unpriced
    assert "$0.0123" in priced and "budget reached" in priced


# ------------------------------------------------------------------ the widget


async def test_streaming_text_goes_through_a_markdown_widget() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 24)) as pilot:
        transcript = app.transcript
        await transcript.handle(MessageStarted(message_id="s", agent="architect",
                                               name="Priya", role="expert", turn=1))
        for piece in ("# Plan\n\n", "Use a **cache** ", "with a TTL."):
            await transcript.handle(TokenDelta(message_id="s", agent="architect", text=piece))
        view = transcript.views[-1]
        assert isinstance(view, MessageView) and view.is_streaming
        markdown = view.query_one(Markdown)
        await wait_for(pilot, lambda: markdown.source.endswith("with a TTL."), "the stream")
        assert markdown.source == "# Plan\n\nUse a **cache** with a TTL."
        header = view.query_one(".message-header", Static)
        assert "▍" in str(header.render()) and "▍" in view.header.plain
        await transcript.handle(MessageCompleted(
            message_id="s", agent="architect", name="Priya", role="expert", turn=1,
            text="# Plan\n\nUse a **cache** with a TTL of 60 s."))
        await pilot.pause()
        assert not view.is_streaming and view.markdown is None and not markdown.is_attached
        assert not view.children  # finished: one widget drawing header and body
        body = view.body
        assert isinstance(body, RichMarkdown)
        assert body.markup == "# Plan\n\nUse a **cache** with a TTL of 60 s."
        assert "▍" not in view.header.plain
        assert "Use a cache with a TTL of 60 s." in "\n".join(
            strip.text for strip in view.render_lines(view.size.region))


async def test_interrupted_message_is_marked_in_its_header() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 24)) as pilot:
        transcript = app.transcript
        await transcript.handle(MessageStarted(message_id="s", agent="sre", name="Sam",
                                               role="expert", turn=1))
        await transcript.handle(TokenDelta(message_id="s", agent="sre", text="Half"))
        await transcript.handle(MessageCompleted(message_id="s", agent="sre", name="Sam",
                                                 role="expert", turn=1, text="Half",
                                                 interrupted=True))
        await pilot.pause()
        view = transcript.views[-1]
        assert isinstance(view, MessageView)
        assert "interrupted" in view.header.plain


async def test_ten_thousand_messages_keep_the_mounted_widgets_bounded() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.transcript
        await transcript.load(message(i, "architect" if i % 2 else "sre") for i in range(10_000))
        await pilot.pause()
        assert len(transcript.model) == 10_000
        assert transcript.window == (10_000 - Transcript.WINDOW, 10_000)
        assert len(transcript.query(MessageView)) == Transcript.WINDOW
        earlier = transcript.query_one("#transcript-earlier", Static)
        shown = f"{10_000 - Transcript.WINDOW:,} earlier"
        assert earlier.display  # its count is written once the frame is laid out
        await wait_for(pilot, lambda: shown in str(earlier.render()), "the earlier count")

        # Scrolling up to the top of the window loads the page before it, again and again.
        for page in range(1, 6):
            transcript.scroll_home(animate=False, immediate=True)
            expected = 10_000 - Transcript.WINDOW - page * Transcript.PAGE
            await wait_for(pilot, lambda e=expected: transcript.window[0] == e,  # type: ignore[misc]
                           f"page {page} to load")
            assert len(transcript.query(MessageView)) <= Transcript.MAX_MOUNTED
            # The view stays on what was on screen (it does not jump to the new top).
            await wait_for(pilot, lambda: transcript.scroll_y > 0, "the view to be restored")
        start, end = transcript.window
        assert end - start == Transcript.WINDOW
        first = transcript.views[0]
        assert isinstance(first, MessageView) and first.entry.text == f"Message **{start}**."
        assert transcript.query_one("#transcript-later", Static).display

        # Home goes to the very first messages, End back to the newest.
        transcript.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: transcript.window == (0, Transcript.WINDOW), "Home")
        await pilot.press("end")
        await wait_for(pilot, lambda: transcript.window[1] == 10_000, "End")
        assert transcript.window[0] == 10_000 - Transcript.WINDOW

        # Live messages while following: the window slides, the count stays bounded.
        for i in range(10_000, 10_150):
            await transcript.handle(message(i))
        await pilot.pause()
        assert transcript.window == (10_150 - Transcript.WINDOW, 10_150)
        assert len(transcript.query(MessageView)) == Transcript.WINDOW


async def test_new_messages_while_reading_history_do_not_grow_past_the_cap() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.transcript
        await transcript.load(message(i) for i in range(500))
        await pilot.pause()
        transcript.scroll_to(y=5, animate=False, immediate=True)  # the user scrolls up a bit
        await pilot.pause()
        for i in range(500, 700):
            await transcript.handle(message(i))
        await pilot.pause()
        assert len(transcript.query(MessageView)) <= Transcript.MAX_MOUNTED
        later = transcript.query_one("#transcript-later", Static)
        assert later.display  # its count is written once the frame is laid out
        await wait_for(pilot, lambda: "newer" in str(later.render()), "the newer count")
        await transcript.show_latest()
        assert transcript.window[1] == 700


async def test_clicking_the_earlier_marker_loads_the_previous_page() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(100, 220)) as pilot:  # tall: the whole window fits
        transcript = app.transcript
        await transcript.load(message(i) for i in range(200))
        await pilot.pause()
        first = 200 - Transcript.WINDOW
        assert transcript.window == (first, 200) and transcript.max_scroll_y == 0
        await pilot.click("#transcript-earlier")
        before = first - Transcript.PAGE
        await wait_for(pilot, lambda: transcript.window[0] == before, "the click to load")
        assert transcript.window == (before, before + Transcript.WINDOW)
        assert transcript.mounted_count == Transcript.WINDOW


def test_entry_lines_have_their_kind_as_a_class() -> None:
    model = TranscriptModel(PACK)
    model.apply(ErrorRaised(agent="", message="boom", fatal=True))
    line = EntryLine(model.entries[0], 0)
    assert line.has_class("-error")
