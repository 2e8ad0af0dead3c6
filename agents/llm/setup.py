"""Lazy, quiet litellm: local price map, no network, logging to our file."""

from __future__ import annotations

import asyncio
import os
import threading
from types import ModuleType

from agents.logs import setup_logging

_lock = threading.Lock()
_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """Import and configure litellm once. Slow (~5 s): call it off the UI's event loop."""
    global _litellm
    with _lock:
        if _litellm is not None:
            return _litellm
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # DEV mode would read a .env file
        # OpenAI-style providers through litellm's own HTTP handler rather than the OpenAI SDK:
        # ~2.5 ms less per call. Its stream iterator is lenient (it skips a chunk that is not
        # JSON, and ends a reply at any "[DONE]" in its text), so those streams are read by
        # agents.llm.wire instead. Set it to "false" to go back to the SDK.
        os.environ.setdefault("EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER", "true")
        import litellm

        litellm.suppress_debug_info = True
        setattr(litellm, "set_verbose", False)  # noqa: B010 - not exported in its stubs
        litellm.telemetry = False
        litellm.drop_params = True
        setup_logging()
        try:
            from agents.llm.local import register_local_provider
        except ImportError:
            pass
        else:
            register_local_provider()
        _litellm = litellm
        return litellm


def litellm_loaded() -> bool:
    return _litellm is not None


def loaded_litellm() -> ModuleType | None:
    """litellm if it is loaded, without loading it."""
    return _litellm


async def litellm_module() -> ModuleType:
    """litellm for a coroutine: at once when it is loaded, else imported on a worker thread."""
    if _litellm is not None:
        return _litellm
    return await asyncio.to_thread(load_litellm)
