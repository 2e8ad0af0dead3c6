"""One turn of the run loop: ask the pattern what runs next, run its assignments (bounded
concurrency), let the pattern see the results, checkpoint, check termination."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from agents import prompts
from agents.events import CheckpointCreated, ModeratorDecision, TurnStarted
from agents.history import ledger_meta
from agents.patterns.base import Pattern, PatternContext, Result, Step
from agents.speaker import SessionStop, Speaker
from agents.state import StatePatch, apply_patch

#: Every this many turns a checkpoint carries running totals (see ``history.load_snapshot``).
META_EVERY = 16


class TurnRunner(Speaker):
    """The turn half of a Session (construction, controls and the loop are in session.py)."""

    pattern: Pattern
    opened: bool
    last_speaker: str | None
    _stop_requested: bool
    _meta_due: bool

    @property
    def _ctx(self) -> PatternContext:
        """The session as patterns see it (Session implements the whole protocol)."""
        return cast("PatternContext", self)

    async def _opening(self) -> None:
        opening = self.pattern.opening(self._ctx)
        speaker = ""
        if opening is not None:
            result = await self.run_assignment(opening, 0)
            speaker = opening.persona.id
            await self.pattern.after_step(self._ctx, Step([opening], "opening"), [result])
        if not self.state.goal:
            self.state = apply_patch(self.state, StatePatch(set_goal=self.topic), speaker)
        self.opened = True
        await self._checkpoint(0, speaker or "start")

    async def _turn(self) -> None:
        step = await self.pattern.next_step(self._ctx)
        if not isinstance(step, Step):
            raise SessionStop(step.reason, step.detail)
        turn = self.turn + 1
        speakers = [a.persona.id for a in step.assignments]
        await self._emit(self._ids(
            ModeratorDecision, turn=turn, speakers=speakers, reason=step.reason,
            fallback=step.fallback, fallback_reason=step.fallback_reason))
        await self._emit(self._ids(TurnStarted, turn=turn, speakers=speakers))
        self.turn = turn
        results = await self._run_step(step, turn)
        if speakers:
            self.last_speaker = speakers[-1]
        await self.pattern.after_step(self._ctx, step, results)
        await self._checkpoint(turn, ",".join(speakers))
        if self._stop_requested:
            raise SessionStop("user", "stopped by the user")
        self._check_termination(results)

    async def _run_step(self, step: Step, turn: int) -> list[Result]:
        if len(step.assignments) == 1:
            return [await self.run_assignment(step.assignments[0], turn)]
        limit = asyncio.Semaphore(step.concurrency or len(step.assignments))

        async def bounded(index: int) -> Result:
            async with limit:
                return await self.run_assignment(step.assignments[index], turn)

        tasks = [asyncio.create_task(bounded(i)) for i in range(len(step.assignments))]
        try:
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
        results: list[Result] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        return results

    def _check_termination(self, results: list[Result]) -> None:
        term = self.pack.termination
        met: list[tuple[bool, str]] = []
        if term.stop_phrase:
            said = any(term.stop_phrase.lower() in r.text.lower() for r in results)
            met.append((said, f"someone said {term.stop_phrase!r}"))
        if term.min_decisions is not None:
            met.append((len(self.state.decisions) >= term.min_decisions,
                        f"{len(self.state.decisions)} decisions recorded"))
        if term.min_artifacts is not None:
            met.append((len(self.state.artifacts) >= term.min_artifacts,
                        f"{len(self.state.artifacts)} artifacts written"))
        if not met:
            return
        reason = "stop_phrase" if term.stop_phrase and met[0][0] else "goal_met"
        if term.mode == "all" and all(ok for ok, _ in met):
            raise SessionStop(reason, "; ".join(why for _, why in met))
        if term.mode == "any":
            for ok, why in met:
                if ok:
                    reason = "stop_phrase" if term.stop_phrase and why == met[0][1] else "goal_met"
                    raise SessionStop(reason, why)

    async def _checkpoint(self, turn: int, speaker: str) -> None:
        last = next((line for line in reversed(self.lines) if line.agent != "human"), None)
        summary = prompts.summarise(last.text if last else self.topic)
        state: dict[str, Any] = self.state.model_dump(mode="json")
        state["_routing"] = self.pattern.save()
        meta: dict[str, Any] | None = None
        if self._meta_due or turn % META_EVERY == 0:
            # Running totals, so a reload reads at most META_EVERY turns of events.
            meta = {"lines": getattr(self.lines, "offset", 0) + len(self.lines),
                    "ledger": ledger_meta(self.ledger), "last_speaker": self.last_speaker}
            self._meta_due = False
        # The events of the turn not yet written go in the checkpoint's transaction, which
        # covers them (its seq is the last of theirs); ``last_seq`` is read once any write
        # under way is done. The next turn starts while it commits; its events wait for it.
        branch = self.branch_id
        await self._save_behind(
            lambda first: self.store.add_checkpoint(
                self.id, branch, seq=self.last_seq, turn=turn, state=state, label=summary,
                meta=meta, first=first),
            lambda seq: self._ids(CheckpointCreated, turn=turn, seq=seq, speaker=speaker,
                                  summary=summary))
