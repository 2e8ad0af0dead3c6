"""Keeping Python's cyclic garbage collector out of the frame budget.

A full (oldest-generation) collection walks every object the process holds: with litellm,
pydantic and a long session's transcript loaded that is hundreds of milliseconds during which
nothing is drawn and no key is handled, and it comes back whenever enough new objects have
survived. :func:`settle` moves everything alive now (modules, the loaded history, the app's
widgets) into the collector's permanent generation, so later collections only walk what was
made since. Those objects are still freed as usual when nothing refers to them; a cycle among
them that is already garbage would not be, so every settle after the first one (a session
shown, a run started: moments that are slow anyway) first gives the frozen objects back and
collects once, and at most the garbage of the first settle is kept.

While a session runs, replies stream and every chunk leaves objects behind. Left to itself the
collector would start a full collection every few hundred milliseconds (a freeze leaves it few
"long-lived" objects to compare the survivors with), each walking everything the run has made so
far: pauses of 50 to 200 ms in the middle of the text. So during a run (:func:`run_started` to
:func:`run_finished`) full collections wait for the end of a turn (:func:`turn_ended`), when
every reply of the turn is in and nothing is streaming: the turn's garbage is collected there and
what survives is frozen, so the next turn's collections walk only that turn's objects. Every
:data:`TURNS_PER_SWEEP` turns, and when the run ends, the frozen objects are given back and
collected too (:func:`settle`), so garbage among them is kept for a bounded time. The young
generations are still collected as usual throughout.
"""

from __future__ import annotations

import gc

#: Every this many turns of a run, a turn's end also collects what earlier turns froze.
TURNS_PER_SWEEP = 20
#: The oldest generation's threshold during a run: high enough never to be reached.
_NEVER = 1_000_000

_runs = 0
_turns = 0
_threshold: tuple[int, int, int] | None = None  # the thresholds before the first run started


def settle() -> None:
    """Exempt every object alive now from future cyclic garbage collections."""
    if gc.get_freeze_count():
        gc.unfreeze()  # e.g. a previous session's screen, now garbage: let it go first
        gc.collect()
    gc.freeze()


def run_started() -> None:
    """A run starts: settle, and leave full collections to the ends of its turns."""
    global _runs, _threshold
    settle()
    if _runs == 0:
        _threshold = gc.get_threshold()
        gc.set_threshold(_threshold[0], _threshold[1], _NEVER)
    _runs += 1


def turn_ended() -> None:
    """A turn of a run has ended (its checkpoint is made): collect what it left, freeze the
    rest; every :data:`TURNS_PER_SWEEP` turns, collect what earlier turns froze as well."""
    global _turns
    if _runs == 0:
        return
    _turns += 1
    if _turns % TURNS_PER_SWEEP == 0:
        settle()
        return
    gc.collect()
    gc.freeze()


def run_finished() -> None:
    """A run has ended: collect everything it left and, once no run is left, collect as
    usual again."""
    global _runs, _threshold
    if _runs == 0:
        return
    _runs -= 1
    if _runs == 0 and _threshold is not None:
        gc.set_threshold(*_threshold)
        _threshold = None
    settle()


def running() -> bool:
    """Whether a run holds back the collector's full collections now."""
    return _runs > 0
