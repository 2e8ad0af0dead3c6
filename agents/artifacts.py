"""Writing the shared state's artifacts to files, never outside the chosen directory.

Artifact names come from model output, so they are treated as hostile: a name is a relative
path of plain parts (``plan.md``, ``src/app.py``). Absolute names, ``..`` or empty parts,
backslashes and control characters are refused, and so is any symlink met on the way (at the
target, or as one of its folders) and any file with other hard links. Every name is checked
before anything is written; while writing, each folder is opened relative to its parent with
``O_NOFOLLOW``, so a symlink planted meanwhile is refused too rather than followed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import unicodedata
from pathlib import Path

from pydantic import ValidationError

from agents.history import checkpoint_state, no_such_session
from agents.state import SharedState
from agents.store import Store, StoreError

__all__ = ["ArtifactError", "artifact_parts", "head_state", "write_artifacts"]

_MAX_PART_BYTES = 255
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class ArtifactError(ValueError):
    """An artifact that cannot be written safely; the message is one sentence naming it."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def _shown(name: str) -> str:
    """The name quoted, escaped (so any character stays on one line) and kept short."""
    if len(name) > 80:
        name = name[:60] + "…" + name[-10:]
    return json.dumps(name, ensure_ascii=False) if name.isprintable() else json.dumps(name)


def _refuse(name: str, why: str, directory: Path, done: int = 0) -> ArtifactError:
    outcome = f"only the {done} before it were written" if done else "nothing was written"
    return ArtifactError(
        f"Cannot export artifact {_shown(name)} to {directory}: {why}; {outcome}.", name)


def artifact_parts(name: str) -> list[str]:
    """The relative path parts of an artifact name; ValueError (a reason) when unsafe."""
    if not name:
        raise ValueError("its name is empty")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise ValueError("its name contains a control character")
    if "\\" in name:
        raise ValueError("its name contains a backslash (use / between folders)")
    if name.startswith("/"):
        raise ValueError("its name is an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise ValueError('its name contains a ".." part, which could lead outside the folder')
    if any(part in ("", ".") for part in parts):
        raise ValueError('its name has an empty or "." part')
    if any(len(part.encode("utf-8", "surrogatepass")) > _MAX_PART_BYTES for part in parts):
        raise ValueError(f"a part of its name is longer than {_MAX_PART_BYTES} bytes")
    return parts


def _check_existing(directory: Path, parts: list[str]) -> None:
    """Refuse symlinks, non-folders and linked files already on the artifact's path."""
    current = directory
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return
        except NotADirectoryError:
            raise ValueError(f"{current.parent} exists and is not a folder") from None
        except OSError as exc:
            raise ValueError(f"cannot check {current} ({exc.strerror or exc})") from None
        last = index == len(parts) - 1
        if stat.S_ISLNK(info.st_mode):
            raise ValueError(f"{current} is a symbolic link")
        if not last and not stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{current} exists and is not a folder")
        if last and not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{current} exists and is not a regular file")
        if last and info.st_nlink > 1:
            raise ValueError(f"{current} has other hard links")


def _check_all(state: SharedState, directory: Path) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = {}
    for name in state.artifacts:
        try:
            plans[name] = parts = artifact_parts(name)
            _check_existing(directory, parts)
        except ValueError as exc:
            raise _refuse(name, str(exc), directory) from None
    files = {tuple(parts): name for name, parts in plans.items()}
    for name, parts in plans.items():
        for end in range(1, len(parts)):
            other = files.get(tuple(parts[:end]))
            if other is not None:
                raise _refuse(name, f"artifact {_shown(other)} is a file where it needs a folder",
                              directory)
    return plans


def _open_folder(parent: int, part: str) -> int:
    with contextlib.suppress(FileExistsError):
        os.mkdir(part, 0o777, dir_fd=parent)
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError(f"{part} is a symbolic link or not a folder") from None
        raise


def _write_one(root: int, parts: list[str], content: bytes) -> None:
    folder = root
    opened: list[int] = []
    try:
        for part in parts[:-1]:
            folder = _open_folder(folder, part)
            opened.append(folder)
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, 0o666, dir_fd=folder)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                raise ValueError(f"{parts[-1]} is a symbolic link or not a regular file") from None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
                raise ValueError(f"{parts[-1]} is not a regular file with a single link")
            os.set_blocking(fd, True)
            os.ftruncate(fd, 0)
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    finally:
        for fd in opened:
            os.close(fd)


def write_artifacts(state: SharedState, directory: Path) -> list[Path]:
    """Write each artifact of ``state`` to ``directory / name``; return the paths written.

    ``directory`` is created if missing. Every name and every existing path is checked first:
    one unsafe artifact raises :class:`ArtifactError` naming it, and nothing is written. An
    existing regular file of the same name is replaced.
    """
    directory = Path(directory).expanduser()
    plans = _check_all(state, directory)
    if not plans:
        return []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        root = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ArtifactError(
            f"Cannot write artifacts to {directory} ({exc.strerror or exc}); choose another "
            "folder with --artifacts.") from None
    written: list[Path] = []
    try:
        for name, parts in plans.items():
            content = state.artifacts[name].content.encode("utf-8", "surrogatepass")
            try:
                _write_one(root, parts, content)
            except ValueError as exc:  # a symlink planted after the checks
                raise _refuse(name, str(exc), directory, len(written)) from None
            except OSError as exc:
                raise _refuse(name, f"{exc.strerror or exc} (check the folder's permissions)",
                              directory, len(written)) from None
            written.append(directory.joinpath(*parts))
    finally:
        os.close(root)
    return written


async def head_state(store: Store, session_id: str) -> SharedState:
    """The shared state at the last checkpoint of the session's head branch."""
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    checkpoints = await store.checkpoints(row.id, row.head_branch)
    if not checkpoints:
        return SharedState(goal=row.topic)
    try:
        return checkpoint_state(checkpoints[-1].state)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise StoreError(
            f"session {row.id}'s last checkpoint holds a shared state this version cannot read "
            f"({reason}); export it with --format json instead.") from None
