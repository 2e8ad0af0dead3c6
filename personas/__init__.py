"""Persona packs: the pydantic models, the loader and the built-in packs."""

from personas.errors import PackError
from personas.loader import (
    PackInfo,
    builtin_pack_names,
    default_user_dir,
    list_packs,
    load_pack,
    pack_to_toml,
    parse_pack,
)
from personas.models import Budget, Pack, PackMeta, Persona, Role, Termination

__all__ = [
    "Budget",
    "Pack",
    "PackError",
    "PackInfo",
    "PackMeta",
    "Persona",
    "Role",
    "Termination",
    "builtin_pack_names",
    "default_user_dir",
    "list_packs",
    "load_pack",
    "pack_to_toml",
    "parse_pack",
]
