"""handoff: one agent holds the request at a time and hands control to another.

A handoff is *explicit* (a ``transfer_to_<id>`` tool call, the directive ``HANDOFF: @<id> —
<reason>`` on its own line, or the human addressing ``@<id>``), on a *condition* from the pack
(``flow.handoff_rules``: keywords in the latest message or a new human message, or a predicate on
the shared state that has just become true), or an *escalation* (an error, a refusal, or
``CONFIDENCE: low``) to ``flow.escalate_to``, else to ``flow.escalate_model`` for the same
persona. The first of these that applies after a step wins; each handoff is a
``HandoffOccurred`` event with its reason. The active agent ends the session by writing
``RESOLVED`` on its own line (when ``termination.goal_met`` allows it).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agents.events import ErrorRaised, HandoffOccurred
from agents.patterns.base import Assignment, BasePattern, End, PatternContext, Result, Step
from agents.prompts import Line, summarise
from agents.state import SharedState
from personas.models import Pack, Persona

How = Literal["explicit", "condition", "escalation"]

TOOL_PREFIX = "transfer_to_"
_DIRECTIVE = re.compile(
    r"^[ \t>*_`]*HANDOFF[*_`]*[ \t]*:[*_` \t]*@?([a-z][a-z0-9_-]*)[*_`]*[ \t]*"
    r"(?:[—–:-]+[ \t]*(.*))?$",
    re.IGNORECASE | re.MULTILINE)
_RESOLVED = re.compile(r"^[ \t>*_`#]*RESOLVED[ \t*_`.!]*$", re.MULTILINE)
_LOW_CONFIDENCE = re.compile(r"\bCONFIDENCE[*_`]*[ \t]*:[ \t]*[*_`]*[ \t]*low\b", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\bI(?:[ \t]+can(?:no|['’])t|[ \t]+am[ \t]+(?:unable|not[ \t]+able)[ \t]+to"
    r"|['’]m[ \t]+(?:unable|not[ \t]+able)[ \t]+to)[ \t]+"
    r"(?:help|assist|answer|handle|support|resolve|do[ \t]+that)\b", re.IGNORECASE)
_REFUSAL_OPENING = re.compile(r"^\W*(?:sorry,?\s*)?I\s+can(?:no|['’])t\b", re.IGNORECASE)
_PREDICATE = re.compile(r"^(\w+)\s*(>=|<=|==|>|<)\s*(\d+)$")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Transfer:
    """A handoff about to happen."""

    to: str
    how: How
    reason: str
    model: str | None = None


def state_metric(state: SharedState, name: str) -> int:
    """The count a ``flow.handoff_rules`` state predicate compares."""
    if name == "open_action_items":
        return sum(1 for item in state.action_items if item.status != "done")
    counts = {"decisions": len(state.decisions), "open_questions": len(state.open_questions),
              "action_items": len(state.action_items), "artifacts": len(state.artifacts)}
    return counts[name]


def predicate_holds(predicate: str, state: SharedState) -> bool:
    """Evaluate a predicate such as ``open_questions >= 3`` on the shared state."""
    match = _PREDICATE.match(predicate.strip())
    if match is None:
        raise ValueError(f"not a state predicate: {predicate!r}")
    name, op, value = match.groups()
    return _OPERATORS[op](state_metric(state, name), int(value))


def keyword_in(keyword: str, text: str) -> bool:
    """A whole-word, case-insensitive match."""
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, re.IGNORECASE) is not None


def refusal_in(text: str) -> bool:
    return bool(_REFUSAL.search(text) or _REFUSAL_OPENING.match(text))


def transfer_tool(persona: Persona) -> dict[str, Any]:
    """The function tool that hands the request to ``persona``."""
    about = f" ({persona.expertise})" if persona.expertise else ""
    return {"type": "function", "function": {
        "name": f"{TOOL_PREFIX}{persona.id}",
        "description": f"Hand the request over to {persona.name}{about} when they are better "
                       "placed to help.",
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string",
                                      "description": "Why, in one sentence."}},
            "required": ["reason"],
        },
    }}


class Handoff(BasePattern):
    name = "handoff"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        self.active = pack.flow.start or self.ids("expert")[0]
        self.model: str | None = None  # escalation to a more capable model for ``active``
        self.resolved: str | None = None  # the line that declared the request resolved
        self.rules_true: set[int] = set()  # state rules true at the last check (edge trigger)
        self.reason = ""  # how ``active`` got the request, for the next step's reason

    # ------------------------------------------------------------------ who may take over

    def targets(self, active: str) -> list[str]:
        """Whom ``active`` may hand off to explicitly."""
        flow = self.pack.flow
        if active in flow.transitions:
            candidates = flow.transitions[active]
        else:
            candidates = flow.members or [p.id for p in self.pack.speakers]
        return [t for t in dict.fromkeys(candidates)
                if t != active and self.pack.persona(t) is not None]

    # ------------------------------------------------------------------ the steps

    def opening(self, ctx: PatternContext) -> Assignment | None:
        return self._assignment(ctx, [], opening=True)

    async def next_step(self, ctx: PatternContext) -> Step | End:
        if self.resolved is not None:
            return End("goal_met", self.resolved)
        human = ctx.new_human_lines()
        transfer = self._human_transfer(human)
        if transfer is not None:
            await self._hand_over(ctx, transfer, ctx.turn + 1)
        persona = self.persona(self.active)
        reason = self.reason or f"{persona.name} continues with the request"
        if self.model:
            reason += f" (on {self.model})"
        self.reason = ""
        return Step([self._assignment(ctx, human)], reason)

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        result = next((r for r in results if r.assignment.persona.id == self.active), None)
        fired = self._state_rules(ctx.state)  # always evaluated, to keep the edge trigger right
        if result is None:
            return
        resolved = _RESOLVED.search(result.text) if result.error is None else None
        if resolved is not None and self.pack.termination.goal_met:
            name = result.assignment.persona.name
            self.resolved = f"{name} marked the request resolved"
            return
        said = _DIRECTIVE.sub("", result.text)  # a refused directive is no keyword match
        transfer = (await self._explicit(ctx, result) or self._keywords(said)
                    or fired or self._escalation(result))
        if transfer is not None:
            await self._hand_over(ctx, transfer, ctx.turn)

    def save(self) -> dict[str, Any]:
        return {"active": self.active, "model": self.model, "resolved": self.resolved,
                "state_rules": sorted(self.rules_true), "reason": self.reason}

    def restore(self, data: dict[str, Any]) -> None:
        active = data.get("active")
        if isinstance(active, str) and self.pack.persona(active) is not None:
            self.active = active
        model = data.get("model")
        self.model = model if isinstance(model, str) and model else None
        resolved = data.get("resolved")
        self.resolved = resolved if isinstance(resolved, str) else None
        rules = data.get("state_rules")
        self.rules_true = {i for i in rules if isinstance(i, int)} if isinstance(
            rules, list) else set()
        reason = data.get("reason")
        self.reason = reason if isinstance(reason, str) else ""

    # ------------------------------------------------------------------ detection

    def _human_transfer(self, human: list[Line]) -> Transfer | None:
        for line in reversed(human):
            if line.to and line.to != self.active and self.pack.persona(line.to) is not None:
                return Transfer(line.to, "explicit", f"the human asked for @{line.to}")
        for line in reversed(human):
            found = self._keywords(line.text, who="the human")
            if found is not None:
                return found
        return None

    async def _explicit(self, ctx: PatternContext, result: Result) -> Transfer | None:
        allowed = self.targets(self.active)
        asked: list[tuple[str, str]] = []
        for call in result.tool_calls:
            name = str(getattr(call, "name", ""))
            if name.startswith(TOOL_PREFIX):
                asked.append((name[len(TOOL_PREFIX):], _reason_of(getattr(call, "arguments", ""))))
        for match in _DIRECTIVE.finditer(result.text):
            asked.append((match.group(1).lower(), (match.group(2) or "").strip(" \t*_`")))
        for target, reason in asked:
            if target in allowed:
                return Transfer(target, "explicit", reason or "handoff requested")
            who = result.assignment.persona.name
            await ctx.emit(ErrorRaised(
                session_id=ctx.id, branch_id=ctx.branch_id, agent=self.active,
                message=f"{who} tried to hand off to @{target}, who is not an allowed target "
                        f"(allowed: {', '.join(allowed) or 'nobody'}); {who} keeps the request."))
        return None

    def _keywords(self, text: str, who: str | None = None) -> Transfer | None:
        for rule in self.pack.flow.handoff_rules:
            if rule.to == self.active:
                continue
            word = next((k for k in rule.keywords if keyword_in(k, text)), None)
            if word is not None:
                return Transfer(rule.to, "condition", f"{who or 'the message'} mentions “{word}”")
        return None

    def _state_rules(self, state: SharedState) -> Transfer | None:
        first: Transfer | None = None
        now_true: set[int] = set()
        for index, rule in enumerate(self.pack.flow.handoff_rules):
            if rule.state is None or not predicate_holds(rule.state, state):
                continue
            now_true.add(index)
            if first is None and index not in self.rules_true and rule.to != self.active:
                first = Transfer(rule.to, "condition", f"the shared state now has {rule.state}")
        self.rules_true = now_true
        return first

    def _escalation(self, result: Result) -> Transfer | None:
        if result.error is not None and result.interrupted:
            why = f"the answer failed: {result.error}"
        elif refusal_in(result.text):
            why = f"refusal: “{summarise(result.text, 80)}”"
        elif _LOW_CONFIDENCE.search(result.text):
            why = "declared low confidence"
        else:
            return None
        flow = self.pack.flow
        if flow.escalate_to and flow.escalate_to != self.active:
            return Transfer(flow.escalate_to, "escalation", why)
        if flow.escalate_model and self.model != flow.escalate_model:
            return Transfer(self.active, "escalation", why, model=flow.escalate_model)
        return None

    async def _hand_over(self, ctx: PatternContext, transfer: Transfer, turn: int) -> None:
        before = self.active
        await ctx.emit(HandoffOccurred(
            session_id=ctx.id, branch_id=ctx.branch_id, turn=turn, agent=before,
            to=transfer.to, how=transfer.how, reason=transfer.reason, model=transfer.model))
        self.active = transfer.to
        self.model = transfer.model
        if transfer.model:
            self.reason = f"escalated to {transfer.model}: {transfer.reason}"
        else:
            self.reason = f"{transfer.how} handoff from {before}: {transfer.reason}"

    # ------------------------------------------------------------------ the instruction

    def _assignment(self, ctx: PatternContext, human: list[Line], opening: bool = False,
                    ) -> Assignment:
        persona = self.persona(self.active)
        targets = [self.persona(t) for t in self.targets(self.active)]
        parts = [f"A customer brings this request: {ctx.topic}\nYou have it first: greet them, "
                 "find out what they need and help, or hand it to the right specialist."
                 if opening else
                 f"The request is yours now, {persona.name}. Continue helping with it: answer "
                 "concretely, ask for what you are missing, and do not repeat what was said."]
        if human:
            said = "\n".join(f"- {line.text}" for line in human)
            parts.append(f"The customer has just written:\n{said}\nAnswer that first.")
        if targets:
            listing = "\n".join(f"- {p.id}: {p.name}" + (f" — {p.expertise}" if p.expertise
                                                           else "") for p in targets)
            parts.append(
                "If someone else is better placed, hand the request off: call the "
                "transfer_to_<id> tool if you have one, or write on its own line "
                f"`HANDOFF: @<id> — <reason>`. You can hand off to:\n{listing}")
        escalate = self.pack.flow.escalate_to
        if escalate and escalate != persona.id:
            parts.append(f"If you cannot help, say so plainly and {self.persona(escalate).name} "
                         "takes over.")
        parts.append("If you are unsure your answer is right, end with the line "
                     "`CONFIDENCE: low`. When the customer's problem is solved, write RESOLVED "
                     "on its own line.")
        return Assignment(persona, "\n\n".join(parts), model=self.model,
                          tools=[transfer_tool(p) for p in targets])


def _reason_of(arguments: Any) -> str:
    try:
        data = json.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except ValueError:
        return ""
    reason = data.get("reason") if isinstance(data, dict) else None
    return reason.strip() if isinstance(reason, str) else ""
