"""The panes' pure rendering and formatting functions."""

from __future__ import annotations

from rich.text import Text

from agents.state import ActionItem, Artifact, SharedState
from personas.models import Pack, PackMeta, Persona
from tui.widgets.artifact_viewer import artifact_syntax
from tui.widgets.cost_pane import budget_bar, fmt_count, fmt_usd
from tui.widgets.state_pane import artifact_label, render_state
from tui.widgets.timeline_pane import TimelineRow, one_line, row_prompt
from tui.widgets.workflow_pane import Graph, Node, graph_for_pack, render_graph


def four_persona_pack() -> Pack:
    def persona(pid: str, name: str, role: str, colour: str) -> Persona:
        return Persona(id=pid, name=name, role=role, system_prompt="Be brief.", colour=colour)

    return Pack(
        pack=PackMeta(name="review"),
        personas=[
            persona("mod", "Moderator", "moderator", "yellow"),
            persona("alice", "Alice Longname-Architect of Systems", "expert", "cyan"),
            persona("bob", "Bob", "critic", "not-a-colour"),
            persona("carl", "Carl", "executor", "#33cc66"),
        ],
    )


def styles_at(text: Text, needle: str) -> list[str]:
    """The styles of the spans covering the first occurrence of ``needle``."""
    start = text.plain.index(needle)
    return [str(span.style) for span in text.spans if span.start <= start < span.end]


def test_group_chat_graph_is_a_hub_with_a_spoke_per_speaker_and_the_human() -> None:
    graph = graph_for_pack(four_persona_pack())
    assert graph.layout == "hub" and graph.hub == "mod"
    assert graph.edges == [("mod", "alice"), ("mod", "bob"), ("mod", "carl"), ("mod", "human")]
    text = render_graph(graph, 38)
    lines = text.plain.splitlines()
    assert "Moderator" in lines[1]
    assert [line[:3] for line in lines[3:]] == ["  ├", "  ├", "  ├", "  └"]
    for name in ("Alice", "Bob", "Carl", "You"):
        assert name in text.plain
    assert all(len(line) <= 38 for line in lines)
    assert "…" in lines[3]  # the long name is cut to fit the pane
    assert "cyan" in styles_at(text, "Alice")  # each name in its persona's colour
    assert "#33cc66" in styles_at(text, "Carl")


def test_counts_and_active_node_are_drawn() -> None:
    graph = graph_for_pack(four_persona_pack())
    for speaker in ("alice", "bob", "alice", "carl", "alice"):
        graph.take("mod", speaker)
    for _ in range(10):
        graph.take("mod", "bob")
    graph.active = {"carl"}
    text = render_graph(graph, 38)
    lines = {name: next(line for line in text.plain.splitlines() if name in line)
             for name in ("Alice", "Bob", "Carl", "You")}
    assert "×3" in lines["Alice"] and "×11" in lines["Bob"] and "×1" in lines["Carl"]
    assert "×" not in lines["You"]
    # The arrows line up whatever the width of the counts.
    assert len({line.index("▶") for line in lines.values()}) == 1
    assert any("reverse" in style for style in styles_at(text, "Carl"))
    assert not any("reverse" in style for style in styles_at(text, "Bob"))
    assert all(len(line) <= 38 for line in text.plain.splitlines())


def test_unknown_speaker_gets_a_spoke_and_narrow_widths_hold() -> None:
    graph = graph_for_pack(four_persona_pack(), include_human=False)
    graph.take("mod", "guest")
    text = render_graph(graph, 10)  # narrower than the minimum: drawn at the minimum width
    assert "guest" in text.plain and "You" not in text.plain
    assert all(len(line) <= 16 for line in text.plain.splitlines())


def test_chain_layout_for_sequential_patterns() -> None:
    graph = Graph(layout="chain")
    for node_id in ("plan", "build", "check"):
        graph.add_node(Node(node_id, node_id.title()))
    graph.add_edge("plan", "build")
    graph.add_edge("build", "check")
    graph.take("plan", "build")
    graph.take("plan", "build")
    graph.active = {"build"}
    text = render_graph(graph)
    assert text.plain.splitlines() == [" Plan", "  │ ×2", "  ▼", " Build", "  │", "  ▼", " Check"]
    assert any("reverse" in style for style in styles_at(text, "Build"))


def test_money_and_count_formats() -> None:
    assert [fmt_count(n) for n in (0, 950, 1234, 12_345, 3_400_000)] == [
        "0", "950", "1.2k", "12k", "3.4M"
    ]
    assert fmt_usd(0.00042) == "$0.0004" and fmt_usd(0.0123) == "$0.012"
    assert fmt_usd(1.5) == "$1.50" and fmt_usd(0.0) == "$0.000"
    assert fmt_usd(0.00001).startswith("$1.0e")  # tiny costs are never rounded to $0


def test_budget_bar() -> None:
    half = budget_bar(0.5, 1.0, 25)
    assert half.plain == "█" * 10 + "░" * 10 + "  50%"
    over = budget_bar(2.0, 1.0, 25)
    assert over.plain.startswith("█" * 20) and over.plain.endswith("200%")
    assert "red" in styles_at(over, "█")
    assert budget_bar(0.1, None, 25).plain == "no session budget"


def test_render_state_and_artifact_labels() -> None:
    state = SharedState(
        goal="Decide",
        action_items=[ActionItem(text="Do it", owner="alice", status="in_progress")],
    )
    text = render_state(state, {"alice": "Alice"}).plain
    assert "Goal\nDecide" in text and "… Do it — Alice [in progress]" in text
    assert "Decisions" not in text  # empty sections are left out
    assert render_state(SharedState()).plain == "Nothing recorded yet."
    label = artifact_label(Artifact(name="plan.md", kind="plan", author="bob"), {"bob": "Bob"})
    assert label.plain == "plan.md (plan, Bob)"


def test_artifact_syntax_falls_back_on_unknown_languages() -> None:
    markdown = artifact_syntax(Artifact(name="a", content="# hi"))
    assert markdown.lexer is not None and markdown.lexer.name == "Markdown"
    unknown = artifact_syntax(Artifact(name="b", language="no-such-language", content="x"))
    assert unknown.lexer is None  # plain text, no error


def test_timeline_rows() -> None:
    assert one_line("  first   line\nsecond") == "first line"
    assert one_line("x" * 100, 10) == "x" * 9 + "…"
    assert one_line("") == ""
    row = TimelineRow("checkpoint", 12, "alice", "Agreed")
    assert row_prompt(row, True, {"alice": "Alice"}).plain == "▶  12 Alice: Agreed"
    assert row_prompt(row, False).plain == "   12 alice: Agreed"
    marker = TimelineRow("branch", 4, name="try-2")
    assert row_prompt(marker, False).plain == "⑂ branch try-2 from turn 4"
