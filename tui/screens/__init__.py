"""The app's screens and modals (the main screen lives in ``tui.screens.main``).

The names below load on first use, so importing one screen (the start screen, on the app's first
frame) does not import every other.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.screens.choices import ReopenChoice, StartChoice
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.error import ErrorScreen
    from tui.screens.help import HelpScreen
    from tui.screens.human_turn import HumanTurnScreen
    from tui.screens.patterns_help import PatternsHelpScreen
    from tui.screens.sessions import SessionsScreen
    from tui.screens.start import StartScreen

_HOMES = {
    "ConfirmScreen": "confirm",
    "ErrorScreen": "error",
    "HelpScreen": "help",
    "HumanTurnScreen": "human_turn",
    "PatternsHelpScreen": "patterns_help",
    "ReopenChoice": "choices",
    "SessionsScreen": "sessions",
    "StartChoice": "choices",
    "StartScreen": "start",
}

__all__ = [
    "ConfirmScreen",
    "ErrorScreen",
    "HelpScreen",
    "HumanTurnScreen",
    "PatternsHelpScreen",
    "ReopenChoice",
    "SessionsScreen",
    "StartChoice",
    "StartScreen",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tui.screens' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tui.screens.{home}"), name)
    globals()[name] = value
    return value
