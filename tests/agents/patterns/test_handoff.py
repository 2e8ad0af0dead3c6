"""The handoff pattern against the scripted server: each kind of handoff, its events, resume."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from agents.events import Event
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error, Reply, Text, ToolCall

PACK = "support-escalation"
TOPIC = "A customer cannot finish setting up their workspace"


def pack_with(**flow: Any) -> Pack:
    """The built-in pack with some ``[flow]`` keys replaced."""
    data = load_pack(PACK).model_dump(mode="json")
    data["flow"].update(flow)
    return Pack.model_validate(data)


def options(server: ScriptedServer, **kw: Any) -> RunOptions:
    base: dict[str, Any] = {"model": "openai/test-model", "api_base": server.url, "max_turns": 2}
    base.update(kw)
    return RunOptions(**base)


class ByPersona:
    """A responder: each persona's scripted replies in order, then a neutral answer."""

    def __init__(self, pack: Pack, **replies: list[Reply | str]) -> None:
        self.pack = pack
        self.replies = {k: list(v) for k, v in replies.items()}
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def speaker(self, body: dict[str, Any]) -> str:
        system = str(body["messages"][0]["content"])
        return next(p.id for p in self.pack.personas if f"You are {p.name} (" in system)

    def __call__(self, body: dict[str, Any]) -> Reply:
        who = self.speaker(body)
        with self._lock:
            self.bodies.append((who, body))
            queue = self.replies.get(who) or []
            reply = queue.pop(0) if queue else f"{who} is looking into it."
        return Text(reply) if isinstance(reply, str) else reply

    def order(self) -> list[str]:
        return [who for who, _ in self.bodies]


async def run(session: Session) -> list[Event]:
    return [event async for event in session.events()]


def handoffs(events: list[Event]) -> list[Any]:
    return [e for e in events if e.kind == "handoff_occurred"]


def user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


async def test_explicit_handoff_by_tool_call(scripted_server: ScriptedServer,
                                             store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=[ToolCall(
        "transfer_to_billing", {"reason": "the customer disputes a charge"},
        content="Let me bring in our billing specialist.")])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store, options=options(
        scripted_server, model="openai/gpt-4o-mini"))
    events = await run(session)

    assert script.order() == ["triage", "billing", "billing"]
    tools = [t["function"]["name"] for t in script.bodies[0][1]["tools"]]
    assert tools == ["update_shared_state", "transfer_to_billing", "transfer_to_infra",
                     "transfer_to_security", "transfer_to_senior"]
    billing_tools = [t["function"]["name"] for t in script.bodies[1][1]["tools"]]
    assert "transfer_to_triage" in billing_tools and "transfer_to_billing" not in billing_tools
    [handoff] = handoffs(events)
    assert (handoff.turn, handoff.agent, handoff.to, handoff.how) == (0, "triage", "billing",
                                                                      "explicit")
    assert handoff.reason == "the customer disputes a charge" and handoff.model is None
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [["billing"], ["billing"]]
    assert "explicit handoff from triage" in decisions[0].reason
    assert "continues" in decisions[1].reason

    stored = [r for r in await store.events(session.id, session.branch_id)
              if r.kind == "handoff_occurred"]
    assert len(stored) == 1
    assert stored[0].agent == "triage"
    assert stored[0].payload["to"] == "billing" and stored[0].payload["how"] == "explicit"
    assert stored[0].payload["reason"] == "the customer disputes a charge"


async def test_explicit_handoff_by_directive_without_tools(scripted_server: ScriptedServer,
                                                           store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=[
        "Thanks, I see the problem.\nHANDOFF: @infra — their API calls fail since this morning"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server))
    events = await run(session)

    assert all("tools" not in body for _, body in script.bodies)  # test-model has no tools
    assert "HANDOFF: @<id>" in user_text(script.bodies[0][1])  # the directive is explained
    assert script.order() == ["triage", "infra", "infra"]
    [handoff] = handoffs(events)
    assert (handoff.agent, handoff.to, handoff.how) == ("triage", "infra", "explicit")
    assert handoff.reason == "their API calls fail since this morning"


async def test_handoff_to_a_target_the_transitions_forbid_is_refused(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = pack_with(transitions={"triage": ["infra"]})
    script = ByPersona(pack, triage=["Over to Nora.\nHANDOFF: @billing — a money question"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await run(session)

    assert not handoffs(events)
    assert script.order() == ["triage", "triage"]
    errors = [e for e in events if e.kind == "error_raised"]
    assert len(errors) == 1 and not errors[0].fatal
    assert "@billing" in errors[0].message and "allowed: infra" in errors[0].message


async def test_condition_by_keyword_in_the_agent_and_the_human_message(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=["They report an outage of the dashboard since 9:00."])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=3))
    session.step()  # run the opening and one turn, then pause
    events: list[Event] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "session_paused" and event.paused:
            session.say("Also, I was charged twice for May.")
            session.resume()

    assert script.order() == ["triage", "infra", "billing", "billing"]
    first, second = handoffs(events)
    assert (first.turn, first.agent, first.to, first.how) == (0, "triage", "infra", "condition")
    assert first.reason == "the message mentions “outage”"
    assert (second.turn, second.agent, second.to, second.how) == (2, "infra", "billing",
                                                                  "condition")
    assert second.reason == "the human mentions “charged twice”"
    billing_prompt = user_text(script.bodies[2][1])
    assert "The customer has just written:\n- Also, I was charged twice for May." in billing_prompt
    assert "The customer has just written" not in user_text(script.bodies[3][1])  # once only


async def test_the_human_addressing_a_persona_hands_off_to_it(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack)
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=1))
    session.say("@security someone logged in from another country")
    events = await run(session)

    assert script.order() == ["triage", "security"]
    [handoff] = handoffs(events)
    assert (handoff.turn, handoff.to, handoff.how) == (1, "security", "explicit")
    assert handoff.reason == "the human asked for @security"


async def test_condition_by_state_predicate_fires_when_it_becomes_true(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack(PACK)
    questions = {"state_patch": {"add_open_questions": [
        "Which workspace is it?", "Since when?", "Which browser?"]}}
    script = ByPersona(
        pack,
        triage=[f"Some questions first.\n```json\n{json.dumps(questions)}\n```"],
        senior=["This is routine after all.\nHANDOFF: @triage — only setup questions remain"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=3))
    events = await run(session)

    assert len(session.state.open_questions) == 3
    # still three open questions after the senior hands back: the rule does not fire again
    assert script.order() == ["triage", "senior", "triage", "triage"]
    first, second = handoffs(events)
    assert (first.turn, first.agent, first.to, first.how) == (0, "triage", "senior",
                                                              "condition")
    assert first.reason == "the shared state now has open_questions >= 3"
    assert (second.agent, second.to, second.how) == ("senior", "triage", "explicit")


async def test_escalation_after_an_error(scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=[Error(400, "Invalid request: unsupported parameter.")])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await run(session)

    assert script.order() == ["triage", "senior"]
    [handoff] = handoffs(events)
    assert (handoff.agent, handoff.to, handoff.how) == ("triage", "senior", "escalation")
    assert handoff.reason.startswith("the answer failed:")
    assert events[-1].kind == "session_ended" and events[-1].reason == "max_turns"


@pytest.mark.parametrize(("text", "why"), [
    ("I can't help with that, it is outside what I know.", "refusal"),
    ("Try clearing the cache and signing in again.\nCONFIDENCE: low", "declared low confidence"),
])
async def test_escalation_after_refusal_or_low_confidence(
        scripted_server: ScriptedServer, store: Store, text: str, why: str) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=[text])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await run(session)

    assert script.order() == ["triage", "senior"]
    [handoff] = handoffs(events)
    assert (handoff.agent, handoff.to, handoff.how) == ("triage", "senior", "escalation")
    assert handoff.reason.startswith(why)


async def test_escalation_to_a_model_then_resume_keeps_agent_and_model(
        scripted_server: ScriptedServer, store: Store) -> None:
    pack = pack_with(escalate_to=None, escalate_model="openai/stronger-model")
    script = ByPersona(pack, triage=["Over to billing.\nHANDOFF: @billing — a refund"],
                       billing=["Maybe a proration issue?\nCONFIDENCE: low"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=1))
    events = await run(session)
    assert script.order() == ["triage", "billing"]
    first, second = handoffs(events)
    assert (first.to, first.how, first.model) == ("billing", "explicit", None)
    assert (second.agent, second.to, second.how) == ("billing", "billing", "escalation")
    assert second.model == "openai/stronger-model"

    script.replies["billing"] = ["Found it.\nHANDOFF: @security — the card was stolen"]
    again = await Session.reopen(store=store, session_id=session.id,
                                 options=options(scripted_server, max_turns=3))
    events = await run(again)
    assert script.order()[2:] == ["billing", "security"]
    models = [body["model"] for _, body in script.bodies]
    # litellm sends the bare model name; the override ends with the persona it was given to
    assert models == ["test-model", "test-model", "stronger-model", "test-model"]
    assert [(h.to, h.how) for h in handoffs(events)] == [("security", "explicit")]
    checkpoints = await store.checkpoints(again.id, again.branch_id)
    assert checkpoints[-1].state["_routing"]["active"] == "security"
    assert checkpoints[-1].state["_routing"]["model"] is None


async def test_resolved_ends_the_session_with_goal_met(scripted_server: ScriptedServer,
                                                       store: Store) -> None:
    pack = load_pack(PACK)
    script = ByPersona(pack, triage=["Hi!", "Glad that worked.\nRESOLVED"])
    scripted_server.responder = script
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, max_turns=5))
    events = await run(session)

    assert script.order() == ["triage", "triage"]
    ended = events[-1]
    assert ended.kind == "session_ended" and ended.reason == "goal_met"
    assert "Riley" in ended.detail and ended.turns == 1


def test_headless_run_of_the_support_pack(scripted_server: ScriptedServer,
                                          tmp_path: Path) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = ByPersona(
        pack, triage=["Let me get the right person.\nHANDOFF: @security — a leaked key"])
    db = tmp_path / "cli.db"
    done = agentchat("run", "--pack", PACK, "--topic", "Our API key was posted on a forum",
                     "--model", "openai/test-model", "--api-base", scripted_server.url,
                     "--db", str(db), "--max-turns", "2")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Riley" in done.stdout and "Omar" in done.stdout
    assert "explicit handoff from triage: a leaked key" in done.stdout
    assert "Session ended: max_turns" in done.stdout
