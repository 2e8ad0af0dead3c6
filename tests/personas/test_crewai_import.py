"""Importing a CrewAI project (agents.yaml + tasks.yaml) as a persona pack."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from personas import PackError, load_pack, parse_pack
from personas.crewai import import_crewai

AGENTS = """\
researcher:
  role: >
    {topic} Senior Data Researcher
  goal: >
    Uncover cutting-edge developments in {topic}
  backstory: >
    You're a seasoned researcher with a knack for uncovering the latest
    developments in {topic}. Known for your ability to find the most relevant
    information and present it in a clear and concise manner.
  llm: openai/gpt-4o-mini

reporting_analyst:
  role: >
    {topic} Reporting Analyst
  goal: >
    Create detailed reports based on {topic} data analysis and research findings
  backstory: >
    You're a meticulous analyst with a keen eye for detail. You're known for
    your ability to turn complex data into clear and concise reports.

fact_checker:
  role: Fact Checker and Quality Reviewer
  goal: Review every claim in the report for accuracy
  backstory: Former newspaper fact checker.
  llm:
    model: anthropic/claude-3-5-haiku-latest
    temperature: 0.1
"""

TASKS = """\
research_task:
  description: >
    Conduct a thorough research about {topic}.
  expected_output: >
    A list with 10 bullet points of the most relevant information about {topic}
  agent: researcher

reporting_task:
  description: >
    Review the context you got and expand each topic into a full section for a report.
  expected_output: >
    A fully fledged report formatted as markdown.
  agent: reporting_analyst
"""


def crew_project(root: Path, agents: str = AGENTS, tasks: str | None = TASKS) -> Path:
    """A project laid out like `crewai create crew latest_ai_development`."""
    project = root / "latest_ai_development"
    config = project / "src" / "latest_ai_development" / "config"
    config.mkdir(parents=True)
    (config / "agents.yaml").write_text(agents, encoding="utf-8")
    if tasks is not None:
        (config / "tasks.yaml").write_text(tasks, encoding="utf-8")
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    return project


def test_realistic_project_imports_and_loads(tmp_path: Path) -> None:
    text = import_crewai(crew_project(tmp_path))
    pack = parse_pack(text, source="imported.toml")

    assert pack.name == "latest_ai_development"
    assert "3 agents, 2 tasks" in pack.pack.description
    assert [(p.id, p.role) for p in pack.personas] == [
        ("moderator", "moderator"),
        ("researcher", "expert"),
        ("reporting_analyst", "executor"),
        ("fact_checker", "critic"),
    ]
    researcher = pack.persona("researcher")
    assert researcher is not None
    assert researcher.name == "Senior Data Researcher"
    assert researcher.model == "openai/gpt-4o-mini"
    assert researcher.expertise == "Uncover cutting-edge developments in the topic"
    prompt = researcher.system_prompt
    assert prompt.startswith("You are the Senior Data Researcher, working on the topic.")
    assert "seasoned researcher" in prompt
    assert "research_task: Conduct a thorough research about the topic." in prompt
    assert "Expected output: A list with 10 bullet points" in prompt
    assert "reporting_task" not in prompt  # only this agent's own tasks
    assert "{" not in prompt

    checker = pack.persona("fact_checker")
    assert checker is not None and checker.model == "anthropic/claude-3-5-haiku-latest"
    assert "research_task (researcher)" in pack.moderator.system_prompt
    assert "reporting_task (reporting_analyst)" in pack.moderator.system_prompt


def test_imported_text_is_a_loadable_pack_file(tmp_path: Path) -> None:
    text = import_crewai(crew_project(tmp_path))
    assert text.startswith("# Imported from the CrewAI project at ")
    path = tmp_path / "imported.toml"
    path.write_text(text, encoding="utf-8")
    assert load_pack(str(path)).name == "latest_ai_development"


@pytest.mark.parametrize("where", [".", "config"])
def test_agents_yaml_at_the_top_or_in_config(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "my crew!" / where
    folder.mkdir(parents=True)
    (folder / "agents.yaml").write_text(AGENTS, encoding="utf-8")
    pack = parse_pack(import_crewai(tmp_path / "my crew!"))
    assert pack.name == "my-crew"
    assert "0 tasks" in pack.pack.description
    assert len(pack.personas) == 4


def test_ids_are_slugged_unique_and_never_reserved(tmp_path: Path) -> None:
    agents = """\
Senior Writer!:
  role: Writer
  goal: Write things
  backstory: b
senior-writer:
  role: Analyst
  goal: Analyse
  backstory: b
human:
  role: Human Stand-in
  goal: Think like a person
  backstory: b
moderator:
  role: Other Moderator
  goal: Keep order
  backstory: b
42:
  role: The Answer
  goal: Compute
  backstory: b
"""
    pack = parse_pack(import_crewai(crew_project(tmp_path, agents, tasks=None)))
    assert [p.id for p in pack.personas] == [
        "moderator",
        "senior-writer",
        "senior-writer-2",
        "human-agent",
        "moderator-agent",
        "agent-42",
    ]


def test_role_text_becomes_a_short_name(tmp_path: Path) -> None:
    long_role = "Principal " + "Distributed Systems " * 6 + "Architect"
    agents = f"arch:\n  role: {long_role}\n  goal: Design\n  backstory: b\n"
    pack = parse_pack(import_crewai(crew_project(tmp_path, agents, tasks=None)))
    name = pack.personas[1].name
    assert len(name) <= 49 and name.endswith("…") and name.startswith("Principal Distributed")


def test_a_crew_of_only_reviewers_still_gets_an_expert(tmp_path: Path) -> None:
    agents = """\
reviewer_a:
  role: Code Reviewer
  goal: Review code
  backstory: b
reviewer_b:
  role: QA Tester
  goal: Test the build
  backstory: b
"""
    pack = parse_pack(import_crewai(crew_project(tmp_path, agents, tasks=None)))
    assert [p.role for p in pack.personas] == ["moderator", "expert", "critic"]


def test_missing_agents_yaml(tmp_path: Path) -> None:
    with pytest.raises(PackError) as info:
        import_crewai(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: no agents.yaml found; expected a CrewAI project with agents.yaml in the "
        "directory, in config/ or in src/<project>/config/."
    )


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    broken = "researcher:\n  role: Researcher\n  goal: [unclosed\n  backstory: b\n"
    project = crew_project(tmp_path, broken, tasks=None)
    path = project / "src" / "latest_ai_development" / "config" / "agents.yaml"
    with pytest.raises(PackError) as info:
        import_crewai(project)
    message = str(info.value)
    assert message.startswith(f"{path} (line 4, column ")
    assert "not valid YAML" in message and message.endswith("; fix the syntax there.")


def test_invalid_tasks_yaml_is_reported_too(tmp_path: Path) -> None:
    project = crew_project(tmp_path, AGENTS, tasks="- just\n- a list\n")
    with pytest.raises(PackError, match=r"tasks\.yaml: expected a mapping of task ids"):
        import_crewai(project)


@pytest.mark.parametrize("content", ["", "# nothing here\n", "{}\n"])
def test_no_agents(tmp_path: Path, content: str) -> None:
    with pytest.raises(PackError, match=r"agents\.yaml: no agents found; expected agent ids"):
        import_crewai(crew_project(tmp_path, content, tasks=None))


def test_agents_yaml_that_is_a_list(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"agents\.yaml: expected a mapping of agent ids"):
        import_crewai(crew_project(tmp_path, "- role: Researcher\n", tasks=None))


def test_agent_entry_that_is_not_a_mapping(tmp_path: Path) -> None:
    agents = AGENTS + "intern: just a string\ntrainee: 3\n"
    with pytest.raises(PackError) as info:
        import_crewai(crew_project(tmp_path, agents, tasks=None))
    error = info.value
    assert len(error.errors) == 2
    assert error.errors[0].endswith(
        "agents.yaml: intern: expected a mapping with role, goal and backstory."
    )
    assert str(error).endswith("(and 1 more).")


def test_the_toml_is_plain_and_readable(tmp_path: Path) -> None:
    text = import_crewai(crew_project(tmp_path))
    data = tomllib.loads(text)
    assert data["pack"]["pattern"] == "group_chat"
    assert 'system_prompt = """' in text
