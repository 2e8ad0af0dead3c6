"""Price and capability lookups for a model as the engine makes them on every call: on the
event loop once litellm is loaded (cached, pure, microseconds: a thread hop would cost more than
the work), on a worker thread only while the first one would still import litellm (~5 s)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from agents.cost import FREE_PROVIDERS, price_of
from agents.llm.setup import litellm_loaded

P = ParamSpec("P")
T = TypeVar("T")


def inline(model: str) -> bool:
    """May ``model``'s price and capabilities be looked up on the event loop? Once litellm is
    loaded, yes: the lookups are cached and pure, a thread hop would cost more than the work.
    Before, the first lookup would import it (~5 s)."""
    return litellm_loaded() or model.startswith(FREE_PROVIDERS)


async def lookup(model: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A price or capability lookup for ``model``, off the loop only when it must be."""
    if inline(model):
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


async def price_known(model: str, then: Callable[[], None]) -> None:
    """Look ``model``'s price up off the loop (it imports litellm), then run ``then``: at once,
    or when the lookup is done if the caller is cancelled meanwhile (usage is never lost)."""
    task = asyncio.ensure_future(asyncio.to_thread(price_of, model))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(lambda _done: then())
        raise


@functools.lru_cache(maxsize=256)
def supports_tools(model: str) -> bool:
    """Asked of litellm once per model (its answer does not change within a process)."""
    if model.startswith("local/"):
        return False
    from agents.llm.setup import load_litellm

    try:
        return bool(load_litellm().supports_function_calling(model=model))
    except Exception:
        return False
