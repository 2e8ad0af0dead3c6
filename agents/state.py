"""The shared state the group builds, and the structured patches agents send to change it."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ItemStatus = Literal["open", "in_progress", "done"]


class PatchError(ValueError):
    """A patch that cannot be applied; the message says why in one sentence."""


class ActionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    owner: str = ""
    status: ItemStatus = "open"


class Artifact(BaseModel):
    """A named text document held in the shared state: a plan, a checklist, code."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: str = "document"
    language: str | None = None
    content: str = ""
    author: str = ""


class SharedState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal: str = ""
    agenda: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    artifacts: dict[str, Artifact] = Field(default_factory=dict)


class ActionItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="the text of an existing action item")
    status: ItemStatus | None = None
    owner: str | None = None


class StatePatch(BaseModel):
    """What one agent changes in the shared state in one turn. Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    set_goal: str | None = None
    add_agenda: list[str] = Field(default_factory=list)
    add_decisions: list[str] = Field(default_factory=list)
    add_open_questions: list[str] = Field(default_factory=list)
    resolve_questions: list[str] = Field(default_factory=list)
    add_action_items: list[ActionItem] = Field(default_factory=list)
    update_action_items: list[ActionItemUpdate] = Field(default_factory=list)
    put_artifacts: list[Artifact] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return self == StatePatch()


def apply_patch(state: SharedState, patch: StatePatch, author: str = "") -> SharedState:
    """Return a new state with ``patch`` applied, or raise PatchError; ``state`` is untouched."""
    new = state.model_copy(deep=True)
    if patch.set_goal is not None:
        new.goal = patch.set_goal.strip()
    for item in patch.add_agenda:
        if item not in new.agenda:
            new.agenda.append(item)
    for decision in patch.add_decisions:
        if decision not in new.decisions:
            new.decisions.append(decision)
    for question in patch.add_open_questions:
        if question not in new.open_questions:
            new.open_questions.append(question)
    for question in patch.resolve_questions:
        if question not in new.open_questions:
            raise PatchError(f"cannot resolve question {question!r}: it is not an open question")
        new.open_questions.remove(question)
    for action in patch.add_action_items:
        new.action_items.append(action.model_copy())
    for update in patch.update_action_items:
        match = next((a for a in new.action_items if a.text == update.text), None)
        if match is None:
            raise PatchError(f"cannot update action item {update.text!r}: no such action item")
        if update.status is not None:
            match.status = update.status
        if update.owner is not None:
            match.owner = update.owner
    for artifact in patch.put_artifacts:
        stored = artifact.model_copy()
        if not stored.author:
            stored.author = author
        new.artifacts[artifact.name] = stored
    return new


_FENCE = re.compile(r"```(?:json)?[ \t]*(?:state|patch)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_patch(text: str) -> tuple[StatePatch | None, str | None]:
    """Find a fenced JSON state patch in a message.

    Returns ``(patch, None)`` when a valid one is found, ``(None, error)`` when a block looks like
    a patch but is invalid, and ``(None, None)`` when the message carries no patch.
    """
    for block in _FENCE.findall(text):
        try:
            data: Any = json.loads(block)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        if "state_patch" in data:
            data = data["state_patch"]
        elif not set(data) & set(StatePatch.model_fields):
            continue
        try:
            return StatePatch.model_validate(data), None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "patch"
            return None, f"invalid state patch: {where}: {first['msg']}"
    return None, None


def strip_patch_blocks(text: str) -> str:
    """The message text without its fenced patch blocks, for display."""
    return _FENCE.sub("", text).strip()


PATCH_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "update_shared_state",
        "description": (
            "Record decisions, open questions, action items and artifacts in the group's shared "
            "state. Call it whenever the discussion settles something."
        ),
        "parameters": StatePatch.model_json_schema(),
    },
}
