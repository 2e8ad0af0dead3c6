"""`agentchat replay`, `sessions fork` and `sessions import`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from agents.export import import_json
from agents.history import no_such_session, resolve_branch
from agents.replay import Replay
from agents.session import RunOptions, Session
from agents.store import Store, StoreError
from personas.models import Pack
from tui.headless import Printer


async def replay_headless(path: Path, session_id: str, branch: str | None, delay_s: float) -> None:
    if not path.exists():
        raise StoreError(f"no database at {path} yet; run a session first or pass --db PATH")
    async with await Store.open(path) as store:
        row = await store.get_session(session_id)
        if row is None:
            raise no_such_session(session_id)
        branch_id = await resolve_branch(store, row.id, branch) if branch else row.head_branch
        replay = await Replay.load(store, row.id, branch_id)
    pack = Pack.model_validate(row.pack_json)
    console = Console(highlight=False, soft_wrap=True)
    printer = Printer(console, pack)
    console.print(Text(f"Replaying {row.id} ({len(replay.events)} events, no model calls)",
                       style="dim"))
    while not replay.at_end:
        for event in replay.next_message():
            printer.handle(event)
        if delay_s > 0 and not replay.at_end:
            await asyncio.sleep(delay_s)


async def fork_session(path: Path, session_id: str, turn: int, branch: str | None) -> None:
    if not path.exists():
        raise StoreError(f"no database at {path} yet; run a session first or pass --db PATH")
    async with await Store.open(path) as store:
        row = await store.get_session(session_id)
        if row is None:
            raise no_such_session(session_id)
        branch_id = await resolve_branch(store, row.id, branch) if branch else row.head_branch
        session = await Session.reopen(store=store, session_id=row.id, branch_id=branch_id,
                                       options=RunOptions())
        try:
            forked = await session.rollback(turn)
        except ValueError as exc:
            raise StoreError(f"cannot fork session {row.id}: {exc}") from None
    click.echo(f"Forked session {row.id} at turn {turn}: new branch {forked.name} "
               f"({forked.branch_id}) is now the head.")


async def import_session(path: Path, file: Path) -> None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"cannot read {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{file} is not valid JSON (line {exc.lineno}); "
                         "export a session with `sessions export --format json`") from None
    async with await Store.open(path) as store:
        sid = await import_json(store, data, str(file))
    click.echo(f"Imported session {sid}.")
