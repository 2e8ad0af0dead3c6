"""The ``agentchat`` entry point. With no arguments it opens the app at once; anything else goes
to the command line proper (:mod:`tui.cli`, built on click). Importing click and building every
command costs about as much as painting a few widgets, and plain ``agentchat`` needs none of it.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

#: The environment variables plain ``agentchat`` reads, as its options would (see ``tui.cli``).
ENV_MODEL = "AGENTCHAT_MODEL"
ENV_API_BASE = "AGENTCHAT_API_BASE"
ENV_DB = "AGENTCHAT_DB"


def pause_gc() -> None:
    """Starting the app allocates many objects that live as long as it does (modules, widgets,
    styles): the cyclic garbage collector would only rescan them, so it waits for the first
    frame (``AgentChatApp.on_ready`` turns it back on)."""
    gc.disable()


def open_app(*, model: str | None, api_base: str | None, db: str | None,
             pack: str | None = None, topic: str | None = None,
             max_turns: int | None = None, budget: float | None = None) -> None:
    """Run the app. No database given: the app works out the default one off its first frame
    (the store is slow to import)."""
    pause_gc()
    from agents.session_options import RunOptions
    from tui.app import run_app

    options = RunOptions(model=model, api_base=api_base, max_turns=max_turns, budget_usd=budget)
    run_app(db_path=Path(db).expanduser() if db else None, pack=pack, topic=topic,
            options=options)


def main() -> None:
    if len(sys.argv) > 1:
        from tui.cli import main as command_line

        command_line()
        return
    # An empty variable counts as unset, as it does for the command line's options.
    open_app(model=os.environ.get(ENV_MODEL) or None,
             api_base=os.environ.get(ENV_API_BASE) or None,
             db=os.environ.get(ENV_DB) or None)


if __name__ == "__main__":
    main()
