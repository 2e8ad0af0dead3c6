"""Delegated tasks, shared by the hierarchical and orchestrator_worker patterns: the task model
kept in the routing state, the plan schema and its validation, TaskUpdated events, recording
outcomes in the shared state, and the review/aggregation digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from agents import prompts
from agents.events import TaskUpdated
from agents.patterns.base import PatternContext, Result
from agents.state import ActionItemUpdate, Artifact, StatePatch, strip_patch_blocks
from personas.models import Pack

TaskStatus = Literal["queued", "running", "done", "failed", "skipped"]
EventStatus = Literal["queued", "running", "done", "failed", "retrying"]
RESULT_CHARS = 4000  # how much of a result is kept in the routing state
TITLE_CHARS = 80


class Task(BaseModel):
    """One unit of delegated work and what became of it."""

    id: str
    title: str
    assignee: str
    instructions: str
    status: TaskStatus = "queued"
    result: str = ""
    error: str = ""


def task_list_schema(key: str, limit: int, assignees: list[str] | None) -> dict[str, Any]:
    """The JSON schema of a plan: ``key`` holds 1..limit tasks (with an assignee enum)."""
    props: dict[str, Any] = {
        "title": {"type": "string", "maxLength": TITLE_CHARS},
        "instructions": {"type": "string", "maxLength": 600},
    }
    if assignees is not None:
        props["assignee"] = {"type": "string", "enum": assignees}
    item = {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": item, "minItems": 1, "maxItems": limit},
                       "reason": {"type": "string", "maxLength": 200}},
        "required": [key, "reason"],
        "additionalProperties": False,
    }


def task_list_checker(key: str, limit: int,
                      assignees: list[str] | None) -> Callable[[dict[str, Any]], str | None]:
    """A ``validate`` callback for ``ctx.decide``: why a plan is unusable, or None."""

    def check(data: dict[str, Any]) -> str | None:
        items = data.get(key)
        if not isinstance(items, list) or not items:
            return f"{key} must be a non-empty list"
        if len(items) > limit:
            return f"{key} has {len(items)} entries; at most {limit} are allowed"
        seen: set[str] = set()
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict):
                return f"{key}[{number}] is not an object"
            title = str(item.get("title") or "").strip()
            if not title:
                return f"{key}[{number}] has no title"
            if title.lower() in seen:
                return f"two {key} share the title {title!r}; titles must be unique"
            seen.add(title.lower())
            if not isinstance(item.get("instructions"), str):
                return f"{key}[{number}] has no instructions"
            if assignees is not None and item.get("assignee") not in assignees:
                return (f"{key}[{number}] has assignee {item.get('assignee')!r}; "
                        f"allowed: {', '.join(assignees)}")
        return None

    return check


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def unique_titles(titles: list[str]) -> list[str]:
    out: list[str] = []
    for title in titles:
        title = prompts.summarise(title, TITLE_CHARS) or "task"
        candidate, n = title, 2
        while candidate.lower() in {t.lower() for t in out}:
            candidate, n = f"{title} ({n})", n + 1
        out.append(candidate)
    return out


def restore_tasks(data: Any) -> list[Task] | None:
    if not isinstance(data, list):
        return None
    try:
        return [Task.model_validate(item) for item in data]
    except ValidationError:
        return None


async def emit_task(ctx: PatternContext, task: Task, status: EventStatus, turn: int, *,
                    attempt: int = 1, detail: str = "") -> None:
    await ctx.emit(TaskUpdated(
        session_id=ctx.id, branch_id=ctx.branch_id, turn=turn, task_id=task.id, title=task.title,
        agent=task.assignee, status=status, attempt=attempt, detail=detail))


async def record_outcome(ctx: PatternContext, pairs: list[tuple[Task, Result]], author: str,
                         attempts: int) -> None:
    """Mark each task done or failed, in the routing state, the shared state and as events."""
    if not pairs:
        return
    updates: list[ActionItemUpdate] = []
    questions: list[str] = []
    for task, result in pairs:
        if result.error is None:
            task.status, task.result = "done", result.text.strip()[:RESULT_CHARS]
            updates.append(ActionItemUpdate(text=task.title, status="done"))
        else:
            task.status, task.error = "failed", result.error
            updates.append(ActionItemUpdate(text=task.title, status="open"))
            questions.append(f"Task {task.id} ({task.title}) failed: {result.error}")
    await ctx.patch(StatePatch(update_action_items=updates, add_open_questions=questions), author)
    for task, _result in pairs:
        if task.status == "done":
            await emit_task(ctx, task, "done", ctx.turn, detail=prompts.summarise(task.result))
        else:
            await emit_task(ctx, task, "failed", ctx.turn, attempt=attempts,
                            detail=f"{task.error} (after {attempts} attempt"
                                   f"{'s' if attempts > 1 else ''})")


def results_block(tasks: list[Task], pack: Pack, budget_chars: int | None = None) -> str:
    """Every task with its status and result, for a review or an aggregation. With a budget
    (what fits the model's prompt), each result is cut to an equal share of it."""
    share = max(200, budget_chars // max(1, len(tasks))) if budget_chars else None
    parts: list[str] = []
    for task in tasks:
        who = pack.persona(task.assignee)
        name = who.name if who is not None else task.assignee
        if task.status == "done":
            result = task.result or "(empty)"
            if share is not None and len(result) > share:
                result = result[: share - 1] + "…"
            parts.append(f"### {task.id}. {task.title} — {name} [done]\n{result}")
        elif task.status == "failed":
            parts.append(f"### {task.id}. {task.title} — {name} [FAILED: {task.error}]\n"
                         "(no result)")
        else:
            parts.append(f"### {task.id}. {task.title} — {name} [NOT DONE: out of turns]\n"
                         "(no result)")
    return "\n\n".join(parts)


def artifacts_of(ctx: PatternContext) -> dict[str, str]:
    return {name: a.content for name, a in ctx.state.artifacts.items()}


async def keep_as_artifact(ctx: PatternContext, before: dict[str, str], result: Result,
                           name: str) -> None:
    """If the step wrote no artifact, keep its message as one, so the deliverable is saved."""
    text = strip_patch_blocks(result.text)
    if result.error is not None or not text or artifacts_of(ctx) != before:
        return
    artifact = Artifact(name=name, kind="document", language="markdown", content=text)
    await ctx.patch(StatePatch(put_artifacts=[artifact]), result.assignment.persona.id)


def plan_limit(max_tasks: int, turn: int, max_turns: int) -> int:
    room = max_turns - turn - 2  # the planning turn and the final one
    return min(max_tasks, room) if room >= 1 else max_tasks


ARTIFACT_NOTE = ("put it in the shared state as one artifact with put_artifacts: a Markdown "
                 "document with a short file name (the one your role names, else summary.md).")
