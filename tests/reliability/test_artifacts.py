"""`sessions export ID --artifacts DIR`: artifacts become files, and never land outside DIR."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import agents.artifacts
from agents.artifacts import ArtifactError, write_artifacts
from agents.session import RunOptions, Session
from agents.state import Artifact, SharedState
from agents.store import Store
from personas.loader import load_pack
from tests.reliability.harness import MODEL, ChatResponder, agentchat, decision_enum, one_sentence
from tests.support.openai_server import ScriptedServer
from tests.support.replies import Reply, Text

HOSTILE = ["../escape.md", "a/../../escape.md", "..", "/tmp/escape-absolute.md", "a/./b.md",
           "a//b.md", "sub/", "..\\escape.md", "line\nbreak.md", "nul\x00.md",
           "right-to-left\u202egnp.md", "x" * 300]


def state_with(**contents: str) -> SharedState:
    return SharedState(artifacts={name: Artifact(name=name[:120], content=text)
                                  for name, text in contents.items()})


def tree(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (symlinks not followed), relative path → text."""
    out: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(directory).as_posix()] = path.read_text()
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the export folder with a file an attacker would like to overwrite."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("keep me")
    return folder


# ----------------------------------------------------------------------------- the engine


def test_artifacts_are_written_as_files_in_folders(tmp_path: Path) -> None:
    out = tmp_path / "export"
    state = state_with(**{"plan.md": "# Plan\n", "src/app.py": "print('hi')\n",
                          "src/deep/notes.txt": "n", "план ✓.md": "unicode"})
    written = write_artifacts(state, out)
    assert written == [out / "plan.md", out / "src" / "app.py", out / "src/deep/notes.txt",
                       out / "план ✓.md"]
    assert tree(out) == {"plan.md": "# Plan\n", "src/app.py": "print('hi')\n",
                         "src/deep/notes.txt": "n", "план ✓.md": "unicode"}
    # exporting again replaces the files
    write_artifacts(state_with(**{"plan.md": "v2"}), out)
    assert (out / "plan.md").read_text() == "v2"


def test_a_state_without_artifacts_writes_nothing(tmp_path: Path) -> None:
    assert write_artifacts(SharedState(goal="g"), tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_name_is_refused_and_nothing_is_written(tmp_path: Path, outside: Path,
                                                          name: str) -> None:
    out = tmp_path / "export"
    state = state_with(**{"good.md": "fine", name: "pwned"})
    with pytest.raises(ArtifactError) as caught:
        write_artifacts(state, out)
    message = str(caught.value)
    assert one_sentence(message), message
    assert json.dumps(name)[1:-1][:30] in message or json.dumps(name, ensure_ascii=False)[
        1:-1][:30] in message, message
    assert caught.value.name == name
    assert not out.exists() or tree(out) == {}  # all or nothing: good.md was not written
    assert tree(outside) == {"secret.txt": "keep me"}
    assert not Path("/tmp/escape-absolute.md").exists()
    assert not (tmp_path / "escape.md").exists()


def test_a_symlink_at_the_target_is_refused(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    (out / "plan.md").symlink_to(outside / "secret.txt")
    with pytest.raises(ArtifactError, match=r"plan\.md") as caught:
        write_artifacts(state_with(**{"plan.md": "pwned"}), out)
    assert "symbolic link" in str(caught.value)
    assert (outside / "secret.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["sub/x.md", "a/sub/x.md"])
def test_a_symlinked_folder_on_the_way_is_refused(tmp_path: Path, outside: Path,
                                                  name: str) -> None:
    out = tmp_path / "export"
    link_parent = out / name.rsplit("/", 2)[0] if name.count("/") == 2 else out
    link_parent.mkdir(parents=True)
    (link_parent / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError, match="symbolic link"):
        write_artifacts(state_with(**{name: "pwned"}), out)
    assert tree(outside) == {"secret.txt": "keep me"}


def test_a_symlink_planted_after_the_checks_is_still_not_followed(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write itself refuses symlinks (O_NOFOLLOW), not only the checks before it."""
    out = tmp_path / "export"
    (out / "docs").mkdir(parents=True)
    monkeypatch.setattr(agents.artifacts, "_check_existing", lambda directory, parts: None)
    (out / "plan.md").symlink_to(outside / "secret.txt")
    with pytest.raises(ArtifactError, match=r"plan\.md"):
        write_artifacts(state_with(**{"plan.md": "pwned"}), out)
    (out / "docs").rmdir()
    (out / "docs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError, match=r"docs/x\.md"):
        write_artifacts(state_with(**{"docs/x.md": "pwned"}), out)
    assert tree(outside) == {"secret.txt": "keep me"}


def test_hard_links_and_special_files_are_refused(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    os.link(outside / "secret.txt", out / "linked.md")
    with pytest.raises(ArtifactError, match="hard link"):
        write_artifacts(state_with(**{"linked.md": "pwned"}), out)
    os.mkfifo(out / "pipe.md")
    with pytest.raises(ArtifactError, match=r"pipe\.md"):  # refused, and it did not block
        write_artifacts(state_with(**{"pipe.md": "x"}), out)
    assert (outside / "secret.txt").read_text() == "keep me"


def test_a_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"a/b\.md"):
        write_artifacts(state_with(**{"a": "file", "a/b.md": "x"}), tmp_path / "e1")
    (tmp_path / "e2").mkdir()
    (tmp_path / "e2" / "a").write_text("already a file")
    with pytest.raises(ArtifactError, match="not a folder"):
        write_artifacts(state_with(**{"a/b.md": "x"}), tmp_path / "e2")
    (tmp_path / "e3").write_text("a file, not a folder")
    with pytest.raises(ArtifactError) as caught:
        write_artifacts(state_with(**{"x.md": "x"}), tmp_path / "e3")
    assert one_sentence(str(caught.value)) and "e3" in str(caught.value)


def test_the_export_folder_itself_may_be_a_symlink(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "chosen").symlink_to(outside, target_is_directory=True)
    write_artifacts(state_with(**{"plan.md": "ok"}), tmp_path / "chosen")
    assert (outside / "plan.md").read_text() == "ok"


# ----------------------------------------------------------------------------- the command


def artifact_patch(*artifacts: dict[str, Any]) -> str:
    block = json.dumps({"put_artifacts": list(artifacts)})
    return f"Here is the plan.\n\n```json\n{block}\n```\n"


async def test_export_writes_the_head_branch_final_artifacts(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    """A real run writes artifacts through state patches; a rollback makes another branch the
    head; the export takes the head branch's last checkpoint."""
    chat = ChatResponder()
    answers = iter([
        artifact_patch({"name": "plan.md", "content": "v1", "kind": "plan"}),
        artifact_patch({"name": "plan.md", "content": "v2"},
                       {"name": "src/app.py", "content": "print(2)", "language": "python"}),
        artifact_patch({"name": "plan.md", "content": "v3 (rolled back later)"}),
    ])

    def responder(body: dict[str, Any]) -> Reply:
        if decision_enum(body) is not None:
            return chat(body)
        return Text(next(answers, "Nothing more from me."))

    scripted_server.responder = responder
    db = tmp_path / "a.db"
    async with await Store.open(db) as store:
        session = await Session.start(
            pack=load_pack("design-review"), topic="Plan the rollout", store=store,
            options=RunOptions(model=MODEL, api_base=scripted_server.url, max_turns=2))
        [event async for event in session.events()]
        assert set(session.state.artifacts) == {"plan.md", "src/app.py"}
        assert session.state.artifacts["plan.md"].content == "v3 (rolled back later)"
        await session.rollback(1)  # the head is now a branch that ends at turn 1

    out = tmp_path / "artifacts"
    md = tmp_path / "s.md"
    done = agentchat("sessions", "export", session.id, "--artifacts", str(out), "-o", str(md),
                     "--db", str(db), timeout=60)
    assert done.returncode == 0, done.stderr
    assert tree(out) == {"plan.md": "v2", "src/app.py": "print(2)"}
    assert done.stdout.split() == [str(out / "plan.md"), str(out / "src" / "app.py")]
    assert "wrote 2 artifact" in done.stderr
    assert "## Transcript" in md.read_text()

    alone = agentchat("sessions", "export", session.id, "--artifacts", str(tmp_path / "b"),
                      "--db", str(db), timeout=60)
    assert alone.returncode == 0 and "## Transcript" not in alone.stdout  # only the artifacts


async def test_export_refuses_a_hostile_artifact_with_one_sentence(tmp_path: Path,
                                                                   outside: Path) -> None:
    db = tmp_path / "h.db"
    state = state_with(**{"ok.md": "fine", "../outside/secret.txt": "pwned"})
    async with await Store.open(db) as store:
        branch = await store.create_session(session_id="hostile1", title="t", topic="t",
                                            pack_name="p", pack_json={}, model="m")
        await store.add_checkpoint("hostile1", branch, seq=0, turn=0,
                                   state=state.model_dump(mode="json"), label="")
    out = tmp_path / "export"
    done = agentchat("sessions", "export", "hostile1", "--artifacts", str(out), "--db", str(db),
                     timeout=60)
    assert done.returncode == 2, done.stderr
    assert one_sentence(done.stderr) and "../outside/secret.txt" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert (outside / "secret.txt").read_text() == "keep me"
    assert not out.exists()
