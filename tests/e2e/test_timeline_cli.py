"""Fork, replay and export/import from the command line, against a real database file."""

from __future__ import annotations

import json
from pathlib import Path

from agents.replay import Replay
from agents.session import RunOptions, Session
from agents.store import Store
from personas.loader import load_pack
from tests.e2e.test_cli import agentchat, run_args
from tests.support.openai_server import ScriptedServer


def only_session(db: Path) -> str:
    rows = json.loads(agentchat("sessions", "list", "--json", "--db", str(db)).stdout)
    assert len(rows) == 1
    return str(rows[0]["id"])


def test_fork_replay_and_export_import_round_trip(scripted_server: ScriptedServer,
                                                  tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert agentchat(*run_args(scripted_server, db, "--max-turns", "4")).returncode == 0
    sid = only_session(db)

    fork = agentchat("sessions", "fork", sid, "--at", "2", "--db", str(db))
    assert fork.returncode == 0, fork.stderr
    assert "new branch" in fork.stdout

    bad = agentchat("sessions", "fork", sid, "--at", "99", "--db", str(db))
    assert bad.returncode == 2 and "no checkpoint at turn 99" in bad.stderr

    before = len(scripted_server.requests)
    replay = agentchat("replay", sid, "--headless", "--delay", "0", "--branch", "main",
                       "--db", str(db))
    assert replay.returncode == 0, replay.stderr
    assert "no model calls" in replay.stdout
    assert replay.stdout.count("→ turn") == 4
    assert len(scripted_server.requests) == before  # zero model calls

    head = agentchat("replay", sid, "--headless", "--delay", "0", "--db", str(db))
    assert head.stdout.count("→ turn") == 2  # the fork at turn 2 has turns 1 and 2 only

    exported = tmp_path / "tree.json"
    assert agentchat("sessions", "export", sid, "--format", "json", "-o", str(exported),
                     "--db", str(db)).returncode == 0
    data = json.loads(exported.read_text())
    assert len(data["branches"]) == 2

    other = tmp_path / "b.db"
    imported = agentchat("sessions", "import", str(exported), "--db", str(other))
    assert imported.returncode == 0, imported.stderr
    again = tmp_path / "tree2.json"
    assert agentchat("sessions", "export", sid, "--format", "json", "-o", str(again),
                     "--db", str(other)).returncode == 0
    assert json.loads(again.read_text()) == data

    one = tmp_path / "main-only.json"
    assert agentchat("sessions", "export", sid, "--format", "json", "--branch", "main",
                     "-o", str(one), "--db", str(db)).returncode == 0
    only = json.loads(one.read_text())
    assert [b["name"] for b in only["branches"]] == ["main"]
    assert sum(e["kind"] == "moderator_decision" for e in only["events"]) == 4
    third = tmp_path / "c.db"
    assert agentchat("sessions", "import", str(one), "--db", str(third)).returncode == 0
    back = tmp_path / "main-back.json"
    assert agentchat("sessions", "export", sid, "--format", "json", "-o", str(back),
                     "--db", str(third)).returncode == 0
    assert json.loads(back.read_text()) == only
    md = agentchat("sessions", "export", sid, "--branch", "main", "--db", str(db))
    assert md.returncode == 0 and md.stdout.count("moderator gives the floor") == 4
    head_md = agentchat("sessions", "export", sid, "--db", str(db))
    assert head_md.stdout.count("moderator gives the floor") == 2

    twice = agentchat("sessions", "import", str(exported), "--db", str(other))
    assert twice.returncode == 2 and "already in" in twice.stderr
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    refused = agentchat("sessions", "import", str(junk), "--db", str(other))
    assert refused.returncode == 2 and "not an agentchat session export" in refused.stderr


async def test_replay_cursor_steps_back_and_jumps(scripted_server: ScriptedServer,
                                                  tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db") as store:
        session = await Session.start(
            pack=load_pack("research-panel"), topic="t", store=store,
            options=RunOptions(model="openai/test-model", api_base=scripted_server.url,
                               max_turns=3))
        async for _ in session.events():
            pass
        replay = await Replay.load(store, session.id)
    assert replay.turns == [0, 1, 2, 3]
    first = replay.next_message()
    assert first[-1].kind == "message_completed" and replay.current_turn == 0
    replay.jump_to_turn(2)
    messages = [e for e in replay.played() if e.kind == "message_completed"]
    assert len(messages) == 3 and replay.current_turn == 2
    replay.back()
    assert len([e for e in replay.played() if e.kind == "message_completed"]) == 2
    while not replay.at_end:
        replay.step()
    assert replay.played()[-1].kind == "session_ended"
