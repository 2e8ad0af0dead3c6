"""How rows are packed on disk (schema 3): compressed payloads and integer times.

* A payload (JSON text) of at least :data:`MIN_PACK` bytes is stored as a BLOB: one version
  byte, then raw deflate with a preset dictionary (``zlib`` ``zdict``): the frozen
  :data:`STATIC_V1` (JSON keys of the engine's events and common English) followed by the
  session's own words (persona ids, names, roles, model, topic; ``sessions.words``). Short JSON
  compresses several times better with such a dictionary than alone. Shorter payloads, and any
  that would not shrink, stay TEXT; rows written before schema 3 are TEXT and read as they are.
* A checkpoint's label that is the one-line summary of the message just said on its branch is
  stored as INTEGER ``seq << 8 | width`` (:func:`label_ref`); its state, when it is the state of
  the ``state_patched`` event just written (with empty routing), as INTEGER ``seq``. Both are
  checked to read back exactly before they are used; reads resolve them from the event row.
* A time is stored as INTEGER microseconds since the epoch when that gives back the very same
  ISO text (what :func:`~agents.store.rows.now_iso` writes); any other text is kept as TEXT.

Never edit :data:`STATIC_V1`: stored blobs name it by their version byte. A new dictionary is a
new version byte.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

MIN_PACK = 24
"""Payloads shorter than this (bytes) are stored as plain TEXT."""

_V1 = 1

STATIC_V1 = "".join((
    # Common English, least frequent first (deflate reaches the end of the dictionary cheapest).
    " however, although, therefore, instead, because of, in order to, as well as, according to,"
    " for example, for instance, in addition, on the other hand, at the same time, at least,"
    " in particular, in practice, as a result, in this case, in other words, such as, so that,"
    " rather than, even if, even though, whether or not, each other, one another, more than,"
    " less than, at the end of the, the rest of the, the number of, the same as, a number of,"
    " important, different, possible, available, necessary, following, general, specific,"
    " information, example, problem, question, answer, system, process, approach, solution,"
    " change, changes, result, results, value, values, number, point, case, part, place, way,"
    " time, times, people, user, users, team, work, works, data, request, response, error,"
    " first, second, third, last, next, new, old, own, other, another, same, small, large,"
    " long, short, high, low, good, better, best, bad, right, wrong, early, late, simple,"
    " without, within, between, through, during, before, after, above, below, under, over,"
    " again, also, only, just, still, even, already, always, never, often, usually, then,"
    " there is, there are, it is, it was, this is, that is, which is, we can, we should,"
    " you can, they are, we are, I think, I would, should be, could be, would be, will be,"
    " can be, must be, may be, has been, have been, had been, does not, do not, is not,"
    " are not, cannot, don't, isn't, it's, we'll, they'll, that's, there's, what's,"
    " make, made, take, taken, give, given, use, used, using, need, needs, want, know, see,"
    " look, find, found, keep, let, begin, seem, help, show, try, call, called, run, set,"
    " because, before, while, where, when, what, which, who, whom, whose, how, why, if, than,"
    " each, every, all, any, both, few, many, much, more, most, some, such, no, not, nor,"
    " only, very, too, so, up, down, out, off, about, into, onto, upon, from, with, by, for,"
    " and the, of the, in the, to the, on the, for the, at the, by the, from the, with the,"
    " that the, is the, as the, and a, of a, in a, to a, is a, as a, for a, with a, it is a,"
    " the ", " and ", " of ", " to ", " in ", " is ", " that ", " it ", " for ", " on ",
    " are ", " as ", " with ", " be ", " this ", " was ", " have ", " or ", " an ", " by ",
    " not ", " but ", " from ", " at ", " which ", " can ", " will ", " they ", " we ",
    " you ", " if ", " their ", " there ", " one ", " all ", " would ", " should ", ". The ",
    ". It ", ". This ", ". In ", ". We ", ". If ", ", and ", ", but ", ", or ", ", which ",
    # The keys of the engine's events, states and running totals.
    '"patch":{"set_goal":null,"add_agenda":[],"add_decisions":[],"add_open_questions":[],'
    '"resolve_questions":[],"add_action_items":[],"update_action_items":[],'
    '"put_artifacts":{}},"state":{"goal":"","agenda":[],"decisions":[],"open_questions":[],'
    '"action_items":[{"text":"","owner":"","status":"open"}],"artifacts":{},"_routing":{}}'
    '{"lines":0,"ledger":{"agents":{},"overhead":[0,0,0,0.0,0.0,0],"per_turn":[[0,0.0]]},'
    '"last_speaker":null}'
    '{"~":1,"title":"","pack":"","topic":"","model":"","model_note":"","max_turns":'
    ',"budget_usd":,"resumed":true,"paused":true,"fatal":true,"error":"","detail":"",'
    '"fallback":true,"fallback_reason":"","attempt":1,"task_id":"","future":"","how":"",'
    '"done":true,"summary":"","speaker":"","parent_branch_id":"","fork_seq":,"seq":,'
    '"edited":true,"interrupted":true,"to":"","message":"","status":"","turns":'
    '{"~":1,"turn":1,"speakers":[""],"reason":""}'
    '{"~":1,"message_id":"","agent":"","name":"","role":"expert","turn":1,"text":"'
    '{"~":1,"agent":"","model":"","turn":1,"prompt_tokens":1,"completion_tokens":1,'
    '"latency_ms":0.0,"cost_usd":0.0,"overhead":true}',
))


def session_words(pack: Mapping[str, Any], model: str, topic: str) -> str:
    """The session's part of the dictionary: what its events repeat (persona ids, names and
    roles as they appear in payloads, the model, the topic)."""
    parts: list[str] = [topic]
    personas: list[Any] = []
    for key in ("moderator", "speakers", "personas"):
        value = pack.get(key)
        if isinstance(value, Mapping):
            personas.append(value)
        elif isinstance(value, list):
            personas.extend(value)
    seen: set[str] = set()
    for persona in personas:
        if not isinstance(persona, Mapping) or str(persona.get("id", "")) in seen:
            continue
        pid, name, role = (str(persona.get(k, "")) for k in ("id", "name", "role"))
        seen.add(pid)
        parts.append(f'"agent":"{pid}","name":"{name}","role":"{role}","turn":')
        parts.append(f'"speakers":["{pid}"],"reason":"{name} ')
    parts.append(f'"model":"{model}","turn":')
    return "".join(parts)[-8192:]


class Codec:
    """Packs and unpacks one session's payloads (its dictionary built once)."""

    __slots__ = ("_zdict",)

    def __init__(self, words: str = "") -> None:
        self._zdict = (STATIC_V1 + words).encode()[-32768:]

    def pack(self, text: str) -> str | bytes:
        data = text.encode()
        if len(data) < MIN_PACK:
            return text
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, self._zdict)
        blob = comp.compress(data) + comp.flush()
        return text if len(blob) + 1 >= len(data) else bytes((_V1,)) + blob

    def unpack(self, value: str | bytes) -> str:
        if isinstance(value, str):
            return value
        if not value or value[0] != _V1:
            raise ValueError(f"unknown payload format {value[:1]!r}")
        decomp = zlib.decompressobj(-15, self._zdict)
        return (decomp.decompress(value[1:]) + decomp.flush()).decode()

    def unpack_opt(self, value: str | bytes | None) -> str | None:
        return None if value is None else self.unpack(value)


def summary(text: str, width: int) -> str:
    """A message cut to one line of ``width`` characters, as a checkpoint label that refers to
    its message is read back (0: the whole line). Frozen: stored labels depend on it."""
    flat = " ".join(text.split())
    return flat if width == 0 or len(flat) <= width else flat[: width - 1] + "…"


def label_ref(label: str, seq: int, text: str) -> int | None:
    """``seq << 8 | width`` when ``label`` is :func:`summary` of the message ``text`` at
    ``seq`` (stored instead of the label), else None."""
    width = len(label) if label.endswith("…") else 0
    if width < 256 and label and summary(text, width) == label:
        return seq << 8 | width
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def pack_time(text: str) -> int | str:
    """An ISO time as INTEGER microseconds when that reads back as the same text."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is None or when.utcoffset() != timedelta(0):
        return text
    delta = when - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros if unpack_time(micros) == text else text


_SECONDS: dict[int, str] = {}


def unpack_time(value: int | str) -> str:
    if isinstance(value, str):
        return value
    seconds, micros = divmod(value, 1_000_000)
    head = _SECONDS.get(seconds)
    if head is None:  # rows come in runs from the same second: format each second once
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        head = (_EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds")[:-6]
        _SECONDS[seconds] = head
    return f"{head}.{micros:06d}+00:00"
