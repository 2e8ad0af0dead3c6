"""Import a CrewAI project (`agents.yaml`, optional `tasks.yaml`) as a persona pack.

CrewAI describes agents as `id: {role, goal, backstory, llm?}` and tasks as
`id: {description, expected_output, agent}`. The mapping:

- persona id: the agent key, slugified (lowercase letters, digits, `-`, `_`);
- name: the agent's `role` text, without `{placeholders}`, shortened at a word boundary;
- role: `critic` when the agent's role or goal mentions reviewing, critique, QA, auditing,
  testing or verification; otherwise `executor` when it mentions writing, implementing,
  executing, reporting, drafting or documenting (only the first such agent, so that the others
  stay experts); otherwise `expert`. If that leaves no expert, the first agent becomes one;
- expertise: the goal; system prompt: role, goal, backstory and the agent's tasks (description
  and expected output); model: `llm` when it is a string (or a mapping with `model`);
- a moderator persona is added to run the chat, told the task order.

`{placeholders}` such as `{topic}` become "the topic" — the chat's topic plays that part.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomli_w
import yaml

from personas.errors import PackError, sentence
from personas.loader import pack_to_toml, parse_pack

__all__ = ["import_crewai"]

_CRITIC = re.compile(r"\b(review|critic|critique|qa|quality assurance|audit|test|verif)", re.I)
_EXECUTOR = re.compile(r"\b(writ|implement|execut(?!ive)|report|draft|document)", re.I)
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_COLOURS = ["cyan", "green", "blue", "violet", "orchid", "purple", "tan", "white"]


def _find(directory: Path, filename: str) -> Path | None:
    candidates = [directory / filename, directory / "config" / filename]
    candidates += sorted(directory.glob(f"src/*/config/{filename}"))
    return next((path for path in candidates if path.is_file()), None)


def _read_yaml(path: Path) -> Any:
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise PackError(sentence(label, f"cannot read the file ({reason})"), source=label) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            label = f"{label} (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise PackError(
            sentence(label, f"not valid YAML: {problem}; fix the syntax there"), source=str(path)
        ) from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def _fill(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "the " + m.group(1).replace("_", " "), text)


def _slug(key: str, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-_")
    if not slug or not slug[0].isalpha():
        slug = f"agent-{slug}".rstrip("-")
    slug = slug[:28].rstrip("-_")
    if slug in ("human", "moderator"):
        slug = f"{slug}-agent"
    base, n = slug, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug


def _display_name(role: str, fallback: str) -> str:
    name = " ".join(_PLACEHOLDER.sub("", role).split()) or fallback.replace("_", " ").title()
    if len(name) <= 48:
        return name
    return name[:48].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def _model(llm: Any) -> str | None:
    if isinstance(llm, str) and llm.strip():
        return llm.strip()
    if isinstance(llm, dict) and isinstance(llm.get("model"), str):
        return str(llm["model"]).strip() or None
    return None


def _role_for(agent: dict[str, Any], executor_taken: bool) -> str:
    about = f"{_text(agent.get('role'))} {_text(agent.get('goal'))}"
    if _CRITIC.search(about):
        return "critic"
    if not executor_taken and _EXECUTOR.search(about):
        return "executor"
    return "expert"


def _agents(path: Path) -> dict[str, dict[str, Any]]:
    data = _read_yaml(path)
    if data is None or data == {}:
        raise PackError(
            sentence(str(path), "no agents found; expected agent ids with role, goal, backstory"),
            source=str(path),
        )
    if not isinstance(data, dict):
        raise PackError(
            sentence(str(path), "expected a mapping of agent ids to role, goal and backstory"),
            source=str(path),
        )
    problems = [
        sentence(str(path), "expected a mapping with role, goal and backstory", field=str(key))
        for key, value in data.items()
        if not isinstance(value, dict)
    ]
    if problems:
        raise PackError(problems, source=str(path))
    return {str(key): value for key, value in data.items()}


def _tasks(path: Path | None) -> list[tuple[str, dict[str, Any]]]:
    if path is None:
        return []
    data = _read_yaml(path)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise PackError(
            sentence(str(path), "expected a mapping of task ids to description and agent"),
            source=str(path),
        )
    return [(str(key), value) for key, value in data.items() if isinstance(value, dict)]


def _system_prompt(agent: dict[str, Any], tasks: list[tuple[str, dict[str, Any]]]) -> str:
    raw_role = _text(agent.get("role"))
    role = " ".join(_PLACEHOLDER.sub("", raw_role).split())
    about = [m.replace("_", " ") for m in _PLACEHOLDER.findall(raw_role)]
    first = f"You are the {role}" if role else "You are a member of the crew"
    lines = [first + (f", working on the {' and the '.join(about)}." if about else ".")]
    if goal := _fill(_text(agent.get("goal"))):
        lines.append(f"Your goal: {goal}")
    if backstory := _fill(_text(agent.get("backstory"))):
        lines.append(backstory)
    if tasks:
        lines.append("\nYour tasks in this group:")
        for task_id, task in tasks:
            item = f"- {task_id}: {_fill(_text(task.get('description')))}"
            if expected := _fill(_text(task.get("expected_output"))):
                item += f" Expected output: {expected}"
            lines.append(item)
    lines.append(
        "\nThis is a group chat run by a moderator: build on what others said rather than "
        "repeating it, and keep each contribution to 2-6 sentences or a short list unless you "
        "are asked for a full deliverable."
    )
    return "\n".join(lines)


def _moderator_prompt(crew: str, order: list[str]) -> str:
    lines = [
        f"You moderate a group chat of the {crew} crew (imported from CrewAI). Restate the goal "
        "in one or two sentences, then give the floor to the member best placed for the next "
        "step and say why in a few words.",
        "Ask the human when something depends on context only they have. Keep your own turns "
        "to two or three sentences, and close the chat when the crew's deliverables are done.",
    ]
    if order:
        lines.append("The crew's tasks, in their original order:")
        lines.extend(f"- {step}" for step in order)
    return "\n".join(lines)


def import_crewai(directory: Path) -> str:
    """Pack TOML text built from the CrewAI project at `directory` (see the module docstring).

    `agents.yaml`/`tasks.yaml` are looked for in `directory`, `directory/config` and
    `directory/src/*/config`. Raises `PackError` when agents.yaml is missing, invalid or empty.
    """
    directory = Path(directory).expanduser()
    if directory.is_file():
        directory = directory.parent
    agents_path = _find(directory, "agents.yaml") or _find(directory, "agents.yml")
    if agents_path is None:
        raise PackError(
            sentence(
                str(directory),
                "no agents.yaml found; expected a CrewAI project with agents.yaml in the "
                "directory, in config/ or in src/<project>/config/",
            ),
            source=str(directory),
        )
    agents = _agents(agents_path)
    tasks_path = (
        _find(agents_path.parent, "tasks.yaml")
        or _find(agents_path.parent, "tasks.yml")
        or _find(directory, "tasks.yaml")
    )
    tasks = _tasks(tasks_path)

    taken: set[str] = set()
    ids = {key: _slug(key, taken) for key in agents}
    personas: list[dict[str, Any]] = []
    executor_taken = False
    for n, (key, agent) in enumerate(agents.items()):
        role = _role_for(agent, executor_taken)
        executor_taken = executor_taken or role == "executor"
        own_tasks = [(tid, task) for tid, task in tasks if _text(task.get("agent")) == key]
        persona: dict[str, Any] = {
            "id": ids[key],
            "name": _display_name(_text(agent.get("role")), key),
            "role": role,
            "expertise": _fill(_text(agent.get("goal"))),
            "system_prompt": _system_prompt(agent, own_tasks),
            "colour": (
                "red"
                if role == "critic"
                else "magenta"
                if role == "executor"
                else _COLOURS[n % len(_COLOURS)]
            ),
        }
        if model := _model(agent.get("llm")):
            persona["model"] = model
        personas.append(persona)
    if not any(p["role"] == "expert" for p in personas):
        personas[0]["role"] = "expert"
        personas[0]["colour"] = _COLOURS[0]

    crew = directory.resolve().name or "crew"
    order = [
        f"{tid} ({ids.get(_text(task.get('agent')), _text(task.get('agent')) or 'anyone')}): "
        f"{_fill(_text(task.get('description')))[:160]}"
        for tid, task in tasks
    ]
    moderator = {
        "id": "moderator",  # agent keys named "moderator" were renamed by _slug
        "name": "Moderator",
        "role": "moderator",
        "expertise": "Running the crew's work as a group chat",
        "system_prompt": _moderator_prompt(crew, order),
        "colour": "yellow",
    }
    pack_name = re.sub(r"[^a-z0-9_-]+", "-", crew.lower()).strip("-_")[:60] or "crewai-import"
    data = {
        "pack": {
            "name": pack_name,
            "version": "1.0",
            "description": (
                f"Imported from the CrewAI project {crew}: {len(agents)} agents, "
                f"{len(tasks)} tasks."
            )[:400],
            "pattern": "group_chat",
        },
        "personas": [moderator, *personas],
    }
    text = tomli_w.dumps(data, multiline_strings=True)
    source = f"{agents_path} (imported)"
    pack = parse_pack(text, source=source)  # the import is only useful if it loads
    header = f"# Imported from the CrewAI project at {directory}\n# Review and edit before use.\n\n"
    return header + pack_to_toml(pack)
