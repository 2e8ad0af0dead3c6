"""Finding packs by name, path and user dir; listing them; writing them back as TOML."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personas import (
    Pack,
    PackError,
    builtin_pack_names,
    list_packs,
    load_pack,
    pack_to_toml,
    parse_pack,
)

BUILTINS = ["code-review", "design-review", "planning-meeting", "research-panel"]


def test_load_builtin_by_name(tmp_path: Path) -> None:
    pack = load_pack("design-review", user_dir=tmp_path)
    assert pack.name == "design-review"
    assert pack.moderator.id == "chair"


def test_load_by_path(write_pack: Callable[..., Path], valid_pack: str) -> None:
    path = write_pack(valid_pack, "sub/tiny.toml")
    assert load_pack(str(path)).name == "tiny"


def test_load_by_relative_path_and_bare_filename(
    write_pack: Callable[..., Path],
    valid_pack: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_pack(valid_pack, "tiny.toml")
    write_pack(valid_pack, "tinyfile")
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "no-user-packs"
    assert load_pack("tiny.toml", user_dir=empty).name == "tiny"
    assert load_pack("./tiny.toml", user_dir=empty).name == "tiny"
    # Not path-like and not a pack name, but an existing file: read as a file.
    assert load_pack("tinyfile", user_dir=empty).name == "tiny"


def test_load_from_user_dir_by_name(valid_pack: str, tmp_path: Path) -> None:
    user_dir = tmp_path / "packs"
    user_dir.mkdir()
    (user_dir / "standup.toml").write_text(valid_pack, encoding="utf-8")
    assert load_pack("standup", user_dir=user_dir).name == "tiny"


def test_user_pack_shadows_builtin_of_the_same_name(valid_pack: str, tmp_path: Path) -> None:
    (tmp_path / "code-review.toml").write_text(valid_pack, encoding="utf-8")
    assert load_pack("code-review", user_dir=tmp_path).name == "tiny"
    assert load_pack("code-review", user_dir=tmp_path / "elsewhere").name == "code-review"


def test_broken_user_pack_error_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[pack\n", encoding="utf-8")
    with pytest.raises(PackError) as info:
        load_pack("broken", user_dir=tmp_path)
    assert str(info.value).startswith(f"{path} (line 1, column 6): not valid TOML")


def test_default_user_dir_is_computed_at_call_time(
    valid_pack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # platformdirs honours XDG_CONFIG_HOME on Linux; setting it after import must still work.
    if sys.platform != "linux":
        pytest.skip("XDG_CONFIG_HOME is a Linux convention")
    packs = tmp_path / "xdg" / "agentchat" / "packs"
    packs.mkdir(parents=True)
    (packs / "mine.toml").write_text(valid_pack, encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_pack("mine").name == "tiny"
    assert [i.name for i in list_packs() if i.source == "user"] == ["mine"]


def test_unknown_name_lists_user_packs_too(valid_pack: str, tmp_path: Path) -> None:
    (tmp_path / "standup.toml").write_text(valid_pack, encoding="utf-8")
    with pytest.raises(PackError, match=r"expected one of code-review, design-review, .*standup"):
        load_pack("retro", user_dir=tmp_path)


def test_list_packs_builtins_then_user_packs_with_broken_ones_flagged(
    valid_pack: str, tmp_path: Path
) -> None:
    (tmp_path / "zeta.toml").write_text(valid_pack, encoding="utf-8")
    (tmp_path / "alpha.toml").write_text(valid_pack.replace('"critic"', '"boss"'), "utf-8")
    (tmp_path / "notes.txt").write_text("not a pack", encoding="utf-8")
    infos = list_packs(user_dir=tmp_path)

    assert [(i.name, i.source) for i in infos] == [
        *[(name, "builtin") for name in builtin_pack_names()],  # the pattern packs too
        ("alpha", "user"),
        ("zeta", "user"),
    ]
    builtin = infos[0]
    assert builtin.error is None and builtin.ok
    assert builtin.pattern == "group_chat"
    assert builtin.personas[0] == "lead"
    assert Path(builtin.path).name == "code-review.toml"

    broken, good = infos[-2], infos[-1]
    assert broken.error is not None and not broken.ok
    assert broken.error.startswith(f"{tmp_path / 'alpha.toml'}: personas[2].role (line ")
    assert broken.personas == [] and broken.path == str(tmp_path / "alpha.toml")
    assert good.error is None
    assert good.personas == ["mod", "ada", "cy"]
    assert good.description == "A small pack for tests."


def test_list_packs_without_a_user_dir(tmp_path: Path) -> None:
    infos = list_packs(user_dir=tmp_path / "missing")
    assert [i.name for i in infos] == builtin_pack_names()
    assert set(BUILTINS) <= set(builtin_pack_names())


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_round_trip(name: str) -> None:
    pack = load_pack(name, user_dir=Path("/nonexistent"))
    text = pack_to_toml(pack)
    assert parse_pack(text, source="round-trip.toml") == pack
    assert '"""' in text  # prompts stay readable multi-line strings


def test_round_trip_keeps_optional_fields_and_drops_nones(valid_pack: str) -> None:
    text = valid_pack.replace(
        'system_prompt = "Know things."',
        'system_prompt = "Know things."\nmodel = "openai/gpt-4o-mini"\ntemperature = 0.2',
    )
    pack = parse_pack(text)
    out = pack_to_toml(pack)
    assert 'model = "openai/gpt-4o-mini"' in out
    assert "per_persona_usd" not in out  # None values are left out, not written as ""
    assert parse_pack(out) == pack


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prompt=st.text(min_size=1, max_size=200), name=st.text(min_size=1, max_size=60))
def test_round_trip_of_arbitrary_text(valid_pack: str, prompt: str, name: str) -> None:
    pack = parse_pack(valid_pack)
    data = pack.model_dump()
    data["personas"][1]["system_prompt"] = prompt
    data["pack"]["name"] = name
    changed = Pack.model_validate(data)
    assert parse_pack(pack_to_toml(changed)) == changed


def test_importing_personas_pulls_in_no_ui_or_llm_libraries() -> None:
    code = (
        "import sys, personas, personas.loader, personas.crewai, personas.errors\n"
        "bad = [m for m in ('textual', 'rich', 'litellm') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.stdout.strip() == ""
