"""Rich's ``Markdown`` without a new parser for every document.

``rich.markdown.Markdown`` builds and configures a ``MarkdownIt`` parser each time it is made
(about 0.37 ms here, three quarters of making one for a short message). The transcript makes one
for every new message and, while replies stream, for the paragraph being written at every frame
of each reply. :class:`MarkdownDoc` is the same renderable, its text parsed by one parser set up
the same way (the parser keeps no state between documents).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from rich.markdown import Markdown
from rich.style import Style

_PARSER = MarkdownIt().enable("strikethrough").enable("table")  # as rich.markdown.Markdown's


class MarkdownDoc(Markdown):
    """``rich.markdown.Markdown`` with the transcript's defaults, parsed by a shared parser."""

    def __init__(self, markup: str, *, style: str | Style = "none") -> None:
        self.markup = markup
        self.parsed = _PARSER.parse(markup)
        self.code_theme = "monokai"
        self.justify = None
        self.style = style
        self.hyperlinks = True
        self.inline_code_lexer = None
        self.inline_code_theme = self.code_theme
