"""Plain ``agentchat`` (no arguments) opens the app without the command line's machinery, and
still takes what its options would take from the environment; with arguments, the command line
proper answers."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.benchmarks.common import hermetic_env

ROOT = Path(__file__).resolve().parents[2]


def _read_until(master: int, needle: bytes, proc: subprocess.Popen[bytes], timeout: float
                ) -> bytes:
    output = bytearray()
    deadline = time.monotonic() + timeout
    while needle not in output and proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            with contextlib.suppress(OSError):
                output += os.read(master, 65536)
    return bytes(output)


def test_plain_agentchat_opens_the_app_with_the_environment_settings(tmp_path: Path) -> None:
    db = tmp_path / "from-env.db"
    env = hermetic_env(home=tmp_path / "home")
    env.update({"PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
                "AGENTCHAT_DB": str(db), "AGENTCHAT_MODEL": "openai/model-from-env"})
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "tui.entry"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=tmp_path, start_new_session=True)
    os.close(slave)
    try:
        shown = _read_until(master, b"openai/model-from-env", proc, 60)
        assert b"openai/model-from-env" in shown  # the model field, pre-filled from the env
        deadline = time.monotonic() + 30
        while not db.exists() and time.monotonic() < deadline:  # opened after the first frame
            _read_until(master, b"\x00", proc, 0.1)
        assert db.exists(), "AGENTCHAT_DB was not the database the app opened"
        os.write(master, b"\x11")  # Ctrl+Q
        _read_until(master, b"\x00", proc, 20)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_agentchat_with_arguments_is_the_command_line() -> None:
    env = hermetic_env()
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "tui.entry", "--help"], capture_output=True,
                          text=True, env=env, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "sessions" in done.stdout
