"""Start-up: ``agentchat`` with no arguments shows the real start screen as its first frame,
before the engine (pydantic, the store, the main screen) is imported; the packs are validated
and the store opened right after."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from textual.app import App
from textual.widgets import OptionList

from personas.loader import builtin_pack_names
from tests.tui.app_helpers import wait_for
from tui.app import AgentChatApp
from tui.screens.error import ErrorScreen
from tui.screens.start import StartScreen

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ("pydantic", "agents.session", "agents.store", "personas.loader", "tui.screens.main",
          "tui.bridge", "litellm")


def test_the_first_frame_is_the_start_screen_without_the_engine(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tui.app import AgentChatApp

        class Probe(AgentChatApp):
            def on_ready(self):
                screen = self.screen
                self.seen = {{
                    "screen": type(screen).__name__,
                    "engine": [m for m in {ENGINE!r} if m in sys.modules],
                    "packs": [str(o.prompt) for o in screen.query_one("#pack-list").options],
                    "bars": [len(screen.query(w)) for w in ("TitleBar", "KeyBar")],
                }}

        app = Probe(db_path=Path({str(tmp_path / "x.db")!r}), provider_loader=lambda: None)

        async def main():
            async with app.run_test(size=(120, 40)) as pilot:
                while not (app.screen.packs_checked and app.store is not None):
                    await pilot.pause(0.02)
                await app.workers.wait_for_complete()
                app.seen["later"] = [str(o.prompt) for o in
                                     app.screen.query_one("#pack-list").options]
                await app.action_quit()

        asyncio.run(main())
        print(json.dumps(app.seen))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["screen"] == "StartScreen"
    assert seen["engine"] == []
    assert seen["bars"] == [1, 1]
    names = builtin_pack_names()
    assert [p.split()[0] for p in seen["packs"]] == names  # listed at once, by file name
    assert [p.split()[0] for p in seen["later"]] == names
    assert all("personas" in p for p in seen["later"])  # then validated: the cast sizes


async def test_a_database_that_cannot_open_shows_the_error_over_the_start_screen(
        tmp_path: Path) -> None:
    db = tmp_path / "a-directory"
    db.mkdir()
    app = AgentChatApp(db_path=db, provider_loader=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
        assert isinstance(app.screen_stack[-2], StartScreen)
        error = app.screen
        assert isinstance(error, ErrorScreen) and "directory" in error.message
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.return_code == 2, "the app to exit with code 2")


class Host(App[None]):
    def __init__(self, screen: StartScreen) -> None:
        super().__init__()
        self.start = screen

    def on_mount(self) -> None:
        self.push_screen(self.start)


async def test_packs_that_changed_before_validation_are_listed_afresh(tmp_path: Path) -> None:
    user_dir = tmp_path / "packs"
    user_dir.mkdir()
    screen = StartScreen(tmp_path / "x.db", "note", user_dir=user_dir)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        packs = screen.query_one("#pack-list", OptionList)
        assert packs.option_count == len(builtin_pack_names())
        packs.highlighted = 2
        (user_dir / "zz-new.toml").write_text('[pack]\nname = "zz"\n')  # broken
        screen.run_worker(screen._check_packs, thread=True)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert packs.option_count == len(builtin_pack_names()) + 1
        assert "broken" in str(packs.get_option_at_index(packs.option_count - 1).prompt)
        assert packs.highlighted == 2
        assert screen.query_one("#preview-box").border_title == builtin_pack_names()[2]
