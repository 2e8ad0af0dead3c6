"""Keeping Python's cyclic garbage collector out of the frame budget.

A full (oldest-generation) collection walks every object the process holds: with litellm,
pydantic and a long session's transcript loaded that is hundreds of milliseconds during which
nothing is drawn and no key is handled, and it comes back whenever enough new objects have
survived. :func:`settle` moves everything alive now (modules, the loaded history, the app's
widgets) into the collector's permanent generation, so later collections only walk what was
made since. Those objects are still freed as usual when nothing refers to them; a cycle among
them that is already garbage would not be, so every settle after the first one (a session
shown, a run started: moments that are slow anyway) first gives the frozen objects back and
collects once, and at most the garbage of the first settle is kept.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Exempt every object alive now from future cyclic garbage collections."""
    if gc.get_freeze_count():
        gc.unfreeze()  # e.g. a previous session's screen, now garbage: let it go first
        gc.collect()
    gc.freeze()
