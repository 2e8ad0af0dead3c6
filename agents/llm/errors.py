"""One error type for every provider failure, with a one-sentence message for the user."""

from __future__ import annotations

import sys
from typing import Any


class LLMError(Exception):
    """A failed model call. ``kind`` is stable (for tests and the UI); ``str()`` is one sentence."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.status = status


def _retry_after(exc: Exception) -> float | None:
    for holder in (getattr(exc, "response", None), exc):
        headers: Any = getattr(holder, "headers", None)
        if headers is None:
            headers = getattr(holder, "litellm_response_headers", None)
        if headers is None:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
        except AttributeError:
            continue
        if value is None:
            continue
        try:
            return max(0.0, min(float(value), 60.0))
        except ValueError:
            return None
    return None


_KINDS: list[tuple[str, str, bool, str]] = [
    # (exception class name, kind, retryable, sentence template)
    ("ContextWindowExceededError", "context_window", False,
     "the conversation no longer fits {model}'s context window"),
    ("ContentPolicyViolationError", "content_filter", False,
     "{model} refused the request on a content policy"),
    ("AuthenticationError", "auth", False,
     "{model} rejected the API key; set the provider's key (for example OPENAI_API_KEY) "
     "or choose another model with --model"),
    ("PermissionDeniedError", "auth", False,
     "{model} denied access with this API key; check the key's permissions"),
    ("NotFoundError", "not_found", False,
     "{model} is not a model the provider knows; check --model"),
    ("MidStreamFallbackError", "dropped", True,
     "the connection to {model} dropped in the middle of its answer"),
    ("RateLimitError", "rate_limit", True, "{model} is rate-limiting requests (429)"),
    ("Timeout", "timeout", True, "{model} did not answer in time"),
    ("ServiceUnavailableError", "unavailable", True, "{model}'s provider is unavailable (503)"),
    ("InternalServerError", "server_error", True, "{model}'s provider had a server error"),
    ("APIConnectionError", "connection", True,
     "cannot reach {model}'s provider; check --api-base and the network"),
    ("BadGatewayError", "server_error", True, "{model}'s provider had a gateway error"),
    ("BadRequestError", "bad_request", False, "{model} rejected the request as invalid"),
]


def classify_error(exc: Exception, model: str) -> LLMError:
    """Map any exception from a model call to an LLMError with a clear sentence."""
    if isinstance(exc, LLMError):
        return exc
    if model.startswith("local/"):
        from agents.llm.local import find_local_model_error

        local = find_local_model_error(exc)
        if local is not None:
            too_long = "context window" in str(local)
            return LLMError("context_window" if too_long else "local_model", str(local))
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc)
    if "Connection error" in text or "Connection refused" in text or _never_connected(exc):
        names = {"APIConnectionError"}  # litellm reports a refused connection as a 500
    if status is not None and 200 <= status < 300:  # answered, but the answer could not be read
        return LLMError("bad_response", f"{model}'s provider sent an answer that is not valid "
                        "JSON.", retryable=True, status=status)
    known = _from_names(names, status, text, model, exc)
    if known is not None:
        return known
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return LLMError("connection", f"cannot reach {model}'s provider ({type(exc).__name__}).",
                        retryable=True)
    from agents.logs import redact

    first_line = redact(text.strip().splitlines()[0][:200]) if text.strip() else (
        type(exc).__name__)
    return LLMError("unknown", f"{model} failed: {first_line}.", status=status)


_CONNECT_FAILURES = {"ConnectError", "ClientConnectorError", "ConnectionRefusedError"}


def _never_connected(exc: BaseException) -> bool:
    """Whether the call failed to connect at all (somewhere in the chain of causes)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if _CONNECT_FAILURES & {cls.__name__ for cls in type(seen).__mro__}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def named_error(name: str, model: str, detail: str = "") -> LLMError:
    """The LLMError for what litellm's exception ``name`` stands for, with ``detail`` said in
    brackets (for the same failure seen outside litellm)."""
    for known, kind, retryable, template in _KINDS:
        if known == name:
            sentence = template.format(model=model) + (f" ({detail})" if detail else "")
            return LLMError(kind, sentence + ".", retryable=retryable)
    raise KeyError(name)


#: The exception litellm raises for an HTTP status, for an error a provider reports in a stream.
_STATUS_NAMES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                 404: "NotFoundError", 408: "Timeout", 429: "RateLimitError",
                 500: "InternalServerError", 502: "BadGatewayError",
                 503: "ServiceUnavailableError"}


def error_for_status(status: int, text: str, model: str) -> LLMError:
    """The LLMError for an error a provider reported with ``status`` (HTTP or in-stream)."""
    names = {_STATUS_NAMES[status]} if status in _STATUS_NAMES else set()
    known = _from_names(names, status, text, model, None)
    if known is not None:
        return known
    return LLMError("unknown", f"{model}'s provider reported an error (HTTP {status}).",
                    status=status)


def _context_window(text: str) -> bool:
    """Whether an error's text says the prompt did not fit (litellm knows many providers' words
    for it; it is loaded whenever a call has failed)."""
    if "context_length_exceeded" in text or "context window" in text.lower():
        return True
    module = sys.modules.get("litellm.litellm_core_utils.exception_mapping_utils")
    checkers = getattr(module, "ExceptionCheckers", None)
    check = getattr(checkers, "is_error_str_context_window_exceeded", None)
    return bool(check(text)) if callable(check) else False


def _from_names(names: set[str], status: int | None, text: str, model: str,
                exc: Exception | None) -> LLMError | None:
    if _context_window(text):
        names = names | {"ContextWindowExceededError"}
    for name, kind, retryable, template in _KINDS:
        if name in names:
            return LLMError(
                kind,
                template.format(model=model) + ".",
                retryable=retryable,
                retry_after_s=_retry_after(exc) if retryable and exc is not None else None,
                status=status,
            )
    if status is not None and (status in (408, 429) or status >= 500):
        return LLMError(
            "server_error",
            f"{model}'s provider answered with HTTP {status}.",
            retryable=True,
            retry_after_s=_retry_after(exc) if exc is not None else None,
            status=status,
        )
    return None
