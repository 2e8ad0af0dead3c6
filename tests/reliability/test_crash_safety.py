"""Crash safety: `agentchat run --json` killed with SIGKILL at random moments, then checked.

Each trial starts a real `agentchat run --json` process against the scripted server (streaming
slowly enough that kills land mid-message) and SIGKILLs it either at a random time or right
after a randomly chosen event (so kills also land between a call and the commits that follow
it). Then the database must pass ``PRAGMA integrity_check``; every event the run reported on
stdout must be in it (``message_completed`` is printed only after its commit, so a printed
message is a saved message); a message still streaming must be absent or marked interrupted;
and, for some trials, the session must reopen from its last checkpoint and run one more turn.

Trials are forked from a pre-warmed launcher (see ``zygote.py``): importing litellm costs ~5 s
of CPU per process here, which thirty fresh processes could not afford.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents.events import PERSISTED_KINDS
from agents.history import checkpoint_state
from agents.session import RunOptions, Session
from agents.store import Store
from tests.reliability.harness import (
    MODEL,
    ChatResponder,
    SocketLines,
    Zygote,
    integrity,
    json_lines,
    run_args,
)
from tests.support.openai_server import ScriptedServer

SEED = 20240611
TRIALS = 32
PARALLEL = 3
REOPEN_EVERY = 5  # every 5th trial also resumes the session and runs one more turn
TRIGGERS = ("token_delta", "message_started", "usage_recorded", "message_completed",
            "checkpoint_created", "moderator_decision", "state_patched")


@dataclass
class Trial:
    index: int
    mode: str
    db: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    problems: list[str] = field(default_factory=list)
    session_id: str | None = None
    in_flight: bool = False

    def problem(self, text: str) -> None:
        self.problems.append(f"trial {self.index} ({self.mode}, seed {SEED}): {text}")


@pytest.fixture
def crash_server() -> Iterator[ScriptedServer]:
    """Fast chunks (10 ms, 4 characters); decisions pick 1, 2, 3 speakers in turn; every third
    message patches the shared state."""
    with ScriptedServer() as server:
        server.responder = ChatResponder(delay_s=0.01, chunk_size=4, speaker_counts=(1, 2, 3),
                                          patch_every=3)
        yield server


def run_trial(zygote: Zygote, server: ScriptedServer, workdir: Path, index: int) -> Trial:
    rng = random.Random(SEED * 1000 + index)
    mode = "time" if index % 2 == 0 else "event"
    trial = Trial(index, mode, workdir / f"trial{index}.db")
    lines = SocketLines(f"\0agentchat-crash-{os.getpid()}-{index}")
    try:
        pid = zygote.spawn(run_args(server, trial.db, "--max-turns", "60", "--json"),
                           stdout_socket=lines.name, stderr=workdir / f"trial{index}.err")
        lines.accept()
        started = time.monotonic()
        if mode == "time":
            deadline, trigger, nth = started + rng.uniform(0.3, 2.0), "", 0
        else:
            deadline, trigger, nth = started + 6.0, rng.choice(TRIGGERS), rng.randint(1, 5)
        seen = 0
        while (line := lines.next_line(deadline)) is not None:
            trial.events += json_lines(line)
            if trigger and trial.events and trial.events[-1].get("kind") == trigger:
                seen += 1
                if seen == nth:
                    time.sleep(rng.uniform(0.0, 0.02))  # the random kill moment itself
                    break
        os.kill(pid, signal.SIGKILL)
        trial.status = zygote.wait(pid)
        while (line := lines.next_line(time.monotonic() + 10)) is not None:
            trial.events += json_lines(line)  # what it wrote before dying; a torn line dropped
    finally:
        lines.close()
    asyncio.run(check_database(trial))
    return trial


async def check_database(trial: Trial) -> None:
    if trial.status != -signal.SIGKILL:
        trial.problem(f"the run was not killed mid-way (exit status {trial.status})")
    if not trial.db.exists():
        return
    verdict = integrity(trial.db)
    if verdict != "ok":
        trial.problem(f"integrity_check: {verdict}")
    reported = [e for e in trial.events if e.get("kind") in PERSISTED_KINDS
                or e.get("kind") == "checkpoint_created"]
    started_ids = {e["message_id"] for e in trial.events if e.get("kind") == "message_started"}
    completed_ids = {e["message_id"] for e in trial.events if e.get("kind") == "message_completed"}
    trial.in_flight = bool(started_ids - completed_ids)
    async with await Store.open(trial.db) as store:
        rows = await store.list_sessions()
        if len(rows) > 1:
            trial.problem(f"{len(rows)} sessions in the database, expected at most 1")
        if not rows:
            if reported:
                trial.problem(f"{len(reported)} reported events but no session was saved")
            return
        row = rows[0]
        trial.session_id = row.id
        stored = await store.events(row.id, row.head_branch)
        checkpoints = await store.checkpoints(row.id, row.head_branch)
    messages = {e.payload.get("message_id"): e for e in stored if e.kind == "message_completed"}
    for event in trial.events:
        if event.get("kind") != "message_completed":
            continue
        saved = messages.get(event["message_id"])
        if saved is None:
            trial.problem(f"reported message {event['message_id']} is not in the database")
        elif saved.payload.get("interrupted") != event["interrupted"] or (
                saved.payload.get("text") != event["text"]):
            trial.problem(f"reported message {event['message_id']} differs in the database")
    streamed: dict[str, str] = {}
    for event in trial.events:
        if event.get("kind") == "token_delta":
            streamed[event["message_id"]] = streamed.get(event["message_id"], "") + event["text"]
    for message_id in started_ids - completed_ids:  # in flight at the kill
        saved = messages.get(message_id)
        if saved is None or saved.payload.get("interrupted"):
            continue  # absent, or marked interrupted: both fine
        # else it was committed just before the kill: then whole, with what was streamed
        text = saved.payload.get("text")
        if not isinstance(text, str) or not text.startswith(streamed.get(message_id, "")):
            trial.problem(f"in-flight message {message_id} saved as finished but not whole")
    unreported = [m for m in messages if m not in completed_ids]
    if len(unreported) > 3:  # at most the messages streaming together at the kill
        trial.problem(f"{len(unreported)} saved messages were never started on stdout")
    stored_kinds = Counter(e.kind for e in stored)
    for kind, count in Counter(e["kind"] for e in reported).items():
        if kind != "checkpoint_created" and stored_kinds[kind] < count:
            trial.problem(f"{count} {kind} events reported, {stored_kinds[kind]} saved")
    turns = [c.turn for c in checkpoints]
    missing = {e["turn"] for e in reported if e["kind"] == "checkpoint_created"} - set(turns)
    if missing:
        trial.problem(f"reported checkpoints of turns {sorted(missing)} are not saved")
    if turns != sorted(set(turns)) or (turns and turns[0] != 0):
        trial.problem(f"checkpoint turns are not 0, 1, 2...: {turns}")


async def resume_one_more_turn(trial: Trial, server: ScriptedServer) -> None:
    """Reopen the killed session from its last checkpoint and run exactly one more turn."""
    assert trial.session_id is not None
    async with await Store.open(trial.db) as store:
        row = await store.get_session(trial.session_id)
        assert row is not None
        before_events = await store.events(row.id, row.head_branch)
        before = await store.checkpoints(row.id, row.head_branch)
        next_turn = before[-1].turn + 1 if before else 1
        session = await Session.reopen(
            store=store, session_id=row.id,
            options=RunOptions(model=MODEL, api_base=server.url, max_turns=next_turn))
        assert session.turn == (before[-1].turn if before else 0)
        if before:
            assert session.state == checkpoint_state(before[-1].state)
        events = [event async for event in session.events()]
        after_events = await store.events(row.id, row.head_branch)
        after = await store.checkpoints(row.id, row.head_branch)
    assert events[-1].kind == "session_ended", events[-1]
    assert events[-1].reason == "max_turns", events[-1]
    assert [c.turn for c in after][: len(before)] == [c.turn for c in before]
    assert after[-1].turn == next_turn
    # nothing saved before the crash changed, the interrupted message included
    assert [(e.seq, e.kind, e.payload) for e in after_events[: len(before_events)]] == [
        (e.seq, e.kind, e.payload) for e in before_events]
    assert integrity(trial.db) == "ok"


async def test_sigkill_at_random_moments_loses_nothing_reported(
    zygote: Zygote, crash_server: ScriptedServer, tmp_path: Path
) -> None:
    def run_all() -> list[Trial]:
        with ThreadPoolExecutor(PARALLEL) as pool:
            return list(pool.map(lambda i: run_trial(zygote, crash_server, tmp_path, i),
                                 range(TRIALS)))

    trials = await asyncio.to_thread(run_all)
    problems = [p for t in trials for p in t.problems]
    assert not problems, "\n".join(problems)
    # the kills landed both mid-message and between messages (at calls and commits)
    assert any(t.in_flight for t in trials)
    assert any(not t.in_flight and t.events for t in trials)
    assert sum(1 for t in trials if t.session_id) >= TRIALS // 2

    resumed = [t for t in trials if t.session_id and t.index % REOPEN_EVERY == 0]
    assert len(resumed) >= 3
    for trial in resumed:
        await resume_one_more_turn(trial, crash_server)
