"""Command palette providers: every action of the app is reachable from Ctrl+P."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (command name, help, action, where): "screen" actions need the main screen.
COMMANDS: list[tuple[str, str, str, str]] = [
    ("Pause the run", "Pause after the current turn (F7)", "pause", "screen"),
    ("Step one turn", "Run exactly one more turn, then pause (F8)", "step", "screen"),
    ("Resume the run", "Continue, or start a new run after it ended (F7)", "resume", "screen"),
    ("Stop the run", "End the run now; a streaming message is kept, interrupted (F9)", "stop",
     "screen"),
    ("Roll back to a checkpoint…", "Preview an earlier turn and fork a new branch there "
     "(Timeline pane)", "rollback_help", "screen"),
    ("Switch to the next branch", "Reopen the session on its next branch (Ctrl+N; b in the "
     "Timeline)", "next_branch", "screen"),
    ("Compare branches", "Two branches side by side from their fork point (Ctrl+O; c in the "
     "Timeline)", "compare", "screen"),
    ("Replay this session", "Play the current branch back turn by turn, no model call",
     "replay", "screen"),
    ("Patterns guide", "How the orchestration patterns differ, this pack's marked (Ctrl+G)",
     "patterns_help", "screen"),
    ("Toggle the Shared State pane", "Show or hide it and focus it (F2)", "toggle_pane('state')",
     "screen"),
    ("Toggle the Cost pane", "Show or hide it and focus it (F3)", "toggle_pane('cost')", "screen"),
    ("Toggle the Workflow pane", "Show or hide it and focus it (F4)", "toggle_pane('workflow')",
     "screen"),
    ("Toggle the Timeline pane", "Show or hide it and focus it (F5)", "toggle_pane('timeline')",
     "screen"),
    ("Jump to the latest message", "Scroll the transcript to the end and follow it",
     "jump_latest", "screen"),
    ("Browse saved sessions", "Open, replay (p) or delete a saved session (F6)", "sessions",
     "app"),
    ("Help: keys and commands", "Every key binding and slash command (F1)", "help", "app"),
]


class AgentChatCommands(Provider):
    """Run control, panes, sessions and help."""

    def _available(self) -> list[tuple[str, str, Callable[[], object]]]:
        from tui.screens.main import MainScreen

        screen = self.screen
        out: list[tuple[str, str, Callable[[], object]]] = []
        for name, help_text, action, where in COMMANDS:
            if where == "screen":
                if not isinstance(screen, MainScreen):
                    continue
                out.append((name, help_text, partial(screen.run_action, action)))
            else:
                out.append((name, help_text, partial(self.app.run_action, action)))
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._available():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
