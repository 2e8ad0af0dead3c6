"""Replaying a saved session turn by turn from the store: no model is ever called."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.events import Event
from agents.history import load_events
from agents.store import Store

# What a replay shows; usage and decisions are kept so panes can be rebuilt as they were.
SHOWN_KINDS = frozenset({
    "session_started", "moderator_decision", "turn_started", "message_completed",
    "state_patched", "patch_rejected", "usage_recorded", "error_raised", "branch_forked",
    "session_ended",
})


def turn_of(event: Event) -> int | None:
    turn = getattr(event, "turn", None)
    return turn if isinstance(turn, int) else None


@dataclass
class Replay:
    """A cursor over a branch's stored events: forward, back, jump to a turn."""

    events: list[Event]
    position: int = 0  # how many events have been played
    turns: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.events = [e for e in self.events if e.kind in SHOWN_KINDS]
        self.turns = sorted({t for e in self.events if (t := turn_of(e)) is not None})

    @classmethod
    async def load(cls, store: Store, session_id: str, branch_id: str | None = None) -> Replay:
        return cls(await load_events(store, session_id, branch_id))

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.events)

    @property
    def current_turn(self) -> int:
        for event in reversed(self.events[: self.position]):
            turn = turn_of(event)
            if turn is not None:
                return turn
        return 0

    def played(self) -> list[Event]:
        return self.events[: self.position]

    def step(self) -> Event | None:
        """Play the next event."""
        if self.at_end:
            return None
        event = self.events[self.position]
        self.position += 1
        return event

    def next_message(self) -> list[Event]:
        """Play events up to and including the next message; returns what was played."""
        out: list[Event] = []
        while not self.at_end:
            event = self.step()
            assert event is not None
            out.append(event)
            if event.kind == "message_completed":
                break
        return out

    def back(self) -> None:
        """Undo events back to before the previous message."""
        while self.position > 0:
            self.position -= 1
            if self.events[self.position].kind == "message_completed":
                break

    def jump_to_turn(self, turn: int) -> None:
        """Position just after everything that happened up to the end of ``turn``."""
        if turn not in self.turns:
            raise ValueError(f"there is no turn {turn}; turns run {self.turns[0]}–{self.turns[-1]}"
                             if self.turns else "this session has no turns")
        self.position = 0
        for index, event in enumerate(self.events):
            t = turn_of(event)
            if t is not None and t > turn:
                break
            self.position = index + 1
