"""The available packs by file name, read from their directories alone: no TOML parsing and no
pydantic, so a picker can list them on its first frame. ``personas.loader.list_packs`` gives the
same packs in the same order, validated (pattern, personas, and the error of a broken one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

__all__ = ["PackEntry", "builtin_dir", "default_user_dir", "list_entries"]


@dataclass(frozen=True)
class PackEntry:
    """One pack file: ``name`` is what to pass to ``load_pack`` (for a built-in pack not
    shadowed by a user pack), ``path`` the file."""

    name: str
    source: Literal["builtin", "user"]
    path: str


def builtin_dir() -> Path:
    """The directory of the packs shipped with agentchat."""
    return Path(__file__).with_name("builtin")


def default_user_dir() -> Path:
    """Where the user's own packs live (the loader's ``default_user_dir``)."""
    return platformdirs.user_config_path("agentchat") / "packs"


def list_entries(*, user_dir: Path | None = None) -> list[PackEntry]:
    """Built-in packs (sorted by name), then the user's packs (sorted), as ``list_packs``."""
    builtins = sorted(
        (path.name.removesuffix(".toml"), path)
        for path in builtin_dir().iterdir()
        if path.name.endswith(".toml") and path.is_file()
    )
    entries = [PackEntry(name, "builtin", str(path)) for name, path in builtins]
    directory = default_user_dir() if user_dir is None else user_dir
    if directory.is_dir():
        user = {path.stem: path for path in sorted(directory.glob("*.toml")) if path.is_file()}
        entries.extend(PackEntry(name, "user", str(path)) for name, path in user.items())
    return entries
