"""Fixtures for every test: a hermetic environment and the scripted OpenAI-compatible server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `tests.support` and the packages import without an install
    sys.path.insert(0, str(ROOT))

# Hypothesis keeps its files under tests/, not at the top of the repository.
set_hypothesis_home_dir(str(ROOT / "tests" / ".hypothesis"))

from agents.store import Store  # noqa: E402
from tests.support.openai_server import ScriptedServer  # noqa: E402

# Provider credentials and endpoints a test must never see: with them gone no code path can
# reach a real provider by accident. Any other variable ending in a suffix below goes too.
PROVIDER_ENV_VARS = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_ORGANIZATION",
    "OPENAI_PROJECT", "OPENAI_PROJECT_ID", "OPENAI_ORG_ID", "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL", "GEMINI_API_KEY",
    "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "VERTEXAI_LOCATION",
    "MISTRAL_API_KEY", "GROQ_API_KEY", "COHERE_API_KEY", "CO_API_KEY", "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY", "TOGETHER_API_KEY", "TOGETHERAI_API_KEY", "XAI_API_KEY",
    "FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY", "PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY",
    "HUGGINGFACE_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "REPLICATE_API_KEY",
    "AZURE_API_KEY", "AZURE_API_BASE", "AZURE_API_VERSION", "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_PROFILE", "AWS_REGION_NAME", "AWS_DEFAULT_REGION", "OLLAMA_API_BASE", "OLLAMA_HOST",
    "LITELLM_API_KEY", "LITELLM_PROXY_API_KEY", "LITELLM_PROXY_API_BASE",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)
PROVIDER_ENV_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_SECRET_KEY")


@pytest.fixture(autouse=True)
def _hermetic_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No provider keys, litellm's bundled price map, and throwaway user config/data dirs."""
    for name in list(os.environ):
        if name in PROVIDER_ENV_VARS or name.upper().endswith(PROVIDER_ENV_SUFFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_MODE", "PRODUCTION")  # DEV mode loads a .env file at import
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    home = tmp_path_factory.mktemp("xdg")
    for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
        path = home / kind.lower()
        path.mkdir()
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(path))


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A started scripted OpenAI-compatible server on 127.0.0.1; its ``url`` is the api_base."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def litellm_module() -> ModuleType:
    """litellm, imported once per session (~3-5 s) and configured as the app configures it
    (offline price map, no .env, its own HTTP handler for OpenAI-style providers)."""
    from agents.llm.setup import load_litellm

    return load_litellm()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real session database in the test's own directory."""
    db = await Store.open(tmp_path / "chat.db")
    try:
        yield db
    finally:
        await db.close()
