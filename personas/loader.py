"""Find, read and validate persona packs: built-in, in the user's packs dir, or any TOML file.

    load_pack("design-review")            # a built-in pack (or a user pack of that name)
    load_pack("./my-pack.toml")           # a file
    list_packs()                          # built-ins, then the user's packs
    pack_to_toml(pack)                    # back to TOML text that loads again

Every problem a user can cause ends in a `PackError` whose message names the file, the field
path, the TOML line and what is expected.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import platformdirs
import tomli_w
from pydantic import ValidationError

from personas.errors import PackError, sentence, toml_sentence, validation_sentences
from personas.models import Pack

__all__ = [
    "PackError",
    "PackInfo",
    "builtin_pack_names",
    "default_user_dir",
    "list_packs",
    "load_pack",
    "pack_to_toml",
    "parse_pack",
]

PackSource = Literal["builtin", "user", "file"]


def default_user_dir() -> Path:
    """Where the user's own packs live: `<user config dir>/agentchat/packs` (not created)."""
    return platformdirs.user_config_path("agentchat") / "packs"


def _builtin_dir() -> Traversable:
    return resources.files("personas").joinpath("builtin")


def _builtin_files() -> dict[str, Traversable]:
    found = {
        entry.name.removesuffix(".toml"): entry
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    }
    return dict(sorted(found.items()))


def builtin_pack_names() -> list[str]:
    """Names of the packs shipped with agentchat, sorted."""
    return list(_builtin_files())


def _user_files(user_dir: Path) -> dict[str, Path]:
    if not user_dir.is_dir():
        return {}
    return {path.stem: path for path in sorted(user_dir.glob("*.toml")) if path.is_file()}


def parse_pack(text: str, *, source: str = "<pack>") -> Pack:
    """Validate TOML text as a pack; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(toml_sentence(exc, source), source=source) from None
    try:
        return Pack.model_validate(data, strict=True)
    except ValidationError as exc:
        raise PackError(validation_sentences(exc, source, text), source=source) from None


def _read_file(path: Path, label: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PackError(
            sentence(label, "no such file; expected a path to a persona pack .toml file"),
            source=label,
        ) from None
    except IsADirectoryError:
        raise PackError(
            sentence(label, "this is a directory; expected a persona pack .toml file"),
            source=label,
        ) from None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise PackError(
            sentence(label, f"cannot read the file ({reason}); check its permissions"),
            source=label,
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PackError(
            sentence(label, "the file is not UTF-8 text; expected a TOML persona pack"),
            source=label,
        ) from None


def _load_file(path: Path, label: str | None = None) -> Pack:
    label = label or str(path)
    return parse_pack(_read_file(path, label), source=label)


def _load_builtin(name: str, entry: Traversable) -> Pack:
    label = f"built-in pack {name}.toml"
    return parse_pack(entry.read_text(encoding="utf-8"), source=label)


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith(".toml") or ref.startswith("~")


def load_pack(ref: str, *, user_dir: Path | None = None) -> Pack:
    """Load a pack by built-in name, user pack name, or path to a TOML file.

    Resolution order: anything path-like (contains a `/`, ends in `.toml`, starts with `~`) is
    read as a file; otherwise a pack of that name in the user's packs dir (so a user can
    shadow a built-in by copying and editing it), then a built-in pack, then an existing file
    of that name. Raises `PackError` (listing the available names) when nothing matches.
    """
    ref = ref.strip()
    if not ref:
        raise PackError("no pack given; expected a pack name or a path to a .toml file.")
    if _looks_like_path(ref):
        return _load_file(Path(ref).expanduser(), ref)
    directory = default_user_dir() if user_dir is None else user_dir
    user = _user_files(directory)
    if ref in user:
        return _load_file(user[ref])
    builtins = _builtin_files()
    if ref in builtins:
        return _load_builtin(ref, builtins[ref])
    if Path(ref).is_file():
        return _load_file(Path(ref), ref)
    available = sorted(set(builtins) | set(user))
    raise PackError(
        f'"{ref}": no such pack; expected one of {", ".join(available) or "(none)"} '
        f"(built-in or in {directory}) or a path to a .toml file."
    )


@dataclass(frozen=True)
class PackInfo:
    """A summary of one available pack, for pickers and `agentchat packs`.

    `name` is what to pass to `load_pack`. A user pack that fails to load is still listed, with
    `error` set to the first problem and empty `pattern`/`description`/`personas`.
    """

    name: str
    pattern: str
    description: str
    personas: list[str]
    source: PackSource
    path: str
    error: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None


def _info(name: str, pack: Pack, source: PackSource, path: str) -> PackInfo:
    return PackInfo(
        name=name,
        pattern=pack.pack.pattern,
        description=pack.pack.description,
        personas=[p.id for p in pack.personas],
        source=source,
        path=path,
    )


def list_packs(*, user_dir: Path | None = None) -> list[PackInfo]:
    """Built-in packs (sorted), then the user's packs (sorted); broken user packs carry `error`."""
    infos = [
        _info(name, _load_builtin(name, entry), "builtin", str(entry))
        for name, entry in _builtin_files().items()
    ]
    directory = default_user_dir() if user_dir is None else user_dir
    for name, path in _user_files(directory).items():
        try:
            infos.append(_info(name, _load_file(path), "user", str(path)))
        except PackError as exc:
            infos.append(PackInfo(name, "", "", [], "user", str(path), error=str(exc)))
    return infos


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in cleaned.items() if v != {}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def pack_to_toml(pack: Pack) -> str:
    """The pack as TOML text (multi-line prompts kept readable) that `parse_pack` reads back."""
    data = _drop_empty(pack.model_dump(mode="json"))
    return tomli_w.dumps(data, multiline_strings=True)
