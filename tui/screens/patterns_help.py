"""The orchestration patterns explained side by side, so a user can choose one for a pack.

A summary table (model calls, how many run at once, an example pack) over one section per
pattern: what it does, its complexity, how it scales and what it is best for. Moving through the
table scrolls its section into view. A last section explains the Workflow pane's symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

__all__ = ["PATTERN_GUIDE", "PatternGuide", "PatternsHelpScreen"]


@dataclass(frozen=True)
class PatternGuide:
    """What a user needs to choose a pattern."""

    pattern: str  # the value of `pattern` in a pack's [pack] table
    what: str
    calls: str  # model calls, in a few words (for the table)
    complexity: str
    at_once: str  # how many agents run at the same time (for the table)
    scalability: str
    best_for: str
    example: str  # a built-in pack using it


PATTERN_GUIDE: tuple[PatternGuide, ...] = (
    PatternGuide(
        "group_chat",
        what="The moderator opens, then each turn gives the floor to one to three personas, "
             "with a reason you can read. An optional [flow.transitions] table limits who may "
             "speak after whom; you can @-address anyone at any time.",
        calls="1+k per turn",
        complexity="1 opening call, then per turn 1 moderator decision (structured output) + "
                   "k speakers (k = 1–3).",
        at_once="up to 3",
        scalability="The moderator's prompt grows with the cast and the transcript; the "
                    "speakers of one turn answer concurrently. Comfortable with 3–7 personas.",
        best_for="Open discussion where each answer decides who should speak next: reviews, "
                 "brainstorming, planning.",
        example="design-review"),
    PatternGuide(
        "sequential",
        what="A fixed pipeline ([flow] order): each persona receives the previous step's "
             "output and hands its own to the next; `rounds` repeats the whole pipeline.",
        calls="1 per step",
        complexity="1 call per step, steps × rounds in all; no orchestration calls.",
        at_once="1",
        scalability="Strictly one after another, so wall time is the sum of the steps. Each "
                    "prompt carries the previous output, not the whole history, so long "
                    "pipelines stay cheap.",
        best_for="Work that goes through fixed stages: outline, draft, edit, fact-check.",
        example="writing-pipeline"),
    PatternGuide(
        "parallel",
        what="The same task goes to every member ([flow] members) at once; each answers "
             "independently, then the merger (merge_by, default the critic, else the "
             "moderator) reconciles the answers. `rounds` repeats fan-out and merge.",
        calls="n+1 per round",
        complexity="Per round: n member calls, run concurrently, + 1 merge call; no "
                   "orchestration calls.",
        at_once="all members",
        scalability="Wall time is about the slowest member's, not the sum. A member that "
                    "fails is retried and never costs the others' answers; the merge prompt "
                    "grows with the number of members.",
        best_for="Independent opinions compared without anchoring: estimates, forecasts, "
                 "second opinions.",
        example="estimate-panel"),
    PatternGuide(
        "router",
        what="Each request (the topic, then each of your messages) goes to exactly one "
             "specialist ([flow] members), chosen by the router (the moderator) with its "
             "reason. A message that @-addresses a specialist goes straight to them.",
        calls="2 per request",
        complexity="Per request: 1 routing decision + 1 answer (just the answer when you "
                   "@-address someone).",
        at_once="1",
        scalability="The cost of a request stays the same however many specialists there "
                    "are; only the router's roster grows. Requests are answered one by one.",
        best_for="A stream of mixed questions for a team of specialists: help desks, triage.",
        example="help-desk"),
    PatternGuide(
        "hierarchical",
        what="The supervisor (the moderator) breaks the goal into subtasks, delegates each to "
             "the best-suited persona, reviews the results and writes the synthesis. The plan "
             "and each subtask's status live in the shared state as action items.",
        calls="s+3 in all",
        complexity="1 plan decision + 1 announcement + 1 call per subtask (s ≤ max_tasks) + "
                   "1 synthesis.",
        at_once="1",
        scalability="One subtask per turn, in plan order, so later ones build on earlier "
                    "results; the plan is sized to the turns left. Best with up to about six "
                    "subtasks.",
        best_for="A goal that splits into dependent parts and needs one accountable "
                 "reviewer: postmortems, audits, reports.",
        example="incident-postmortem"),
    PatternGuide(
        "orchestrator_worker",
        what="The orchestrator splits the goal into independent tasks in a queue; a pool of "
             "stateless workers ([flow] workers) runs them with per-task timeouts and "
             "retries; when the queue drains, merge_by (default the orchestrator) aggregates "
             "the results.",
        calls="t+3 in all",
        complexity="1 task-list decision + 1 announcement + t task calls (plus retries) + 1 "
                   "aggregation.",
        at_once="≤ concurrency",
        scalability="Wall time is about ⌈t ÷ concurrency⌉ × the slowest task. Workers see "
                    "only their task, so prompts stay small; a failed task never loses the "
                    "others' results.",
        best_for="Broad work that splits into independent pieces: research sprints, "
                 "comparisons of options.",
        example="research-sprint"),
    PatternGuide(
        "handoff",
        what="One agent holds the request and hands control on: explicitly (a "
             "transfer_to_<id> tool or a `HANDOFF: @id` line), on a condition from the pack "
             "(keywords, a shared-state predicate), or by escalation (an error, a refusal, "
             "low confidence) to escalate_to or a stronger model. Each handoff shows its "
             "reason.",
        calls="1 per turn",
        complexity="1 call per turn, by the agent holding the request; handoffs cost no "
                   "extra calls.",
        at_once="1",
        scalability="One agent at a time: cost and wall time grow with the turns, not the "
                    "cast. A transitions table keeps large casts manageable.",
        best_for="Conversations that move between specialists: customer support with "
                 "escalation.",
        example="support-escalation"),
)

LEGEND = (
    "×n an edge taken n times  ·  a reversed name is active now  ·  ✓ done  ✗ failed  "
    "◦ waiting  ↻ retrying  – not started  ·  ⇢ handoff on a condition  ·  ⇧ escalation  ·  "
    "↺ the pipeline's next pass. A graph too big for the pane is listed as \"A → B ×n\" lines."
)


def _section(guide: PatternGuide, current: bool) -> Text:
    text = Text(guide.pattern, style="bold")
    if current:
        text.append("  (this pack)", style="italic")
    for label, body in (("What it does", guide.what), ("Complexity", guide.complexity),
                        ("Scalability", guide.scalability),
                        ("Best for", f"{guide.best_for} Example: {guide.example}.")):
        text.append(f"\n{label}: ", style="bold")
        text.append(body)
    return text


class PatternsHelpScreen(ModalScreen[None]):
    """The seven orchestration patterns compared. ``current`` (a pattern name, e.g. the open
    pack's) is marked and its section shown first. Escape or q closes it, as does a click
    outside the dialog."""

    CSS_PATH = "patterns_help.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="patterns-help.close"),
    ]

    def __init__(self, current: str | None = None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="patterns-dialog") as dialog:
            dialog.border_title = "Orchestration patterns"
            dialog.border_subtitle = "↑↓ choose · Tab scroll · Esc close"
            yield DataTable(id="patterns-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="patterns-body"):
                for guide in PATTERN_GUIDE:
                    yield Static(_section(guide, guide.pattern == self.current),
                                 id=f"pattern-{guide.pattern}", classes="pattern-section")
                yield Static(Text.assemble(("Reading the Workflow pane\n", "bold"), LEGEND),
                             id="patterns-legend", classes="pattern-section")

    def on_mount(self) -> None:
        table = self.query_one("#patterns-table", DataTable)
        table.add_column("Pattern", key="pattern")
        table.add_column("Model calls", key="calls")
        table.add_column("At once", key="at-once")
        table.add_column("Example pack", key="example")
        for guide in PATTERN_GUIDE:
            current = guide.pattern == self.current  # marked by style: the column stays narrow
            name = Text(guide.pattern, style="bold underline" if current else "bold")
            table.add_row(name, guide.calls, guide.at_once, Text(guide.example, style="dim"),
                          key=guide.pattern)
        names = [guide.pattern for guide in PATTERN_GUIDE]
        if self.current in names:
            table.move_cursor(row=names.index(self.current), animate=False)
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key:
            body = self.query_one("#patterns-body", VerticalScroll)
            body.scroll_to_widget(self.query_one(f"#pattern-{key}"), top=True, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click on the dimmed background outside the dialog
            self.dismiss(None)
