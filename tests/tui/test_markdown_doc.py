"""The transcript's Markdown renderable draws exactly what Rich's own does, document after
document, with one shared parser."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markdown import Markdown

from tui.markdown_doc import MarkdownDoc

DOCS = [
    "# Plan\n\nUse a **read-through** cache with ~~no~~ a short TTL.\n\n"
    "| Key | TTL |\n|---|---|\n| order | 30 s |\n",
    "1. Measure\n2. Cache\n   - `orders:{id}`\n\n```python\ncache.get(key)\n```\n\n"
    "> Invalidate on write.",
    "Plain text, then a [link](https://example.invalid) and a line\nbreak.",
]


def drawn(renderable: object, width: int = 60) -> str:
    console = Console(width=width, record=True, color_system="truecolor", force_terminal=True)
    console.print(renderable)
    return re.sub(r"id=\d+;", "id=;", console.export_text(styles=True))  # link ids are random


def test_documents_draw_as_rich_draws_them_one_after_another() -> None:
    for doc in DOCS + DOCS[::-1]:  # the shared parser keeps nothing from one to the next
        assert drawn(MarkdownDoc(doc)) == drawn(Markdown(doc))


def test_a_style_is_applied_as_rich_applies_it() -> None:
    assert drawn(MarkdownDoc(DOCS[0], style="italic")) == drawn(Markdown(DOCS[0], style="italic"))
    assert drawn(MarkdownDoc(DOCS[0], style="italic")) != drawn(MarkdownDoc(DOCS[0]))
