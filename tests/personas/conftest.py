"""Shared helpers for the persona pack tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

VALID_PACK = '''\
[pack]
name = "tiny"
description = "A small pack for tests."

[budget]
session_usd = 0.5

[termination]
max_turns = 6

[[personas]]
id = "mod"
name = "Mia, Moderator"
role = "moderator"
system_prompt = """
Run the meeting.
role = "boss" is not a key here, it is prompt text.
"""

[[personas]]
id = "ada"
name = "Ada, Expert"
role = "expert"
system_prompt = "Know things."

[[personas]]
id = "cy"
name = "Cy, Critic"
role = "critic"
system_prompt = "Doubt things."
'''


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found {occurrence} time(s)")


LineOf = Callable[..., int]


@pytest.fixture
def line_of() -> LineOf:
    """`line_of(text, needle, occurrence=1)`: 1-based line of the n-th line containing needle."""
    return _line_of


@pytest.fixture
def valid_pack() -> str:
    """The text of a small valid pack; tests edit it to break one thing at a time."""
    return VALID_PACK


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    """Write TOML text to `tmp_path/<name>` and return its path."""

    def write(text: str, name: str = "pack.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
