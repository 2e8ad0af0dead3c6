"""orchestrator_worker: a task queue, a pool of stateless workers, then one aggregation.

Turn 1: the orchestrator (the moderator) splits the goal into independent tasks, a structured
decision (``{"tasks": [{"title", "instructions"}], "reason"}``, at most ``flow.max_tasks``); an
invalid list (twice) falls back to one task per agenda item, else one per worker, and the turn is
marked fallback. Each task is given to a worker of the pool (``flow.workers``, default the experts
and executors) by least-assigned, ties in pool order — round-robin. The tasks become action items
owned by their worker, ``TaskUpdated`` events say they are queued, and the orchestrator announces
the plan.

Turn 2: one step runs every queued task as a stateless assignment (the worker sees only the goal
and its task), at most ``flow.concurrency`` at once, each with ``flow.task_timeout_s`` and
``flow.task_attempts``. The engine contains failures: a task that fails every attempt is marked
failed (its action item reopened, an open question added) and the others' results are kept.
Granularity of the events: every task is marked running when the step dispatches it to the pool
(the pool bound decides when it really starts), and done/failed when the step is over; retries
happen inside the engine, which reports each one as an ``ErrorRaised`` event at the time.

Turn 3: ``flow.merge_by`` (default the orchestrator) gets every result, failed ones marked, and
writes the aggregate as an artifact (its message becomes ``<pack>.md`` if it put none). Then the
session ends (with ``error`` when no task succeeded). The routing state is the queue with each
task's worker, status and result, so a resumed session runs only what is still queued.
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


def balance(count: int, pool: list[str]) -> list[str]:
    """A worker for each of ``count`` tasks: the least assigned so far, ties in pool order."""
    load = dict.fromkeys(pool, 0)
    chosen: list[str] = []
    for _ in range(count):
        worker = min(pool, key=lambda w: load[w])  # min keeps the first of equals
        load[worker] += 1
        chosen.append(worker)
    return chosen


class OrchestratorWorker(BasePattern):
    name = "orchestrator_worker"

    def __init__(self, pack: Pack) -> None:
        super().__init__(pack)
        self.tasks: list[Task] | None = None
        self.phase: Literal["plan", "work", "aggregate", "done"] = "plan"
        self.fallback = False
        self.aggregate_error = ""
        self._doing: Literal["announce", "dispatch", "aggregate"] = "announce"
        self._before: dict[str, str] = {}

    @property
    def orchestrator(self) -> Persona:
        return self.pack.moderator

    @property
    def pool(self) -> list[str]:
        return list(self.pack.flow.workers) or [
            p.id for p in self.pack.personas if p.role in ("expert", "executor")]

    @property
    def merger(self) -> Persona:
        return self.persona(self.pack.flow.merge_by or self.orchestrator.id)

    def save(self) -> dict[str, Any]:
        return {"tasks": None if self.tasks is None else [t.model_dump() for t in self.tasks],
                "phase": self.phase, "fallback": self.fallback,
                "aggregate_error": self.aggregate_error}

    def restore(self, data: dict[str, Any]) -> None:
        self.tasks = restore_tasks(data.get("tasks"))
        phase = data.get("phase")
        self.phase = phase if phase in ("work", "aggregate", "done") and self.tasks else "plan"
        self.fallback = bool(data.get("fallback"))
        self.aggregate_error = str(data.get("aggregate_error") or "")

    async def next_step(self, ctx: PatternContext) -> Step | End:
        if self.tasks is None or self.phase == "plan":
            return await self._plan(ctx)
        if self.phase == "work":
            if any(t.status in ("queued", "running") for t in self.tasks):
                return await self._dispatch(ctx)
            self.phase = "aggregate"
        done = sum(t.status == "done" for t in self.tasks)
        if done == 0:
            self.phase = "done"
            return End("error", f"every one of the {len(self.tasks)} tasks failed, so there "
                                "is nothing to aggregate; see the errors above")
        if self.phase == "aggregate":
            return self._aggregate(ctx, done)
        if self.aggregate_error:
            return End("error", f"the aggregation failed: {self.aggregate_error}")
        return End("goal_met", f"{done} of {len(self.tasks)} tasks done; {self.merger.name} "
                               "aggregated the results")

    async def after_step(self, ctx: PatternContext, step: Step, results: list[Result]) -> None:
        if self.tasks is None or not results:
            return
        if self._doing == "dispatch":
            by_id = {t.id: t for t in self.tasks}
            pairs = [(by_id[r.assignment.task_id], r) for r in results
                     if r.assignment.task_id in by_id]
            await record_outcome(ctx, pairs, self.orchestrator.id, self.pack.flow.task_attempts)
            self.phase = "aggregate"
        elif self._doing == "aggregate":
            self.phase, self.aggregate_error = "done", results[0].error or ""
            await keep_as_artifact(ctx, self._before, results[0], f"{self.pack.name}.md")

    # ------------------------------------------------------------------ turn 1: the queue

    async def _plan(self, ctx: PatternContext) -> Step:
        flow = self.pack.flow
        decision = await ctx.decide(
            agent=self.orchestrator.id, system=self._plan_system(flow.max_tasks),
            user=(f"Goal: {ctx.topic}\n\nShared state:\n{prompts.render_state(ctx.state)}\n\n"
                  f"Conversation so far:\n{ctx.transcript()}\n\nSplit the work into tasks."),
            schema=task_list_schema("tasks", flow.max_tasks, None), name="orchestrator_tasks",
            max_tokens=min(2000, 200 + 160 * flow.max_tasks),
            validate=task_list_checker("tasks", flow.max_tasks, None))
        if decision.data is not None:
            items = decision.data["tasks"]
            titles = unique_titles([str(i["title"]) for i in items])
            instructions = [str(i["instructions"]).strip() for i in items]
            reason = str(decision.data.get("reason") or "").strip() or "tasks planned"
        else:
            titles, instructions, reason = self._fallback_tasks(ctx)
        workers = balance(len(titles), self.pool)
        self.tasks = [Task(id=f"t{n}", title=title, assignee=worker, instructions=text)
                      for n, (title, text, worker)
                      in enumerate(zip(titles, instructions, workers, strict=True), 1)]
        self.phase, self.fallback = "work", decision.data is None
        await ctx.patch(StatePatch(add_action_items=[
            ActionItem(text=t.title, owner=t.assignee, status="open") for t in self.tasks]),
            self.orchestrator.id)
        for task in self.tasks:
            await emit_task(ctx, task, "queued", ctx.turn + 1,
                            detail="fallback plan" if self.fallback else task.instructions)
        self._doing = "announce"
        lines = "\n".join(f"{t.id}. {t.title} — {self.persona(t.assignee).name}"
                          for t in self.tasks)
        instruction = (
            f"You orchestrate this work. The task queue:\n{lines}\n\nAnnounce it in two or "
            f"three sentences: how the question was split and what comes back. The workers run "
            f"at most {flow.concurrency} at once and see only their own task; you aggregate.")
        step = Step([Assignment(self.orchestrator, instruction)],
                    prompts.summarise(f"{plural(len(self.tasks), 'task')} queued: {reason}", 160))
        if self.fallback:
            step.fallback = True
            step.fallback_reason = f"invalid task list twice ({decision.error}); {reason}"
        return step

    def _plan_system(self, limit: int) -> str:
        orch = self.orchestrator
        workers = "\n".join(f"- {p.name}" + (f" — {p.expertise}" if p.expertise else "")
                            for p in (self.persona(w) for w in self.pool))
        return (
            f"{orch.system_prompt.strip()}\n\nYou are {orch.name}, the orchestrator. Split the "
            f"goal into 1 to {limit} independent tasks that a pool of workers does in parallel "
            "(for a comparison: one task per option, each judged against the same criteria). A "
            "worker sees only the overall goal and its own task — never the conversation or the "
            "other tasks — so each task's instructions must be self-contained: repeat the "
            "criteria and say what to return. Give each a short unique title (at most eight "
            "words). You aggregate the results yourself: do not plan an aggregation task.\n"
            f"The worker pool:\n{workers}\n\n"
            'Answer with JSON only: {"tasks": [{"title": "...", "instructions": "..."}], '
            '"reason": "<one sentence>"}.')

    def _fallback_tasks(self, ctx: PatternContext) -> tuple[list[str], list[str], str]:
        limit = self.pack.flow.max_tasks
        agenda = [a for a in ctx.state.agenda if a.strip()][:limit]
        if agenda:
            instructions = [f"Regarding the overall goal, work on: {a}. Return concrete findings, "
                            "the evidence for them and a short recommendation." for a in agenda]
            return unique_titles(agenda), instructions, "one task per agenda item"
        workers = [self.persona(w) for w in self.pool][:limit]
        titles = unique_titles([p.expertise or p.name for p in workers])
        instructions = [f"Answer the overall goal from the angle of {p.expertise or p.name}: "
                        "concrete findings, the evidence for them and a short recommendation."
                        for p in workers]
        return titles, instructions, "one task per worker"

    # ------------------------------------------------------------------ turn 2: the pool

    async def _dispatch(self, ctx: PatternContext) -> Step:
        assert self.tasks is not None
        flow = self.pack.flow
        queued = [t for t in self.tasks if t.status in ("queued", "running")]
        for task in queued:
            task.status = "running"
        await ctx.patch(StatePatch(update_action_items=[
            ActionItemUpdate(text=t.title, status="in_progress") for t in queued]),
            self.orchestrator.id)
        bound = min(flow.concurrency, len(queued))
        for task in queued:
            await emit_task(ctx, task, "running", ctx.turn + 1,
                            detail=f"dispatched to the pool; at most {bound} run at once")
        assignments = [
            Assignment(self.persona(t.assignee), f"{t.title}\n\n{t.instructions}",
                       stateless=True, timeout_s=flow.task_timeout_s,
                       attempts=flow.task_attempts, task_id=t.id)
            for t in queued]
        self._doing = "dispatch"
        workers = len({t.assignee for t in queued})
        return Step(assignments, f"{plural(len(queued), 'task')} to {plural(workers, 'worker')}"
                                 f", at most {bound} at once",
                    concurrency=flow.concurrency)

    # ------------------------------------------------------------------ turn 3: aggregate

    def _aggregate(self, ctx: PatternContext, done: int) -> Step:
        assert self.tasks is not None
        self._doing = "aggregate"
        self._before = artifacts_of(ctx)
        failed = len(self.tasks) - done
        gaps = (f" {plural(failed, 'task')} failed: say what that leaves "
                "unknown rather than guessing." if failed else "")
        results = results_block(self.tasks, self.pack, ctx.budget_chars)
        instruction = (
            f"The task queue has drained. The results:\n\n{results}"
            f"\n\nAggregate them into one result that answers the goal (for a comparison: a "
            "Markdown table with one row per option and one column per criterion, then a "
            f"recommendation). Point out where the results disagree.{gaps} Then {ARTIFACT_NOTE}")
        return Step([Assignment(self.merger, instruction, attempts=self.pack.flow.task_attempts)],
                    f"aggregate {done} of {len(self.tasks)} task results")
