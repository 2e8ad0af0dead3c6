"""Fixtures of the reliability suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import Zygote, hermetic_env


@pytest.fixture(scope="session")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """A warm launcher of `agentchat` processes (see zygote.py), shared by the suite."""
    root = tmp_path_factory.mktemp("launcher")
    launcher = Zygote(hermetic_env(root), root / "launcher.err")
    try:
        yield launcher
    finally:
        launcher.close()
