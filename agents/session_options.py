"""How a session is run: model, endpoint, limits, who the human speaks for."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunOptions:
    model: str | None = None
    api_base: str | None = None
    max_turns: int | None = None
    budget_usd: float | None = None
    human_seats: frozenset[str] = frozenset()
    transcript_chars: int = 12000
    # An interactive session (the app) waits for the human where a pattern needs a new request
    # (router); a headless one ends there.
    interactive: bool = False
    # A model for one persona (persona id -> litellm model name), overriding the session's and
    # the pack's for that persona's own messages (e.g. forking a replay with another model).
    persona_models: dict[str, str] = field(default_factory=dict)
