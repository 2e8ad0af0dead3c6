"""The parallel pattern against the scripted server: a truly concurrent fan-out, then a merge."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from agents.session import Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Error, Reply, Text
from tests.support.sessions import collect, server_options

PACK = "estimate-panel"


options = server_options


def system_text(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"])


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body["messages"])


def speaker_of(pack: Pack, body: dict[str, Any]) -> str:
    """Which persona a request speaks for (its system prompt starts with the persona's)."""
    system = system_text(body)
    return next(p.id for p in pack.personas if system.startswith(p.system_prompt.strip()))


def one_round(name: str = PACK) -> Pack:
    pack = load_pack(name)
    return pack.model_copy(update={"flow": pack.flow.model_copy(update={"rounds": 1})})


async def test_fan_out_then_merge_in_order(scripted_server: ScriptedServer, store: Store) -> None:
    pack = load_pack(PACK)
    members = list(pack.flow.members)
    session = await Session.start(pack=pack, topic="Add SSO login with Okta", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [members, ["coach"], members, ["coach"]]
    assert "fan-out (round 1 of 2)" in decisions[0].reason
    assert decisions[1].reason.startswith("merge (round 1 of 2)")
    assert events[-1].kind == "session_ended" and events[-1].reason == "goal_met"
    assert "Grace, Estimation Coach" in events[-1].detail
    assert [e.turn for e in events if e.kind == "checkpoint_created"] == [0, 1, 2, 3, 4]
    # no opening: nobody speaks at turn 0
    assert not any(e.kind == "message_started" and e.turn == 0 for e in events)
    # every member got the same task, without the conversation (independent answers)
    fan_out = scripted_server.chat_bodies[:len(members)]
    assert sorted(speaker_of(pack, b) for b in fan_out) == sorted(members)
    assert len({b["messages"][1]["content"] for b in fan_out}) == 1
    assert "Add SSO login with Okta" in fan_out[0]["messages"][1]["content"]
    # the second fan-out revises against the first merge
    first_merge = next(e for e in events if e.kind == "message_completed" and e.agent == "coach")
    second = [b for b in scripted_server.chat_bodies[len(members) + 1:]
              if speaker_of(pack, b) in members]
    assert len(second) == len(members)
    assert all(first_merge.text in user_text(b) for b in second)


async def test_merge_sees_every_answer_attributed(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = one_round()
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        who = speaker_of(pack, body)
        if who in pack.flow.members:
            return Text(f"ESTIMATE-{who.upper()}: 3/5/9 days")
        return default(body)

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    await collect(session)
    merge = [b for b in scripted_server.chat_bodies if speaker_of(pack, b) == "coach"]
    assert len(merge) == 1
    text = user_text(merge[0])
    for member in pack.flow.members:
        name = pack.persona(member).name  # type: ignore[union-attr]
        assert f"### {name} ({member})\nESTIMATE-{member.upper()}: 3/5/9 days" in text
    assert "all 4 answers" in text


async def fan_out_wall(session: Session, turn: int) -> float:
    """Run the session; the wall time from TurnStarted to CheckpointCreated of ``turn``."""
    marks: dict[str, float] = {}
    async for event in session.events():
        if event.kind == "turn_started" and event.turn == turn:
            marks["start"] = time.monotonic()
        elif event.kind == "checkpoint_created" and event.turn == turn:
            marks["end"] = time.monotonic()
    return marks["end"] - marks["start"]


# The timed fan-out is the second round's (turn 3): the first call of a process pays a one-time
# warm-up in litellm (~1 s here) that is not serialisation.
async def test_fan_out_is_truly_concurrent(
    scripted_server: ScriptedServer, store: Store, litellm_module: ModuleType
) -> None:
    pack = load_pack(PACK)
    delays = dict(zip(pack.flow.members, (0.4, 0.6, 0.8, 1.0), strict=True))
    slowest = max(delays.values())
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        nonlocal in_flight, peak
        who = speaker_of(pack, body)
        if who not in delays:
            return default(body)
        with lock:  # requests being answered at once (the server answers in its own threads)
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(delays[who])
        with lock:
            in_flight -= 1
        return Text(f"{who} says 5 days")

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    wall = await fan_out_wall(session, 3)
    assert peak == len(delays)
    assert slowest <= wall < 1.5 * slowest, f"fan-out took {wall:.2f} s: serialised"


async def test_first_byte_delays_overlap(
    scripted_server: ScriptedServer, store: Store, litellm_module: ModuleType
) -> None:
    # The same, with the delay on the wire (the server waits before the first byte).
    pack = load_pack(PACK)
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        if speaker_of(pack, body) in pack.flow.members:
            return Text("five days", first_byte_delay_s=0.8)
        return default(body)

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    wall = await fan_out_wall(session, 3)
    assert 0.8 <= wall < 1.5 * 0.8, f"fan-out took {wall:.2f} s: serialised"


async def test_a_failing_member_is_retried_and_never_loses_the_others(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = one_round()
    failures: list[str] = []
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        who = speaker_of(pack, body)
        if who == "qa":
            failures.append(who)
            return Error(400, "The scripted request was rejected.")
        if who in pack.flow.members:
            return Text(f"{who}: four days")
        return default(body)

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert len(failures) == pack.flow.task_attempts  # retried, then given up
    errors = [e for e in events if e.kind == "error_raised"]
    assert any("retrying" in e.message for e in errors)
    assert events[-1].reason == "goal_met"
    merge = next(b for b in scripted_server.chat_bodies if speaker_of(pack, b) == "coach")
    text = user_text(merge)
    assert "(qa)\n(no answer:" in text
    for other in ("backend", "frontend", "platform"):
        assert f"{other}: four days" in text


async def test_resume_between_fan_out_and_merge_keeps_the_answers(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = one_round()
    default = DefaultResponder()

    def responder(body: dict[str, Any]) -> Reply:
        who = speaker_of(pack, body)
        if who in pack.flow.members:
            return Text(f"KEPT-{who}")
        return default(body)

    scripted_server.responder = responder
    first = await Session.start(pack=pack, topic="t", store=store,
                                options=options(scripted_server, max_turns=1))
    events = await collect(first)
    assert events[-1].reason == "max_turns"
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=4))
    resumed = await collect(again)
    decisions = [e for e in resumed if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [["coach"]]
    assert resumed[-1].reason == "goal_met"
    merge = [b for b in scripted_server.chat_bodies if speaker_of(pack, b) == "coach"]
    assert len(merge) == 1
    assert all(f"KEPT-{m}" in user_text(merge[0]) for m in pack.flow.members)


def test_headless_run_of_the_estimate_panel(scripted_server: ScriptedServer,
                                            tmp_path: Path) -> None:
    done = agentchat("run", "--pack", PACK, "--topic", "Estimate adding CSV export",
                     "--model", "openai/test-model", "--api-base", scripted_server.url,
                     "--db", str(tmp_path / "p.db"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Session ended: goal_met" in done.stdout
    assert "Grace, Estimation Coach" in done.stdout
    assert done.stdout.count("fan-out") == 2
