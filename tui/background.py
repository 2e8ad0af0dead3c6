"""Slow imports off the event loop: what the first frame does not need (pydantic, the store, the
main screen) is imported in a thread afterwards, so the screen keeps answering keys meanwhile.

These imports go one at a time (one lock), so two threads never import the same modules in
opposite orders.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading

_lock = threading.Lock()


def import_modules(*modules: str) -> None:
    """Import ``modules`` (in the calling thread), one importer at a time."""
    if all(name in sys.modules for name in modules):
        return
    with _lock:
        for name in modules:
            importlib.import_module(name)


async def import_in_thread(*modules: str) -> None:
    """Import ``modules`` in a worker thread (at once if they are all imported already)."""
    if not all(name in sys.modules for name in modules):
        await asyncio.to_thread(import_modules, *modules)
