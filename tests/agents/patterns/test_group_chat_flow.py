"""group_chat's allowed-transitions graph and combined (any/all) termination conditions."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from agents.events import Event
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Reply, Text

DECISION_SCHEMA = "moderator_decision"


def design_review(**changes: dict[str, Any]) -> Pack:
    """The design-review pack with some tables (``flow``, ``termination``) updated."""
    data = load_pack("design-review").model_dump(mode="json")
    for table, values in changes.items():
        data[table].update(values)
    return Pack.model_validate(data)


def options(server: ScriptedServer, max_turns: int) -> RunOptions:
    return RunOptions(model="openai/test-model", api_base=server.url, max_turns=max_turns)


class Moderated:
    """A responder: the moderator picks the scripted speakers in order (recording the allowed
    enum it was offered); persona ``i``-th speeches come from ``speeches`` in order."""

    def __init__(self, picks: list[str], speeches: list[str] | None = None) -> None:
        self.picks = list(picks)
        self.speeches = list(speeches or [])
        self.enums: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if "response_format" in body:
                spec = body["response_format"]["json_schema"]
                assert spec["name"] == DECISION_SCHEMA
                self.enums.append(spec["schema"]["properties"]["speakers"]["items"]["enum"])
                pick = self.picks.pop(0) if self.picks else self.enums[-1][0]
                return Text(json.dumps({"speakers": [pick], "reason": f"{pick} next",
                                        "done": False}))
            return Text(self.speeches.pop(0) if self.speeches else "A short contribution.")


def speakers(events: list[Event]) -> list[list[str]]:
    return [e.speakers for e in events if e.kind == "moderator_decision"]


def patch_block(**patch: Any) -> str:
    return f"Agreed.\n```json\n{json.dumps({'state_patch': patch})}\n```"


async def test_transitions_restrict_whom_the_moderator_may_pick(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = design_review(flow={"transitions": {"architect": ["critic"],
                                               "critic": ["sre", "security"]}})
    script = Moderated(["architect", "critic", "security", "product"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 4))
    events = [event async for event in session.events()]

    everyone = [p.id for p in pack.speakers]
    assert script.enums == [everyone, ["critic"], ["sre", "security"], everyone]
    assert speakers(events) == [["architect"], ["critic"], ["security"], ["product"]]
    assert not any(e.fallback for e in events if e.kind == "moderator_decision")


async def test_a_pick_outside_the_transitions_falls_back(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = design_review(flow={"transitions": {"architect": ["critic"]}})
    script = Moderated(["architect", "product", "product"])  # product may not follow architect
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 2))
    events = [event async for event in session.events()]

    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert decisions[1].fallback and decisions[1].speakers == ["critic"]
    assert "product" in decisions[1].fallback_reason


async def test_the_human_may_call_on_anyone_despite_the_transitions(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = design_review(flow={"transitions": {"architect": ["critic"]}})
    script = Moderated(["architect", "security"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 2))
    session.step()  # one turn, then pause so the human can speak
    events: list[Event] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "session_paused" and event.paused:
            session.say("@security is the token stored safely?")
            session.resume()

    assert script.enums[1] == ["critic", "security"]
    assert speakers(events) == [["architect"], ["security"]]


@pytest.mark.parametrize(("speeches", "reason", "detail", "turns"), [
    (["Fine.", "That is all. WRAP UP"], "stop_phrase", "someone said 'WRAP UP'", 2),
    (["Fine.", patch_block(add_decisions=["Use Postgres"])], "goal_met",
     "1 decisions recorded", 2),
    (["Fine.", patch_block(put_artifacts=[{"name": "adr.md", "content": "# ADR"}])],
     "goal_met", "1 artifacts written", 2),
])
async def test_mode_any_ends_at_the_first_condition_met(
        scripted_server: ScriptedServer, store: Store, speeches: list[str], reason: str,
        detail: str, turns: int) -> None:
    pack = design_review(termination={"mode": "any", "stop_phrase": "WRAP UP",
                                      "min_decisions": 1, "min_artifacts": 1})
    scripted_server.responder = Moderated([], ["Opening.", *speeches])
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 6))
    events = [event async for event in session.events()]

    ended = events[-1]
    assert ended.kind == "session_ended"
    assert (ended.reason, ended.detail, ended.turns) == (reason, detail, turns)


async def test_mode_all_ends_only_when_every_condition_holds(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = design_review(termination={"mode": "all", "stop_phrase": "WRAP UP",
                                      "min_decisions": 1, "min_artifacts": 1})
    speeches = [
        "Opening.",
        patch_block(add_decisions=["Use Postgres"]),  # 1: a decision
        "Not yet. WRAP UP",  # 2: the phrase, but no artifact
        patch_block(put_artifacts=[{"name": "adr.md", "content": "# ADR"}]),  # 3: no phrase
        "Everything is in place. WRAP UP",  # 4: all three hold
        "Never said.",
    ]
    scripted_server.responder = Moderated([], speeches)
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 8))
    events = [event async for event in session.events()]

    ended = events[-1]
    assert ended.kind == "session_ended" and ended.turns == 4
    assert ended.reason == "stop_phrase"
    assert ended.detail == ("someone said 'WRAP UP'; 1 decisions recorded; "
                            "1 artifacts written")
    assert session.state.decisions == ["Use Postgres"] and "adr.md" in session.state.artifacts


async def test_mode_all_without_the_stop_phrase_runs_to_max_turns(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = design_review(termination={"mode": "all", "stop_phrase": "WRAP UP",
                                      "min_decisions": 1})
    scripted_server.responder = Moderated(
        [], ["Opening.", patch_block(add_decisions=["Use Postgres"]), "More.", "More."])
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 3))
    events = [event async for event in session.events()]

    assert events[-1].kind == "session_ended" and events[-1].reason == "max_turns"
    assert session.state.decisions == ["Use Postgres"]


async def test_transitions_after_the_moderator_apply_to_the_first_turn(
        scripted_server: ScriptedServer, store: Store) -> None:
    # The moderator opens the chat, so its entry says who may speak first.
    pack = design_review(flow={"transitions": {"chair": ["product"]}})
    script = Moderated(["product", "architect"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, 2))
    events = [event async for event in session.events()]

    assert script.enums[0] == ["product"]
    assert script.enums[1] == [p.id for p in pack.speakers]
    assert speakers(events) == [["product"], ["architect"]]
