"""The hierarchical pattern against the scripted server: plan, delegate, review, synthesise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agents.events import Event
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error, Reply, Text
from tests.support.sessions import collect, is_decision

PACK = "incident-postmortem"
PLAN = [
    {"title": "Build the timeline", "assignee": "sre", "instructions": "INSTR-1 from alerts"},
    {"title": "Find the root cause", "assignee": "developer", "instructions": "INSTR-2 five whys"},
    {"title": "Assess the impact", "assignee": "comms", "instructions": "INSTR-3 customers"},
    {"title": "Plan the remediation", "assignee": "developer", "instructions": "INSTR-4 fixes"},
]
TITLES = [s["title"] for s in PLAN]
SUBTASK = re.compile(r"delegates subtask (\d+) of (\d+)")
SYNTHESIS = "The delegated work is back"
POSTMORTEM = ('Review: all sound.\n```json\n{"state_patch": {"put_artifacts": [{"name": '
              '"postmortem.md", "kind": "document", "content": "# Post-mortem"}]}}\n```')


def options(server: ScriptedServer, **kw: Any) -> RunOptions:
    base: dict[str, Any] = {"model": "openai/test-model", "api_base": server.url, "max_turns": 10}
    base.update(kw)
    return RunOptions(**base)


def user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


class Scripted:
    """Plans with ``plan`` (a reply text), answers subtask k with RESULT-k, writes postmortem.md."""

    def __init__(self, *plans: str, fail: int | None = None, synthesis: str = POSTMORTEM) -> None:
        self.plans = list(plans)
        self.fail = fail
        self.reply = synthesis
        self.decisions: list[dict[str, Any]] = []
        self.subtasks: list[int] = []  # subtask numbers, in request order
        self.synthesis: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = user_text(body)
        if is_decision(body):
            self.decisions.append(body)
            return Text(self.plans.pop(0) if len(self.plans) > 1 else self.plans[0])
        found = SUBTASK.search(text)
        if found:
            number = int(found.group(1))
            self.subtasks.append(number)
            if number == self.fail:
                return Error(400, "Unsupported content in the request.")
            return Text(f"RESULT-{number}: findings for subtask {number}.")
        if SYNTHESIS in text:
            self.synthesis.append(text)
            return Text(self.reply)
        return Text("Here is the plan: each of you takes one part.")


def plan_json(subtasks: list[dict[str, str]], reason: str = "the standard split") -> str:
    return json.dumps({"subtasks": subtasks, "reason": reason})


def statuses(events: list[Event], title: str) -> list[str]:
    """The successive statuses of one action item across the state patches."""
    seen: list[str] = []
    for event in events:
        if event.kind != "state_patched":
            continue
        item = next((a for a in event.state.action_items if a.text == title), None)
        if item is not None and (not seen or seen[-1] != item.status):
            seen.append(item.status)
    return seen


async def test_plan_delegation_and_synthesis(scripted_server: ScriptedServer,
                                             store: Store) -> None:
    script = Scripted(plan_json(PLAN))
    scripted_server.responder = script
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="API outage on 3 May", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [
        ["lead"], ["sre"], ["developer"], ["comms"], ["developer"], ["lead"]]
    assert "plan of 4 subtasks: the standard split" in decisions[0].reason
    assert "subtask 2 of 4 to Mei, Service Owner: Find the root cause" in decisions[2].reason
    assert not any(d.fallback for d in decisions)
    assert script.subtasks == [1, 2, 3, 4]  # delegation follows the plan
    assert events[-1].kind == "session_ended" and events[-1].reason == "goal_met"

    # the plan lives in the shared state: agenda, action items with owners, statuses moving
    state = session.state
    assert state.agenda == TITLES
    assert [(a.text, a.owner, a.status) for a in state.action_items] == [
        (s["title"], s["assignee"], "done") for s in PLAN]
    for title in TITLES:
        assert statuses(events, title) == ["open", "in_progress", "done"]
    tasks = [e for e in events if e.kind == "task_updated"]
    assert [(t.task_id, t.status) for t in tasks if t.task_id == "t2"] == [
        ("t2", "queued"), ("t2", "running"), ("t2", "done")]
    assert {t.agent for t in tasks if t.task_id == "t3"} == {"comms"}

    # an assignee sees the earlier results; the synthesis reviews every one
    third = next(b for b in scripted_server.chat_bodies if "subtask 3 of 4" in user_text(b))
    assert "INSTR-3" in user_text(third)
    assert "RESULT-1" in user_text(third) and "RESULT-2" in user_text(third)
    (synthesis,) = script.synthesis
    for number, title in enumerate(TITLES, 1):
        assert f"RESULT-{number}" in synthesis and title in synthesis
    assert "put_artifacts" in synthesis
    assert set(state.artifacts) == {"postmortem.md"}  # no fallback copy when one was written
    assert state.artifacts["postmortem.md"].author == "lead"

    checkpoints = await store.checkpoints(session.id, session.branch_id)
    routing = checkpoints[-1].state["_routing"]
    assert routing["phase"] == "done" and [t["status"] for t in routing["plan"]] == ["done"] * 4
    stored = [r.kind for r in await store.events(session.id, session.branch_id)]
    assert stored.count("task_updated") == 12


async def test_invalid_plan_twice_falls_back_to_one_subtask_per_expert(
    scripted_server: ScriptedServer, store: Store
) -> None:
    bad_assignee = plan_json([{"title": "Timeline", "assignee": "lead", "instructions": "x"}])
    script = Scripted(bad_assignee, "no plan today", synthesis="# Post-mortem\nAll in order.")
    scripted_server.responder = script
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="Checkout errors", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    assert len(script.decisions) == 2
    retry = user_text(script.decisions[1])
    assert "previous answer was invalid" in retry and "assignee 'lead'" in retry
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert decisions[0].fallback and "invalid plan twice" in decisions[0].fallback_reason
    assert "one subtask per expert" in decisions[0].fallback_reason
    experts = [p.id for p in pack.personas if p.role == "expert"]
    assert [d.speakers[0] for d in decisions[1:-1]] == experts
    assert [a.owner for a in session.state.action_items] == experts
    queued = [e for e in events if e.kind == "task_updated" and e.status == "queued"]
    assert len(queued) == 3 and all(q.detail == "fallback plan" for q in queued)
    # the supervisor wrote this synthesis without an artifact: its text is kept as one
    assert events[-1].reason == "goal_met"
    kept = session.state.artifacts["incident-postmortem.md"]
    assert kept.content == "# Post-mortem\nAll in order." and kept.author == "lead"


async def test_a_failed_subtask_is_marked_and_the_rest_goes_on(
    scripted_server: ScriptedServer, store: Store
) -> None:
    script = Scripted(plan_json(PLAN[:3]), fail=2)
    scripted_server.responder = script
    session = await Session.start(pack=load_pack(PACK), topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    assert script.subtasks == [1, 2, 2, 3]  # flow.task_attempts = 2
    failed = [e for e in events if e.kind == "task_updated" and e.status == "failed"]
    assert [(f.task_id, f.attempt) for f in failed] == [("t2", 2)]
    assert "rejected the request" in failed[0].detail
    assert statuses(events, TITLES[1]) == ["open", "in_progress", "open"]
    assert any("Find the root cause" in q for q in session.state.open_questions)
    (synthesis,) = script.synthesis
    assert "RESULT-1" in synthesis and "RESULT-3" in synthesis
    assert "Find the root cause — Mei, Service Owner [FAILED" in synthesis
    assert events[-1].reason == "goal_met"


async def test_resume_after_the_plan_continues_with_the_saved_plan(
    scripted_server: ScriptedServer, store: Store
) -> None:
    script = Scripted(plan_json(PLAN[:2]))
    scripted_server.responder = script
    first = await Session.start(pack=load_pack(PACK), topic="t", store=store,
                                options=options(scripted_server, max_turns=1))
    events = await collect(first)
    assert events[-1].reason == "max_turns"
    assert script.subtasks == [] and len(script.decisions) == 1

    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=10))
    resumed = await collect(again)
    assert len(script.decisions) == 1  # no new plan
    assert script.subtasks == [1, 2]
    speakers = [e.speakers for e in resumed if e.kind == "moderator_decision"]
    assert speakers == [["sre"], ["developer"], ["lead"]]
    assert [a.status for a in again.state.action_items] == ["done", "done"]
    assert resumed[-1].reason == "goal_met"


async def test_plan_fits_the_turns_and_runs_out_into_an_early_synthesis(
    scripted_server: ScriptedServer, store: Store
) -> None:
    script = Scripted(plan_json(PLAN))
    scripted_server.responder = script
    short = await Session.start(pack=load_pack(PACK), topic="t", store=store,
                                options=options(scripted_server, max_turns=4))
    await collect(short)
    schema = script.decisions[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["subtasks"]["maxItems"] == 2  # plan + 2 subtasks + synthesis
    assert schema["properties"]["subtasks"]["items"]["properties"]["assignee"]["enum"] == [
        "sre", "developer", "comms", "reviewer"]

    # a plan made for a longer run, resumed with fewer turns: the synthesis comes early
    script2 = Scripted(plan_json(PLAN))
    scripted_server.responder = script2
    first = await Session.start(pack=load_pack(PACK), topic="t", store=store,
                                options=options(scripted_server, max_turns=1))
    await collect(first)
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=3))
    events = await collect(again)
    assert script2.subtasks == [1]
    (synthesis,) = script2.synthesis
    assert "RESULT-1" in synthesis and synthesis.count("[NOT DONE: out of turns]") == 3
    skipped = [e for e in events if e.kind == "task_updated" and e.status == "failed"]
    assert [s.task_id for s in skipped] == ["t2", "t3", "t4"]
    assert events[-1].reason == "max_turns"


def test_headless_run_of_the_builtin_pack(scripted_server: ScriptedServer,
                                          tmp_path: Path) -> None:
    db = tmp_path / "pm.db"
    done = agentchat("run", "--pack", PACK, "--topic", "The payments API returned 500s for "
                     "40 minutes after a config push", "--model", "openai/test-model",
                     "--api-base", scripted_server.url, "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Grace, Post-mortem Lead" in done.stdout
    assert "Session ended: goal_met" in done.stdout
    listed = agentchat("sessions", "list", "--json", "--db", str(db))
    (row,) = json.loads(listed.stdout)
    out = tmp_path / "pm.json"
    exported = agentchat("sessions", "export", row["id"], "--format", "json", "-o", str(out),
                         "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    kinds = [e["kind"] for e in json.loads(out.read_text())["events"]]
    assert kinds.count("task_updated") >= 3  # queued, running, done for the one subtask
