"""Which key reaches a provider, and that retries stay inside their bounds."""

from __future__ import annotations

import pytest

from agents.llm.client import LiteLLMClient, LLMRequest


def request(model: str = "openai/served", api_base: str | None = "http://127.0.0.1:9/v1",
            ) -> LLMRequest:
    return LLMRequest(model=model, messages=[{"role": "user", "content": "hi"}],
                      api_base=api_base)


def test_a_local_server_needing_no_key_gets_a_placeholder() -> None:
    assert LiteLLMClient().completion_kwargs(request())["api_key"] == "sk-no-key-required"


def test_a_server_that_needs_a_key_gets_agentchat_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTCHAT_API_KEY", "sk-served-by-vllm")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert LiteLLMClient().completion_kwargs(request())["api_key"] == "sk-served-by-vllm"


def test_openai_compatible_servers_fall_back_to_openai_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert LiteLLMClient().completion_kwargs(request())["api_key"] == "sk-openai"
    other = LiteLLMClient().completion_kwargs(request(model="ollama/llama3"))
    assert other["api_key"] == "sk-no-key-required"


def test_without_api_base_litellm_reads_the_providers_keys_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    kwargs = LiteLLMClient().completion_kwargs(request(api_base=None))
    assert "api_key" not in kwargs and "api_base" not in kwargs
    assert kwargs["num_retries"] == 0 and kwargs["max_retries"] == 0
    assert kwargs["stream"] is True and kwargs["stream_options"] == {"include_usage": True}
