"""The app drives a real session against the scripted OpenAI-compatible server."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.openai_server import ScriptedServer
from tests.tui.app_helpers import (
    TOPIC,
    is_decision,
    make_app,
    messages_text,
    send_line,
    wait_for,
    wait_main,
    wait_state,
)
from tui import heap
from tui.widgets.message_view import MessageView

ROOT = Path(__file__).resolve().parents[2]


async def test_a_chat_runs_and_every_pane_follows(tmp_path: Path,
                                                  scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=3)
    threshold = gc.get_threshold()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_state(pilot, app, "ended", timeout=60)
        await pilot.pause()
        # The run held full collections back to its turns' ends; once over, they are as before.
        await wait_for(pilot, lambda: not heap.running(), "the run to hand the collector back")
        assert gc.get_threshold() == threshold
        entries = screen.transcript.model.entries
        speakers = [e.name for e in entries if e.kind == "message"]
        assert speakers == ["Maya, Review Chair", "Priya, Systems Architect",
                            "Jordan, Product Manager", "Sam, Reliability Engineer"]
        assert all("(test-model)" in e.text for e in entries if e.kind == "message")
        assert [e.turn for e in entries if e.kind == "decision"] == [1, 2, 3]
        assert "turn limit reached" in entries[-1].text
        views = [v for v in screen.transcript.views if isinstance(v, MessageView)]
        assert len(views) == 4 and not any(v.is_streaming for v in views)

        # The four panes, each titled as the issue says, followed the run.
        titles = [c.title for c in screen.query("Collapsible")]
        assert titles == ["Shared State", "Cost", "Workflow", "Timeline"]
        assert screen.state_pane.state.goal == TOPIC
        calls = {row.agent: row.calls for row in screen.cost_pane.rows()}
        assert calls["architect"] == "1" and calls["sre"] == "1" and calls["critic"] == "0"
        assert screen.cost_pane.overhead_row().calls == "3"
        graph = screen.workflow_pane.graph
        assert graph.count("chair", "architect") == 1 and graph.count("chair", "sre") == 1
        assert [row.turn for row in screen.timeline_pane.rows] == [0, 1, 2, 3]

        # Header: the topic, the pack and the provider; the status line: how it ended.
        assert screen.title == TOPIC
        await wait_for(pilot, lambda: "ready · openai/test-model" in screen.sub_title,
                       "the provider status")
        assert screen.sub_title.startswith("design-review · ")
        status = str(screen.query_one("#run-status").render())
        assert status.startswith("ended · turn limit reached · turn 3/3")
        assert "tokens (unpriced)" in status and "$0.0000" not in status
    assert len(scripted_server.chat_bodies) == 7  # the opening, then a decision + a reply x3


async def test_a_typed_message_reaches_the_moderator(tmp_path: Path,
                                                     scripted_server: ScriptedServer) -> None:
    app = make_app(tmp_path / "chat.db", scripted_server, max_turns=2)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_main(pilot, app)
        await send_line(pilot, app, "/pause")  # so both lines are heard before the next turn
        await wait_state(pilot, app, "paused", timeout=60)
        await send_line(pilot, app, "Please weigh cache invalidation first.")
        await send_line(pilot, app, "@sre how does it fail?")

        def human() -> list[tuple[str, str | None]]:
            entries = screen.transcript.model.entries
            return [(e.text, e.to) for e in entries if e.agent == "human"]

        await wait_for(pilot, lambda: len(human()) == 2, "both lines in the transcript")
        assert human() == [("Please weigh cache invalidation first.", None),
                           ("how does it fail?", "sre")]
        await send_line(pilot, app, "/resume")
        await wait_state(pilot, app, "ended", timeout=60)
        assert screen.chat_input.history == ["/pause", "Please weigh cache invalidation first.",
                                             "@sre how does it fail?", "/resume"]
    decisions = [b for b in scripted_server.chat_bodies if is_decision(b)]
    assert any("Please weigh cache invalidation first." in messages_text(b) for b in decisions)
    assert any("how does it fail?" in messages_text(b) for b in decisions)


async def test_a_broken_pack_shows_an_error_screen_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[pack]\nname = 'x'\n[[personas]]\nid = 'A B'\n", encoding="utf-8")
    app = make_app(tmp_path / "chat.db", None, pack=str(broken))
    async with app.run_test(size=(100, 30)) as pilot:
        from tui.screens.error import ErrorScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        error = app.screen
        assert isinstance(error, ErrorScreen)
        assert "broken.toml" in error.message
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.return_code == 2, "the app to exit with code 2")


async def test_a_refusing_provider_is_an_inline_error_with_a_retry_hint(
        tmp_path: Path, scripted_server: ScriptedServer) -> None:
    from tests.support.replies import Error

    scripted_server.script(Error.auth())
    app = make_app(tmp_path / "chat.db", scripted_server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_state(pilot, app, "ended", timeout=60)
        errors = [e for e in screen.transcript.model.entries if e.kind == "error"]
        assert len(errors) == 1 and errors[0].detail == "/resume to retry"
        assert screen.end_reason == "error"
        # /resume retries: the server answers normally now and the run goes on.
        await send_line(pilot, app, "/resume")
        await wait_for(pilot, lambda: screen.session.turn == 3 and screen.run_state == "ended",
                       "the retried run", timeout=60)
        assert screen.end_reason == "max_turns"


def test_the_first_frame_comes_before_litellm_is_imported(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(ROOT)!r})
        import tui.app
        assert "litellm" not in sys.modules, "importing the app imported litellm"
        from pathlib import Path
        from agents.session import RunOptions
        app = tui.app.AgentChatApp(db_path=Path({str(tmp_path / "x.db")!r}),
                                   pack="design-review", topic="t",
                                   options=RunOptions(model="openai/m",
                                                      api_base="http://127.0.0.1:9/v1"))
        async def main():
            async with app.run_test() as pilot:
                while app.provider_status == "loading provider…":
                    await pilot.pause(0.05)
                await app.action_quit()
        asyncio.run(main())
        print(app.litellm_loaded_at_first_frame, app.provider_status, "litellm" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "ready", "True"]


def test_start_up_objects_are_frozen_when_the_collector_comes_back(tmp_path: Path) -> None:
    # The command line pauses the collector until the first frame; turning it back on must not
    # leave everything start-up made for the next full collection to walk (tens of
    # milliseconds right after the first frame): those objects are frozen first. A fresh
    # interpreter, so no other test's heap is involved.
    script = textwrap.dedent(f"""
        import asyncio, gc, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tui.entry import pause_gc
        pause_gc()
        import tui.app
        from pathlib import Path
        seen = []
        class App(tui.app.AgentChatApp):
            def on_ready(self):
                super().on_ready()  # the collector comes back here
                seen.append((gc.isenabled(), gc.get_freeze_count(),
                             sum(len(gc.get_objects(g)) for g in range(3))))
        app = App(db_path=Path({str(tmp_path / "x.db")!r}), provider_loader=lambda: None)
        async def main():
            async with app.run_test() as pilot:
                while not seen:
                    await pilot.pause(0.02)
                await app.action_quit()
        asyncio.run(main())
        print(*seen[0])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    enabled, frozen, walked = done.stdout.split()
    frozen, walked = int(frozen), int(walked)
    assert enabled == "True"
    assert frozen > 50_000  # modules, styles and the start screen's widgets
    assert walked < frozen // 10  # what a full collection would still have to walk
