"""Bad input: fuzzed packs, bad flags, a newer or corrupt database, unknown session ids.

Each ends in one clear sentence (exit code 2 at the CLI), never a traceback, and never touches
a database it cannot use.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agents.session import Session
from agents.store import Store, StoreError, latest_version
from personas.loader import PackError, load_pack, parse_pack
from tests.reliability.harness import agentchat, one_sentence, snapshot_files

# Derandomized, so the normal test run is repeatable; no example database is written.
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- packs

# Keys with control characters are covered by the test that follows the fuzzers.
KEYS = st.one_of(
    st.sampled_from(["pack", "personas", "budget", "termination", "name", "id", "role",
                     "system_prompt", "model", "temperature", "max_tokens", "session_usd",
                     "per_persona_usd", "max_turns", "stop_phrase", "pattern", "colour"]),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12),
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.sampled_from(["moderator", "expert", "critic", "executor", "group_chat", "alex",
                     "Alex, Engineer", "", "human", "UPPER"]),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(timezones=st.just(UTC)),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


def valid_pack_data() -> dict[str, Any]:
    data: dict[str, Any] = load_pack("design-review").model_dump(mode="json")
    return _drop_none(data)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


@st.composite
def mutated_packs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid pack with a few random edits: values replaced, keys removed or added."""
    data = valid_pack_data()
    for _ in range(draw(st.integers(1, 4))):
        node: Any = data
        while True:  # walk down to a random table
            children = [k for k, v in (node.items() if isinstance(node, dict) else
                                       enumerate(node)) if isinstance(v, dict | list)]
            if not children or draw(st.booleans()):
                break
            node = node[draw(st.sampled_from(children))]
        if isinstance(node, list):
            if node and draw(st.booleans()):
                node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
            else:
                node.append(draw(VALUES))
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" or not node:
            node[draw(KEYS)] = draw(VALUES)
        elif action == "delete":
            del node[draw(st.sampled_from(sorted(node)))]
        else:
            node[draw(st.sampled_from(sorted(node)))] = draw(VALUES)
    return data


def check_pack_text(text: str) -> None:
    try:
        parse_pack(text, source="fuzz.toml")
    except PackError as exc:
        message = str(exc)
        assert one_sentence(message), message
        assert "fuzz.toml" in message, message
        assert all(one_sentence(e) for e in exc.errors), exc.errors


def toml_text(data: dict[str, Any]) -> str:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):  # not representable in TOML (e.g. mixed nesting)
        assume(False)
        raise


@FUZZ
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_toml_tables_give_a_one_line_pack_error(data: dict[str, Any]) -> None:
    check_pack_text(toml_text(data))


@FUZZ
@given(mutated_packs())
def test_a_mutated_valid_pack_loads_or_gives_a_one_line_pack_error(data: dict[str, Any]) -> None:
    check_pack_text(toml_text(data))


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_one_line_pack_error(text: str) -> None:
    check_pack_text(text)


@settings(FUZZ, max_examples=40)
@given(st.binary(max_size=200) | mutated_packs().map(lambda d: toml_text(d).encode()))
def test_a_pack_file_on_disk_gives_a_one_line_pack_error(tmp_path_factory: pytest.TempPathFactory,
                                                         raw: bytes) -> None:
    path = tmp_path_factory.mktemp("pack") / "fuzz.toml"
    path.write_bytes(raw)
    try:
        load_pack(str(path))
    except PackError as exc:
        assert one_sentence(str(exc)) and "fuzz.toml" in str(exc), str(exc)


def test_the_fuzzers_reach_valid_packs_and_deep_errors() -> None:
    """The mutation strategy is not just noise: an unedited pack loads, a deep edit is named."""
    assert parse_pack(tomli_w.dumps(valid_pack_data()), source="fuzz.toml").name
    data = valid_pack_data()
    data["personas"][2]["temperature"] = "hot"
    with pytest.raises(PackError, match=r"personas\[2\]\.temperature"):
        parse_pack(tomli_w.dumps(data), source="fuzz.toml")


@pytest.mark.parametrize(("where", "key"),
                         [("top", "\n"), ("pack", "a\rb"), ("persona", "x\u2028y")])
def test_a_key_with_a_line_break_still_gives_one_line_errors(where: str, key: str) -> None:
    data = valid_pack_data()
    target = {"top": data, "pack": data["pack"], "persona": data["personas"][1]}[where]
    target[key] = "x"
    with pytest.raises(PackError) as caught:
        parse_pack(tomli_w.dumps(data), source="fuzz.toml")
    assert all(one_sentence(e) for e in caught.value.errors), caught.value.errors


# ----------------------------------------------------------------------------- CLI flags


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--pack", "design-review", "--topic", "x", "--max-turns", "abc"], "max-turns"),
        (["run", "--pack", "design-review", "--topic", "x", "--budget", "0"], "budget"),
        (["run", "--pack", "design-review", "--topic", "x", "--budget", "lots"], "budget"),
        (["run", "--pack", "design-review", "--topic", "   "], "--topic"),
        (["run", "--pack", "design-review", "--topic", "x", "--model"], "--model"),
        (["sessions", "export", "abcd", "--format", "xml"], "xml"),
        (["sessions", "export"], "SESSION_ID"),
        (["sessions", "export", "abcd", "--artifacts"], "--artifacts"),
        (["sessions", "list", "--bogus"], "--bogus"),
        (["packs", "validate"], "FILE"),
        (["sessions", "frobnicate"], "frobnicate"),
    ],
)
def test_bad_flags_are_usage_errors(args: list[str], needle: str) -> None:
    done = agentchat(*args, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert needle in done.stderr


# ----------------------------------------------------------------------------- databases


async def make_db(path: Path) -> None:
    async with await Store.open(path) as store:
        await store.create_session(session_id="s1", title="t", topic="t", pack_name="p",
                                   pack_json={}, model="m")


def files_in(directory: Path) -> dict[Path, bytes | None]:
    return snapshot_files(sorted(directory.iterdir()))


async def test_a_database_from_a_newer_version_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    db = tmp_path / "newer.db"
    await make_db(db)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    before = files_in(tmp_path)
    with pytest.raises(StoreError) as caught:
        await Store.open(db)
    assert one_sentence(str(caught.value)) and str(db) in str(caught.value)
    assert "newer" in str(caught.value)
    assert files_in(tmp_path) == before

    for args in (["sessions", "show", "s1"], ["run", "--pack", "design-review", "--topic", "x"]):
        done = agentchat(*args, "--db", str(db), timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert one_sentence(done.stderr) and "newer" in done.stderr, done.stderr
        assert files_in(tmp_path) == before


def garbage(path: Path) -> None:
    path.write_bytes(b"This is my shopping list, not a database.\n" * 50)


def sqlite_header_then_noise(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192 - 16))


def another_apps_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('bread', 'knead')")
    conn.commit()
    conn.close()


def torn_pages(path: Path) -> None:
    """A real agentchat database whose later pages were overwritten with zeros."""
    import asyncio

    async def fill() -> None:
        async with await Store.open(path) as store:
            sid = "s1"
            branch = await store.create_session(session_id=sid, title="t", topic="t",
                                                pack_name="p", pack_json={}, model="m")
            for i in range(300):
                await store.append_event(sid, branch, "error_raised", "x",
                                         {"message": f"line {i} " * 20})

    asyncio.run(fill())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(raw), 3 * page):
        raw[start:start + page] = bytes(page)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", [garbage, sqlite_header_then_noise, another_apps_database,
                                    torn_pages])
def test_a_corrupt_database_is_reported_and_never_overwritten(tmp_path: Path, damage: Any
                                                              ) -> None:
    db = tmp_path / "corrupt.db"
    damage(db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    before = files_in(tmp_path)
    for args in (["sessions", "list"],
                 ["run", "--pack", "design-review", "--topic", "x", "--max-turns", "1",
                  "--model", "openai/test-model", "--api-base", "http://127.0.0.1:9/v1"]):
        done = agentchat(*args, "--db", str(db), timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert one_sentence(done.stderr), done.stderr
        assert str(db) in done.stderr
        assert files_in(tmp_path)[db] == before[db], f"{args} changed the file"
        assert set(files_in(tmp_path)) == set(before), f"{args} left files behind"


async def test_an_unknown_session_id_is_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await make_db(db)
    async with await Store.open(db) as store:
        with pytest.raises(StoreError) as caught:
            await Session.reopen(store=store, session_id="nosuchsession")
    assert one_sentence(str(caught.value)) and "nosuchsession" in str(caught.value)
    for args in (["sessions", "show", "nosuchsession"],
                 ["sessions", "export", "nosuchsession", "--format", "json"],
                 ["sessions", "export", "nosuchsession", "--artifacts", str(tmp_path / "a")],
                 ["sessions", "delete", "nosuchsession", "--yes"]):
        done = agentchat(*args, "--db", str(db), timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert one_sentence(done.stderr) and "nosuchsession" in done.stderr, done.stderr
    assert not (tmp_path / "a").exists()
