"""`agentchat sessions …`: list, show, export, delete saved sessions."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from agents.artifacts import head_state, write_artifacts
from agents.export import export_json, export_markdown
from agents.history import no_such_session, resolve_branch
from agents.state import SharedState
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


async def export_session(path: Path, session_id: str, fmt: str, output: str | None,
                         artifacts: str | None = None, branch: str | None = None) -> None:
    """Export the transcript (stdout or ``output``) and/or the artifacts (into ``artifacts``).

    With ``artifacts`` and no ``output`` only the artifacts are written.
    """
    _require_db(path)
    text: str | None = None
    state: SharedState | None = None
    async with await Store.open(path) as store:
        if artifacts is not None:
            state = await head_state(store, session_id)
        if artifacts is None or output:
            if fmt == "json":
                text = json.dumps(await export_json(store, session_id, branch), indent=2,
                                  ensure_ascii=False) + "\n"
            else:
                branch_id = None
                if branch is not None:
                    row = await store.get_session(session_id)
                    if row is None:
                        raise no_such_session(session_id)
                    branch_id = await resolve_branch(store, row.id, branch)
                text = await export_markdown(store, session_id, branch_id)
    if state is not None and artifacts is not None:
        written = write_artifacts(state, Path(artifacts))
        for file in written:
            click.echo(str(file))
        if written:
            click.echo(f"wrote {len(written)} artifact(s) to {artifacts}", err=True)
        else:
            click.echo("the session has no artifacts yet; nothing was written", err=True)
    if text is None:
        return
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
