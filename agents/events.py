"""Every event the engine emits. The TUI, the headless CLI and the tests are consumers of these."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agents.state import SharedState, StatePatch


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str = ""
    branch_id: str = ""
    at: datetime = Field(default_factory=_now)


class SessionStarted(_Event):
    kind: Literal["session_started"] = "session_started"
    title: str
    pack: str
    topic: str
    model: str
    model_note: str = ""
    resumed: bool = False
    max_turns: int | None = None  # the run's limits, so a reopened session keeps them
    budget_usd: float | None = None


class TurnStarted(_Event):
    kind: Literal["turn_started"] = "turn_started"
    turn: int
    speakers: list[str]


class ModeratorDecision(_Event):
    kind: Literal["moderator_decision"] = "moderator_decision"
    turn: int
    speakers: list[str]
    reason: str
    done: bool = False
    fallback: bool = False
    fallback_reason: str = ""


class MessageStarted(_Event):
    kind: Literal["message_started"] = "message_started"
    message_id: str
    agent: str
    name: str
    role: str
    turn: int


class TokenDelta(_Event):
    kind: Literal["token_delta"] = "token_delta"
    message_id: str
    agent: str
    text: str


class MessageCompleted(_Event):
    """A finished message. Emitted only after it has been committed to the store."""

    kind: Literal["message_completed"] = "message_completed"
    message_id: str
    agent: str
    name: str
    role: str
    turn: int
    text: str
    to: str | None = None
    interrupted: bool = False
    edited: bool = False  # replaces the earlier message with this message_id on this branch


class StatePatched(_Event):
    kind: Literal["state_patched"] = "state_patched"
    agent: str
    turn: int
    patch: StatePatch
    state: SharedState


class PatchRejected(_Event):
    kind: Literal["patch_rejected"] = "patch_rejected"
    agent: str
    turn: int
    error: str


class UsageRecorded(_Event):
    kind: Literal["usage_recorded"] = "usage_recorded"
    agent: str
    model: str
    turn: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cost_usd: float | None
    overhead: bool = False


class CheckpointCreated(_Event):
    kind: Literal["checkpoint_created"] = "checkpoint_created"
    turn: int
    seq: int
    speaker: str
    summary: str


class BranchForked(_Event):
    kind: Literal["branch_forked"] = "branch_forked"
    parent_branch_id: str
    fork_seq: int
    turn: int
    name: str


class HandoffOccurred(_Event):
    """Control passed from one agent to another (handoff pattern)."""

    kind: Literal["handoff_occurred"] = "handoff_occurred"
    turn: int
    agent: str  # who hands off
    to: str
    how: Literal["explicit", "condition", "escalation"]
    reason: str
    model: str | None = None  # escalation to another model


class TaskUpdated(_Event):
    """A unit of delegated work changed status (hierarchical, orchestrator_worker)."""

    kind: Literal["task_updated"] = "task_updated"
    turn: int
    task_id: str
    title: str
    agent: str  # the assignee
    status: Literal["queued", "running", "done", "failed", "retrying"]
    attempt: int = 1
    detail: str = ""


class ErrorRaised(_Event):
    kind: Literal["error_raised"] = "error_raised"
    agent: str
    message: str
    fatal: bool = False


class SessionPaused(_Event):
    kind: Literal["session_paused"] = "session_paused"
    paused: bool


class SessionEnded(_Event):
    kind: Literal["session_ended"] = "session_ended"
    reason: Literal["goal_met", "max_turns", "stop_phrase", "budget", "user", "error"]
    detail: str = ""
    turns: int
    cost_usd: float


class HumanInputRequested(_Event):
    """The human holds a persona's seat and is asked to speak for it.

    ``future`` is resolved by the consumer with the text to send (``None`` skips the turn).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Literal["human_input_requested"] = "human_input_requested"
    agent: str
    turn: int
    future: Any = Field(default=None, exclude=True)

    def answer(self, text: str | None) -> None:
        fut = self.future
        if isinstance(fut, asyncio.Future) and not fut.done():
            fut.set_result(text)


Event = Annotated[
    SessionStarted
    | TurnStarted
    | ModeratorDecision
    | MessageStarted
    | TokenDelta
    | MessageCompleted
    | StatePatched
    | PatchRejected
    | UsageRecorded
    | CheckpointCreated
    | BranchForked
    | HandoffOccurred
    | TaskUpdated
    | ErrorRaised
    | SessionPaused
    | SessionEnded
    | HumanInputRequested,
    Field(discriminator="kind"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# Events that are written to the store. Token deltas are transient; the finished message is kept.
PERSISTED_KINDS = frozenset(
    {
        "session_started",
        "turn_started",
        "moderator_decision",
        "message_completed",
        "state_patched",
        "patch_rejected",
        "usage_recorded",
        "error_raised",
        "session_ended",
        "branch_forked",
        "handoff_occurred",
        "task_updated",
    }
)


def event_payload(event: _Event) -> dict[str, Any]:
    """JSON-ready dict of an event, without the ids the store keeps in columns."""
    return event.model_dump(mode="json", exclude={"session_id", "branch_id"})
