"""`agentchat sessions …`: list, show, export, delete saved sessions."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from agents.export import export_json, export_markdown
from agents.history import no_such_session
from agents.store import Store, StoreError


def _require_db(path: Path) -> None:
    if not path.exists():
        raise StoreError(f"no database at {path} yet; run a session first or pass --db PATH")


async def list_sessions(path: Path, as_json: bool) -> None:
    if not path.exists():
        click.echo("[]" if as_json else "No saved sessions yet.")
        return
    async with await Store.open(path) as store:
        rows = await store.list_sessions()
    if as_json:
        click.echo(json.dumps([
            {"id": r.id, "title": r.title, "pack": r.pack_name, "model": r.model,
             "created": r.created.isoformat(), "updated": r.updated.isoformat(),
             "turns": r.turns, "messages": r.messages, "cost_usd": round(r.cost_usd, 6)}
            for r in rows], indent=2))
        return
    if not rows:
        click.echo("No saved sessions yet.")
        return
    table = Table("id", "title", "pack", "created", "turns", "USD", box=None, pad_edge=False)
    for r in rows:
        table.add_row(r.id, r.title, r.pack_name, f"{r.created:%Y-%m-%d %H:%M}", str(r.turns),
                      f"{r.cost_usd:.4f}")
    Console().print(table)


async def show_session(path: Path, session_id: str) -> None:
    _require_db(path)
    async with await Store.open(path) as store:
        text = await export_markdown(store, session_id)
    Console().print(Markdown(text))


async def export_session(path: Path, session_id: str, fmt: str, output: str | None) -> None:
    _require_db(path)
    async with await Store.open(path) as store:
        if fmt == "json":
            text = json.dumps(await export_json(store, session_id), indent=2,
                              ensure_ascii=False) + "\n"
        else:
            text = await export_markdown(store, session_id)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


async def delete_session(path: Path, session_id: str, yes: bool) -> None:
    _require_db(path)
    async with await Store.open(path) as store:
        row = await store.get_session(session_id)
        if row is None:
            raise no_such_session(session_id)
        if not yes and not click.confirm(
            f"Delete session {row.id} ({row.title!r}, {row.turns} turns) and all its branches?",
            default=False,
        ):
            click.echo("Nothing deleted.")
            return
        await store.delete_session(row.id)
    click.echo(f"Deleted session {row.id}.")
