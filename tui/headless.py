"""`agentchat run`: a session without the app, streamed to stdout with Rich (or as JSON lines)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.cost import CostLedger
from agents.events import Event, SessionEnded
from agents.session import RunOptions, Session
from agents.store import Store
from personas.models import Pack

EXIT_OK, EXIT_PROVIDER = 0, 1


def cost_table(ledger: CostLedger, pack: Pack) -> Table:
    table = Table(title="Cost", title_justify="left", box=None, pad_edge=False)
    for column in ("persona", "calls", "tokens in", "tokens out", "avg ms", "USD"):
        table.add_column(column, justify="left" if column == "persona" else "right")

    def usd(calls: int, unpriced: int, cost: float) -> str:
        if unpriced and unpriced == calls:
            return "unpriced"
        return f"{cost:.6f}" + (" + unpriced" if unpriced else "")

    for persona in pack.personas:
        entry = ledger.agents.get(persona.id)
        if entry is None:
            continue
        table.add_row(Text(persona.name, style=persona.colour), str(entry.calls),
                      str(entry.prompt_tokens), str(entry.completion_tokens),
                      f"{entry.avg_latency_ms:.0f}",
                      usd(entry.calls, entry.unpriced_calls, entry.cost_usd))
    o = ledger.overhead
    if o.calls:
        table.add_row(Text("orchestration", style="dim"), str(o.calls), str(o.prompt_tokens),
                      str(o.completion_tokens), f"{o.avg_latency_ms:.0f}",
                      usd(o.calls, o.unpriced_calls, o.cost_usd))
    table.add_row(Text("total", style="bold"), "", "", "", "",
                  Text("unpriced" if ledger.unpriced and not ledger.total_usd
                       else f"{ledger.total_usd:.6f}", style="bold"))
    return table


class Printer:
    """Renders events as a readable transcript."""

    def __init__(self, console: Console, pack: Pack) -> None:
        self.console = console
        self.pack = pack
        self.streaming: str | None = None

    def _colour(self, agent: str) -> str:
        persona = self.pack.persona(agent)
        return persona.colour if persona else "bold"

    def _end_stream(self) -> None:
        if self.streaming is not None:
            self.console.file.write("\n")
            self.console.file.flush()
            self.streaming = None

    def handle(self, event: Event) -> None:
        c = self.console
        if event.kind == "session_started":
            c.print(Text(f"{event.pack}: {event.topic}", style="bold"))
            c.print(Text(event.model_note, style="dim"))
        elif event.kind == "moderator_decision":
            self._end_stream()
            who = ", ".join(event.speakers)
            note = f" [fallback: {event.fallback_reason}]" if event.fallback else ""
            c.print(Text(f"→ turn {event.turn}: {who} — {event.reason}{note}", style="dim italic"))
        elif event.kind == "message_started":
            self._end_stream()
            style = f"bold {self._colour(event.agent)}"
            c.print(Text(f"\n{event.name} ({event.role})", style=style))
            self.streaming = event.message_id
        elif event.kind == "token_delta":
            if self.streaming != event.message_id:
                self._end_stream()
                c.print(Text(f"\n{event.agent}", style=f"bold {self._colour(event.agent)}"))
                self.streaming = event.message_id
            c.file.write(event.text)
            c.file.flush()
        elif event.kind == "message_completed":
            if event.agent == "human" or self.streaming is None:
                self._end_stream()
                to = f" → @{event.to}" if event.to else ""
                c.print(Text(f"\n{event.name}{to}", style="bold"))
                c.print(event.text, markup=False, highlight=False)
            else:
                self._end_stream()
            if event.interrupted:
                c.print(Text("(interrupted)", style="yellow"))
        elif event.kind == "state_patched":
            self._end_stream()
            c.print(Text(f"  ✎ shared state updated by {event.agent}", style="green dim"))
        elif event.kind == "patch_rejected":
            self._end_stream()
            c.print(Text(f"  ✗ state patch from {event.agent} rejected: {event.error}",
                         style="yellow"))
        elif event.kind == "handoff_occurred":
            self._end_stream()
            model = f" on {event.model}" if event.model else ""
            c.print(Text(f"  ⇢ {event.how} handoff {event.agent} → {event.to}{model}: "
                         f"{event.reason}", style="cyan"))
        elif event.kind == "task_updated":
            if event.status in ("done", "failed"):
                self._end_stream()
                mark = "✓" if event.status == "done" else "✗"
                c.print(Text(f"  {mark} task {event.task_id} ({event.agent}): {event.title}",
                             style="green dim" if event.status == "done" else "yellow"))
        elif event.kind == "error_raised":
            self._end_stream()
            c.print(Text(f"  ! {event.message}", style="red"))
        elif event.kind == "session_ended":
            self._end_stream()
            c.print(Text(f"\nSession ended: {event.reason} — {event.detail}", style="bold"))


async def run_headless(pack: Pack, topic: str, options: RunOptions, db_path: Path,
                       as_json: bool) -> int:
    async with await Store.open(db_path) as store:
        session = await Session.start(pack=pack, topic=topic, store=store, options=options)
        console = Console(stderr=False, highlight=False, soft_wrap=True)
        printer = Printer(console, pack)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, session.stop)
            loop.add_signal_handler(signal.SIGTERM, session.stop)
        ended: SessionEnded | None = None
        async for event in session.events():
            if as_json:
                if event.kind != "human_input_requested":
                    sys.stdout.write(event.model_dump_json() + "\n")
                    sys.stdout.flush()
            else:
                printer.handle(event)
            if isinstance(event, SessionEnded):
                ended = event
        if not as_json:
            console.print()
            console.print(cost_table(session.ledger, pack))
            console.print(Text(f"\nSession {session.id} saved to {db_path}", style="bold"))
            console.print(Text(f"Export it: agentchat sessions export {session.id} --format md",
                               style="dim"))
        if ended is not None and ended.reason == "error":
            sys.stderr.write(f"agentchat: the session stopped: {ended.detail}\n")
            return EXIT_PROVIDER
        return EXIT_OK
