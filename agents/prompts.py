"""What each persona and the moderator are told. Pure functions over the pack, state and history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agents.state import SharedState
from personas.models import Pack, Persona

ROLE_DUTIES = {
    "moderator": "You run the meeting: keep it on the goal, give the floor, summarise, close it.",
    "expert": "Contribute your expertise: concrete proposals, trade-offs, numbers where you have "
    "them. Build on what others said rather than repeating it.",
    "critic": "Challenge the group: find the weakest assumption, the missing risk, the cheaper "
    "alternative. Be specific and fair; say what would change your mind.",
    "executor": "Turn what the group has agreed into artifacts: a plan, a checklist, code, a "
    "document. Put each artifact in the shared state with put_artifacts.",
}

PATCH_INSTRUCTIONS_TOOL = (
    "When the discussion settles something, record it in the shared state by calling the "
    "update_shared_state tool (decisions, open questions, action items with owner, artifacts)."
)

PATCH_INSTRUCTIONS_FENCE = (
    "When the discussion settles something, record it in the shared state by ending your "
    "message with a fenced block:\n"
    "```json\n"
    '{"state_patch": {"add_decisions": ["..."], "add_open_questions": ["..."], '
    '"resolve_questions": ["<exact text of an open question>"], '
    '"add_action_items": [{"text": "...", "owner": "<persona id>", "status": "open"}], '
    '"update_action_items": [{"text": "<exact text>", "status": "done"}], '
    '"put_artifacts": [{"name": "plan.md", "kind": "plan", "language": "markdown", '
    '"content": "..."}]}}\n'
    "```\n"
    "Include only the keys you need; leave the block out when nothing is settled."
)


@dataclass(frozen=True)
class Line:
    """One message of the conversation as every participant sees it."""

    agent: str
    name: str
    role: str
    text: str
    to: str | None = None


def render_state(state: SharedState) -> str:
    parts: list[str] = []
    if state.goal:
        parts.append(f"Goal: {state.goal}")
    if state.agenda:
        parts.append("Agenda: " + "; ".join(state.agenda))
    if state.decisions:
        parts.append("Decisions:\n" + "\n".join(f"- {d}" for d in state.decisions))
    if state.open_questions:
        parts.append("Open questions:\n" + "\n".join(f"- {q}" for q in state.open_questions))
    if state.action_items:
        parts.append(
            "Action items:\n"
            + "\n".join(f"- [{a.status}] {a.text} (owner: {a.owner or '-'})"
                        for a in state.action_items)
        )
    if state.artifacts:
        parts.append("Artifacts: " + ", ".join(sorted(state.artifacts)))
    return "\n".join(parts) if parts else "(empty)"


def render_transcript(lines: list[Line], budget_chars: int) -> str:
    """The newest lines that fit in ``budget_chars``, oldest first, with a note of what was cut."""
    out: list[str] = []
    used = 0
    for line in reversed(lines):
        addressed = f" (to @{line.to})" if line.to else ""
        entry = f"[{line.name}, {line.role}{addressed}]: {line.text}"
        if used + len(entry) > budget_chars and out:
            earlier = len(lines) - len(out) + getattr(lines, "offset", 0)  # not loaded
            out.append(f"({earlier} earlier messages omitted)")
            break
        out.append(entry[:budget_chars])
        used += len(entry)
    return "\n\n".join(reversed(out)) if out else "(nobody has spoken yet)"


def cast_list(pack: Pack) -> str:
    return "\n".join(
        f"- {p.id}: {p.name}, {p.role}" + (f" — {p.expertise}" if p.expertise else "")
        for p in pack.personas
    )


def persona_messages(
    pack: Pack,
    persona: Persona,
    topic: str,
    state: SharedState,
    lines: list[Line],
    *,
    instruction: str,
    use_tools: bool,
    budget_chars: int,
) -> list[dict[str, Any]]:
    system = (
        f"{persona.system_prompt.strip()}\n\n"
        f"You are {persona.name} ({persona.role}) in a group chat run by "
        f"{pack.moderator.name}. {ROLE_DUTIES[persona.role]}\n"
        f"Participants:\n{cast_list(pack)}\n- human: the user, who may join at any time\n\n"
        f"{PATCH_INSTRUCTIONS_TOOL if use_tools else PATCH_INSTRUCTIONS_FENCE}\n"
        "Speak only as yourself; do not write other participants' lines."
    )
    user = (
        f"Topic: {topic}\n\nShared state:\n{render_state(state)}\n\n"
        f"Conversation so far:\n{render_transcript(lines, budget_chars)}\n\n"
        f"{instruction}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def task_messages(pack: Pack, persona: Persona, topic: str, task: str) -> list[dict[str, Any]]:
    """A stateless worker's prompt: its own role and one task, no conversation."""
    system = (
        f"{persona.system_prompt.strip()}\n\nYou are {persona.name}, a worker on the "
        f"{pack.name} team. You get one task at a time; answer it completely and concisely."
    )
    user = f"Overall goal: {topic}\n\nYour task:\n{task}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def opening_instruction(topic: str) -> str:
    return (
        f"Open the meeting on: {topic}. State the goal in one sentence and propose a short "
        "agenda (three to five items). Keep it brief."
    )


def decision_schema(allowed: list[str], max_speakers: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "speakers": {
                "type": "array",
                "items": {"type": "string", "enum": allowed},
                "minItems": 1,
                "maxItems": max_speakers,
            },
            "reason": {"type": "string", "maxLength": 160},
            "done": {"type": "boolean"},
        },
        "required": ["speakers", "reason", "done"],
        "additionalProperties": False,
    }


def decision_messages(
    pack: Pack,
    topic: str,
    state: SharedState,
    lines: list[Line],
    *,
    allowed: list[str],
    turn: int,
    max_turns: int,
    pending_address: str | None,
    budget_chars: int,
    error: str | None = None,
) -> list[dict[str, Any]]:
    mod = pack.moderator
    system = (
        f"{mod.system_prompt.strip()}\n\nYou are {mod.name}, the moderator. Decide who speaks "
        "next: one participant, or up to three at once when their views are independent. Give "
        "the floor to whoever moves the goal forward; let the critic challenge proposals and the "
        "executor write artifacts once decisions are made. Set done to true only when the goal is "
        "met and the shared state holds the decisions and artifacts it needs.\n"
        f"Participants:\n{cast_list(pack)}\n\n"
        'Answer with JSON only: {"speakers": ["<id>", ...], "reason": "<one sentence>", '
        f'"done": false}}. Allowed ids: {", ".join(allowed)}.'
    )
    hint = ""
    if pending_address:
        hint = (f"\nThe human has just addressed @{pending_address}; give them the floor "
                "unless it makes no sense.")
    retry = ""
    if error:
        retry = f"\nYour previous answer was invalid: {error}. Answer again with valid JSON."
    user = (
        f"Topic: {topic}\nTurn {turn} of at most {max_turns}.\n\nShared state:\n"
        f"{render_state(state)}\n\nConversation so far:\n"
        f"{render_transcript(lines, budget_chars)}\n{hint}{retry}\n\nWho speaks next?"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "moderator_decision", "schema": schema, "strict": True},
    }


def summarise(text: str, width: int = 80) -> str:
    """A one-line summary of a message for the timeline."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
