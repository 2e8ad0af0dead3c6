"""Every way a pack can be wrong ends in one readable, located sentence."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from personas import Pack, PackError, load_pack, parse_pack

LineOf = Callable[..., int]


def error_of(text: str) -> PackError:
    with pytest.raises(PackError) as info:
        parse_pack(text, source="pack.toml")
    return info.value


def test_the_valid_sample_loads(valid_pack: str) -> None:
    pack = parse_pack(valid_pack)
    assert isinstance(pack, Pack)
    assert [p.id for p in pack.personas] == ["mod", "ada", "cy"]
    assert pack.budget.session_usd == 0.5


def test_missing_pack_table(valid_pack: str) -> None:
    text = valid_pack.replace(
        '[pack]\nname = "tiny"\ndescription = "A small pack for tests."\n', ""
    )
    error = error_of(text)
    assert str(error) == (
        "pack.toml: pack: the [pack] table is missing; "
        'expected [pack] with at least name = "my-pack".'
    )


def test_missing_pack_name_points_at_the_pack_table(valid_pack: str) -> None:
    text = valid_pack.replace('name = "tiny"\n', "")
    assert str(error_of(text)) == (
        'pack.toml: pack.name (line 1): required key "name" is missing; expected name = "my-pack".'
    )


def test_wrong_role_names_the_field_line_and_choices(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace('role = "critic"', 'role = "boss"')
    line = line_of(text, 'role = "boss"', 2)
    assert str(error_of(text)) == (
        f"pack.toml: personas[2].role (line {line}): "
        'expected one of moderator, expert, critic, executor, got "boss".'
    )


def test_line_index_is_not_fooled_by_keys_inside_multiline_strings(
    valid_pack: str, line_of: LineOf
) -> None:
    # The moderator's prompt contains the text `role = "boss"` before the real `role` key of
    # personas[0] would be; the error must point at the real key, not at the prompt text.
    text = valid_pack.replace('role = "moderator"', 'role = "chair"')
    line = line_of(text, 'role = "chair"')
    assert f"personas[0].role (line {line})" in str(error_of(text))


def test_bad_id(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace('id = "ada"', 'id = "Ada Lovelace"')
    assert str(error_of(text)) == (
        f"pack.toml: personas[1].id (line {line_of(text, 'Ada Lovelace')}): expected a lowercase "
        'id that starts with a letter and has at most 32 letters, digits, "-" or "_", '
        'got "Ada Lovelace".'
    )


def test_duplicate_ids_point_at_the_second_and_name_the_first(
    valid_pack: str, line_of: LineOf
) -> None:
    text = valid_pack.replace('id = "cy"', 'id = "ada"')
    first, second = line_of(text, 'id = "ada"'), line_of(text, 'id = "ada"', 2)
    assert str(error_of(text)) == (
        f'pack.toml: personas[2].id (line {second}): persona id "ada" is already used by '
        f"personas[1] (line {first}); expected every id to be unique."
    )


def test_reserved_human_id(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace('id = "ada"', 'id = "human"')
    line = line_of(text, 'id = "human"')
    assert str(error_of(text)) == (
        f'pack.toml: personas[1].id (line {line}): the id "human" is '
        'reserved for the user; expected another id, e.g. "host".'
    )


@pytest.mark.parametrize(("replacement", "found"), [('role = "expert"', 0), ("", 2)])
def test_moderator_count(valid_pack: str, replacement: str, found: int) -> None:
    if replacement:
        text = valid_pack.replace('role = "moderator"', replacement)
    else:
        text = valid_pack.replace('role = "critic"', 'role = "moderator"')
    assert str(error_of(text)) == (
        f'pack.toml: personas: a pack needs exactly one persona with role = "moderator", '
        f"found {found}."
    )


def test_no_expert(valid_pack: str) -> None:
    text = valid_pack.replace('role = "expert"', 'role = "executor"')
    assert str(error_of(text)) == (
        'pack.toml: personas: a pack needs at least one persona with role = "expert", found none.'
    )


def test_too_few_personas(valid_pack: str, line_of: LineOf) -> None:
    head, first, *_ = valid_pack.split("[[personas]]")
    text = head + "[[personas]]" + first
    assert str(error_of(text)) == (
        f"pack.toml: personas (line {line_of(text, '[[personas]]')}): expected at least 2 "
        "[[personas]] tables (one moderator and at least one expert), found 1."
    )


def test_no_personas_at_all(valid_pack: str) -> None:
    text = valid_pack.split("[[personas]]")[0]
    assert str(error_of(text)) == (
        "pack.toml: personas: no [[personas]] tables found; expected at least two "
        "(one moderator and at least one expert)."
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        (
            "max_turns = 6",
            'max_turns = "6"',
            "termination.max_turns",
            'expected a whole number, got "6"',
        ),
        (
            "max_turns = 6",
            "max_turns = 6.5",
            "termination.max_turns",
            "expected a whole number, got 6.5",
        ),
        (
            "session_usd = 0.5",
            "session_usd = true",
            "budget.session_usd",
            "expected a number, got true",
        ),
        ('name = "tiny"', "name = 7", "pack.name", "expected a string in quotes, got 7"),
        (
            'system_prompt = "Know things."',
            "system_prompt = [1]",
            "personas[1].system_prompt",
            "expected a string in quotes, got an array",
        ),
        (
            "max_turns = 6",
            "max_turns = 0",
            "termination.max_turns",
            "expected a number at least 1, got 0",
        ),
        (
            "session_usd = 0.5",
            "session_usd = 0",
            "budget.session_usd",
            "expected a number greater than 0, got 0",
        ),
        (
            'system_prompt = "Know things."',
            "system_prompt = ''",
            "personas[1].system_prompt",
            "expected a non-empty string, got an empty one",
        ),
        (
            'name = "Ada, Expert"',
            f'name = "{"A" * 70}"',
            "personas[1].name",
            "expected at most 60 characters, got 70",
        ),
        (
            "max_turns = 6",
            "max_turns = 2024-01-01",
            "termination.max_turns",
            "expected a whole number, got the date/time 2024-01-01",
        ),
    ],
)
def test_wrong_types_and_ranges(
    valid_pack: str, line_of: LineOf, old: str, new: str, field: str, expected: str
) -> None:
    text = valid_pack.replace(old, new, 1)
    line = line_of(text, new)
    assert str(error_of(text)) == f"pack.toml: {field} (line {line}): {expected}."


def test_a_table_where_a_table_is_expected(valid_pack: str) -> None:
    text = 'termination = "soon"\n' + valid_pack.replace("[termination]\nmax_turns = 6\n", "")
    assert str(error_of(text)) == (
        'pack.toml: termination (line 1): expected a [termination] table, got "soon".'
    )


def test_unknown_key_in_a_persona(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace('id = "cy"', 'id = "cy"\nmood = "grumpy"')
    assert str(error_of(text)) == (
        f'pack.toml: personas[2].mood (line {line_of(text, "mood")}): unknown key "mood"; '
        "expected one of id, name, role, expertise, system_prompt, model, temperature, colour."
    )


def test_unknown_table(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack + "\n[extras]\nfoo = 1\n"
    assert str(error_of(text)) == (
        f'pack.toml: extras (line {line_of(text, "[extras]")}): unknown key "extras"; '
        "expected one of pack, budget, termination, flow, personas."
    )


def test_several_errors_are_all_kept(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace('role = "critic"', 'role = "boss"').replace(
        "max_turns = 6", 'max_turns = "six"'
    )
    error = error_of(text)
    assert len(error.errors) == 2
    line = line_of(text, "six")
    assert error.errors[0].startswith(f"pack.toml: termination.max_turns (line {line})")
    assert error.errors[1].startswith("pack.toml: personas[2].role")
    assert str(error) == error.errors[0].removesuffix(".") + " (and 1 more)."
    assert error.source == "pack.toml"


def test_missing_required_persona_key_points_at_its_header(
    valid_pack: str, line_of: LineOf
) -> None:
    text = valid_pack.replace('system_prompt = "Doubt things."\n', "")
    header = line_of(text, "[[personas]]", 3)
    assert str(error_of(text)) == (
        f'pack.toml: personas[2].system_prompt (line {header}): required key "system_prompt" '
        'is missing; expected system_prompt = "You are ...".'
    )


def test_toml_syntax_error_carries_line_and_column(valid_pack: str, line_of: LineOf) -> None:
    text = valid_pack.replace("max_turns = 6", "max_turns = ")
    line = line_of(text, "max_turns")
    message = str(error_of(text))
    assert message.startswith(f"pack.toml (line {line}, column 13): not valid TOML: ")
    assert message.endswith("; fix the syntax there.")
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(PackError) as info:
        load_pack(str(path))
    assert str(info.value) == (
        f"{path}: no such file; expected a path to a persona pack .toml file."
    )


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(PackError, match=r"dir\.toml: this is a directory; expected a persona"):
        load_pack(str(folder))


def test_not_utf8(write_pack: Callable[..., Path], tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PackError, match=r"binary\.toml: the file is not UTF-8 text"):
        load_pack(str(path))


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX permissions")
def test_unreadable_file(
    write_pack: Callable[..., Path], valid_pack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pack(valid_pack, "locked.toml")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the OS refusal happen anyway

        def refuse(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", refuse)
    try:
        with pytest.raises(PackError, match=r"locked\.toml: cannot read the file \(Permission"):
            load_pack(str(path))
    finally:
        path.chmod(0o600)


def test_not_toml_at_all(write_pack: Callable[..., Path]) -> None:
    path = write_pack("<html><body>not a pack</body></html>\n", "page.toml")
    with pytest.raises(PackError) as info:
        load_pack(str(path))
    assert str(info.value).startswith(f"{path} (line 1, column 1): not valid TOML: ")


def test_unknown_builtin_name_lists_what_exists(tmp_path: Path) -> None:
    with pytest.raises(PackError) as info:
        load_pack("design-reveiw", user_dir=tmp_path)
    message = str(info.value)
    assert message.startswith('"design-reveiw": no such pack; expected one of ')
    for name in ("code-review", "design-review", "planning-meeting", "research-panel"):
        assert name in message
    assert str(tmp_path) in message


def test_empty_ref() -> None:
    with pytest.raises(PackError, match="no pack given"):
        load_pack("  ")


def test_pack_error_needs_a_message() -> None:
    with pytest.raises(ValueError):
        PackError([])
    assert str(PackError("one.")) == "one."
    assert PackError(["a.", "b.", "c."]).__str__() == "a (and 2 more)."
