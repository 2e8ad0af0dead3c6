"""A modal that shows one artifact of the shared state, syntax-highlighted; Escape closes it."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from agents.state import Artifact


def artifact_syntax(artifact: Artifact) -> Syntax:
    """The artifact's content highlighted by its language (markdown when it has none).

    An unknown language falls back to plain text.
    """
    language = artifact.language or "markdown"
    return Syntax(
        artifact.content.rstrip("\n"),
        language,
        line_numbers=language.lower() not in ("markdown", "md", "text", "plain"),
        word_wrap=True,
        theme="monokai",
        background_color="default",
    )


class ArtifactViewer(ModalScreen[None]):
    """Read-only view of an artifact: title line, highlighted content, Escape to close."""

    DEFAULT_CSS = """
    ArtifactViewer { align: center middle; }
    ArtifactViewer > #artifact-dialog {
        width: 90%; height: 85%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ArtifactViewer #artifact-title { height: auto; text-style: bold; }
    ArtifactViewer #artifact-body { height: 1fr; }
    ArtifactViewer #artifact-help { height: 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="artifact_viewer.close"),
        Binding("q", "dismiss", "Close", show=False, id="artifact_viewer.close_q"),
    ]

    def __init__(self, artifact: Artifact, *, author_name: str | None = None) -> None:
        super().__init__()
        self.artifact = artifact
        self.author_name = author_name or artifact.author

    def compose(self) -> ComposeResult:
        art = self.artifact
        title = Text(art.name, style="bold")
        details = [art.kind, art.language or "markdown"]
        if self.author_name:
            details.append(f"by {self.author_name}")
        title.append("  (" + ", ".join(details) + ")", style="dim")
        with Vertical(id="artifact-dialog"):
            yield Static(title, id="artifact-title")
            with VerticalScroll(id="artifact-body"):
                yield Static(artifact_syntax(art), id="artifact-content")
            yield Static("esc close · ↑↓ scroll", id="artifact-help")

    def on_mount(self) -> None:
        self.query_one("#artifact-body", VerticalScroll).focus()
