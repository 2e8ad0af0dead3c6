"""parallel: the same task fanned out to several personas at once, then merged.

Each round is two turns. The fan-out turn gives ``flow.members`` (default: the experts) the same
task in one step, run truly concurrently: all at once (``flow.concurrency`` bounds the
orchestrator_worker pool, not this), so the turn takes about as long as its slowest member.
Members answer as stateless tasks (each sees the topic and its task, not the others' answers),
so the answers are independent; a member
that fails or times out (``flow.task_timeout_s``) is retried (``flow.task_attempts``) and never
costs the others' answers. The merge turn gives ``flow.merge_by`` (default: the critic if there is
one, else the moderator) every answer, attributed, to reconcile into one result and record in the
shared state. ``flow.rounds`` repeats fan-out and merge, each later fan-out revising against the
previous merge. There is no opening. After the last merge the session ends with ``goal_met``.
The routing state is the step count and, between a fan-out and its merge, the answers.
"""

from __future__ import annotations

from typing import Any

from agents.patterns.base import Assignment, BasePattern, End, PatternContext, Result, Step
from agents.patterns.sequential import human_notes, quote
from personas.models import Pack, Persona

# How much of each answer is kept for the merge (and in the checkpoint between the two turns).
ANSWER_CHARS = 4000


class Parallel(BasePattern):
    name = "parallel"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        flow = pack.flow
        self.members: list[str] = list(flow.members) or self.ids("expert")
        critics = self.ids("critic")
        self.merger: str = flow.merge_by or (critics[0] if critics else pack.moderator.id)
        self.rounds = flow.rounds
        self.steps = 0  # turns done: even ones fan out, odd ones merge
        self.answers: list[dict[str, str]] = []  # the last fan-out's answers, until merged

    async def next_step(self, ctx: PatternContext) -> Step | End:
        if self.steps >= 2 * self.rounds:
            return End("goal_met", f"the panel's answers were merged by {self._merger().name}")
        round_no = self.steps // 2 + 1
        if self.steps % 2 == 0:
            return self._fan_out(ctx, round_no)
        return self._merge(ctx, round_no)

    def _merger(self) -> Persona:
        return self.persona(self.merger)

    def _round(self, round_no: int) -> str:
        return f" (round {round_no} of {self.rounds})" if self.rounds > 1 else ""

    def _fan_out(self, ctx: PatternContext, round_no: int) -> Step:
        members = [self.persona(m) for m in self.members]
        merger = self._merger()
        task = (f"{len(members)} panellists answer this task at the same time, independently; "
                f"you will not see the others' answers. {merger.name} will merge them. The "
                "task is the overall goal above.")
        if round_no > 1:
            merged = next((line.text for line in reversed(ctx.lines)
                           if line.agent == merger.id), "")
            if merged:
                limit = max(400, ctx.budget_chars // 2)
                task += (f"\n\nThe merged result of the previous round, by {merger.name}:\n<<<\n"
                         f"{quote(merged, limit)}\n>>>\nRevise your own answer in its light: "
                         "say what you keep, what you change and why.")
        task += human_notes(ctx.new_human_lines())
        task += ("\n\nGive your own answer from your expertise: concrete figures or a clear "
                 "position, the assumptions behind it, and your confidence.")
        flow = self.pack.flow
        assignments = [
            Assignment(p, task, stateless=True, timeout_s=flow.task_timeout_s,
                       attempts=flow.task_attempts, task_id=f"r{round_no}-{p.id}")
            for p in members]
        names = ", ".join(p.name for p in members)
        reason = f"fan-out{self._round(round_no)}: the same task to {names} at once"
        return Step(assignments, reason)  # concurrency None: every member at once

    def _merge(self, ctx: PatternContext, round_no: int) -> Step:
        merger = self._merger()
        parts: list[str] = []
        for answer in self.answers:
            body = answer["text"].strip() or f"(no answer: {answer['error'] or 'empty reply'})"
            parts.append(f"### {answer['name']} ({answer['id']})\n{body}")
        listed = "\n\n".join(parts) or "(nobody answered)"
        last = round_no == self.rounds
        closing = ("This is the final merge: give the group's answer." if last else
                   "The panel will revise their answers against your merge.")
        instruction = (
            f"The panel answered the same task independently{self._round(round_no)}. "
            f"Here are all {len(self.answers)} answers, each attributed:\n\n{listed}\n\n"
            f"As {merger.name}, merge them into one result: where they agree, where they differ "
            "and why, which assumptions drive the differences, and the merged answer (for "
            "estimates: a range and a recommended figure). Name who said what when it matters. "
            f"Record the merged answer as a decision in the shared state. {closing}"
            f"{human_notes(ctx.new_human_lines())}")
        reason = (f"merge{self._round(round_no)}: {merger.name} reconciles "
                  f"{len(self.answers)} answers")
        return Step([Assignment(merger, instruction)], reason)

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        if self.steps % 2 == 0:
            self.answers = [
                {"id": r.assignment.persona.id, "name": r.assignment.persona.name,
                 "text": r.text[:ANSWER_CHARS], "error": r.error or ""}
                for r in results]
        else:
            self.answers = []
        self.steps += 1

    def save(self) -> dict[str, Any]:
        return {"steps": self.steps, "answers": self.answers}

    def restore(self, data: dict[str, Any]) -> None:
        steps = data.get("steps", 0)
        self.steps = steps if isinstance(steps, int) and steps >= 0 else 0
        answers = data.get("answers")
        self.answers = [
            {key: str(a.get(key) or "") for key in ("id", "name", "text", "error")}
            for a in (answers if isinstance(answers, list) else []) if isinstance(a, dict)]
