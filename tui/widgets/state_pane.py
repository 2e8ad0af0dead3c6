"""The Shared State pane: goal, agenda, decisions, open questions, action items, artifacts."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static

from agents.events import Event, StatePatched
from agents.state import ActionItem, Artifact, SharedState
from personas.models import Pack
from tui.widgets.artifact_viewer import ArtifactViewer

STATUS_GLYPHS = {"done": "✓", "in_progress": "…", "open": "○"}
_STATUS_STYLES = {"done": "green", "in_progress": "yellow", "open": "dim"}


def render_state(state: SharedState, names: dict[str, str] | None = None) -> Text:
    """Everything but the artifacts, as text; ``names`` maps persona ids to display names."""
    names = names or {}
    out = Text()

    def heading(title: str) -> None:
        if out:
            out.append("\n")
        out.append(title + "\n", style="bold underline")

    if state.goal:
        heading("Goal")
        out.append(state.goal + "\n")
    if state.agenda:
        heading("Agenda")
        for number, item in enumerate(state.agenda, 1):
            out.append(f"{number}. ", style="dim").append(item + "\n")
    if state.decisions:
        heading("Decisions")
        for decision in state.decisions:
            out.append("• ", style="green").append(decision + "\n")
    if state.open_questions:
        heading("Open questions")
        for question in state.open_questions:
            out.append("? ", style="yellow").append(question + "\n")
    if state.action_items:
        heading("Action items")
        for action in state.action_items:
            out.append_text(_action_line(action, names))
    if not out:
        out.append("Nothing recorded yet.", style="dim italic")
    out.rstrip()
    return out


def _action_line(item: ActionItem, names: dict[str, str]) -> Text:
    line = Text(STATUS_GLYPHS[item.status] + " ", style=_STATUS_STYLES[item.status])
    line.append(item.text, style="strike dim" if item.status == "done" else "")
    if item.owner:
        line.append(" — " + names.get(item.owner, item.owner), style="italic")
    line.append(f" [{item.status.replace('_', ' ')}]\n", style="dim")
    return line


def artifact_label(artifact: Artifact, names: dict[str, str] | None = None) -> Text:
    """``name (kind, author)`` for the artifact list."""
    names = names or {}
    label = Text(artifact.name, style="bold")
    details = [artifact.kind]
    if artifact.author:
        details.append(names.get(artifact.author, artifact.author))
    label.append(" (" + ", ".join(details) + ")", style="dim")
    return label


class StatePane(Vertical):
    """The shared state, updated live on ``StatePatched``; Enter/click on an artifact opens it."""

    DEFAULT_CSS = """
    StatePane { height: auto; width: 1fr; }
    StatePane > #state-body { height: auto; }
    StatePane > #state-artifacts-title { height: 1; margin-top: 1; text-style: bold underline; }
    StatePane > #state-artifacts {
        height: auto; max-height: 10; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(
        self,
        pack: Pack | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._names = {p.id: p.name for p in pack.personas} if pack else {}
        self._names.setdefault("human", "You")
        self.state = SharedState()
        self._artifact_names: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(render_state(self.state, self._names), id="state-body")
        yield Static("Artifacts", id="state-artifacts-title")
        yield OptionList(id="state-artifacts", compact=True)

    def on_mount(self) -> None:
        self._show_artifacts()

    # -- public API

    def handle(self, event: Event) -> None:
        if isinstance(event, StatePatched):
            self.set_state(event.state)

    def reset(self) -> None:
        self.set_state(SharedState())

    def set_state(self, state: SharedState) -> None:
        """Show ``state`` (a live patch, a rollback or a reopened session)."""
        if state == self.state:
            return
        self.state = state.model_copy(deep=True)
        if self.is_mounted:
            self.query_one("#state-body", Static).update(render_state(self.state, self._names))
            self._show_artifacts()

    def open_artifact(self, name: str) -> None:
        """Open the viewer on the artifact called ``name`` (no-op if there is none)."""
        artifact = self.state.artifacts.get(name)
        if artifact is not None:
            author = self._names.get(artifact.author, artifact.author)
            self.app.push_screen(ArtifactViewer(artifact, author_name=author))

    # -- internals

    def _show_artifacts(self) -> None:
        artifacts = self.state.artifacts
        option_list = self.query_one("#state-artifacts", OptionList)
        has_any = bool(artifacts)
        option_list.display = has_any
        self.query_one("#state-artifacts-title", Static).display = has_any
        names = list(artifacts)
        prompts = [artifact_label(artifacts[n], self._names) for n in names]
        highlighted = option_list.highlighted
        keep = None
        if highlighted is not None and highlighted < len(self._artifact_names):
            keep = self._artifact_names[highlighted]
        self._artifact_names = names
        option_list.set_options(prompts)
        if keep in names:
            option_list.highlighted = names.index(keep)

    @on(OptionList.OptionSelected, "#state-artifacts")
    def _artifact_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._artifact_names):
            self.open_artifact(self._artifact_names[event.option_index])
