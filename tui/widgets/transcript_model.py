"""The transcript as data: engine events become a flat list of entries (messages, moderator
decisions, errors, notices). No widgets here, so thousands of entries cost almost nothing; the
:class:`~tui.widgets.transcript.Transcript` mounts widgets only for the entries near the view."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from agents.events import (
    BranchForked,
    CheckpointCreated,
    ErrorRaised,
    Event,
    HandoffOccurred,
    HumanInputRequested,
    MessageCompleted,
    MessageStarted,
    ModeratorDecision,
    PatchRejected,
    SessionEnded,
    SessionPaused,
    SessionStarted,
    StatePatched,
    TaskUpdated,
    TokenDelta,
    TurnStarted,
    UsageRecorded,
)
from personas.models import Pack

EntryKind = Literal["message", "decision", "error", "notice"]

#: Stored events turned into entries between two chances for the screen to draw (see
#: :meth:`TranscriptModel.prepend_gradually`).
BUILD_SLICE = 2000

END_REASONS = {
    "goal_met": "the moderator closed it",
    "max_turns": "turn limit reached",
    "stop_phrase": "the stop phrase was said",
    "budget": "budget reached",
    "user": "stopped",
    "error": "an error stopped it",
}
HUMAN_COLOUR = "bright_white"
NOT_SHOWN: frozenset[type[Event]] = frozenset(
    {UsageRecorded, CheckpointCreated, TurnStarted, StatePatched})
"""The most frequent events of a stored session, none of which is a transcript entry: skipped
before any other test (a 10,000-turn session has about five of them per message)."""


@dataclass(slots=True)
class Entry:
    """One line or block of the transcript."""

    kind: EntryKind
    text: str = ""
    agent: str = ""
    name: str = ""
    role: str = ""
    colour: str = ""
    message_id: str = ""
    turn: int = 0
    to: str | None = None
    streaming: bool = False
    interrupted: bool = False
    fallback: bool = False
    detail: str = ""
    """Decision: the fallback reason; error: the retry hint."""


@dataclass(frozen=True)
class Change:
    """What :meth:`TranscriptModel.apply` did: ``added``/``updated`` entry ``index``; for a
    token delta, ``delta`` is the new text; ``finished`` when a streamed message completed."""

    op: Literal["added", "updated"]
    index: int
    delta: str = ""
    finished: bool = False


class TranscriptModel:
    """Entries in order, and where each streaming message is."""

    def __init__(self, pack: Pack | None = None) -> None:
        self.entries: list[Entry] = []
        self._by_message: dict[str, int] = {}
        self._people: dict[str, tuple[str, str]] = {}
        if pack is not None:
            self._people = {p.id: (p.name, p.colour) for p in pack.personas}
        self._moderator = pack.moderator.id if pack is not None else ""

    def __len__(self) -> int:
        return len(self.entries)

    prepended = 0
    """How many entries :meth:`prepend` has put before the first ones (indexes moved by it)."""

    def prepend(self, events: Iterable[Event]) -> int:
        """Put the entries of ``events`` (an older page) before the current ones; how many.
        Every index moves up by that many (``prepended`` counts them)."""
        older = self.older()
        for event in events:
            older.apply(event)
        return self.put_before(older)

    async def prepend_gradually(self, events: Sequence[Event]) -> int:
        """:meth:`prepend`, building the entries :data:`BUILD_SLICE` events at a time with
        the event loop let go between (a long history: frames and keys go on meanwhile); they
        are put in at once at the end."""
        older = self.older()
        for count, event in enumerate(events, 1):
            older.apply(event)
            if count % BUILD_SLICE == 0:
                await asyncio.sleep(0)
        return self.put_before(older)

    def older(self) -> TranscriptModel:
        """An empty model for the entries before these (same cast): fill it with ``apply``,
        a little at a time if need be, then :meth:`put_before`."""
        older = TranscriptModel()
        older._people, older._moderator = self._people, self._moderator
        return older

    def put_before(self, older: TranscriptModel) -> int:
        """Put ``older``'s entries (see :meth:`older`) before the current ones; how many."""
        count = len(older.entries)
        if count:
            self.entries[0:0] = older.entries
            by_message = {mid: i + count for mid, i in self._by_message.items()}
            for mid, i in older._by_message.items():
                by_message.setdefault(mid, i)
            self._by_message = by_message
            self.prepended += count
        return count

    def name_of(self, agent: str) -> str:
        if agent == "human":
            return "You"
        return self._people.get(agent, (agent, ""))[0] or agent

    def colour_of(self, agent: str) -> str:
        if agent == "human":
            return HUMAN_COLOUR
        return self._people.get(agent, ("", ""))[1]

    def index_of(self, message_id: str) -> int | None:
        return self._by_message.get(message_id)

    def _add(self, entry: Entry) -> Change:
        self.entries.append(entry)
        index = len(self.entries) - 1
        if entry.message_id:
            self._by_message[entry.message_id] = index
        return Change("added", index)

    def _notice(self, text: str) -> Change:
        return self._add(Entry("notice", text))

    def apply(self, event: Event) -> Change | None:
        """Fold ``event`` into the entries; None when it does not show in the transcript."""
        if type(event) in NOT_SHOWN:
            return None
        if isinstance(event, MessageStarted):
            return self._add(Entry(
                "message", agent=event.agent, name=event.name, role=event.role,
                colour=self.colour_of(event.agent), message_id=event.message_id,
                turn=event.turn, streaming=True))
        if isinstance(event, TokenDelta):
            index = self._by_message.get(event.message_id)
            if index is None:
                return None
            self.entries[index].text += event.text
            return Change("updated", index, delta=event.text)
        if isinstance(event, MessageCompleted):
            return self._completed(event)
        if isinstance(event, ModeratorDecision):
            return self._decision(event)
        if isinstance(event, ErrorRaised):
            who = self.name_of(event.agent) if event.agent else ""
            hint = "/resume to retry" if event.fatal else ""
            return self._add(Entry("error", event.message, agent=event.agent, name=who,
                                   colour=self.colour_of(event.agent), detail=hint))
        if isinstance(event, HandoffOccurred):
            model = f" on {event.model}" if event.model else ""
            text = (f"{self.name_of(event.agent)} hands off to {self.name_of(event.to)}{model} "
                    f"({event.how}): {event.reason}")
            return self._add(Entry("decision", text, agent=event.agent,
                                   name=self.name_of(event.agent),
                                   colour=self.colour_of(event.agent), turn=event.turn))
        if isinstance(event, TaskUpdated):
            return self._task(event)
        if isinstance(event, PatchRejected):
            return self._add(Entry(
                "error", f"shared-state update rejected: {event.error}", agent=event.agent,
                name=self.name_of(event.agent), colour=self.colour_of(event.agent)))
        return self._notice_for(event)

    def _notice_for(self, event: Event) -> Change | None:
        if isinstance(event, SessionStarted):
            verb = "Resumed" if event.resumed else "Started"
            note = event.model_note or f"Model {event.model}."
            return self._notice(f"{verb} · {event.pack} · {note}")
        if isinstance(event, SessionPaused):
            if not event.paused:
                return None
            return self._notice("Paused · /step runs one turn · /resume continues")
        if isinstance(event, SessionEnded):
            why = END_REASONS.get(event.reason, event.reason)
            detail = f" ({event.detail})" if event.detail and event.reason != "user" else ""
            cost = f" · ${event.cost_usd:.4f}" if event.cost_usd else ""
            hint = {"max_turns": "/turns N raises the limit, then /resume",
                    "budget": "/budget USD raises it, then /resume"}.get(
                        event.reason, "/resume to continue")
            return self._notice(f"Session ended: {why}{detail} · {event.turns} turns{cost} · "
                                f"{hint}")
        if isinstance(event, BranchForked):
            return self._notice(f"Rolled back to turn {event.turn}: new branch {event.name} "
                                "(the old branch is kept)")
        if isinstance(event, HumanInputRequested):
            return self._notice(f"Your turn as {self.name_of(event.agent)} (you hold the seat)")
        return None

    def _task(self, event: TaskUpdated) -> Change | None:
        """Delegated work: its assignment and its failures (a finished task shows as the
        worker's message)."""
        who = self.name_of(event.agent)
        detail = f": {event.detail}" if event.detail else ""
        if event.status == "queued":
            return self._add(Entry("decision", f"task “{event.title}” → {who}", agent=event.agent,
                                   name=who, colour=self.colour_of(event.agent), turn=event.turn))
        if event.status in ("failed", "retrying"):
            verb = "failed" if event.status == "failed" else f"retrying (attempt {event.attempt})"
            return self._add(Entry("error", f"task “{event.title}” {verb}{detail}",
                                   agent=event.agent, name=who,
                                   colour=self.colour_of(event.agent)))
        return None

    def _completed(self, event: MessageCompleted) -> Change:
        index = self._by_message.get(event.message_id)
        if index is None:
            change = self._add(Entry(
                "message", event.text, agent=event.agent, name=event.name, role=event.role,
                colour=self.colour_of(event.agent), message_id=event.message_id,
                turn=event.turn, to=event.to, interrupted=event.interrupted))
            return change
        entry = self.entries[index]
        entry.text = event.text
        entry.streaming = False
        entry.interrupted = event.interrupted
        entry.to = event.to
        return Change("updated", index, finished=True)

    def _decision(self, event: ModeratorDecision) -> Change:
        speakers = ", ".join(self.name_of(s) for s in event.speakers) or "nobody"
        mod = self.name_of(self._moderator) if self._moderator else "Moderator"
        if event.done:
            text = f"{mod} closes the session: {event.reason}"
        else:
            text = f"{mod} → {speakers}: {event.reason}"
        return self._add(Entry(
            "decision", text, agent=self._moderator, name=mod,
            colour=self.colour_of(self._moderator), turn=event.turn, fallback=event.fallback,
            detail=event.fallback_reason))

    def recent_text(self, count: int = 8, width: int = 400) -> str:
        """The last ``count`` messages as plain ``Name: text`` lines (context for a modal)."""
        lines: list[str] = []
        for entry in reversed(self.entries):
            if entry.kind != "message" or not entry.text:
                continue
            text = " ".join(entry.text.split())
            if len(text) > width:
                text = text[: width - 1] + "…"
            lines.append(f"{entry.name or self.name_of(entry.agent)}: {text}")
            if len(lines) >= count:
                break
        return "\n".join(reversed(lines))
