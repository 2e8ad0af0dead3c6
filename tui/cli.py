"""The `agentchat` command. Heavy imports (textual, litellm) happen only in the commands that
need them, so `--help` and the app's first frame stay fast."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tui.entry import ENV_API_BASE, ENV_DB, ENV_MODEL, open_app, pause_gc

T = TypeVar("T")


class UserError(click.ClickException):
    """A mistake the user can fix: one sentence, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"agentchat: {self.format_message()}", err=True)


def _run_async(factory: Callable[[], Awaitable[T]]) -> T:
    from agents.store import StoreError
    from personas.loader import PackError

    try:
        return asyncio.run(factory())  # type: ignore[arg-type]
    except (PackError, StoreError) as exc:
        raise UserError(str(exc)) from None


def _db_path(db: str | None) -> Path:
    from agents.store import default_db_path

    return Path(db).expanduser() if db else default_db_path()


run_options = [
    click.option("--pack", "pack", metavar="NAME|FILE", help="Built-in pack name, a pack file, "
                 "or a pack in your config dir's packs/."),
    click.option("--topic", metavar="TEXT", help="What the group should work on."),
    click.option("--model", metavar="MODEL", envvar=ENV_MODEL,
                 help="litellm model name, e.g. openai/gpt-4o-mini or local/smollm2."),
    click.option("--api-base", metavar="URL", envvar=ENV_API_BASE,
                 help="Any OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1."),
    click.option("--max-turns", type=click.IntRange(1, 10000), help="Stop after N turns."),
    click.option("--budget", type=click.FloatRange(min=0, min_open=True), metavar="USD",
                 help="Session budget in USD (never overspent)."),
    click.option("--db", metavar="PATH", envvar=ENV_DB, help="Database file."),
]


def with_run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(run_options):
        fn = option(fn)
    return fn


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@with_run_options
@click.version_option(package_name="agentchat")
@click.pass_context
def main(ctx: click.Context, pack: str | None, topic: str | None, model: str | None,
         api_base: str | None, max_turns: int | None, budget: float | None,
         db: str | None) -> None:
    """A moderator-run group chat of LLM personas, in your terminal.

    With no command, opens the app.
    """
    if ctx.invoked_subcommand is not None:
        _refuse_options_before(ctx, ctx.invoked_subcommand)
        return
    if (pack is None) != (topic is None):
        raise click.UsageError("--pack and --topic go together; give both or neither.")
    if pack is not None:
        _load_pack(pack)
    open_app(model=model, api_base=api_base, db=db, pack=pack, topic=topic,
             max_turns=max_turns, budget=budget)


def _refuse_options_before(ctx: click.Context, command: str) -> None:
    """The app's options given before a command would be silently ignored: say where they go."""
    from click.core import ParameterSource

    given = [param for param in ctx.command.params
             if isinstance(param, click.Option) and param.name is not None
             and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE]
    if given:
        flags = ", ".join(param.opts[0] for param in given)
        example = given[0].opts[0]
        raise click.UsageError(
            f"{flags} must come after the command: agentchat {command} ... {example} "
            f"(before a command they would be ignored).")


def _load_pack(ref: str) -> Any:
    from personas.loader import PackError, load_pack

    try:
        return load_pack(ref)
    except PackError as exc:
        raise UserError(str(exc)) from None


@main.command()
@with_run_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def run(pack: str | None, topic: str | None, model: str | None, api_base: str | None,
        max_turns: int | None, budget: float | None, db: str | None, as_json: bool) -> None:
    """Run a session headless, streaming the transcript to stdout."""
    if not pack:
        raise click.UsageError("missing option --pack (a built-in name or a pack file).")
    if not topic or not topic.strip():
        raise click.UsageError("missing option --topic (what the group should work on).")
    from agents.session_options import RunOptions
    from tui.headless import run_headless

    loaded = _load_pack(pack)
    options = RunOptions(model=model, api_base=api_base, max_turns=max_turns, budget_usd=budget)
    code = _run_async(lambda: run_headless(loaded, topic, options, _db_path(db), as_json))
    sys.exit(code)


# ------------------------------------------------------------------------- packs


@main.group()
def packs() -> None:
    """List, validate and import persona packs."""


@packs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def packs_list(as_json: bool) -> None:
    """List built-in and user packs."""
    from personas.loader import list_packs

    infos = list_packs()
    if as_json:
        click.echo(json.dumps([
            {"name": i.name, "pattern": i.pattern, "description": i.description,
             "personas": list(i.personas), "source": i.source, "path": i.path,
             "error": getattr(i, "error", None)}
            for i in infos], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "pattern", "personas", "source", box=None, pad_edge=False)
    for i in infos:
        error = getattr(i, "error", None)
        table.add_row(i.name, i.pattern, f"[red]{error}[/]" if error else ", ".join(i.personas),
                      i.source)
    Console().print(table)


@packs.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def packs_validate(file: str) -> None:
    """Check a pack file; exit 0 when valid, 2 with the errors otherwise."""
    from personas.loader import PackError, load_pack

    try:
        pack = load_pack(file)
    except PackError as exc:
        for message in getattr(exc, "errors", None) or [str(exc)]:
            click.echo(f"agentchat: {message}", err=True)
        sys.exit(2)
    click.echo(f"{file}: valid pack {pack.name!r} ({pack.pack.pattern}, "
               f"{len(pack.personas)} personas)")


@packs.command("import-crewai")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the pack here (default: stdout).")
def packs_import_crewai(directory: str, output: str | None) -> None:
    """Turn a CrewAI agents.yaml (+ tasks.yaml) into a pack file."""
    from personas.crewai import import_crewai
    from personas.loader import PackError

    try:
        text = import_crewai(Path(directory))
    except PackError as exc:
        raise UserError(str(exc)) from None
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


# ------------------------------------------------------------------------- sessions


@main.group()
def sessions() -> None:
    """Browse, show, export and delete saved sessions."""


db_option = click.option("--db", metavar="PATH", envvar=ENV_DB, help="Database file.")


@sessions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@db_option
def sessions_list(as_json: bool, db: str | None) -> None:
    """Saved sessions, newest first."""
    from tui.session_commands import list_sessions

    _run_async(lambda: list_sessions(_db_path(db), as_json))


@sessions.command("show")
@click.argument("session_id")
@db_option
def sessions_show(session_id: str, db: str | None) -> None:
    """Print a session's transcript, state and costs."""
    from tui.session_commands import show_session

    _run_async(lambda: show_session(_db_path(db), session_id))


@sessions.command("export")
@click.argument("session_id")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write.")
@click.option("--artifacts", "artifacts", metavar="DIR", type=click.Path(file_okay=False),
              help="Write the artifacts of the head branch's final state into DIR, one file "
              "each (then the transcript is exported only with -o).")
@click.option("--branch", metavar="B", help="Only this branch (name or id): Markdown shows "
              "its transcript, JSON its view. Default: Markdown the head branch, JSON every "
              "branch.")
@db_option
def sessions_export(session_id: str, fmt: str, output: str | None, artifacts: str | None,
                    branch: str | None, db: str | None) -> None:
    """Export a session as Markdown or JSON, and its artifacts as files."""
    from agents.artifacts import ArtifactError
    from tui.session_commands import export_session

    try:
        _run_async(lambda: export_session(_db_path(db), session_id, fmt, output, artifacts,
                                          branch))
    except ArtifactError as exc:
        raise UserError(str(exc)) from None


@sessions.command("delete")
@click.argument("session_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
def sessions_delete(session_id: str, yes: bool, db: str | None) -> None:
    """Delete a session and all its branches."""
    from tui.session_commands import delete_session

    _run_async(lambda: delete_session(_db_path(db), session_id, yes))


@sessions.command("fork")
@click.argument("session_id")
@click.option("--at", "turn", type=click.IntRange(min=0), required=True, metavar="TURN",
              help="The turn whose checkpoint the new branch starts from.")
@click.option("--branch", metavar="B", help="Branch (name or id) to fork from; default: head.")
@db_option
def sessions_fork(session_id: str, turn: int, branch: str | None, db: str | None) -> None:
    """Fork a new branch at a turn; the old branch stays intact."""
    from tui.replay_commands import fork_session

    _run_async(lambda: fork_session(_db_path(db), session_id, turn, branch))


@sessions.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def sessions_import(file: Path, db: str | None) -> None:
    """Load a JSON export (every branch) back into the database."""
    from tui.replay_commands import import_session

    _run_async(lambda: import_session(_db_path(db), file))


@main.command()
@click.argument("session_id")
@click.option("--headless", is_flag=True, help="Print the transcript as it plays.")
@click.option("--branch", metavar="B", help="Branch (name or id) to replay; default: head.")
@click.option("--delay", type=click.FloatRange(min=0), default=0.4, show_default=True,
              metavar="SECONDS", help="Pause between messages.")
@click.option("--model", metavar="MODEL", envvar=ENV_MODEL,
              help="Model for a live fork (f in the replay); default: the session's.")
@click.option("--api-base", metavar="URL", envvar=ENV_API_BASE,
              help="OpenAI-compatible server for a live fork.")
@db_option
def replay(session_id: str, headless: bool, branch: str | None, delay: float,
           model: str | None, api_base: str | None, db: str | None) -> None:
    """Replay a saved session turn by turn, with no model call at all.

    In the app: space plays/pauses, arrows step, +/- speed, g jumps to a turn, f forks live.
    """
    if not headless:
        pause_gc()
        from agents.session_options import RunOptions
        from tui.app import run_replay

        path = _db_path(db)
        if not path.exists():
            raise UserError(f"no database at {path} yet; run a session first or pass --db PATH")
        run_replay(db_path=path, session_id=session_id, branch=branch,
                   options=RunOptions(model=model, api_base=api_base))
        return
    from tui.replay_commands import replay_headless

    _run_async(lambda: replay_headless(_db_path(db), session_id, branch, delay))


if __name__ == "__main__":
    main()
