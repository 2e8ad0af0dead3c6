"""A pre-warmed launcher of `agentchat` processes, so crash trials do not pay for imports.

Importing litellm costs ~5 s of CPU here; thirty crash trials would spend minutes just
starting up. This process imports the CLI and litellm once, then forks one child per request.
Each child is a separate OS process running the real entry point (``tui.cli.main``) with its
own argv, environment, stdout and stderr files, exactly as ``agentchat ...`` would; tests kill
it with a real SIGKILL.

Protocol (one line each way, JSON):

    -> {"op": "run", "argv": [...], "env": {...}, "stdout_socket": NAME, "stderr": PATH}
    <- {"pid": N}
    -> {"op": "wait", "pid": N}
    <- {"pid": N, "status": S}      # exit code, or -signal when killed

The launcher prints ``{"ready": true}`` once warm. It never runs an event loop or opens a
database itself, and it has no threads, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
from typing import Any


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become `agentchat ARGV` and never return."""
    code = 70
    try:
        os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
        out = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        out.connect(request["stdout_socket"])  # the test reads our stdout from there
        os.dup2(out.fileno(), 1)
        out.close()
        for fd, path, flags in ((2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (0, os.devnull, os.O_RDONLY)):
            target = os.open(path, flags, 0o600)
            os.dup2(target, fd)
            os.close(target)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        random.seed()  # the parent's generator state is shared by every fork otherwise
        from tui.cli import main

        argv = [str(a) for a in request["argv"]]
        sys.argv = ["agentchat", *argv]
        try:
            main(args=argv, prog_name="agentchat")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 71
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _status(raw: int) -> int:
    if os.WIFSIGNALED(raw):
        return -os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


def serve() -> None:
    from agents.llm.setup import load_litellm

    load_litellm()
    # Warm every module a run imports, the OpenAI SDK's lazily imported resources included
    # (~1 s of a first call). Nothing here opens a connection or starts an event loop.
    import openai.resources  # noqa: F401

    import agents.session  # noqa: F401
    import tui.cli
    import tui.headless  # noqa: F401

    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request["op"] == "run":
            out.flush()
            pid = os.fork()
            if pid == 0:
                _child(request)
            reply: dict[str, Any] = {"pid": pid}
        elif request["op"] == "wait":
            _, raw = os.waitpid(int(request["pid"]), 0)
            reply = {"pid": request["pid"], "status": _status(raw)}
        else:
            reply = {"error": f"unknown op {request['op']!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter's slow teardown of litellm
