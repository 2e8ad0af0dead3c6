"""The packs shipped in personas/builtin are complete, consistent and usable in the TUI."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest
from rich.color import Color as RichColor
from textual.color import Color as TextualColor

from personas import Pack, builtin_pack_names, load_pack

EXPECTED = {"code-review", "design-review", "planning-meeting", "research-panel"}
NO_USER_DIR = Path("/nonexistent/agentchat/packs")


def _packs() -> list[str]:
    return builtin_pack_names()


def test_the_expected_packs_ship() -> None:
    assert set(_packs()) >= EXPECTED


@pytest.fixture(params=sorted(EXPECTED))
def pack(request: pytest.FixtureRequest) -> Pack:
    loaded = load_pack(str(request.param), user_dir=NO_USER_DIR)
    assert loaded.name == request.param  # [pack].name matches the file stem
    return loaded


def test_required_cast(pack: Pack) -> None:
    roles = [p.role for p in pack.personas]
    assert roles.count("moderator") == 1
    assert roles.count("expert") >= 2
    assert roles.count("critic") >= 1
    assert roles.count("executor") >= 1
    assert pack.personas[0].role == "moderator"


def test_meta_budget_and_termination_are_set(pack: Pack) -> None:
    meta = pack.pack
    assert meta.pattern == "group_chat"
    assert meta.version and len(meta.description) > 40
    assert 0.0 <= meta.temperature <= 1.0
    assert 200 <= meta.max_tokens <= 1000
    assert pack.budget.session_usd is not None and pack.budget.per_persona_usd is not None
    assert pack.budget.per_persona_usd < pack.budget.session_usd
    assert 8 <= pack.termination.max_turns <= 30
    assert pack.termination.stop_phrase


def test_tables_are_written_out_explicitly() -> None:
    # Built-ins double as examples of the format: every table and key is spelled out.
    for name in sorted(EXPECTED):
        entry = resources.files("personas").joinpath("builtin", f"{name}.toml")
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        assert set(data) == {"pack", "budget", "termination", "personas"}
        assert {"name", "version", "description", "pattern", "temperature", "max_tokens"} <= set(
            data["pack"]
        )
        for persona in data["personas"]:
            assert {"id", "name", "role", "expertise", "colour", "system_prompt"} <= set(persona)


def test_colours_work_in_rich_and_textual_and_are_distinct(pack: Pack) -> None:
    colours = [p.colour for p in pack.personas]
    for colour in colours:
        RichColor.parse(colour)
        TextualColor.parse(colour)
    assert len(set(colours)) == len(colours)


def test_system_prompts_are_concise_and_role_specific(pack: Pack) -> None:
    for persona in pack.personas:
        prompt = persona.system_prompt
        assert 200 <= len(prompt) <= 1400, persona.id
        assert "sentences" in prompt, f"{persona.id} is not told to keep it short"
        # The engine adds the shared-state patch protocol itself.
        assert "patch" not in prompt.lower() and "json" not in prompt.lower(), persona.id
        assert persona.name and "," in persona.name  # "First name, Title"
        assert persona.expertise
    executor = next(p for p in pack.personas if p.role == "executor")
    assert "Markdown" in executor.system_prompt
    assert "do not" in executor.system_prompt or "you do not" in executor.system_prompt.lower()


def test_moderator_knows_the_stop_phrase(pack: Pack) -> None:
    assert pack.termination.stop_phrase
    assert pack.termination.stop_phrase in pack.moderator.system_prompt
    assert "human" in pack.moderator.system_prompt


def test_prompts_are_single_paragraph_lines_without_stray_backslashes(pack: Pack) -> None:
    # Line continuations (a trailing backslash) must have joined the wrapped lines.
    for persona in pack.personas:
        assert "\\" not in persona.system_prompt
        assert "  " not in persona.system_prompt


PATTERN_PACKS = {
    "group_chat": "design-review",
    "sequential": "writing-pipeline",
    "parallel": "estimate-panel",
    "router": "help-desk",
    "hierarchical": "incident-postmortem",
    "orchestrator_worker": "research-sprint",
    "handoff": "support-escalation",
}


@pytest.mark.parametrize(("pattern", "name"), sorted(PATTERN_PACKS.items()))
def test_every_pattern_has_a_builtin_pack(pattern: str, name: str) -> None:
    pack = load_pack(name, user_dir=NO_USER_DIR)
    assert pack.pack.pattern == pattern
    assert pack.name == name and len(pack.pack.description) > 40
    assert pack.budget.session_usd is not None
    assert all(len(p.system_prompt) > 80 for p in pack.personas)
