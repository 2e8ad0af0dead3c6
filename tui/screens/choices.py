"""What screens hand back: a session to start, reopen or replay; a rollback, an edit or a live
fork to make."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "EditChoice",
    "ForkLiveChoice",
    "PlayChoice",
    "ReopenChoice",
    "RollbackChoice",
    "StartChoice",
]


@dataclass(frozen=True)
class StartChoice:
    """Start a new session.

    ``pack_ref`` is what to pass to ``personas.loader.load_pack`` (a pack name, or the path of a
    user pack). ``model``, ``budget_usd`` and ``max_turns`` are ``None`` when the user left the
    field empty, meaning "use the default" (the pack's, or the model choice rule's).
    """

    pack_ref: str
    topic: str
    model: str | None = None
    budget_usd: float | None = None
    max_turns: int | None = None


@dataclass(frozen=True)
class ReopenChoice:
    """Reopen the saved session ``session_id``."""

    session_id: str


@dataclass(frozen=True)
class PlayChoice:
    """Replay the saved session ``session_id`` (no model call)."""

    session_id: str


@dataclass(frozen=True)
class RollbackChoice:
    """From the fork preview: fork a new branch at the checkpoint of ``turn``."""

    turn: int


@dataclass(frozen=True)
class EditChoice:
    """From the fork preview: fork at ``turn``, replace message ``message_id`` with ``text`` on
    the new branch, and run on from there."""

    turn: int
    message_id: str
    text: str


@dataclass(frozen=True)
class ForkLiveChoice:
    """From a replay: fork at ``turn`` and run live; ``persona_id`` (if any) speaks with
    ``model`` instead of the session's model."""

    turn: int
    persona_id: str | None = None
    model: str | None = None
