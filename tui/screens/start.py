"""The start screen: pick a pack (with a live preview), write a topic, start; or reopen a session.

Enter on a pack moves to the topic; Enter in any field (or Ctrl+S, or the Start button) starts.
Nothing invalid ever dismisses the screen: each problem is one line under its field.

It is the app's first frame, so it shows at once with the pack files' names (``personas.catalog``);
right after, a thread validates the packs (persona counts, broken packs, the preview) and the
recent sessions are read from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from agents.llm.models import choose_model
from personas.catalog import PackEntry, list_entries
from tui.background import import_in_thread, import_modules
from tui.screens.start_parts import (
    BUDGET_ERROR,
    MAX_TURNS_LIMIT,
    PACK_LOADING,
    RECENT_LIMIT,
    TOPIC_EMPTY,
    TOPIC_HINT,
    TURNS_ERROR,
    broken_preview,
    pack_preview,
    pack_prompt,
    parse_budget,
    parse_max_turns,
    recent_prompt,
    titled,
)
from tui.widgets.key_bar import KeyBar
from tui.widgets.start_button import StartButton
from tui.widgets.text_pane import TextPane
from tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from agents.store import SessionRow
    from personas.loader import PackInfo
    from personas.models import Pack
    from tui.screens.choices import ReopenChoice, StartChoice  # noqa: F401 (in a string base)

__all__ = [
    "BUDGET_ERROR",
    "MAX_TURNS_LIMIT",
    "RECENT_LIMIT",
    "TOPIC_EMPTY",
    "TOPIC_HINT",
    "TURNS_ERROR",
    "StartScreen",
    "parse_budget",
    "parse_max_turns",
]


class StartScreen(Screen["StartChoice | ReopenChoice"]):  # choices load when one is made
    """Pick a pack and a topic (dismiss with a StartChoice) or a recent session (ReopenChoice).

    ``db_path`` is the database of the recent sessions (None: the default one).
    ``default_model_note`` is shown as the model field's hint when the highlighted pack cannot
    be loaded; otherwise the hint is ``choose_model(None, pack.pack.model).note``. ``user_dir``
    overrides where user packs are looked for (default: the loader's). ``model``,
    ``budget_usd`` and ``max_turns`` (the command line's flags) pre-fill their fields, so they
    win over the pack's defaults unless the user changes them. ``after_first_frame`` schedules
    what follows the first frame (validating the packs, reading the recent sessions); by default
    it runs after the screen's first refresh (``AgentChatApp`` passes its ``when_ready``, so that
    work never delays its first frame).
    """

    CSS_PATH = "start.tcss"
    TITLE = "agentchat"
    SUB_TITLE = "New session"
    # Textual declares this without ClassVar, so annotating it here upsets mypy.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    # Under these heights the top row keeps 8 lines, the screen scrolls (see start.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-medium"), (23, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True, id="start.start"),
        Binding("ctrl+t", "focus_topic", "Topic", id="start.focus-topic"),
        Binding("ctrl+o", "focus_packs", "Packs", id="start.focus-packs"),
        Binding("ctrl+r", "focus_recent", "Recent", id="start.focus-recent"),
    ]

    def __init__(
        self,
        db_path: Path | None,
        default_model_note: str,
        *,
        user_dir: Path | None = None,
        model: str | None = None,
        budget_usd: float | None = None,
        max_turns: int | None = None,
        after_first_frame: Callable[[Callable[[], object]], None] | None = None,
    ) -> None:
        super().__init__()
        self.initial = (model or "", "" if budget_usd is None else f"{budget_usd:g}",
                        "" if max_turns is None else str(max_turns))
        self.db_path = db_path
        self.default_model_note = default_model_note
        self.user_dir = user_dir
        self.packs: list[PackInfo | PackEntry] = []
        """The pack files at first, then (once validated in a thread) their ``PackInfo``."""
        self.packs_checked = False
        self.recent: list[SessionRow] = []
        self._loaded: dict[str, Pack | str] = {}  # by file: the pack, or why it cannot load
        self._model_note = self._model_hint = default_model_note
        self._model_placeholder = "the default model"
        self._resumed = False
        self._after_first_frame = after_first_frame or self.call_after_refresh

    def compose(self) -> ComposeResult:
        # Textual sets the breakpoint class on the first resize, restyling every widget; set
        # now, before the widgets are styled, that resize finds nothing to change.
        width, height = self.app.size
        for size, breakpoints in ((width, self.HORIZONTAL_BREAKPOINTS),
                                  (height, self.VERTICAL_BREAKPOINTS)):
            reached = [name for edge, name in sorted(breakpoints) if size >= edge]
            current = reached[-1] if reached else None
            self.update_classes({name: name == current for _, name in breakpoints})
        # The first frame styles, mounts and paints every widget here: hence grids, not rows.
        yield TitleBar()
        yield titled(OptionList(id="pack-list"), "Packs")
        yield titled(TextPane(id="preview-box"), "Preview")
        with Horizontal(id="start-bottom"):
            with titled(Vertical(id="form-box"), "New session"):
                yield titled(Input(id="topic", placeholder="What should the group work on?"),
                             "Topic")
                yield Static(TOPIC_HINT, id="topic-message", classes="field-message")
                yield titled(Input(id="model"), "Model")
                yield titled(Input(id="budget"), "Budget USD")
                yield titled(Input(id="max-turns"), "Max turns")
                yield StartButton("Start", id="start-button", variant="primary")
                yield Static("", id="options-message", classes="field-message")
            # Its text says how loading went; the list (#recent-list) is mounted in it after.
            yield titled(Static("Loading…", id="recent-box"), "Recent sessions")
        yield KeyBar()

    def on_mount(self) -> None:
        for selector, value in zip(("#model", "#budget", "#max-turns"), self.initial,
                                   strict=True):
            self.query_one(selector, Input).value = value
        self.packs = list(list_entries(user_dir=self.user_dir))
        pack_list = self.query_one("#pack-list", OptionList)
        pack_list.add_options(
            Option(pack_prompt(info), id=f"pack-{index}") for index, info in enumerate(self.packs)
        )
        if self.packs:
            pack_list.highlighted = 0
            self._show_pack(0)
        pack_list.focus()
        self._after_first_frame(self._load_after_first_frame)

    @on(events.ScreenResume)
    def _first_resume(self, event: events.ScreenResume) -> None:
        """Textual restyles a screen's widgets when it resumes; on the first resume they were
        styled a moment ago, as they mounted, so that would only slow the first frame."""
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def _load_after_first_frame(self) -> None:
        if not self.is_attached:  # dismissed before the first frame was shown
            return
        self.run_worker(self._check_packs, name="start-packs", group="start-packs", thread=True,
                        exit_on_error=False)
        self.run_worker(self._load_recent(), name="start-recent", group="start-recent",
                        exclusive=True)

    # -- packs ---------------------------------------------------------------------------------

    def _check_packs(self) -> None:
        """(A thread.) Validate every pack, then show their details."""
        import_modules("personas.loader")
        from personas.loader import list_packs

        infos = list_packs(user_dir=self.user_dir)
        self.app.call_from_thread(self._packs_checked, infos)

    def _packs_checked(self, infos: list[PackInfo]) -> None:
        if not self.is_attached:  # dismissed meanwhile
            return
        pack_list = self.query_one("#pack-list", OptionList)
        index = pack_list.highlighted
        same = [info.path for info in infos] == [info.path for info in self.packs]
        self.packs, self.packs_checked = list(infos), True
        if same:
            for position, info in enumerate(infos):
                pack_list.replace_option_prompt_at_index(position, pack_prompt(info))
        else:  # the files changed meanwhile: list them afresh
            self._loaded.clear()
            pack_list.clear_options()
            pack_list.add_options(
                Option(pack_prompt(info), id=f"pack-{position}")
                for position, info in enumerate(infos)
            )
            index = None if not infos else min(index or 0, len(infos) - 1)
            pack_list.highlighted = index
        if index is not None:
            self._show_pack(index)

    def _pack(self, index: int) -> Pack | str:
        """The pack at ``index`` of the list, or why it cannot be loaded."""
        info = self.packs[index]
        if info.path not in self._loaded:
            from personas.loader import PackError, load_pack

            if not isinstance(info, PackEntry) and info.error is not None:
                self._loaded[info.path] = info.error
            else:
                try:
                    self._loaded[info.path] = load_pack(info.path or info.name)
                except PackError as exc:
                    self._loaded[info.path] = str(exc)
        return self._loaded[info.path]

    def _show_pack(self, index: int) -> None:
        """Preview the pack at ``index``; until the packs are validated, only its name."""
        info = self.packs[index]
        ready = self.packs_checked or info.path in self._loaded
        pack = self._pack(index) if ready else None
        preview = self.query_one("#preview-box", TextPane)
        preview.border_title = Content(info.name)
        preview.border_subtitle = "built-in pack" if info.source == "builtin" else "user pack"
        preview.set_class(isinstance(pack, str), "-broken")
        budget = self.query_one("#budget", Input)
        turns = self.query_one("#max-turns", Input)
        if pack is None:
            preview.update(Content(PACK_LOADING))
            budget.placeholder = turns.placeholder = ""
        elif isinstance(pack, str):
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
        preview.scroll_home(animate=False)
        self._validate_options()

    @on(OptionList.OptionHighlighted, "#pack-list")
    def _pack_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_pack(event.option_index)
        self._set_message("#topic-message", self.query_one("#topic", Input), None, TOPIC_HINT)

    @on(OptionList.OptionSelected, "#pack-list")
    def _pack_chosen(self) -> None:
        self.query_one("#topic", Input).focus()

    def selected_pack(self) -> PackInfo | PackEntry | None:
        index = self.query_one("#pack-list", OptionList).highlighted
        return None if index is None else self.packs[index]

    def _pack_ref(self, info: PackInfo | PackEntry) -> str:
        """The name of a built-in pack (unless a user pack shadows it), else the file's path."""
        shadowed = any(p.name == info.name and p.source != "builtin" for p in self.packs)
        return info.name if info.source == "builtin" and not shadowed else info.path

    # -- recent sessions -------------------------------------------------------------------------

    async def _load_recent(self) -> None:
        await import_in_thread("agents.store", "tui.screens.sessions")
        from agents.store import Store, StoreError, default_db_path
        from tui.screens.sessions import newest_first

        box = self.query_one("#recent-box", Static)
        try:
            store = await Store.open(self.db_path or default_db_path())
            try:
                rows = await store.list_sessions()
            finally:
                await store.close()
        except StoreError as exc:
            box.update(Content(str(exc)))
            box.add_class("-error")
            return
        self.recent = newest_first(rows)[:RECENT_LIMIT]
        recent = OptionList(*(Option(recent_prompt(row), id=row.id) for row in self.recent),
                            id="recent-list")
        recent.display = bool(self.recent)
        await box.mount(recent)
        if self.recent:
            recent.highlighted = 0
        box.update("" if self.recent else "No saved sessions yet.")
        box.set_class(bool(self.recent), "-listed")  # the list fills the box, to its border

    @on(OptionList.OptionSelected, "#recent-list")
    def _recent_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            from tui.screens.choices import ReopenChoice

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
        from tui.screens.choices import StartChoice

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
        for recent in self.query("#recent-list").results(OptionList):
            if recent.display:
                recent.focus()
