"""Pack errors as readable sentences: file, field path, TOML line, what is expected.

`PackError` is what every user-caused pack problem becomes. The helpers here turn a pydantic
`ValidationError` or a `tomllib.TOMLDecodeError` into such sentences, and find the TOML line a
field lives on by scanning the raw text (tomllib keeps no positions).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from personas.models import Budget, Pack, PackMeta, Persona, Termination

Loc = tuple[str | int, ...]


class PackError(Exception):
    """A persona pack (or an import source) that cannot be used, explained in sentences.

    `errors` holds every problem found, one sentence each; `str()` is the first sentence plus
    "(and N more)" when there are others. `source` names the file when there is one.
    """

    def __init__(self, errors: str | Sequence[str], *, source: str | None = None) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        if not self.errors:
            raise ValueError("PackError needs at least one message")
        self.source = source
        super().__init__(self.errors[0])

    def __str__(self) -> str:
        first = self.errors[0]
        more = len(self.errors) - 1
        if not more:
            return first
        return f"{first.rstrip('.')} (and {more} more)."


def sentence(source: str, message: str, *, field: str = "", line: int | None = None) -> str:
    """`pack.toml: personas[2].role (line 31): expected ...` — always one sentence with a period."""
    where = source
    if field:
        where += f": {field}"
    if line is not None:
        where += f" (line {line})"
    message = message.strip()
    if not message.endswith((".", "?", "!")):
        message += "."
    return f"{where}: {message}"


def shown_key(part: object) -> str:
    """A key as it can appear in a one-line message: odd characters escaped, JSON-style."""
    text = str(part)
    if text.isprintable() and '"' not in text:
        return text
    return json.dumps(text)[1:-1]


def field_path(loc: Loc) -> str:
    """`('personas', 2, 'role')` → `personas[2].role`."""
    out = ""
    for part in loc:
        key = shown_key(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{key}" if out else key)
    return out


# ---------------------------------------------------------------------------------------------
# Where things are in the raw TOML text.

_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]]+)\]\]?\s*(?:#.*)?$")
_ONE_KEY = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)"""
_KEY = re.compile(rf"^\s*({_ONE_KEY}(?:\s*\.\s*{_ONE_KEY})*)\s*=(.*)$")
_KEY_PART = re.compile(rf"\s*({_ONE_KEY})\s*(?:\.|$)")


def _key_parts(dotted: str) -> list[str]:
    parts = []
    for match in _KEY_PART.finditer(dotted):
        raw = match.group(1)
        parts.append(raw[1:-1] if raw[0] in "\"'" else raw)
    return parts


class LineIndex:
    """Maps TOML paths (`('personas', 2, 'role')`) to the 1-based line that defines them."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Loc, int] = {}
        array_counts: dict[tuple[str, ...], int] = {}
        table: Loc = ()
        open_string: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if open_string is not None:
                if line.count(open_string) % 2 == 1:
                    open_string = None
                continue
            header = _HEADER.match(line)
            if header:
                names = tuple(_key_parts(header.group(2)))
                table = self._with_indices(names, array_counts)
                if header.group(1) == "[[":
                    self.lines.setdefault(table, number)  # the array itself: its first entry
                    array_counts[names] = array_counts.get(names, -1) + 1
                    table = (*table, array_counts[names])
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                path = (*table, *_key_parts(key.group(1)))
                self.lines.setdefault(path, number)
                value = key.group(2).lstrip()
                for quote in ('"""', "'''"):
                    if value.startswith(quote) and value.count(quote) == 1:
                        open_string = quote
                        break

    @staticmethod
    def _with_indices(names: tuple[str, ...], counts: Mapping[tuple[str, ...], int]) -> Loc:
        """Insert the current index after every prefix that is an array of tables."""
        out: list[str | int] = []
        for i, name in enumerate(names):
            out.append(name)
            prefix = names[: i + 1]
            if prefix in counts and i + 1 < len(names):
                out.append(counts[prefix])
        return tuple(out)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of the nearest enclosing table/key that exists in the text."""
        for end in range(len(loc), 0, -1):
            found = self.lines.get(loc[:end])
            if found is not None:
                return found
        return None


# ---------------------------------------------------------------------------------------------
# Turning errors into sentences.

_TABLE_MODELS: dict[str, type[BaseModel]] = {
    "pack": PackMeta,
    "budget": Budget,
    "termination": Termination,
    "personas": Persona,
}

_EXAMPLES: dict[str, str] = {
    "pack.name": 'name = "my-pack"',
    "id": 'id = "alex" (lowercase letters, digits, "-" or "_")',
    "name": 'name = "Alex, Staff Engineer"',
    "role": 'role = "expert" (one of moderator, expert, critic, executor)',
    "system_prompt": 'system_prompt = "You are ..."',
}

_TYPE_NAMES: dict[str, str] = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a string in quotes",
    "bool_type": "true or false",
    "model_type": "a table",
    "dict_type": "a table",
    "list_type": "an array",
}


def describe(value: Any) -> str:
    """A value as the user wrote it in TOML, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime | date | time):
        return f"the date/time {value.isoformat()}"
    return repr(value)


def _bound(value: Any) -> str:
    """A limit from the model, written plainly: `0.0` → `0`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _allowed_keys(loc: Loc) -> list[str]:
    model: type[BaseModel] = Pack
    if loc and isinstance(loc[0], str) and loc[0] in _TABLE_MODELS:
        model = _TABLE_MODELS[loc[0]]
    return list(model.model_fields)


def _field_message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    key = shown_key(loc[-1]) if loc and isinstance(loc[-1], str) else ""
    if kind == "missing":
        if loc == ("pack",):
            return 'the [pack] table is missing; expected [pack] with at least name = "my-pack"'
        if loc == ("personas",):
            return (
                "no [[personas]] tables found; expected at least two "
                "(one moderator and at least one expert)"
            )
        example = _EXAMPLES.get(field_path(loc[-2:]) if loc[0] == "pack" else key)
        example = example or f"{key} = ..."
        return f'required key "{key}" is missing; expected {example}'
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1]))
        return f'unknown key "{key}"; expected one of {allowed}'
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"expected one of {', '.join(options)}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        if key == "id":
            return (
                "expected a lowercase id that starts with a letter and has at most 32 letters, "
                f'digits, "-" or "_", got {describe(value)}'
            )
        return f"expected text matching {ctx.get('pattern')}, got {describe(value)}"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "expected a non-empty string, got an empty one"
        return f"expected at least {ctx.get('min_length')} characters, got {describe(value)}"
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else "more"
        return f"expected at most {ctx.get('max_length')} characters, got {length}"
    if kind == "too_short":
        if loc == ("personas",):
            return (
                f"expected at least {ctx.get('min_length')} [[personas]] tables "
                f"(one moderator and at least one expert), found {ctx.get('actual_length')}"
            )
        return f"expected at least {ctx.get('min_length')} items, found {ctx.get('actual_length')}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, name = bounds[kind]
        return f"expected a number {words} {_bound(ctx.get(name))}, got {describe(value)}"
    if kind in _TYPE_NAMES:
        expected = _TYPE_NAMES[kind]
        if loc == ("personas",):
            expected = "an array of [[personas]] tables"
        elif len(loc) == 2 and loc[0] == "personas":
            expected = "a [[personas]] table"
        elif len(loc) == 1 and kind in ("model_type", "dict_type"):
            expected = f"a [{loc[0]}] table"
        return f"expected {expected}, got {describe(value)}"
    message = error["msg"]
    return f"expected a valid value ({message[:1].lower()}{message[1:]}), got {describe(value)}"


def _cast_message(error: ErrorDetails, index: LineIndex) -> tuple[str, Loc] | None:
    """Sentences for the model-level checks of the cast (see `Pack._check_cast`)."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "duplicate_persona_id":
        first = int(ctx["first"])
        first_line = index.line_of(("personas", first, "id"))
        at = f"personas[{first}]" + (f" (line {first_line})" if first_line else "")
        return (
            f'persona id "{ctx["id"]}" is already used by {at}; expected every id to be unique',
            ("personas", int(ctx["index"]), "id"),
        )
    if kind == "reserved_persona_id":
        return (
            'the id "human" is reserved for the user; expected another id, e.g. "host"',
            ("personas", int(ctx["index"]), "id"),
        )
    if kind == "moderator_count":
        return (
            f'a pack needs exactly one persona with role = "moderator", found {ctx["count"]}',
            ("personas",),
        )
    if kind == "no_expert":
        return ('a pack needs at least one persona with role = "expert", found none', ("personas",))
    return None


def validation_sentences(exc: ValidationError, source: str, text: str) -> list[str]:
    """Every error of a pack `ValidationError` as a located sentence."""
    index = LineIndex(text)
    out: list[str] = []
    for error in exc.errors():
        cast = _cast_message(error, index)
        if cast is not None:
            message, loc = cast
            line = index.line_of(loc) if len(loc) > 1 else None
            out.append(sentence(source, message, field=field_path(loc), line=line))
            continue
        loc = tuple(error["loc"])
        line = index.line_of(loc)
        out.append(sentence(source, _field_message(error), field=field_path(loc), line=line))
    return out


def toml_sentence(exc: tomllib.TOMLDecodeError, source: str) -> str:
    """`pack.toml (line 3, column 7): not valid TOML: ...`."""
    text = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)", text)
    if found:
        text = text[: found.start()] + text[found.end() :]
        source = f"{source} (line {found.group(1)}, column {found.group(2)})"
    elif re.search(r"\(at end of document\)", text):
        text = text.replace(" (at end of document)", "")
        source = f"{source} (at the end)"
    detail = text.strip().rstrip(".")
    detail = detail[:1].lower() + detail[1:]
    return sentence(source, f"not valid TOML: {detail}; fix the syntax there")
