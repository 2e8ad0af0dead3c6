"""The cheap pack listing (``personas.catalog``) agrees with the validating loader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from personas import catalog
from personas.loader import default_user_dir, list_packs

ROOT = Path(__file__).resolve().parents[2]


def test_entries_are_the_loaders_packs_in_the_same_order(tmp_path: Path) -> None:
    (tmp_path / "b-mine.toml").write_text('[pack]\nname = "b"\n')  # broken: still listed
    (tmp_path / "a-mine.toml").write_text('[pack]\nname = "a"\n')
    (tmp_path / "notes.txt").write_text("not a pack")
    (tmp_path / "dir.toml").mkdir()
    entries = catalog.list_entries(user_dir=tmp_path)
    infos = list_packs(user_dir=tmp_path)
    assert [(e.name, e.source, e.path) for e in entries] == [
        (i.name, i.source, i.path) for i in infos]
    assert [e.name for e in entries if e.source == "user"] == ["a-mine", "b-mine"]


def test_a_missing_user_dir_lists_the_builtin_packs(tmp_path: Path) -> None:
    entries = catalog.list_entries(user_dir=tmp_path / "nowhere")
    assert entries and {e.source for e in entries} == {"builtin"}
    assert all(Path(e.path).is_file() for e in entries)


def test_the_default_user_dir_is_the_loaders() -> None:
    assert catalog.default_user_dir() == default_user_dir()


def test_the_catalog_imports_without_pydantic() -> None:
    code = ("import sys; import personas.catalog as c; c.list_entries(); "
            "print('pydantic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
