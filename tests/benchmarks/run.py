"""Run the benchmarks: ``python -m tests.benchmarks.run [--only startup,rollback] [--quick]``.

Each benchmark runs in a fresh Python process (so imports, caches and memory of one do not colour
the next) with a hermetic environment (no provider keys, litellm offline, temporary XDG dirs).
The table of figure, target and verdict is printed; a full run writes
``tests/benchmarks/results.json`` (with ``--only``, just those benchmarks' figures are replaced;
commit it with each performance change so the history shows); ``--quick`` runs smaller sizes and
writes nothing unless ``--output`` is given. The exit code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks.common import ROOT, Figure, Mode, Scale, hermetic_env, machine, make_hermetic

BENCHMARKS: dict[str, str] = {
    "startup": "tests.benchmarks.bench_startup",
    "turns": "tests.benchmarks.bench_turns",
    "rollback": "tests.benchmarks.bench_rollback",
    "storage": "tests.benchmarks.bench_storage",
    "transcript": "tests.benchmarks.bench_transcript",
    "streaming": "tests.benchmarks.bench_streaming",
    "fanout": "tests.benchmarks.bench_fanout",
    "local": "tests.benchmarks.bench_local",
}
RESULTS = ROOT / "tests" / "benchmarks" / "results.json"
TIMEOUT_S = 1200


@dataclass
class Results:
    mode: Mode
    figures: list[Figure] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    load_before: list[float] = field(default_factory=list)
    load_after: list[float] = field(default_factory=list)

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.verdict == "fail"]

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.started,
            "mode": self.mode,
            "machine": machine(),
            "load_average": {"before": self.load_before, "after": self.load_after},
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "passed": sum(f.verdict == "pass" for f in self.figures),
            "failed": len(self.failed),
            "figures": [f.as_json() for f in self.figures],
        }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def error_figure(name: str, message: str) -> Figure:
    return Figure(f"{name}.error", f"{name}: the benchmark could not run", None, "", "runs",
                  "fail", message)


async def run_one(name: str, scale: Scale) -> list[Figure]:
    """Run one benchmark in this process."""
    module = importlib.import_module(BENCHMARKS[name])
    figures: list[Figure] = await module.run(scale)
    return figures


def run_in_subprocess(name: str, scale: Scale) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, "-m", "tests.benchmarks.run", "--worker", name,
                   "--mode", scale.mode, "--output", str(out)]
        try:
            proc = subprocess.run(command, cwd=ROOT, env=hermetic_env(), timeout=TIMEOUT_S,
                                  capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return [error_figure(name, f"timed out after {TIMEOUT_S} s")]
        if proc.returncode != 0 or not out.exists():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return [error_figure(name, lines[-1] if lines else f"exit code {proc.returncode}")]
        return [Figure(**item) for item in json.loads(out.read_text())]


def run_benchmarks(names: list[str], scale: Scale, *, in_process: bool = False,
                   progress: Any = None) -> Results:
    results = Results(scale.mode, load_before=load_average())
    for name in names:
        if progress is not None:
            progress(name)
        started = time.perf_counter()
        if in_process:
            try:
                figures = asyncio.run(run_one(name, scale))
            except Exception as exc:  # one broken benchmark must not hide the others
                figures = [error_figure(name, f"{type(exc).__name__}: {exc}")]
        else:
            figures = run_in_subprocess(name, scale)
        results.seconds[name] = time.perf_counter() - started
        results.figures.extend(figures)
    results.load_after = load_average()
    return results


def _target_text(figure: Figure) -> str:
    return figure.target or "—"


def _value_text(figure: Figure) -> str:
    if figure.unit == "bool":
        return str(figure.extra.get("shown", figure.value))
    return figure.shown()


def render_table(results: Results) -> Any:
    from rich.table import Table

    table = Table(title=f"agentchat benchmarks ({results.mode})", show_lines=False)
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("Target", justify="right")
    table.add_column("Verdict")
    styles = {"pass": "bold green", "fail": "bold red", "info": "dim"}
    for figure in results.figures:
        verdict = f"[{styles[figure.verdict]}]{figure.verdict}[/]"
        label = figure.label + (f" [dim]({figure.note})[/]" if figure.note else "")
        table.add_row(label, _value_text(figure), _target_text(figure), verdict)
    return table


def markdown_table(results: Results) -> str:
    rows = ["| Figure | Value | Target | Verdict |", "|---|---:|---:|---|"]
    for figure in results.figures:
        label = figure.label + (f" ({figure.note})" if figure.note else "")
        rows.append(f"| {label} | {_value_text(figure)} | {_target_text(figure)} | "
                    f"{figure.verdict} |")
    return "\n".join(rows)


def write_results(results: Results, path: Path, *, merge: bool = False) -> None:
    """Write ``results`` to ``path``; with ``merge``, the figures of benchmarks that were not run
    this time are kept from the file (so ``--only`` updates just its own rows)."""
    data = results.as_json()
    if merge and path.exists():
        ran = {f.key.split(".", 1)[0] for f in results.figures}
        old = json.loads(path.read_text(encoding="utf-8"))
        kept = [f for f in old.get("figures", []) if f["key"].split(".", 1)[0] not in ran]
        order = {name: i for i, name in enumerate(BENCHMARKS)}
        figures = sorted([*kept, *data["figures"]],
                         key=lambda f: order.get(f["key"].split(".", 1)[0], len(order)))
        data["figures"] = figures
        data["seconds"] = {**old.get("seconds", {}), **data["seconds"]}
        data["passed"] = sum(f["verdict"] == "pass" for f in figures)
        data["failed"] = sum(f["verdict"] == "fail" for f in figures)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _worker(name: str, mode: Mode, output: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        make_hermetic(Path(home))
        try:
            figures = asyncio.run(run_one(name, Scale(mode)))
        except Exception:
            traceback.print_exc()
            return 1
    output.write_text(json.dumps([f.as_json() for f in figures]), encoding="utf-8")
    return 0


def parse_names(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown[0]!r}; choose from "
                         f"{', '.join(BENCHMARKS)} (e.g. --only startup,rollback).")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.run",
                                     description="Run agentchat's benchmarks.")
    parser.add_argument("--only", metavar="NAMES",
                        help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes; results.json is not written unless --output is given")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help=f"where to write the results (default for a full run: {RESULTS})")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the table as Markdown (for the README)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every benchmark in this process (faster, less isolated)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="full", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.mode, args.output)

    from rich.console import Console

    console = Console()
    names = parse_names(args.only)
    scale = Scale("quick" if args.quick else "full")
    results = run_benchmarks(
        names, scale, in_process=args.in_process,
        progress=lambda name: console.print(f"[dim]running {name}…[/]"))
    console.print(render_table(results))
    info = machine()
    console.print(f"[dim]{info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, "
                  f"{info['platform']}; load average {results.load_before} → "
                  f"{results.load_after}[/]")
    if args.markdown:
        print(markdown_table(results))
    output = args.output or (RESULTS if scale.full else None)
    if output is not None:
        write_results(results, output, merge=bool(args.only))
        console.print(f"[dim]wrote {output}[/]")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
