"""The sequential pattern against the scripted server: a pipeline that hands its output on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.session import Session
from agents.store import Store
from personas.loader import load_pack
from personas.models import Pack
from tests.e2e.test_cli import agentchat
from tests.support.openai_server import ScriptedServer
from tests.support.replies import DefaultResponder, Error, Reply, Text
from tests.support.sessions import collect, last_user, server_options

PACK = "writing-pipeline"
ORDER = ["outliner", "writer", "editor", "checker"]


options = server_options


def speaker_of(pack: Pack, body: dict[str, Any]) -> str:
    system = str(body["messages"][0]["content"])
    return next(p.id for p in pack.personas if system.startswith(p.system_prompt.strip()))


def marked(pack: Pack) -> DefaultResponder:
    """Each persona answers 'OUTPUT-OF-<id>-<n>', so a test can follow what is handed on."""
    counts: dict[str, int] = {}

    class Marked(DefaultResponder):
        def __call__(self, body: dict[str, Any]) -> Reply:
            who = speaker_of(pack, body)
            counts[who] = counts.get(who, 0) + 1
            return Text(f"OUTPUT-OF-{who}-{counts[who]}")

    return Marked()


async def test_pipeline_runs_in_order_and_hands_each_output_on(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = marked(pack)
    session = await Session.start(pack=pack, topic="A blog post on our p99 fix", store=store,
                                  options=options(scripted_server))
    events = await collect(session)

    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [[p] for p in ORDER]
    assert decisions[0].reason == "pipeline step 1 of 4"
    assert decisions[1].reason == ("pipeline step 2 of 4: Theo, Content Strategist hands over "
                                   "to Ada, Technical Writer")
    assert not any(d.fallback for d in decisions)
    assert events[-1].kind == "session_ended"
    assert (events[-1].reason, events[-1].detail) == ("goal_met", "the pipeline finished")
    assert [e.turn for e in events if e.kind == "checkpoint_created"] == [0, 1, 2, 3, 4]
    assert not any(e.kind == "message_started" and e.turn == 0 for e in events)  # no opening
    assert not any(u.overhead for u in events if u.kind == "usage_recorded")  # no routing calls

    bodies = scripted_server.chat_bodies
    assert [speaker_of(pack, b) for b in bodies] == ORDER
    first = last_user(bodies[0])
    assert "You are step 1 of 4" in first and "You start the pipeline" in first
    assert "A blog post on our p99 fix" in first
    assert "Your output goes to Ada, Technical Writer (writer) next" in first
    for index in range(1, 4):
        instruction = last_user(bodies[index])
        assert f"You are step {index + 1} of 4" in instruction
        assert f"<<<\nOUTPUT-OF-{ORDER[index - 1]}-1\n>>>" in instruction
    assert "You are the last step" in last_user(bodies[3])


async def test_rounds_repeat_the_pipeline_from_the_last_output(
    scripted_server: ScriptedServer, store: Store
) -> None:
    base = load_pack(PACK)
    flow = base.flow.model_copy(update={"order": ["writer", "editor"], "rounds": 2})
    pack = base.model_copy(update={"flow": flow})
    scripted_server.responder = marked(pack)
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    decisions = [e for e in events if e.kind == "moderator_decision"]
    assert [d.speakers[0] for d in decisions] == ["writer", "editor", "writer", "editor"]
    assert decisions[2].reason.startswith("pipeline step 1 of 2, round 2 of 2")
    third = last_user(scripted_server.chat_bodies[2])
    assert "<<<\nOUTPUT-OF-editor-1\n>>>" in third  # round 2 starts from round 1's end
    assert events[-1].reason == "goal_met"


async def test_default_order_is_every_persona_but_the_moderator(
    scripted_server: ScriptedServer, store: Store
) -> None:
    base = load_pack(PACK)
    pack = base.model_copy(update={"flow": base.flow.model_copy(update={"order": []})})
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    spoke = [e.speakers[0] for e in events if e.kind == "moderator_decision"]
    assert spoke == [p.id for p in pack.personas if p.role != "moderator"]


async def test_human_note_reaches_the_next_step(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server, max_turns=2))
    session.say("Aim it at SREs, not managers.")
    events = await collect(session)
    assert any(e.kind == "message_completed" and e.agent == "human" for e in events)
    first, second = (last_user(b) for b in scripted_server.chat_bodies)
    assert "The human added" in first and "Aim it at SREs, not managers." in first
    assert "The human added" not in second  # passed on once, then it is in the transcript


async def test_resume_mid_pipeline_continues_at_the_right_step(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    scripted_server.responder = marked(pack)
    first = await Session.start(pack=pack, topic="t", store=store,
                                options=options(scripted_server, max_turns=2))
    events = await collect(first)
    assert events[-1].reason == "max_turns"
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server, max_turns=4))
    resumed = await collect(again)
    decisions = [e for e in resumed if e.kind == "moderator_decision"]
    assert [d.speakers for d in decisions] == [["editor"], ["checker"]]
    assert decisions[0].reason.startswith("pipeline step 3 of 4")
    assert resumed[-1].reason == "max_turns" and again.turn == 4
    editor = last_user(scripted_server.chat_bodies[2])
    assert "<<<\nOUTPUT-OF-writer-1\n>>>" in editor  # the output from before the resume
    finished = await Session.reopen(store=store, session_id=first.id,
                                    options=options(scripted_server, max_turns=8))
    done = await collect(finished)
    assert not any(e.kind == "moderator_decision" for e in done)
    assert done[-1].reason == "goal_met"


async def test_a_failed_step_hands_on_nothing_rather_than_an_older_output(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    default = marked(pack)

    def responder(body: dict[str, Any]) -> Reply:
        if speaker_of(pack, body) == "writer":
            return Error(400, "The scripted request was rejected.")  # non-fatal: bad request
        return default(body)

    scripted_server.responder = responder
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    events = await collect(session)
    assert [e.speakers[0] for e in events if e.kind == "moderator_decision"] == ORDER
    editor = next(last_user(b) for b in scripted_server.chat_bodies
                  if speaker_of(pack, b) == "editor")
    assert "Ada, Technical Writer (writer), the previous step, produced no output" in editor
    assert "<<<\nOUTPUT-OF-outliner" not in editor


async def test_a_step_stopped_mid_stream_reruns_with_the_right_input(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    default = marked(pack)

    def responder(body: dict[str, Any]) -> Reply:
        if speaker_of(pack, body) == "editor":
            return Text("partial edit " * 200, chunk_size=5, delay_s=0.01)
        return default(body)

    scripted_server.responder = responder
    first = await Session.start(pack=pack, topic="t", store=store,
                                options=options(scripted_server))
    async for event in first.events():
        if event.kind == "token_delta" and event.agent == "editor":
            first.stop()
    assert first.end_reason == "user"
    assert (await store.checkpoints(first.id, first.branch_id))[-1].turn == 2
    scripted_server.responder = marked(pack)
    again = await Session.reopen(store=store, session_id=first.id,
                                 options=options(scripted_server))
    events = await collect(again)
    assert [e.speakers[0] for e in events if e.kind == "moderator_decision"] == ORDER[2:]
    rerun = last_user(scripted_server.chat_bodies[-2])
    assert "You are step 3 of 4" in rerun and "<<<\nOUTPUT-OF-writer-1\n>>>" in rerun


async def test_rollback_restarts_the_pipeline_from_that_step(
    scripted_server: ScriptedServer, store: Store
) -> None:
    pack = load_pack(PACK)
    session = await Session.start(pack=pack, topic="t", store=store,
                                  options=options(scripted_server))
    await collect(session)
    await session.rollback(1)
    events = await collect(session)
    assert [e.speakers[0] for e in events if e.kind == "moderator_decision"] == ORDER[1:]


def test_headless_run_of_the_writing_pipeline(scripted_server: ScriptedServer,
                                              tmp_path: Path) -> None:
    done = agentchat("run", "--pack", PACK, "--topic", "An RFC for ephemeral CI runners",
                     "--model", "openai/test-model", "--api-base", scripted_server.url,
                     "--db", str(tmp_path / "w.db"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Session ended: goal_met — the pipeline finished" in done.stdout
    assert done.stdout.index("Theo, Content Strategist") < done.stdout.index("Felix, Fact-Checker")
