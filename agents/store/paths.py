"""Where the session database lives, and how its directory and file are created (0700/0600)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from agents.fs import make_private_dirs
from agents.store.schema import StoreError, corrupt_error

DB_ENV_VAR = "AGENTCHAT_DB"
_SQLITE_HEADER = b"SQLite format 3\x00"


def default_db_path() -> Path:
    """``$AGENTCHAT_DB`` if set, else ``agentchat.db`` in the user's data directory.

    Computed at call time; nothing is created here.
    """
    override = os.environ.get(DB_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("agentchat") / "agentchat.db"


make_dirs = make_private_dirs


def prepare_file(path: Path) -> None:
    """Create the file 0600 if missing; refuse anything that is not an SQLite file."""
    try:
        make_dirs(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            with path.open("rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
            if header and header != _SQLITE_HEADER:
                raise corrupt_error(path) from None
        else:
            os.fchmod(fd, 0o600)
            os.close(fd)
    except IsADirectoryError:
        raise StoreError(
            f"{path} is a directory, not a database file; use --db to choose a file.", path
        ) from None
    except OSError as exc:
        raise StoreError(
            f"Cannot open {path} ({exc.strerror or exc}); check its permissions or use --db "
            "to choose another file.",
            path,
        ) from exc
