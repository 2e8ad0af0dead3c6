"""The start screen's title bar and key bar: one widget each, drawn as Header and Footer are.

The real app is driven through Pilot; a small host app covers what the start screen never
shows (a disabled key, bindings that change while the screen is up).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from rich.color import Color
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList

from tests.tui.app_helpers import wait_for
from tui.app import AgentChatApp
from tui.screens.start import StartScreen
from tui.widgets.key_bar import KeyBar
from tui.widgets.title_bar import TitleBar

WIDTH = 120
KEYS = " ^s Start  ^t Topic  ^o Packs  ^r Recent  f1 Help  f6 Sessions "
PALETTE = "▏^p palette "


def painted(app: App[Any], y: int) -> str:
    """Row ``y`` of the screen as it is painted."""
    return app.screen._compositor.render_strips()[y].text


def title_line(title: str) -> str:
    """The title row as Header draws it: icon (8 cells), the title centred, the clock's 10."""
    space = WIDTH - 18
    left = (space - len(title)) // 2
    return " ⭘" + " " * 6 + " " * left + title + " " * (space - len(title) - left) + " " * 10


def start_app(tmp_path: Path) -> AgentChatApp:
    return AgentChatApp(db_path=tmp_path / "agentchat.db", provider_loader=lambda: None)


async def start_screen(pilot: Pilot[Any]) -> StartScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StartScreen), "the start screen")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, StartScreen)
    return screen


def key_offset(bar: KeyBar, key: str) -> tuple[int, int]:
    """Where to click ``key`` (a binding's key) on the bar: the middle of its drawn span."""
    spans = [span for span in bar.spans if span.key == key]
    assert len(spans) == 1, bar.spans
    return ((spans[0].start + spans[0].end) // 2, 0)


async def test_the_bars_show_what_header_and_footer_showed(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        screen = await start_screen(pilot)
        assert not screen.query(Header) and not screen.query(Footer)
        assert len(screen.query(TitleBar)) == 1 and len(screen.query(KeyBar)) == 1
        assert painted(app, 0) == title_line("agentchat — New session")
        bottom = painted(app, 39)
        assert bottom == KEYS + " " * (WIDTH - len(KEYS) - len(PALETTE)) + PALETTE
        bar = screen.query_one(KeyBar)
        assert [span.key for span in bar.spans] == ["ctrl+s", "ctrl+t", "ctrl+o", "ctrl+r",
                                                     "f1", "f6", "ctrl+p"]
        assert all(span.enabled for span in bar.spans)
        assert not bar.children  # drawn, not composed of keys
        # The keys bold in the footer's key colour, their descriptions plain, as Footer's.
        line = list(bar.render_line(0))
        key = next(segment for segment in line if segment.text == " ^s ")
        description = next(segment for segment in line if segment.text == "Start ")
        assert key.style is not None and key.style.bold
        assert description.style is not None and not description.style.bold
        assert key.style.color != description.style.color


async def test_the_title_follows_the_screens_title_and_sub_title(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        screen = await start_screen(pilot)
        screen.sub_title = "Pick a pack"
        await pilot.pause()
        assert painted(app, 0) == title_line("agentchat — Pick a pack")
        screen.title = "other"
        await pilot.pause()
        assert painted(app, 0) == title_line("other — Pick a pack")
        screen.title = None  # falls back on the app's title
        app.title = "app title"
        await pilot.pause()
        assert painted(app, 0) == title_line("app title — Pick a pack")


async def test_clicking_a_key_runs_it(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        screen = await start_screen(pilot)
        bar = screen.query_one(KeyBar)
        packs, topic = screen.query_one("#pack-list", OptionList), screen.query_one("#topic")
        assert app.focused is packs
        assert await pilot.click(KeyBar, offset=key_offset(bar, "ctrl+t"))
        await pilot.pause()
        assert app.focused is topic
        assert await pilot.click(KeyBar, offset=key_offset(bar, "ctrl+o"))
        await pilot.pause()
        assert app.focused is packs
        # Between the keys and the palette's key: nothing happens.
        assert await pilot.click(KeyBar, offset=(WIDTH - len(PALETTE) - 5, 0))
        await pilot.pause()
        assert app.screen is screen and app.focused is screen.query_one("#pack-list")
        assert await pilot.click(KeyBar, offset=key_offset(bar, "ctrl+p"))
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")


async def test_clicking_the_icon_opens_the_command_palette(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        await start_screen(pilot)
        assert await pilot.click(TitleBar, offset=(40, 0))  # the title: not the icon
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert await pilot.click(TitleBar, offset=(1, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")


class Probe(AgentChatApp):
    """Counts the start screen's widgets when the first frame is on screen."""

    counted: int | None = None
    bottom: str | None = None

    def on_ready(self) -> None:
        self.counted = len(list(self.screen.walk_children(with_self=True)))
        self.bottom = painted(self, self.size.height - 1)
        super().on_ready()


async def test_the_first_frame_has_at_most_15_widgets_and_shows_the_keys(
        tmp_path: Path) -> None:
    app = Probe(db_path=tmp_path / "agentchat.db", provider_loader=lambda: None)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        await start_screen(pilot)
        # Each widget of the first frame is styled, mounted and painted before it shows.
        assert app.counted is not None and app.counted <= 15
        assert app.bottom is not None and app.bottom.startswith(KEYS)


# -- a host app: a disabled key, bindings that change --------------------------------------------


class KeysScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "one", "One"),
        Binding("b", "two", "Two"),
        Binding("c", "three", "Three", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.two_enabled = True
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None: shown but disabled (False would hide the key).
        return None if action == "two" and not self.two_enabled else True

    def action_one(self) -> None:
        self.ran.append("one")

    def action_two(self) -> None:
        self.ran.append("two")


class KeysHost(App[None]):
    ENABLE_COMMAND_PALETTE = False

    def __init__(self) -> None:
        super().__init__()
        self.keys = KeysScreen()
        self.bells = 0

    def on_mount(self) -> None:
        self.push_screen(self.keys)

    def bell(self) -> None:
        self.bells += 1


async def test_a_disabled_key_is_dimmed_and_rings_the_bell() -> None:
    app = KeysHost()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        bar = app.keys.query_one(KeyBar)
        assert painted(app, 4).rstrip() == " a One  b Two"  # no palette, hidden key not shown
        before = list(app.screen._compositor.render_strips()[4])
        app.keys.two_enabled = False
        app.keys.refresh_bindings()  # fires bindings_updated_signal: the bar draws again
        await pilot.pause()
        await pilot.pause()
        assert [span.enabled for span in bar.spans] == [True, False]
        after = list(app.screen._compositor.render_strips()[4])
        assert [s.text for s in after] == [s.text for s in before]

        def colour(segments: list[Segment], text: str) -> Color | None:
            found = [s.style for s in segments if s.text == text]
            assert found and found[0] is not None
            return found[0].color

        assert colour(after, "Two ") != colour(before, "Two ")  # dimmed
        assert colour(after, "One ") == colour(before, "One ")
        await pilot.click(KeyBar, offset=key_offset(bar, "b"))
        await pilot.pause()
        assert app.bells == 1 and app.keys.ran == []
        await pilot.click(KeyBar, offset=key_offset(bar, "a"))
        await pilot.pause()
        assert app.bells == 1 and app.keys.ran == ["one"]


async def test_the_key_bar_unsubscribes_when_removed() -> None:
    app = KeysHost()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        signal = app.keys.bindings_updated_signal
        bar = app.keys.query_one(KeyBar)
        assert bar in signal._subscriptions
        await bar.remove()
        assert bar not in signal._subscriptions


@pytest.mark.parametrize("width", [30, 12])
async def test_a_narrow_bar_keeps_the_palette_key_at_the_right(
        tmp_path: Path, width: int) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(width, 40)) as pilot:
        screen = await start_screen(pilot)
        bottom = painted(app, 39)
        assert len(bottom) == width
        assert bottom.endswith(PALETTE)
        bar = screen.query_one(KeyBar)
        assert all(span.end <= width for span in bar.spans)


async def test_the_key_under_the_mouse_is_lit(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    async with app.run_test(size=(WIDTH, 40)) as pilot:
        screen = await start_screen(pilot)
        bar = screen.query_one(KeyBar)

        def backgrounds() -> dict[str, object]:
            return {segment.text: segment.style.bgcolor
                    for segment in app.screen._compositor.render_strips()[39] if segment.style}

        plain = backgrounds()
        assert plain["Topic "] == plain["Start "]
        await pilot.hover(KeyBar, offset=key_offset(bar, "ctrl+t"))
        await pilot.pause()
        lit = backgrounds()
        assert lit["Topic "] != plain["Topic "] and lit[" ^t "] == lit["Topic "]
        assert lit["Start "] == plain["Start "]
