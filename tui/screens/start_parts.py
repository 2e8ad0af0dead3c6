"""The start screen's texts: its messages, the parsing of its fields, the pack list's prompts and
the pack preview. Cheap to import (no pydantic, no store): the start screen is the first frame."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

from rich.color import Color, ColorParseError
from rich.text import Text

from personas.catalog import PackEntry

if TYPE_CHECKING:
    from textual.widget import Widget

    from agents.store import SessionRow
    from personas.loader import PackInfo
    from personas.models import Pack

RECENT_LIMIT = 10
MAX_TURNS_LIMIT = 10_000
TOPIC_HINT = "Enter or Ctrl+S starts the session."
TOPIC_EMPTY = "Topic: write what the group should work on."
BUDGET_ERROR = "Budget: enter US dollars above 0, e.g. 1.50."
TURNS_ERROR = f"Max turns: enter a whole number, 1 to {MAX_TURNS_LIMIT}."
PACK_LOADING = "Loading the pack…"


def parse_budget(text: str) -> tuple[float | None, str | None]:
    """``(usd, None)``, ``(None, None)`` when empty, or ``(None, error)``; a leading $ is fine."""
    raw = text.strip().removeprefix("$").strip()
    if not raw:
        return None, None
    try:
        value = float(raw)
    except ValueError:
        return None, BUDGET_ERROR
    if not math.isfinite(value) or value <= 0:
        return None, BUDGET_ERROR
    return value, None


def parse_max_turns(text: str) -> tuple[int | None, str | None]:
    """``(turns, None)``, ``(None, None)`` when empty, or ``(None, error)``."""
    raw = text.strip()
    if not raw:
        return None, None
    try:
        value = int(raw)
    except ValueError:
        return None, TURNS_ERROR
    if not 1 <= value <= MAX_TURNS_LIMIT:
        return None, TURNS_ERROR
    return value, None


def _colour(name: str) -> str:
    try:
        Color.parse(name)
    except ColorParseError:
        return ""
    return name


def pack_preview(pack: Pack, info: PackInfo | PackEntry) -> Text:
    """Description, settings and the cast of ``pack``, each persona in its colour."""
    text = Text()
    if pack.pack.description:
        text.append(pack.pack.description + "\n\n")
    budget = pack.budget
    limits = []
    if budget.session_usd is not None:
        limits.append(f"${budget.session_usd:.2f} per session")
    if budget.per_persona_usd is not None:
        limits.append(f"${budget.per_persona_usd:.2f} per persona")
    stop = pack.termination.stop_phrase
    rows = [
        ("Pattern", pack.pack.pattern),
        ("Budget", " · ".join(limits) or "no limit"),
        ("Max turns", f"{pack.termination.max_turns}" + (f' · ends on "{stop}"' if stop else "")),
        ("Model", pack.pack.model or "the default (see Model below)"),
        ("Source", "built-in" if info.source == "builtin" else info.path),
    ]
    for label, value in rows:
        text.append(f"{label:<10}", style="dim")
        text.append(f"{value}\n")
    text.append(f"\nCast ({len(pack.personas)})\n", style="bold")
    for persona in pack.personas:
        colour = _colour(persona.colour)
        text.append("● ", style=colour)
        text.append(persona.name, style=f"bold {colour}".strip())
        text.append(f" — {persona.role}")
        if persona.expertise:
            text.append(f" · {persona.expertise}", style="dim")
        text.append("\n")
    text.rstrip()
    return text


def broken_preview(error: str, info: PackInfo | PackEntry) -> Text:
    text = Text("This pack cannot be loaded.\n\n", style="bold red")
    text.append(error + "\n\n")
    text.append("Fix the file and reopen this screen, or pick another pack.", style="dim")
    if info.path not in error:
        text.append(f"\n{info.path}", style="dim")
    return text


def pack_prompt(info: PackInfo | PackEntry) -> Text:
    """The pack list's line for ``info``; a catalog entry (not validated yet) has no cast size."""
    if not isinstance(info, PackEntry) and info.error is not None:
        return Text.assemble((info.name, "dim strike"), ("  ⚠ broken", "dim red"))
    prompt = Text(info.name)
    if info.source == "user":
        prompt.append("  user", style="dim italic")
    if not isinstance(info, PackEntry):
        prompt.append(f" · {len(info.personas)} personas", style="dim")
    return prompt


def recent_prompt(row: SessionRow) -> Text:
    from tui.screens.sessions import format_cost, format_when

    title = " ".join((row.title or row.topic or "(untitled)").split())
    text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
    text.append(
        f"\n{row.pack_name} · {row.turns} turns · {format_cost(row.cost_usd)} · "
        f"{format_when(row.created)}",
        style="dim",
    )
    return text



W = TypeVar("W", bound="Widget")


def titled(widget: W, title: str) -> W:
    """``widget`` with ``title`` in its top border."""
    widget.border_title = title
    return widget
