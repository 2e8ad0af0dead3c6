"""The `agentchat` command as a user runs it: a subprocess, a real DB file, the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error

ROOT = Path(__file__).resolve().parents[2]


def agentchat(*args: str, env_extra: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


def run_args(server: ScriptedServer, db: Path, *extra: str) -> list[str]:
    return ["run", "--pack", "design-review", "--topic", "Move the job queue to Postgres?",
            "--model", "openai/test-model", "--api-base", server.url, "--db", str(db), *extra]


def test_run_saves_a_session_that_export_shows(scripted_server: ScriptedServer,
                                               tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    done = agentchat(*run_args(scripted_server, db, "--max-turns", "2"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Maya" in done.stdout  # the design-review moderator speaks
    assert "Session ended: max_turns" in done.stdout
    assert "orchestration" in done.stdout and "unpriced" in done.stdout

    listed = agentchat("sessions", "list", "--json", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert {"id", "title", "pack", "created", "turns", "cost_usd"} <= set(row)
    assert row["pack"] == "design-review" and row["turns"] == 2

    md = agentchat("sessions", "export", row["id"], "--format", "md", "--db", str(db))
    assert md.returncode == 0, md.stderr
    assert "## Transcript" in md.stdout and "moderator gives the floor" in md.stdout
    assert "## Cost" in md.stdout

    out = tmp_path / "s.json"
    js = agentchat("sessions", "export", row["id"], "--format", "json", "-o", str(out),
                   "--db", str(db))
    assert js.returncode == 0, js.stderr
    data = json.loads(out.read_text())
    kinds = [e["kind"] for e in data["events"]]
    assert kinds.count("message_completed") == 3
    assert kinds.count("moderator_decision") == 2
    assert "usage_recorded" in kinds
    assert [c["turn"] for c in data["checkpoints"]] == [0, 1, 2]

    shown = agentchat("sessions", "show", row["id"][:6], "--db", str(db))
    assert shown.returncode == 0 and "Transcript" in shown.stdout


def test_run_json_prints_one_event_per_line(scripted_server: ScriptedServer,
                                            tmp_path: Path) -> None:
    done = agentchat(*run_args(scripted_server, tmp_path / "j.db", "--max-turns", "1", "--json"))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["kind"] == "session_started"
    assert events[-1]["kind"] == "session_ended"
    assert any(e["kind"] == "token_delta" for e in events)


def test_provider_failure_exits_1_with_one_sentence(scripted_server: ScriptedServer,
                                                    tmp_path: Path) -> None:
    scripted_server.script(Error.auth())
    done = agentchat(*run_args(scripted_server, tmp_path / "f.db"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("agentchat: the session stopped:") and "API key" in last


def test_unreachable_provider_exits_1(tmp_path: Path) -> None:
    done = agentchat("run", "--pack", "design-review", "--topic", "x", "--model",
                     "openai/test-model", "--api-base", "http://127.0.0.1:9/v1",
                     "--db", str(tmp_path / "u.db"), "--max-turns", "1",
                     env_extra={"AGENTCHAT_RETRY_ATTEMPTS": "1"})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "cannot reach" in done.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--topic", "x"], "--pack"),
        (["run", "--pack", "design-review"], "--topic"),
        (["run", "--pack", "design-review", "--topic", "x", "--max-turns", "0"], "max-turns"),
        (["run", "--pack", "design-review", "--topic", "x", "--budget", "-1"], "budget"),
        (["run", "--pack", "no-such-pack", "--topic", "x"], "no-such-pack"),
        (["--no-such-flag"], "no-such-flag"),
        (["sessions", "show", "deadbeef"], "deadbeef"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], needle: str,
                                               tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    if args[:2] == ["sessions", "show"]:
        agentchat("sessions", "list", "--db", str(db))
        db.touch()
    done = agentchat(*args, "--db", str(db)) if args[0] in ("run", "sessions") else agentchat(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert needle in done.stderr


def test_app_options_before_a_command_are_refused_not_ignored(tmp_path: Path) -> None:
    db = tmp_path / "given.db"
    done = agentchat("--db", str(db), "sessions", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--db must come after the command: agentchat sessions" in done.stderr
    done = agentchat("--model", "openai/x", "run", "--pack", "design-review", "--topic", "t")
    assert done.returncode == 2 and "--model must come after the command" in done.stderr
    assert not db.exists()  # nothing ran against another database meanwhile
    done = agentchat("sessions", "list", "--db", str(db))
    assert done.returncode == 0, done.stderr


def test_broken_pack_gives_one_sentence_naming_the_field(tmp_path: Path) -> None:
    pack = tmp_path / "bad.toml"
    pack.write_text(
        '[pack]\nname = "bad"\n\n[[personas]]\nid = "m"\nname = "M"\nrole = "moderator"\n'
        'system_prompt = "x"\n\n[[personas]]\nid = "e"\nname = "E"\nrole = "boss"\n'
        'system_prompt = "y"\n')
    done = agentchat("packs", "validate", str(pack))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "personas[1].role" in done.stderr and "bad.toml" in done.stderr
    run = agentchat("run", "--pack", str(pack), "--topic", "x", "--db", str(tmp_path / "b.db"))
    assert run.returncode == 2 and "personas[1].role" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_packs_list_json_and_validate_builtin() -> None:
    done = agentchat("packs", "list", "--json")
    assert done.returncode == 0, done.stderr
    packs = json.loads(done.stdout)
    names = {p["name"] for p in packs}
    assert {"design-review", "research-panel", "code-review"} <= names
    by_name = {p["name"]: p["pattern"] for p in packs}
    assert by_name["design-review"] == "group_chat"
    assert set(by_name.values()) == {"group_chat", "sequential", "parallel", "router",
                                     "hierarchical", "orchestrator_worker", "handoff"}
    builtin = ROOT / "personas" / "builtin" / "code-review.toml"
    ok = agentchat("packs", "validate", str(builtin))
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_import_crewai_writes_a_valid_pack(tmp_path: Path) -> None:
    crew = tmp_path / "crew"
    crew.mkdir()
    (crew / "agents.yaml").write_text(
        "researcher:\n  role: Senior Researcher\n  goal: Find the facts\n"
        "  backstory: Ten years in market research.\n"
        "writer:\n  role: Report Writer\n  goal: Write the report\n  backstory: A clear writer.\n")
    out = tmp_path / "crew.toml"
    done = agentchat("packs", "import-crewai", str(crew), "-o", str(out))
    assert done.returncode == 0, done.stderr
    valid = agentchat("packs", "validate", str(out))
    assert valid.returncode == 0, valid.stderr


def test_delete_asks_unless_yes(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    assert agentchat(*run_args(scripted_server, db, "--max-turns", "1")).returncode == 0
    sid = json.loads(agentchat("sessions", "list", "--json", "--db", str(db)).stdout)[0]["id"]
    refused = agentchat("sessions", "delete", sid, "--db", str(db))
    assert refused.returncode != 0
    assert len(json.loads(agentchat("sessions", "list", "--json", "--db", str(db)).stdout)) == 1
    gone = agentchat("sessions", "delete", sid, "--yes", "--db", str(db))
    assert gone.returncode == 0
    assert json.loads(agentchat("sessions", "list", "--json", "--db", str(db)).stdout) == []


@pytest.mark.parametrize("module", ["agents", "agents.session", "agents.export", "personas",
                                    "personas.loader", "agents.store"])
def test_engine_never_imports_the_ui(module: str) -> None:
    code = (f"import sys, {module}; bad = [m for m in sys.modules "
            "if m.split('.')[0] in ('textual', 'rich')]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr


def test_litellm_is_not_imported_by_the_engine_modules() -> None:
    code = ("import sys, agents.session, agents.export, tui.cli; "
            "sys.exit(1 if 'litellm' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
