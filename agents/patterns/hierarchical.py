"""hierarchical: a supervisor (the moderator) plans, delegates each subtask, then synthesises.

Turn 1: the supervisor's plan, a structured decision (``{"subtasks": [{"title", "assignee",
"instructions"}], "reason"}``), goes into the shared state — the titles on the agenda, one action
item per subtask owned by its assignee — and the supervisor announces it. An invalid plan
(twice) falls back to one subtask per agenda item, else per expert, and the turn is marked
fallback. The plan is sized to the turns left (at most ``max_turns - 2`` subtasks, so the
synthesis fits), unless the run is too short for even one (a partial run, to be resumed).

Then one subtask per turn, in plan order: its assignee works on it seeing the conversation and a
digest of the earlier results; its action item goes open → in_progress → done (back to open,
with an open question, when it failed; a ``TaskUpdated`` event each time). The subtasks use
``flow.task_timeout_s`` and ``flow.task_attempts``.

Last turn: the supervisor reviews every result and writes the synthesis as an artifact (the text
of its message becomes ``<pack>.md`` if it put none). If the turns run out first, the synthesis
comes at the last turn with the subtasks not started marked so. The routing state is the plan
with each subtask's status and result, and the phase, so a resumed session goes on where it was.

The task helpers (shared with ``orchestrator_worker``) are in ``agents.patterns.tasks``.
"""

from __future__ import annotations

from typing import Any, Literal

from agents import prompts
from agents.patterns.base import Assignment, BasePattern, End, PatternContext, Result, Step
from agents.patterns.tasks import (
    ARTIFACT_NOTE,
    Task,
    artifacts_of,
    emit_task,
    keep_as_artifact,
    plan_limit,
    plural,
    record_outcome,
    restore_tasks,
    results_block,
    task_list_checker,
    task_list_schema,
    unique_titles,
)
from agents.state import ActionItem, ActionItemUpdate, StatePatch
from personas.models import Pack, Persona


class Hierarchical(BasePattern):
    name = "hierarchical"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        self.plan: list[Task] | None = None
        self.phase: Literal["plan", "work", "done"] = "plan"
        self.fallback = False
        self.synthesis_error = ""
        self._doing: Literal["announce", "subtask", "synthesis"] = "announce"
        self._before: dict[str, str] = {}

    @property
    def supervisor(self) -> Persona:
        return self.pack.moderator

    def save(self) -> dict[str, Any]:
        return {"plan": None if self.plan is None else [t.model_dump() for t in self.plan],
                "phase": self.phase, "fallback": self.fallback,
                "synthesis_error": self.synthesis_error}

    def restore(self, data: dict[str, Any]) -> None:
        self.plan = restore_tasks(data.get("plan"))
        phase = data.get("phase")
        self.phase = phase if phase in ("work", "done") and self.plan else "plan"
        self.fallback = bool(data.get("fallback"))
        self.synthesis_error = str(data.get("synthesis_error") or "")

    async def next_step(self, ctx: PatternContext) -> Step | End:
        if self.plan is None or self.phase == "plan":
            return await self._plan(ctx)
        if self.phase == "done":
            if self.synthesis_error:
                return End("error", f"the synthesis failed: {self.synthesis_error}")
            done = sum(t.status == "done" for t in self.plan)
            return End("goal_met", f"{self.supervisor.name} reviewed {done} of {len(self.plan)} "
                                   "subtask results and wrote the synthesis")
        queued = [t for t in self.plan if t.status in ("queued", "running")]
        last_turn = ctx.turn + 1 >= ctx.max_turns
        if queued and not (last_turn and any(t.status == "done" for t in self.plan)):
            return await self._delegate(ctx, queued[0])
        return self._synthesis(ctx)

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        if self.plan is None or not results:
            return
        if self._doing == "subtask":
            task = next(t for t in self.plan if t.id == results[0].assignment.task_id)
            await record_outcome(ctx, [(task, results[0])], self.supervisor.id,
                                 self.pack.flow.task_attempts)
        elif self._doing == "synthesis":
            self.phase, self.synthesis_error = "done", results[0].error or ""
            for task in self.plan:
                if task.status in ("queued", "running"):
                    task.status = "skipped"
                    await emit_task(ctx, task, "failed", ctx.turn, attempt=0,
                                    detail="not started: the session ran out of turns")
            await keep_as_artifact(ctx, self._before, results[0], f"{self.pack.name}.md")

    # ------------------------------------------------------------------ the plan

    async def _plan(self, ctx: PatternContext) -> Step:
        team = self.pack.speakers
        ids = [p.id for p in team]
        limit = plan_limit(self.pack.flow.max_tasks, ctx.turn, ctx.max_turns)
        decision = await ctx.decide(
            agent=self.supervisor.id, system=self._plan_system(team, limit),
            user=(f"Goal: {ctx.topic}\n\nShared state:\n{prompts.render_state(ctx.state)}\n\n"
                  f"Conversation so far:\n{ctx.transcript()}\n\nPlan the work."),
            schema=task_list_schema("subtasks", limit, ids), name="supervisor_plan",
            max_tokens=min(2000, 200 + 160 * limit),
            validate=task_list_checker("subtasks", limit, ids))
        if decision.data is not None:
            items = decision.data["subtasks"]
            titles = unique_titles([str(i["title"]) for i in items])
            plan = [Task(id=f"t{n}", title=title, assignee=str(i["assignee"]),
                         instructions=str(i["instructions"]).strip())
                    for n, (title, i) in enumerate(zip(titles, items, strict=True), 1)]
            reason = str(decision.data.get("reason") or "").strip() or "plan made"
        else:
            plan, reason = self._fallback_plan(ctx, limit)
        self.plan, self.phase, self.fallback = plan, "work", decision.data is None
        await ctx.patch(StatePatch(
            add_agenda=[t.title for t in plan],
            add_action_items=[ActionItem(text=t.title, owner=t.assignee, status="open")
                              for t in plan]), self.supervisor.id)
        for task in plan:
            await emit_task(ctx, task, "queued", ctx.turn + 1,
                            detail="fallback plan" if self.fallback else task.instructions)
        self._doing = "announce"
        lines = "\n".join(f"{t.id}. {t.title} — {self.persona(t.assignee).name}: "
                          f"{t.instructions}" for t in plan)
        instruction = (f"You supervise this work. Your plan:\n{lines}\n\nAnnounce it to the "
                       "team in two or three sentences: the goal, who does what and why. Do not "
                       "do the subtasks yourself.")
        step = Step([Assignment(self.supervisor, instruction)],
                    prompts.summarise(f"plan of {plural(len(plan), 'subtask')}: {reason}", 160))
        if self.fallback:
            step.fallback = True
            step.fallback_reason = f"invalid plan twice ({decision.error}); {reason}"
        return step

    def _plan_system(self, team: list[Persona], limit: int) -> str:
        sup = self.supervisor
        roster = "\n".join(f"- {p.id}: {p.name}, {p.role}"
                           + (f" — {p.expertise}" if p.expertise else "") for p in team)
        return (
            f"{sup.system_prompt.strip()}\n\nYou are {sup.name}, the supervisor. Break the goal "
            f"into 1 to {limit} subtasks and assign each to the team member best suited by "
            "expertise. Order them so later subtasks can build on earlier results; each is done "
            "by one person in one turn. Give each a short unique title (at most eight words) "
            "and instructions saying what to produce (one to three sentences). You review the "
            "results and write the synthesis yourself: do not plan a synthesis subtask.\n"
            f"Team:\n{roster}\n\n"
            'Answer with JSON only: {"subtasks": [{"title": "...", "assignee": "<id>", '
            '"instructions": "..."}], "reason": "<one sentence>"}. Allowed assignees: '
            f"{', '.join(p.id for p in team)}.")

    def _fallback_plan(self, ctx: PatternContext, limit: int) -> tuple[list[Task], str]:
        experts = [p for p in self.pack.personas if p.role == "expert"]
        agenda = [a for a in ctx.state.agenda if a.strip()][:limit]
        if agenda:
            pairs = [(title, experts[n % len(experts)]) for n, title in enumerate(agenda)]
            why = "one subtask per agenda item"
        else:
            pairs = [(p.expertise or p.name, p) for p in experts[:limit]]
            why = "one subtask per expert"
        titles = unique_titles([title for title, _ in pairs])
        plan = [Task(id=f"t{n}", title=title, assignee=p.id,
                     instructions=f"Work on the goal from your angle ({p.expertise or p.role}): "
                                  "concrete findings, evidence and a recommendation.")
                for n, (title, (_, p)) in enumerate(zip(titles, pairs, strict=True), 1)]
        return plan, why

    # ------------------------------------------------------------------ the work

    async def _delegate(self, ctx: PatternContext, task: Task) -> Step:
        assert self.plan is not None
        persona = self.persona(task.assignee)
        number = self.plan.index(task) + 1
        task.status = "running"
        await ctx.patch(StatePatch(update_action_items=[
            ActionItemUpdate(text=task.title, status="in_progress")]), self.supervisor.id)
        await emit_task(ctx, task, "running", ctx.turn + 1)
        earlier = [f"- {t.title} ({self.persona(t.assignee).name}): "
                   f"{prompts.summarise(t.result, 300)}" for t in self.plan if t.status == "done"]
        digest = ("\n\nResults of earlier subtasks (in full in the conversation):\n"
                  + "\n".join(earlier)) if earlier else ""
        instruction = (
            f"{self.supervisor.name} delegates subtask {number} of {len(self.plan)} to you: "
            f"{task.title}.\n{task.instructions}{digest}\n\nWork on this subtask only and "
            "report your result concisely; record what is settled in the shared state.")
        self._doing = "subtask"
        flow = self.pack.flow
        return Step([Assignment(persona, instruction, timeout_s=flow.task_timeout_s,
                                attempts=flow.task_attempts, task_id=task.id)],
                    prompts.summarise(f"subtask {number} of {len(self.plan)} to {persona.name}: "
                                      f"{task.title}", 160))

    def _synthesis(self, ctx: PatternContext) -> Step:
        assert self.plan is not None
        self._doing = "synthesis"
        self._before = artifacts_of(ctx)
        instruction = (
            "The delegated work is back. Review each subtask result against its instructions, "
            "then write the final synthesis.\n\n"
            f"{results_block(self.plan, self.pack, ctx.budget_chars)}\n\n"
            "First one line per subtask: is it complete and sound, what is missing or "
            "contradicts another result (say what a failed or missing one leaves open). Then "
            f"write the final synthesis and {ARTIFACT_NOTE}")
        done = sum(t.status == "done" for t in self.plan)
        return Step([Assignment(self.supervisor, instruction,
                                attempts=self.pack.flow.task_attempts)],
                    f"review {done} of {len(self.plan)} subtask results and synthesise")
