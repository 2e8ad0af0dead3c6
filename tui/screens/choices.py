"""What the start screen hands back: a new session to start, or a saved one to reopen."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReopenChoice", "StartChoice"]


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
