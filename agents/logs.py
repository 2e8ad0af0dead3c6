"""The log file: everything chatty (litellm, llama.cpp, our own debug lines) goes here, not to
the terminal, with secrets redacted."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import platformdirs

from agents.fs import make_private_dirs

SECRET_ENV_PATTERN = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD)$|^AGENTCHAT_API_KEY$")
_configured: Path | None = None


def secret_values() -> list[str]:
    """Values of environment variables that look like secrets (long enough to be worth hiding)."""
    return [v for k, v in os.environ.items() if SECRET_ENV_PATTERN.search(k) and len(v) >= 6]


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, "[redacted]")
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def default_log_path() -> Path:
    override = os.environ.get("AGENTCHAT_LOG")
    if override:
        return Path(override)
    return platformdirs.user_log_path("agentchat") / "agentchat.log"


def setup_logging(path: Path | None = None) -> Path:
    """Send the root, litellm and our loggers to an owner-only log file. Idempotent."""
    global _configured
    if _configured is not None:
        return _configured
    path = path or default_log_path()
    make_private_dirs(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    for name in ("", "LiteLLM", "LiteLLM Proxy", "LiteLLM Router", "litellm", "agentchat",
                 "httpx", "openai"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if isinstance(old, logging.StreamHandler) and not isinstance(
                old, logging.FileHandler
            ):
                logger.removeHandler(old)
        if name:
            logger.propagate = False
        logger.addHandler(handler)
        if name in ("", "agentchat"):
            logger.setLevel(logging.INFO)
        else:
            logger.setLevel(logging.WARNING)
    _configured = path
    return path
