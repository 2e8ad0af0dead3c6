"""What a model call yields: pieces of an answer, the last one with usage and finish reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ToolCall:
    name: str
    arguments: str


@dataclass
class LLMChunk:
    """A piece of a streamed answer. The last chunk carries usage and the finish reason."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
