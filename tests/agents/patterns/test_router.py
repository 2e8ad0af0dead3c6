"""The router pattern against the scripted server: each request goes to exactly one persona."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.events import Event, ModeratorDecision
from agents.patterns.router import keyword_route
from agents.session import Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Reply, Text
from tests.support.sessions import collect, is_decision, last_user, server_options

PACK = "help-desk"
TOPIC = "Our orders query got slow after the last migration"
QUESTION = "Is it safe to keep the OAuth client secret in the repo?"


options = server_options


def decisions(events: list[Event]) -> list[ModeratorDecision]:
    return [e for e in events if isinstance(e, ModeratorDecision)]


def routes(table: dict[str, tuple[str, str]]) -> DefaultResponder:
    """Route decisions by a key found in the request; everything else answered by default."""

    class Routes(DefaultResponder):
        def __call__(self, body: dict[str, Any]) -> Reply:
            if not is_decision(body):
                return super().__call__(body)
            request = last_user(body).split("The request to route:", 1)[1]
            for key, (persona, reason) in table.items():
                if key in request:
                    return Text(json.dumps({"persona": persona, "reason": reason}))
            return Text('{"persona": "nobody", "reason": "no idea"}')

    return Routes()


SCRIPT = {
    "orders query": ("database", "a slow query after a migration points at an index"),
    "OAuth": ("security", "a client secret in a repo is a security question"),
}


async def test_topic_and_human_message_each_go_to_one_persona(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = routes(SCRIPT)
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server))
    session.say(QUESTION)  # before the first step: queued after the topic
    events = await collect(session)

    made = decisions(events)
    assert [d.speakers for d in made] == [["database"], ["security"]]
    assert [d.reason for d in made] == [SCRIPT["orders query"][1], SCRIPT["OAuth"][1]]
    assert not any(d.fallback for d in made)
    assert events[-1].kind == "session_ended"
    assert (events[-1].reason, events[-1].detail) == ("goal_met", "every request was answered")
    usage = [e for e in events if e.kind == "usage_recorded"]
    assert sum(u.overhead for u in usage) == 2 and all(u.agent == "dispatch" for u in usage
                                                       if u.overhead)

    bodies = scripted_server.chat_bodies
    routing = [b for b in bodies if is_decision(b)]
    schema = routing[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["persona"]["enum"] == list(pack.flow.members)
    assert schema["required"] == ["persona", "reason"]
    answers = [b for b in bodies if not is_decision(b)]
    assert TOPIC in last_user(answers[0]) and "from the topic of the session" in last_user(
        answers[0])
    assert SCRIPT["orders query"][1] in last_user(answers[0])
    assert QUESTION in last_user(answers[1]) and "from the human" in last_user(answers[1])
    replies = [e for e in events if e.kind == "message_completed" and e.agent != "human"]
    assert [m.agent for m in replies] == ["database", "security"]


async def test_interactive_session_waits_for_the_next_message(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = routes(SCRIPT)
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server, interactive=True))
    events: list[Event] = []
    async for event in session.events():
        events.append(event)
        if event.kind == "checkpoint_created" and event.turn == 1:
            session.say(QUESTION)
        elif event.kind == "checkpoint_created" and event.turn == 2:
            session.stop()  # the router is waiting for the human again
    made = decisions(events)
    assert [d.speakers for d in made] == [["database"], ["security"]]
    assert events[-1].kind == "session_ended" and events[-1].reason == "user"
    assert session.turn == 2


async def test_garbage_twice_falls_back_to_a_keyword_match(
    scripted_server: ScriptedServer, store: Store
) -> None:
    tries: list[str] = []
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        if is_decision(body):
            tries.append(last_user(body))
            return Text("I think the database person, probably?")
        return default(body)

    scripted_server.responder = responder
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="Postgres replication lag keeps growing",
                                  store=store, options=options(scripted_server))
    events = await collect(session)
    made = decisions(events)
    assert len(tries) == 2 and "previous answer was invalid" in tries[1]
    assert len(made) == 1 and made[0].speakers == ["database"]
    assert made[0].fallback
    assert made[0].fallback_reason.startswith("invalid routing decision twice")
    assert "postgres" in made[0].reason and "replication" in made[0].reason
    assert events[-1].reason == "goal_met"


async def test_an_unknown_persona_is_retried_then_falls_back_to_the_first_candidate(
    scripted_server: ScriptedServer, store: Store
) -> None:
    scripted_server.responder = routes({})  # always {"persona": "nobody", ...}
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="zzz qqq", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    made = decisions(events)
    assert made[0].speakers == [pack.flow.members[0]] and made[0].fallback
    assert "'nobody' is not one of" in made[0].fallback_reason
    assert "no keyword matched" in made[0].reason


async def test_an_addressed_message_goes_straight_to_that_persona(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = routes(SCRIPT)
    session = await Session.start(pack=pack, topic=TOPIC, store=store,
                                  options=options(scripted_server))
    session.say("@tooling how do I undo my last commit?")
    events = await collect(session)
    made = decisions(events)
    assert [d.speakers for d in made] == [["database"], ["tooling"]]
    assert made[1].reason == "the human addressed @tooling directly"
    assert sum(is_decision(b) for b in scripted_server.chat_bodies) == 1


async def test_resume_keeps_the_queue_of_unanswered_requests(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = routes(SCRIPT)
    first = await Session.start(pack=pack, topic=TOPIC, store=store,
                                options=options(scripted_server, max_turns=1))
    first.say(QUESTION)
    events = await collect(first)
    assert [d.speakers for d in decisions(events)] == [["database"]]
    assert events[-1].reason == "max_turns"
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=5))
    resumed = await collect(again)
    assert [d.speakers for d in decisions(resumed)] == [["security"]]
    assert resumed[-1].reason == "goal_met"
    assert QUESTION in last_user(scripted_server.chat_bodies[-1])


async def test_a_question_cut_off_by_a_stop_is_answered_after_resume(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    routed = routes(SCRIPT)

    def slow_security(body: dict[str, Any]) -> Reply:
        system = str(body["messages"][0]["content"])
        if not is_decision(body) and system.startswith("You are the security specialist"):
            return Text("Rotate it first. " * 100, chunk_size=5, delay_s=0.01)
        return routed(body)

    scripted_server.responder = slow_security
    first = await Session.start(pack=pack, topic=TOPIC, store=store,
                                options=options(scripted_server, interactive=True))
    async for event in first.events():
        if event.kind == "checkpoint_created" and event.turn == 1:
            first.say(QUESTION)
        elif event.kind == "token_delta" and event.agent == "security":
            first.stop()
    assert (await store.checkpoints(first.id, first.branch_id))[-1].turn == 1
    scripted_server.responder = routes(SCRIPT)
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server))
    events = await collect(again)
    assert [d.speakers for d in decisions(events)] == [["security"]]
    assert QUESTION in last_user(scripted_server.chat_bodies[-1])
    assert events[-1].reason == "goal_met"


def test_keyword_route_prefers_the_most_matching_expertise() -> None:
    pack: Pack = load_pack(PACK)
    candidates = [pack.persona(m) for m in pack.flow.members]
    people = [p for p in candidates if p is not None]
    chosen, why = keyword_route("our kubernetes deploys fail in the CI pipeline", people)
    assert chosen.id == "platform" and "kubernetes" in why
    chosen, why = keyword_route("merge conflicts in git again", people)
    assert chosen.id == "tooling"
    chosen, why = keyword_route("hmm", people)
    assert chosen.id == people[0].id and "no keyword matched" in why


def test_headless_run_of_the_help_desk(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    done = agentchat("run", "--pack", PACK, "--topic", "Why does git say detached HEAD?",
                     "--model", "openai/test-model", "--api-base", scripted_server.url,
                     "--db", str(tmp_path / "h.db"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Session ended: goal_met — every request was answered" in done.stdout
    assert "→ turn 1:" in done.stdout
