"""Startup: ``agentchat`` to its first frame, against a bare Textual app started the same way.

Each app is a fresh process on a pseudo-terminal (120×40, as a user's terminal), with
``AGENTCHAT_BENCH_EXIT_AFTER_FIRST_FRAME=FILE``: on its first frame (Textual's ``Ready``, posted
after the first screen was painted) the app writes ``time.monotonic()`` and which heavy modules
(litellm, llama_cpp) are imported, then quits. The figure is spawn → first frame; the two apps
alternate, and the ratio of their medians is what is judged (machines are noisy, ratios less so).
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from tests.benchmarks.common import ROOT, Figure, Scale, at_most, hermetic_env, holds, info, median

NAME = "startup"
TITLE = "Startup"
BARE_APP = ROOT / "tests" / "benchmarks" / "bare_app.py"
TIMEOUT_S = 60.0


def agentchat_command() -> list[str]:
    script = Path(sys.executable).with_name("agentchat")
    if not script.exists():
        raise RuntimeError(f"{script} is missing; install the project with `pip install -e .`")
    return [str(script)]


def first_frame(command: list[str], env: dict[str, str], report: Path) -> tuple[float, list[str]]:
    """Spawn ``command`` on a pty; return (seconds from spawn to its first frame, heavy modules
    imported at that moment)."""
    report.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**env, "AGENTCHAT_BENCH_EXIT_AFTER_FIRST_FRAME": str(report),
           "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    started = time.monotonic()
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=report.parent, start_new_session=True, close_fds=True)
    os.close(slave)
    output = bytearray()
    try:
        deadline = started + TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    output += os.read(master, 65536)
        if proc.poll() is None:
            raise RuntimeError(f"{command[0]} did not quit after its first frame")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    if not report.exists():
        tail = output[-400:].decode(errors="replace")
        raise RuntimeError(f"{command[0]} exited ({proc.returncode}) without a first frame: {tail}")
    data = json.loads(report.read_text())
    return float(data["monotonic"]) - started, list(data["modules"])


def run_sync(scale: Scale) -> list[Figure]:
    runs = scale.pick(9, 3, 1)
    # An installed app runs from byte-compiled modules (Python writes them on first use);
    # with PYTHONDONTWRITEBYTECODE set, a module edited since would be compiled on every start.
    for package in ("agents", "personas", "tui"):
        compileall.compile_dir(ROOT / package, quiet=1)
    bare_cmd = [sys.executable, str(BARE_APP)]
    app_cmd = agentchat_command()
    bare: list[float] = []
    app: list[float] = []
    heavy: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        home = Path(tmp)
        env = hermetic_env(home=home)
        env["PYTHONPATH"] = str(ROOT)
        report = home / "first-frame.json"
        first_frame(bare_cmd, env, report)  # warm the disk cache for both
        first_frame(app_cmd, env, report)
        for _ in range(runs):
            bare.append(first_frame(bare_cmd, env, report)[0] * 1000)
            seconds, modules = first_frame(app_cmd, env, report)
            app.append(seconds * 1000)
            heavy.update(modules)
    ratio = median(app) / median(bare)
    return [
        at_most("startup.ratio", f"Startup: agentchat ÷ bare Textual app, first frame "
                f"(medians of {runs})", ratio, 1.3, "×"),
        info("startup.agentchat_ms", "Startup: agentchat to first frame", median(app), "ms",
             runs_ms=[round(v, 1) for v in app]),
        info("startup.bare_ms", "Startup: bare Textual app to first frame", median(bare), "ms",
             runs_ms=[round(v, 1) for v in bare]),
        holds("startup.heavy_modules", "Startup: litellm / llama_cpp imported at first frame",
              not heavy, ", ".join(sorted(heavy)) or "neither", "neither"),
    ]


async def run(scale: Scale) -> list[Figure]:
    return run_sync(scale)
