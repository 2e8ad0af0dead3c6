"""Secrets and file modes: a sentinel API key reaches no file agentchat writes; its database,
log and their folders are owner-only."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import (
    MODEL,
    TOPIC,
    ChatResponder,
    agentchat,
    decision_enum,
    json_lines,
    start_agentchat,
)
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Error, Reply

SENTINELS = {
    "OPENAI_API_KEY": f"sk-sentinel-openai-{uuid.uuid4().hex}",
    "AGENTCHAT_API_KEY": f"sk-sentinel-agentchat-{uuid.uuid4().hex}",
    "ANTHROPIC_API_KEY": f"sk-ant-sentinel-{uuid.uuid4().hex}",
}


def user_dirs(root: Path) -> dict[str, str]:
    """XDG homes inside ``root`` (the defaults for the database, log and config files)."""
    env = {}
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        path = root / "home" / kind.lower()
        path.mkdir(parents=True)
        env[f"XDG_{kind}_HOME"] = str(path)
    return env


def leaks(root: Path) -> list[str]:
    """Files under ``root`` that contain any sentinel (the database and its WAL included)."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path} holds {name}" for name, value in SENTINELS.items()
                      if value.encode() in data]
    return found


def not_owner_only(paths: list[Path]) -> list[str]:
    wrong = []
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path} is {mode:o}, expected {want:o}")
    return wrong


def created_by_agentchat(root: Path, before: set[Path]) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p not in before]


@dataclass
class SecretRun:
    root: Path
    before: set[Path]
    db: Path
    log: Path
    exports: Path
    returncode: int


def echoing_responder() -> Callable[[dict[str, Any]], Reply]:
    """A chat whose provider fails the second persona call with an error quoting the keys."""
    chat = ChatResponder()
    persona_calls: list[int] = []

    def responder(body: dict[str, Any]) -> Reply:
        if decision_enum(body) is None:
            persona_calls.append(1)
            if len(persona_calls) == 2:
                return Error(402, "Insufficient credits for API key "
                             f"{SENTINELS['OPENAI_API_KEY']} and {SENTINELS['AGENTCHAT_API_KEY']}.")
        return chat(body)

    return responder


@pytest.fixture(scope="module")
def secret_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SecretRun]]:
    """Two `agentchat run` processes at once, sentinel keys in their environment, a usual umask
    (0022: the modes must not rely on a strict one), a log two folders deep, then exports:

    - "clean": the default database (no --db, so its folders are created), a normal chat;
    - "echo": a provider error that quotes the keys stops the session.
    """
    roots = {name: tmp_path_factory.mktemp(f"secrets-{name}") for name in ("clean", "echo")}
    envs = {name: {**user_dirs(root), **SENTINELS,
                   "AGENTCHAT_LOG": str(root / "logs" / "agentchat" / "agentchat.log")}
            for name, root in roots.items()}
    befores = {name: set(root.rglob("*")) for name, root in roots.items()}
    dbs = {"clean": roots["clean"] / "home" / "data" / "agentchat" / "agentchat.db",
           "echo": roots["echo"] / "echo.db"}
    with ScriptedServer() as clean, ScriptedServer() as echo:
        clean.responder = ChatResponder(patch_every=2)
        echo.responder = echoing_responder()
        procs = {
            name: start_agentchat(
                "run", "--pack", "design-review", "--topic", TOPIC, "--model", MODEL,
                "--api-base", server.url, "--max-turns", "2", "--json",
                *(["--db", str(dbs[name])] if name == "echo" else []),
                env_extra=envs[name], umask=0o022)
            for name, server in (("clean", clean), ("echo", echo))}
        outputs = {name: proc.communicate(timeout=180) for name, proc in procs.items()}
    runs = {}
    for name, proc in procs.items():
        root = roots[name]
        stdout, stderr = outputs[name]
        events = json_lines(stdout)
        assert events and events[0]["kind"] == "session_started", stderr
        exports = root / "exports"
        exports.mkdir()
        for fmt in ("md", "json"):
            out = agentchat("sessions", "export", events[0]["session_id"], "--format", fmt,
                            "-o", str(exports / f"s.{fmt}"), "--db", str(dbs[name]),
                            env_extra=envs[name], umask=0o022)
            assert out.returncode == 0, out.stderr
        runs[name] = SecretRun(root, befores[name], dbs[name],
                               root / "logs" / "agentchat" / "agentchat.log", exports,
                               proc.returncode)
    yield runs


def test_no_secret_reaches_the_database_exports_or_log(secret_runs: dict[str, SecretRun]
                                                       ) -> None:
    run = secret_runs["clean"]
    assert run.returncode == 0
    assert run.db.is_file() and run.log.is_file()
    assert (run.exports / "s.json").stat().st_size > 1000
    assert not leaks(run.root)


def test_the_database_and_log_files_are_owner_only(secret_runs: dict[str, SecretRun]) -> None:
    run = secret_runs["clean"]
    files = [p for p in created_by_agentchat(run.root, run.before)
             if p.is_file() and run.exports not in p.parents]
    assert run.db in files and run.log in files
    assert not not_owner_only(files)


def test_the_database_folder_is_owner_only(secret_runs: dict[str, SecretRun]) -> None:
    run = secret_runs["clean"]
    made = [p for p in created_by_agentchat(run.root, run.before)
            if p.is_dir() and p in run.db.parents]
    assert made == [run.db.parent]  # ~/.local/share/agentchat, created by the run
    assert not not_owner_only(made)


def test_the_log_folders_are_owner_only(secret_runs: dict[str, SecretRun]) -> None:
    run = secret_runs["clean"]
    made = [p for p in created_by_agentchat(run.root, run.before)
            if p.is_dir() and p in run.log.parents]
    assert made == [run.root / "logs", run.log.parent]
    assert not not_owner_only(made)


def test_a_provider_error_that_echoes_the_key_does_not_leak_it(
    secret_runs: dict[str, SecretRun]
) -> None:
    run = secret_runs["echo"]
    assert run.returncode == 1  # the provider failure stopped the session
    assert run.db.is_file() and run.log.is_file()
    assert not leaks(run.root)
