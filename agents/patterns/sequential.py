"""sequential: a fixed pipeline; each persona gets the previous one's output.

The order is ``flow.order`` (default: every persona but the moderator, in pack order), run
``flow.rounds`` times. Each turn is one step of the pipeline: one persona, told its place ("step 2
of 4"), who handed it what, and who gets its output next; the previous step's output is quoted
in its instruction. There is no opening: the topic is the first step's input, so the pipeline
starts working at turn 1 (list the moderator in ``flow.order`` to give it a step). Human messages
said meanwhile are passed to the next step. After the last step of the last round the session
ends with ``goal_met``. The routing state is the number of steps done, so a resumed or rolled
back session continues at the right step.
"""

from __future__ import annotations

from typing import Any

from agents.patterns.base import Assignment, BasePattern, End, PatternContext, Result, Step
from agents.prompts import Line
from personas.models import Pack, Persona

# How much of the previous step's output is quoted, at most, as a share of the prompt budget.
QUOTE_SHARE = 0.6


def quote(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping its beginning, with a note when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 40)].rstrip() + "\n[… the rest was cut to fit]"


def human_notes(lines: list[Line]) -> str:
    """What the human said since the last step, for the next instruction ('' when nothing)."""
    said = [f"- {line.text}" for line in lines if line.text.strip()]
    if not said:
        return ""
    return "\n\nThe human added:\n" + "\n".join(said)


class Sequential(BasePattern):
    name = "sequential"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        self.order: list[str] = list(pack.flow.order) or [p.id for p in pack.speakers]
        self.rounds = pack.flow.rounds
        self.done = 0  # steps finished
        self.handed = -1  # index in the transcript of the last step's output (-1: none)

    @property
    def total(self) -> int:
        return len(self.order) * self.rounds

    async def next_step(self, ctx: PatternContext) -> Step | End:
        if self.done >= self.total:
            return End("goal_met", "the pipeline finished")
        index = self.done % len(self.order)
        round_no = self.done // len(self.order) + 1
        persona = self.persona(self.order[index])
        place = f"step {index + 1} of {len(self.order)}"
        if self.rounds > 1:
            place += f", round {round_no} of {self.rounds}"
        previous = self._previous(index, round_no)
        reason = f"pipeline {place}"
        if previous is not None:
            reason += f": {previous.name} hands over to {persona.name}"
        instruction = self._instruction(ctx, persona, place, previous, index)
        return Step([Assignment(persona, instruction)], reason)

    def _previous(self, index: int, round_no: int) -> Persona | None:
        if index > 0:
            return self.persona(self.order[index - 1])
        if round_no > 1:
            return self.persona(self.order[-1])
        return None

    def _next(self, index: int) -> Persona | None:
        if self.done + 1 >= self.total:
            return None
        return self.persona(self.order[(index + 1) % len(self.order)])

    def _instruction(self, ctx: PatternContext, persona: Persona, place: str,
                     previous: Persona | None, index: int) -> str:
        limit = max(400, int(ctx.budget_chars * QUOTE_SHARE))
        if previous is None:
            received = (f"You start the pipeline: work directly from the topic.\n\n"
                        f"Topic: {ctx.topic}")
        else:
            output = self._handed_output(ctx.lines, previous.id)
            if output:
                received = (f"You receive the output of {previous.name} ({previous.id}), the "
                            f"previous step:\n\n<<<\n{quote(output, limit)}\n>>>")
            else:
                received = (f"{previous.name} ({previous.id}), the previous step, produced no "
                            "output; work from the topic and the conversation so far.")
        nxt = self._next(index)
        if nxt is None:
            hand_on = "You are the last step: produce the finished result."
        else:
            hand_on = (f"Your output goes to {nxt.name} ({nxt.id}) next, so make it complete "
                       "and self-contained.")
        return (f"{ctx.pack.moderator.name} runs a fixed pipeline: "
                f"{' → '.join(self.order)}. You are {place}.\n{received}"
                f"{human_notes(ctx.new_human_lines())}\n\n"
                f"Do your part of the work as {persona.name}. {hand_on}")

    def _handed_output(self, lines: list[Line], agent: str) -> str:
        # ``handed`` is an absolute position; a reloaded transcript holds only its newest lines
        index = self.handed - getattr(lines, "offset", 0)
        if 0 <= index < len(lines) and lines[index].agent == agent:
            return lines[index].text
        return ""

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        self.done += 1
        # The step's message is the newest line by its persona; a failed step wrote none, and an
        # older message must not stand in for it (nor, after a resume, an interrupted one).
        wrote = bool(results) and bool(results[0].text) and results[0].error is None
        last = getattr(ctx.lines, "offset", 0) + len(ctx.lines) - 1
        persona = step.assignments[0].persona.id
        newest = ctx.lines[-1] if ctx.lines else None
        self.handed = last if wrote and newest is not None and newest.agent == persona else -1

    def save(self) -> dict[str, Any]:
        return {"done": self.done, "handed": self.handed}

    def restore(self, data: dict[str, Any]) -> None:
        done, handed = data.get("done", 0), data.get("handed", -1)
        self.done = done if isinstance(done, int) and done >= 0 else 0
        self.handed = handed if isinstance(handed, int) else -1

