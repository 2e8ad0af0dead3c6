"""The orchestrator_worker pattern against the scripted server: a task queue, a bounded pool of
stateless workers with retries and timeouts, then one aggregation."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agents.patterns.orchestrator_worker import balance
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error, Hang, Reply, Text
from tests.support.sessions import collect

PACK = "research-sprint"
OPTIONS = ["Celery", "RQ", "Dramatiq", "Arq"]
TASKS = [{"title": f"Evaluate {name}", "instructions": f"INSTR-{name}: judge it on cost and ops"}
         for name in OPTIONS]
AGGREGATE = "The task queue has drained"


@pytest.fixture(autouse=True)
def _one_client_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the task-level attempts retry (the client's own retries are read at construction)."""
    monkeypatch.setenv("AGENTCHAT_RETRY_ATTEMPTS", "1")


def options(server: ScriptedServer, **kw: Any) -> RunOptions:
    base: dict[str, Any] = {"model": "openai/test-model", "api_base": server.url, "max_turns": 5}
    base.update(kw)
    return RunOptions(**base)


def pack_with(**flow: Any) -> Pack:
    pack = load_pack(PACK)
    return pack.model_copy(update={"flow": pack.flow.model_copy(update=flow)})


def user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def is_worker(body: dict[str, Any]) -> bool:
    return "a worker on the" in str(body["messages"][0]["content"])


def option_of(body: dict[str, Any]) -> str:
    return next((name for name in OPTIONS if f"INSTR-{name}:" in user_text(body)), "other")


class Scripted:
    """Plans ``TASKS``; a worker answers RESULT-<option> after ``delay_s`` (tracking how many
    are in flight at once) unless ``failures`` scripts another reply for its option."""

    def __init__(self, plan: str | None = None, *, delay_s: float = 0.0,
                 failures: dict[str, Reply] | None = None) -> None:
        self.plan = plan or json.dumps({"tasks": TASKS, "reason": "one task per option"})
        self.delay_s = delay_s
        self.failures = failures or {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.decisions = 0
        self.calls: list[str] = []  # the option of each worker request
        self.aggregations: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            self.decisions += 1
            return Text(self.plan)
        if is_worker(body):
            option = option_of(body)
            with self.lock:
                self.calls.append(option)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                time.sleep(self.delay_s)  # the server-side latency of one worker call
            finally:
                with self.lock:
                    self.in_flight -= 1
            return self.failures.get(option) or Text(f"RESULT-{option}: solid, cheap to run.")
        if AGGREGATE in user_text(body):
            self.aggregations.append(user_text(body))
            return Text("| option | cost |\n|---|---|\n| Celery | low |\nRecommendation: RQ.")
        return Text("Four options, one analyst each; I will aggregate.")


def test_balance_is_least_assigned_round_robin() -> None:
    assert balance(5, ["a", "b", "c"]) == ["a", "b", "c", "a", "b"]
    assert balance(1, ["a", "b"]) == ["a"]


async def test_bounded_pool_runs_every_task_and_aggregates(scripted_server: ScriptedServer,
                                                           store: Store) -> None:
    script = Scripted(delay_s=0.5)
    scripted_server.responder = script
    pack = pack_with(concurrency=2)
    session = await Session.start(pack=pack, topic="Which job queue for our Python service?",
                                  store=store, options=options(scripted_server))
    events = await collect(session)

    assert script.max_in_flight == 2  # concurrent, and never above flow.concurrency
    assert sorted(script.calls) == sorted(OPTIONS)
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [
        ["lead"], ["analyst", "engineer", "scout", "analyst"], ["lead"]]
    assert decisions[1].reason == "4 tasks to 3 workers, at most 2 at once"
    assert events[-1].kind == "session_ended" and events[-1].reason == "goal_met"

    # the workers are stateless: only the goal and their task, no conversation
    worker_bodies = [b for b in scripted_server.chat_bodies if is_worker(b)]
    assert all("Conversation so far" not in user_text(b) for b in worker_bodies)
    assert all("Which job queue" in user_text(b) for b in worker_bodies)

    items = session.state.action_items
    assert [(a.text, a.owner, a.status) for a in items] == [
        ("Evaluate Celery", "analyst", "done"), ("Evaluate RQ", "engineer", "done"),
        ("Evaluate Dramatiq", "scout", "done"), ("Evaluate Arq", "analyst", "done")]
    updates = [e for e in events if e.kind == "task_updated" and e.task_id == "t3"]
    assert [u.status for u in updates] == ["queued", "running", "done"]
    assert updates[0].turn == 1 and updates[1].turn == updates[2].turn == 2

    (aggregation,) = script.aggregations
    for option in OPTIONS:
        assert f"RESULT-{option}" in aggregation
    assert "FAILED" not in aggregation
    kept = session.state.artifacts["research-sprint.md"]  # no artifact put: the text is kept
    assert kept.author == "lead" and kept.content.startswith("| option | cost |")


@pytest.mark.parametrize("failure", [Error.auth(), Error.server(500)],
                         ids=["auth", "server_error"])
async def test_a_failing_worker_is_retried_and_the_others_are_kept(
    scripted_server: ScriptedServer, store: Store, failure: Error
) -> None:
    script = Scripted(failures={"RQ": failure})
    scripted_server.responder = script
    session = await Session.start(pack=pack_with(task_attempts=3), topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    assert script.calls.count("RQ") == 3  # flow.task_attempts
    assert all(script.calls.count(o) == 1 for o in OPTIONS if o != "RQ")
    retries = [e for e in events if e.kind == "error_raised" and "retrying" in e.message]
    assert len(retries) == 2 and all("task t2" in r.message for r in retries)
    failed = [e for e in events if e.kind == "task_updated" and e.status == "failed"]
    assert [(f.task_id, f.agent, f.attempt) for f in failed] == [("t2", "engineer", 3)]
    done = [e.task_id for e in events if e.kind == "task_updated" and e.status == "done"]
    assert sorted(done) == ["t1", "t3", "t4"]

    status = {a.text: a.status for a in session.state.action_items}
    assert status == {"Evaluate Celery": "done", "Evaluate RQ": "open",
                      "Evaluate Dramatiq": "done", "Evaluate Arq": "done"}
    assert any("Evaluate RQ" in q for q in session.state.open_questions)
    (aggregation,) = script.aggregations
    assert "RESULT-Celery" in aggregation and "RESULT-Arq" in aggregation
    assert "Evaluate RQ — Pablo, Platform Engineer [FAILED" in aggregation
    assert "1 task failed" in aggregation
    assert events[-1].reason == "goal_met"


async def test_a_task_that_times_out_is_marked_failed(scripted_server: ScriptedServer,
                                                      store: Store) -> None:
    script = Scripted(failures={"Dramatiq": Hang(5)})
    scripted_server.responder = script
    pack = pack_with(task_timeout_s=0.5, task_attempts=1)
    started = time.monotonic()
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert time.monotonic() - started < 4.5  # the hung call was abandoned, not waited for

    failed = [e for e in events if e.kind == "task_updated" and e.status == "failed"]
    assert [f.task_id for f in failed] == ["t3"]
    assert "timed out after 0.5 s" in failed[0].detail
    (aggregation,) = script.aggregations
    assert "Evaluate Dramatiq — Yuki, Ecosystem Scout [FAILED: timed out" in aggregation
    assert "RESULT-Celery" in aggregation
    assert events[-1].reason == "goal_met"


async def test_resume_after_turn_one_runs_the_saved_queue(scripted_server: ScriptedServer,
                                                          store: Store) -> None:
    script = Scripted()
    scripted_server.responder = script
    first = await Session.start(pack=load_pack(PACK), topic="t", store=store,
                                options=options(scripted_server, max_turns=1))
    events = await collect(first)
    assert events[-1].reason == "max_turns" and script.calls == []
    checkpoint = (await store.checkpoints(first.id, first.branch_id))[-1]
    queue = checkpoint.state["_routing"]["tasks"]
    assert [(t["id"], t["status"]) for t in queue] == [(f"t{n}", "queued") for n in range(1, 5)]

    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=5))
    resumed = await collect(again)
    assert script.decisions == 1  # the queue was not planned again
    assert sorted(script.calls) == sorted(OPTIONS)
    assert [e.turn for e in resumed if e.kind == "moderator_decision"] == [2, 3]
    assert all(a.status == "done" for a in again.state.action_items)
    assert resumed[-1].reason == "goal_met"


async def test_every_task_failing_ends_with_an_error_and_no_aggregation(
    scripted_server: ScriptedServer, store: Store
) -> None:
    script = Scripted(failures=dict.fromkeys(OPTIONS, Error.auth()))
    scripted_server.responder = script
    session = await Session.start(pack=pack_with(task_attempts=1), topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert len(script.calls) == 4 and script.aggregations == []
    assert events[-1].reason == "error" and "every one of the 4 tasks failed" in events[-1].detail


async def test_garbage_task_list_falls_back_to_one_task_per_worker(
    scripted_server: ScriptedServer, store: Store
) -> None:
    script = Scripted(plan='{"tasks": []}')
    scripted_server.responder = script
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="Pick a vector database", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert script.decisions == 2
    first = next(e for e in events if e.kind == "moderator_decision")
    assert first.fallback and "tasks must be a non-empty list" in first.fallback_reason
    assert "one task per worker" in first.fallback_reason
    owners = [a.owner for a in session.state.action_items]
    assert owners == list(pack.flow.workers)
    assert events[-1].reason == "goal_met"


def test_headless_run_of_the_builtin_pack(scripted_server: ScriptedServer,
                                          tmp_path: Path) -> None:
    db = tmp_path / "rs.db"
    done = agentchat("run", "--pack", PACK, "--topic", "Celery, RQ or Dramatiq for a small "
                     "Python service?", "--model", "openai/test-model", "--api-base",
                     scripted_server.url, "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["kind"] == "session_ended" and events[-1]["reason"] == "goal_met"
    statuses = [e["status"] for e in events if e["kind"] == "task_updated"]
    assert statuses == ["queued", "running", "done"]
