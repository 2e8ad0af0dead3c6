"""The baseline of the startup benchmark: a bare Textual app, started and timed exactly like
``agentchat`` (``AGENTCHAT_BENCH_EXIT_AFTER_FIRST_FRAME=FILE``: report the first frame, then quit).
Run as a script: ``python tests/benchmarks/bare_app.py``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("bare Textual app · starting…")

    def on_ready(self) -> None:
        target = os.environ.get("AGENTCHAT_BENCH_EXIT_AFTER_FIRST_FRAME")
        if target:
            heavy = [name for name in ("litellm", "llama_cpp") if name in sys.modules]
            Path(target).write_text(json.dumps({"monotonic": time.monotonic(), "modules": heavy}))
            self.exit()


if __name__ == "__main__":
    BareApp().run()
