"""The app's screens and modals (the main screen lives in ``tui.screens.main``)."""

from tui.screens.choices import ReopenChoice, StartChoice
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.human_turn import HumanTurnScreen
from tui.screens.patterns_help import PatternsHelpScreen
from tui.screens.sessions import SessionsScreen
from tui.screens.start import StartScreen

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
