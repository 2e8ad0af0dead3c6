"""Which model to use when the user did not say: flag > pack > first provider with a key > local."""

from __future__ import annotations

import os
from dataclasses import dataclass

LOCAL_MODEL = "local/smollm2"

# (environment variable holding the key, the model used by default for that provider)
PROVIDER_DEFAULTS: list[tuple[str, str]] = [
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-3-5-haiku-latest"),
    ("GEMINI_API_KEY", "gemini/gemini-2.0-flash"),
    ("GROQ_API_KEY", "groq/llama-3.1-8b-instant"),
    ("MISTRAL_API_KEY", "mistral/mistral-small-latest"),
    ("DEEPSEEK_API_KEY", "deepseek/deepseek-chat"),
    ("OPENROUTER_API_KEY", "openrouter/openai/gpt-4o-mini"),
]


@dataclass(frozen=True)
class ModelChoice:
    model: str
    source: str  # "flag", "pack", "env", "local"
    note: str


def choose_model(flag: str | None, pack_model: str | None) -> ModelChoice:
    """Pick the session's model and say in one line why."""
    if flag:
        return ModelChoice(flag, "flag", f"Using {flag} (from --model).")
    configured = os.environ.get("AGENTCHAT_MODEL")
    if configured:
        return ModelChoice(configured, "config", f"Using {configured} (from AGENTCHAT_MODEL).")
    if pack_model:
        return ModelChoice(pack_model, "pack", f"Using {pack_model} (the pack's default model).")
    for env, model in PROVIDER_DEFAULTS:
        if os.environ.get(env):
            return ModelChoice(model, "env", f"Using {model} because {env} is set.")
    return ModelChoice(
        LOCAL_MODEL,
        "local",
        "No provider is configured, so the bundled local model (SmolLM2-135M) is used; "
        "set a provider key or pass --model to use another.",
    )
