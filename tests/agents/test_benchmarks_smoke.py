"""The benchmarks (``python -m tests.benchmarks.run``) are not part of the test run, but their code
must not rot: run the cheapest ones at a tiny scale and check the shape of what they report
(never the timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks import run as bench
from tests.benchmarks.common import Figure, Scale, at_most


def test_every_benchmark_module_has_the_runner_interface() -> None:
    import importlib

    for name, module_name in bench.BENCHMARKS.items():
        module = importlib.import_module(module_name)
        assert name == module.NAME
        assert module.TITLE
        assert callable(module.run)


def test_rollback_and_storage_run_at_a_tiny_scale(tmp_path: Path) -> None:
    results = bench.run_benchmarks(["rollback", "storage"], Scale("tiny"), in_process=True)

    assert not [f for f in results.figures if f.key.endswith(".error")], results.figures
    keys = {f.key for f in results.figures}
    assert {"rollback.mid_ms", "rollback.growth", "storage.growth",
            "storage.vs_message_bytes"} <= keys
    for figure in results.figures:
        assert figure.key.split(".", 1)[0] in ("rollback", "storage")
        assert figure.verdict in ("pass", "fail", "info")
        assert isinstance(figure.value, float) and figure.value > 0, figure
        assert (figure.verdict == "info") == (figure.target == "")
    # the storage figures compare like with like: the Store API and the bulk writer agree
    same = next(f for f in results.figures if f.key == "storage.store_api_bytes_per_turn")
    assert 0.8 < same.extra["vs_direct"] < 1.25

    out = tmp_path / "results.json"
    bench.write_results(results, out)
    data = json.loads(out.read_text())
    assert data["mode"] == "tiny" and data["machine"]["cpus"] >= 1
    assert [f["key"] for f in data["figures"]] == [f.key for f in results.figures]
    assert data["passed"] + data["failed"] <= len(data["figures"])

    # --only merges: rerunning one benchmark keeps the other's figures in the file
    rollback_only = bench.Results("tiny", [f for f in results.figures
                                           if f.key.startswith("rollback.")])
    bench.write_results(rollback_only, out, merge=True)
    merged = [f["key"] for f in json.loads(out.read_text())["figures"]]
    assert sorted(merged) == sorted(f.key for f in results.figures)

    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(bench.render_table(results))
    text = console.export_text()
    assert "Rollback to the middle" in text and "Target" in text
    assert bench.markdown_table(results).startswith("| Figure | Value | Target | Verdict |")


def test_a_missed_target_fails_and_a_met_one_passes() -> None:
    assert at_most("x.y", "X", 2.0, 1.0, "ms").verdict == "fail"
    assert at_most("x.y", "X", 1.0, 1.0, "ms").verdict == "pass"
    assert at_most("x.y", "X", None, 1.0, "ms").verdict == "fail"


def test_unknown_benchmark_names_are_refused() -> None:
    with pytest.raises(SystemExit, match="unknown benchmark 'nope'"):
        bench.parse_names("startup,nope")
    assert bench.parse_names(None) == list(bench.BENCHMARKS)


def test_a_crashing_benchmark_becomes_a_failed_row(monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(name: str, scale: Scale) -> list[Figure]:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(bench, "run_one", boom)
    results = bench.run_benchmarks(["rollback"], Scale("tiny"), in_process=True)
    assert [(f.key, f.verdict) for f in results.figures] == [("rollback.error", "fail")]
    assert "broken on purpose" in results.figures[0].note
