"""group_chat: the moderator picks the next speaker or speakers each turn, with a reason."""

from __future__ import annotations

import json
from typing import Any

from agents import prompts
from agents.moderator import DecisionError, parse_decision, round_robin
from agents.patterns.base import (
    Assignment,
    BasePattern,
    End,
    PatternContext,
    Step,
    speak_instruction,
)

MAX_SPEAKERS = 3


class GroupChat(BasePattern):
    name = "group_chat"

    def opening(self, ctx: PatternContext) -> Assignment | None:
        return Assignment(self.pack.moderator, prompts.opening_instruction(ctx.topic))

    def allowed_after(self, last: str | None) -> list[str]:
        """Who may speak next: everyone but the moderator, unless the pack's transitions say."""
        everyone = [p.id for p in self.pack.speakers]
        transitions = self.pack.flow.transitions
        if last is None or last not in transitions:
            return everyone
        allowed = [t for t in transitions[last] if t in everyone]
        return allowed or everyone

    async def next_step(self, ctx: PatternContext) -> Step | End:
        addressed = next((line.to for line in reversed(ctx.new_human_lines()) if line.to), None)
        # Before the first turn the moderator has just opened: its transitions entry applies.
        allowed = self.allowed_after(ctx.last_speaker or self.pack.moderator.id)
        if addressed and addressed not in allowed and self.pack.persona(addressed) is not None:
            allowed = [*allowed, addressed]  # the human may always call on someone
        turn = ctx.turn + 1
        # A small local model answers one speaker at a time; several at once only queue up.
        most = 1 if ctx.model.startswith("local/") else MAX_SPEAKERS
        max_speakers = min(most, len(allowed))
        schema = prompts.decision_schema(allowed, max_speakers)
        messages = prompts.decision_messages(
            self.pack, ctx.topic, ctx.state, ctx.lines, allowed=allowed, turn=turn,
            max_turns=ctx.max_turns, pending_address=addressed, budget_chars=ctx.budget_chars)

        def validate(data: dict[str, Any]) -> str | None:
            try:
                parse_decision(json.dumps(data), allowed, max_speakers)
            except DecisionError as exc:
                return str(exc)
            return None

        decision = await ctx.decide(
            agent=self.pack.moderator.id, system=messages[0]["content"],
            user=messages[1]["content"], schema=schema, name="moderator_decision",
            max_tokens=200, validate=validate)
        if decision.data is not None:
            parsed = parse_decision(json.dumps(decision.data), allowed, max_speakers)
            if parsed.done and self.pack.termination.goal_met:
                return End("goal_met", parsed.reason)
            return self._step(ctx, parsed.speakers, parsed.reason)
        rule = round_robin(allowed, ctx.last_speaker, addressed)
        step = self._step(ctx, rule.speakers, rule.reason)
        step.fallback = True
        step.fallback_reason = f"invalid decision twice ({decision.error})"
        return step

    def _step(self, ctx: PatternContext, speakers: list[str], reason: str) -> Step:
        personas = [self.persona(s) for s in speakers]
        return Step([Assignment(p, speak_instruction(ctx, p, reason)) for p in personas], reason)
