"""router: an LLM routes each incoming request to exactly one persona, with its reason shown.

The requests are the topic (first) and then each human message, in the order they arrive. For
each one the moderator, acting as router, makes a structured decision ``{"persona": <id>,
"reason": <sentence>}`` among the candidates (``flow.members``, default: everyone but the
moderator); an invalid answer is retried once, then a predictable rule picks the specialist whose
expertise shares the most words with the request (else the first candidate), marked as a
fallback. A human message that @-addresses a candidate goes straight to that persona. The chosen
persona answers with the request quoted in its instruction; the route's reason is the turn's
ModeratorDecision reason. When every request is answered an interactive session waits for the
human's next message; a headless one ends with ``goal_met``. There is no opening. The routing
state (the request queue and how many human messages were heard) is saved with each checkpoint,
so a message said just before a stop is still answered after a resume.
"""

from __future__ import annotations

import re
from typing import Any

from agents.patterns.base import (
    Assignment,
    BasePattern,
    Decision,
    End,
    PatternContext,
    Step,
)
from agents.patterns.sequential import quote
from personas.models import Pack, Persona

CONTEXT_CHARS = 3000  # how much recent conversation the router sees
_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
_STOP_WORDS = (
    "the and for with that this from have has had not but are was were what when where which "
    "who why how can could should would will our your their its into about over under than "
    "then them they you yours there here some any all one two just also does did doing done "
    "need needs want wants use using used get got make made like more most very much many "
    "please help thanks hello")
_STOP = frozenset(_STOP_WORDS.split(" "))


def words(text: str) -> set[str]:
    """The content words of ``text``: lowercase, three letters or more, no stop words."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP}


def _related(a: str, b: str) -> bool:
    """Same word, or one a prefix of the other of at least four letters (deploy/deployment)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short)


def keyword_route(request: str, candidates: list[Persona]) -> tuple[Persona, str]:
    """The fallback rule: the candidate whose expertise (and name) shares the most words with the
    request; ties and no match at all go to the earliest candidate."""
    asked = words(request)
    best: tuple[int, int, list[str]] = (0, 0, [])
    for index, persona in enumerate(candidates):
        known = words(f"{persona.expertise} {persona.name} {persona.id}")
        hits = sorted({w for w in asked if any(_related(w, k) for k in known)})
        if len(hits) > best[0]:
            best = (len(hits), index, hits)
    count, index, hits = best
    chosen = candidates[index]
    if count == 0:
        return chosen, f"no keyword matched anyone's expertise; {chosen.name} takes it first"
    return chosen, f"keyword match with {chosen.name}'s expertise: {', '.join(hits[:4])}"


def route_schema(candidates: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "persona": {"type": "string", "enum": candidates},
            "reason": {"type": "string", "maxLength": 160},
        },
        "required": ["persona", "reason"],
        "additionalProperties": False,
    }


class Router(BasePattern):
    name = "router"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        self.candidates: list[str] = list(pack.flow.members) or [p.id for p in pack.speakers]
        self.started = False  # the topic has been queued
        self.heard = 0  # human messages already queued
        # Transcript position (absolute) up to which human messages were queued; None: not
        # known yet (state saved by an older version, which counted ``heard`` only).
        self.upto: int | None = 0
        self.queue: list[dict[str, str]] = []  # requests not yet routed: text, source, to

    def _collect(self, ctx: PatternContext) -> None:
        if not self.started:
            self.queue.insert(0, {"text": ctx.topic, "source": "topic", "to": ""})
            self.started = True
        offset = getattr(ctx.lines, "offset", 0)
        if self.upto is None:  # an older save: skip the first ``heard`` human lines
            humans = [i for i, line in enumerate(ctx.lines) if line.agent == "human"]
            self.upto = offset + (humans[self.heard - 1] + 1 if 0 < self.heard <= len(humans)
                                  else len(ctx.lines) if self.heard > len(humans) else 0)
        for line in ctx.lines[max(0, self.upto - offset):]:
            if line.agent == "human":
                self.queue.append({"text": line.text, "source": "human", "to": line.to or ""})
                self.heard += 1
        self.upto = offset + len(ctx.lines)

    async def next_step(self, ctx: PatternContext) -> Step | End:
        self._collect(ctx)
        while not self.queue:
            if not ctx.interactive:
                return End("goal_met", "every request was answered")
            if not await ctx.wait_for_human():
                return End("user", "stopped by the user")
            self._collect(ctx)
        request = self.queue.pop(0)
        text = request.get("text", "")
        if request.get("to") in self.candidates:
            persona = self.persona(request["to"])
            return self._step(ctx, persona, request,
                              f"the human addressed @{persona.id} directly")
        decision = await self._decide(ctx, text)
        if decision.data is not None:
            persona = self.persona(str(decision.data["persona"]))
            return self._step(ctx, persona, request, str(decision.data["reason"]).strip())
        persona, why = keyword_route(text, [self.persona(c) for c in self.candidates])
        step = self._step(ctx, persona, request, why)
        step.fallback = True
        step.fallback_reason = f"invalid routing decision twice ({decision.error})"
        return step

    async def _decide(self, ctx: PatternContext, text: str) -> Decision:
        router = self.pack.moderator
        allowed = ", ".join(self.candidates)
        specialists = "\n".join(
            f"- {p.id}: {p.name}" + (f" — {p.expertise}" if p.expertise else "")
            for p in (self.persona(c) for c in self.candidates))
        system = (
            f"{router.system_prompt.strip()}\n\nYou are {router.name}, the router. Send each "
            "incoming request to exactly one specialist: the one whose expertise fits it best. "
            f"You do not answer requests yourself.\nSpecialists:\n{specialists}\n\n"
            'Answer with JSON only: {"persona": "<id>", "reason": "<one short sentence>"}. '
            f"Allowed ids: {allowed}.")
        user = (f"Recent conversation, for context:\n"
                f"{ctx.transcript(min(ctx.budget_chars, CONTEXT_CHARS))}\n\n"
                f"The request to route:\n<<<\n{quote(text, CONTEXT_CHARS)}\n>>>\n\n"
                "Who should answer it?")

        def validate(data: dict[str, Any]) -> str | None:
            persona, reason = data.get("persona"), data.get("reason")
            if persona not in self.candidates:
                return f"persona: {persona!r} is not one of {allowed}"
            if not isinstance(reason, str) or not reason.strip():
                return "reason: give one short sentence"
            return None

        return await ctx.decide(agent=router.id, system=system, user=user,
                                schema=route_schema(self.candidates), name="route_decision",
                                max_tokens=150, validate=validate)

    def _step(self, ctx: PatternContext, persona: Persona, request: dict[str, str],
              reason: str) -> Step:
        router = self.pack.moderator
        asker = "the topic of the session" if request.get("source") == "topic" else "the human"
        limit = max(400, ctx.budget_chars // 2)
        instruction = (
            f"{router.name} routed this request to you. Why: {reason}\n\nRequest, from {asker}:\n"
            f"<<<\n{quote(request.get('text', ''), limit)}\n>>>\n\n"
            f"Answer it fully as {persona.name}; the person asking may not have read the rest "
            "of the conversation. If part of it belongs to another specialist, answer your part "
            "and say who should take the rest.")
        return Step([Assignment(persona, instruction)], reason)

    def save(self) -> dict[str, Any]:
        return {"started": self.started, "heard": self.heard, "upto": self.upto,
                "queue": self.queue}

    def restore(self, data: dict[str, Any]) -> None:
        self.started = bool(data.get("started", False))
        heard = data.get("heard", 0)
        self.heard = heard if isinstance(heard, int) and heard >= 0 else 0
        upto = data.get("upto")
        self.upto = upto if isinstance(upto, int) and upto >= 0 else (
            None if self.heard else 0)
        queue = data.get("queue")
        self.queue = [
            {key: str(item.get(key) or "") for key in ("text", "source", "to")}
            for item in (queue if isinstance(queue, list) else []) if isinstance(item, dict)]
