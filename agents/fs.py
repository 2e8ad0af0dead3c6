"""Owner-only folders for everything agentchat writes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def make_private_dirs(directory: Path) -> None:
    """Create missing directories, each mode 0700 (existing ones are left alone)."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)
