"""The start screen: pick a pack (with a live preview), write a topic, start; or reopen a session.

Enter on a pack moves to the topic; Enter in any field (or Ctrl+S, or the Start button) starts.
Nothing invalid ever dismisses the screen: each problem is one line under its field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

from rich.color import Color, ColorParseError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from agents.llm.models import choose_model
from agents.store import SessionRow, Store, StoreError
from personas.loader import PackError, PackInfo, list_packs, load_pack
from personas.models import Pack
from tui.screens.choices import ReopenChoice, StartChoice
from tui.screens.sessions import format_cost, format_when, newest_first

__all__ = ["RECENT_LIMIT", "StartScreen", "parse_budget", "parse_max_turns"]

RECENT_LIMIT = 10
MAX_TURNS_LIMIT = 10_000
TOPIC_HINT = "Enter or Ctrl+S starts the session."
TOPIC_EMPTY = "Topic: write what the group should work on."
BUDGET_ERROR = "Budget: enter US dollars above 0, e.g. 1.50."
TURNS_ERROR = f"Max turns: enter a whole number, 1 to {MAX_TURNS_LIMIT}."


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


def pack_preview(pack: Pack, info: PackInfo) -> Text:
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


def broken_preview(error: str, info: PackInfo) -> Text:
    text = Text("This pack cannot be loaded.\n\n", style="bold red")
    text.append(error + "\n\n")
    text.append("Fix the file and reopen this screen, or pick another pack.", style="dim")
    if info.path not in error:
        text.append(f"\n{info.path}", style="dim")
    return text


def pack_prompt(info: PackInfo) -> Text:
    if info.error is not None:
        return Text.assemble((info.name, "dim strike"), ("  ⚠ broken", "dim red"))
    prompt = Text(info.name)
    if info.source == "user":
        prompt.append("  user", style="dim italic")
    prompt.append(f" · {len(info.personas)} personas", style="dim")
    return prompt


def recent_prompt(row: SessionRow) -> Text:
    title = " ".join((row.title or row.topic or "(untitled)").split())
    text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
    text.append(
        f"\n{row.pack_name} · {row.turns} turns · {format_cost(row.cost_usd)} · "
        f"{format_when(row.created)}",
        style="dim",
    )
    return text


class StartScreen(Screen[StartChoice | ReopenChoice]):
    """Pick a pack and a topic (dismiss with a StartChoice) or a recent session (ReopenChoice).

    ``default_model_note`` is shown as the model field's hint when the highlighted pack cannot
    be loaded; otherwise the hint is ``choose_model(None, pack.pack.model).note``. ``user_dir``
    overrides where user packs are looked for (default: the loader's). ``model``,
    ``budget_usd`` and ``max_turns`` (the command line's flags) pre-fill their fields, so they
    win over the pack's defaults unless the user changes them.
    """

    CSS_PATH = "start.tcss"
    TITLE = "agentchat"
    SUB_TITLE = "New session"
    # Textual declares this without ClassVar, so annotating it here upsets mypy.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True, id="start.start"),
        Binding("ctrl+t", "focus_topic", "Topic", id="start.focus-topic"),
        Binding("ctrl+o", "focus_packs", "Packs", id="start.focus-packs"),
        Binding("ctrl+r", "focus_recent", "Recent", id="start.focus-recent"),
    ]

    def __init__(
        self,
        db_path: Path,
        default_model_note: str,
        *,
        user_dir: Path | None = None,
        model: str | None = None,
        budget_usd: float | None = None,
        max_turns: int | None = None,
    ) -> None:
        super().__init__()
        self.initial = (model or "", "" if budget_usd is None else f"{budget_usd:g}",
                        "" if max_turns is None else str(max_turns))
        self.db_path = db_path
        self.default_model_note = default_model_note
        self.user_dir = user_dir
        self.packs: list[PackInfo] = []
        self.recent: list[SessionRow] = []
        self._loaded: dict[int, Pack | str] = {}
        self._model_note = self._model_hint = default_model_note
        self._model_placeholder = "the default model"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="start-top"):
            with Vertical(id="packs-box") as packs:
                packs.border_title = "Packs"
                yield OptionList(id="pack-list")
            with VerticalScroll(id="preview-box") as preview:
                preview.border_title = "Preview"
                yield Static(id="preview")
        with Horizontal(id="start-bottom"):
            with Vertical(id="form-box") as form:
                form.border_title = "New session"
                topic = Input(id="topic", placeholder="What should the group work on?")
                topic.border_title = "Topic"
                yield topic
                yield Static(TOPIC_HINT, id="topic-message", classes="field-message")
                with Horizontal(id="options-row"):
                    model = Input(id="model")
                    model.border_title = "Model"
                    yield model
                    budget = Input(id="budget")
                    budget.border_title = "Budget USD"
                    yield budget
                    turns = Input(id="max-turns")
                    turns.border_title = "Max turns"
                    yield turns
                    yield Button("Start", id="start-button", variant="primary")
                yield Static("", id="options-message", classes="field-message")
            with Vertical(id="recent-box") as recent:
                recent.border_title = "Recent sessions"
                yield OptionList(id="recent-list")
                yield Static("Loading…", id="recent-empty")
        yield Footer()

    def on_mount(self) -> None:
        for selector, value in zip(("#model", "#budget", "#max-turns"), self.initial,
                                   strict=True):
            self.query_one(selector, Input).value = value
        self.packs = list_packs(user_dir=self.user_dir)
        pack_list = self.query_one("#pack-list", OptionList)
        pack_list.add_options(
            Option(pack_prompt(info), id=f"pack-{index}") for index, info in enumerate(self.packs)
        )
        self.query_one("#recent-list", OptionList).display = False
        if self.packs:
            pack_list.highlighted = 0
            self._show_pack(0)
        pack_list.focus()
        self.run_worker(self._load_recent(), name="start-recent", exclusive=True)

    # -- packs ---------------------------------------------------------------------------------

    def _pack(self, index: int) -> Pack | str:
        """The pack at ``index`` of the list, or why it cannot be loaded."""
        if index not in self._loaded:
            info = self.packs[index]
            if info.error is not None:
                self._loaded[index] = info.error
            else:
                try:
                    self._loaded[index] = load_pack(info.path or info.name)
                except PackError as exc:
                    self._loaded[index] = str(exc)
        return self._loaded[index]

    def _show_pack(self, index: int) -> None:
        info = self.packs[index]
        pack = self._pack(index)
        box = self.query_one("#preview-box", VerticalScroll)
        box.border_title = Content(info.name)
        box.border_subtitle = "built-in pack" if info.source == "builtin" else "user pack"
        box.set_class(isinstance(pack, str), "-broken")
        preview = self.query_one("#preview", Static)
        budget = self.query_one("#budget", Input)
        turns = self.query_one("#max-turns", Input)
        if isinstance(pack, str):
            preview.update(broken_preview(pack, info))
            self._model_note = self._model_hint = self.default_model_note
            self._model_placeholder = "the default model"
            budget.placeholder = turns.placeholder = ""
        else:
            preview.update(pack_preview(pack, info))
            choice = choose_model(None, pack.pack.model)
            self._model_note = choice.note
            self._model_placeholder = f"{choice.model} (default)"
            self._model_hint = f"Leave Model empty to use {choice.model}."
            session_usd = pack.budget.session_usd
            budget.placeholder = "no limit" if session_usd is None else f"{session_usd:.2f}"
            turns.placeholder = str(pack.termination.max_turns)
        model = self.query_one("#model", Input)
        model.placeholder = self._model_placeholder
        model.tooltip = self._model_note
        box.scroll_home(animate=False)
        self._validate_options()

    @on(OptionList.OptionHighlighted, "#pack-list")
    def _pack_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_pack(event.option_index)
        self._set_message("#topic-message", self.query_one("#topic", Input), None, TOPIC_HINT)

    @on(OptionList.OptionSelected, "#pack-list")
    def _pack_chosen(self) -> None:
        self.query_one("#topic", Input).focus()

    def selected_pack(self) -> PackInfo | None:
        index = self.query_one("#pack-list", OptionList).highlighted
        return None if index is None else self.packs[index]

    def _pack_ref(self, info: PackInfo) -> str:
        """The name of a built-in pack (unless a user pack shadows it), else the file's path."""
        shadowed = any(p.name == info.name and p.source != "builtin" for p in self.packs)
        return info.name if info.source == "builtin" and not shadowed else info.path

    # -- recent sessions -------------------------------------------------------------------------

    async def _load_recent(self) -> None:
        empty = self.query_one("#recent-empty", Static)
        try:
            store = await Store.open(self.db_path)
            try:
                rows = await store.list_sessions()
            finally:
                await store.close()
        except StoreError as exc:
            empty.update(Content(str(exc)))
            empty.add_class("-error")
            return
        self.recent = newest_first(rows)[:RECENT_LIMIT]
        recent = self.query_one("#recent-list", OptionList)
        recent.clear_options()
        recent.add_options(Option(recent_prompt(row), id=row.id) for row in self.recent)
        if self.recent:
            recent.highlighted = 0
        recent.display = bool(self.recent)
        empty.display = not self.recent
        empty.update("No saved sessions yet.")

    @on(OptionList.OptionSelected, "#recent-list")
    def _recent_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            self.dismiss(ReopenChoice(event.option_id))

    # -- the form --------------------------------------------------------------------------------

    def _set_message(
        self, selector: str, field: Input | None, error: str | None, hint: str
    ) -> None:
        message = self.query_one(selector, Static)
        message.update(Content(error or hint))
        message.set_class(error is not None, "-error")
        if field is not None:
            field.set_class(error is not None, "-invalid")

    def _validate_options(self) -> tuple[float | None, int | None, bool]:
        budget_input = self.query_one("#budget", Input)
        turns_input = self.query_one("#max-turns", Input)
        budget, budget_error = parse_budget(budget_input.value)
        turns, turns_error = parse_max_turns(turns_input.value)
        budget_input.set_class(budget_error is not None, "-invalid")
        turns_input.set_class(turns_error is not None, "-invalid")
        error = budget_error or turns_error
        self._set_message("#options-message", None, error, self._model_hint)
        return budget, turns, budget_error is None and turns_error is None

    @on(Input.Changed, "#budget, #max-turns")
    def _options_changed(self) -> None:
        self._validate_options()

    @on(Input.Changed, "#topic")
    def _topic_changed(self, event: Input.Changed) -> None:
        if event.value.strip():
            self._set_message("#topic-message", event.input, None, TOPIC_HINT)

    def choice(self) -> StartChoice | None:
        """The form as a StartChoice, or None after showing what is wrong."""
        topic_input = self.query_one("#topic", Input)
        index = self.query_one("#pack-list", OptionList).highlighted
        info = None if index is None else self.packs[index]
        pack = None if index is None else self._pack(index)
        topic = topic_input.value.strip()
        pack_error: str | None = None
        if info is None or isinstance(pack, str):
            name = "no pack" if info is None else info.name
            pack_error = f"Pack: {name} is broken; pick another."
        topic_error = None if topic else TOPIC_EMPTY
        self._set_message("#topic-message", topic_input, topic_error, TOPIC_HINT)
        if pack_error is not None:
            self._set_message("#topic-message", None, pack_error, TOPIC_HINT)
        budget, turns, options_ok = self._validate_options()
        if info is None or pack_error is not None:
            self.query_one("#pack-list", OptionList).focus()
            return None
        if topic_error is not None or not options_ok:
            invalid = [field for field in self.query(Input) if field.has_class("-invalid")]
            invalid[0].focus()
            return None
        model = self.query_one("#model", Input).value.strip() or None
        return StartChoice(self._pack_ref(info), topic, model, budget, turns)

    @on(Input.Submitted)
    @on(Button.Pressed, "#start-button")
    def action_start(self) -> None:
        choice = self.choice()
        if choice is not None:
            self.dismiss(choice)

    def action_focus_topic(self) -> None:
        self.query_one("#topic", Input).focus()

    def action_focus_packs(self) -> None:
        self.query_one("#pack-list", OptionList).focus()

    def action_focus_recent(self) -> None:
        recent = self.query_one("#recent-list", OptionList)
        if recent.display:
            recent.focus()
