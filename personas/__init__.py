"""Persona packs: the pydantic models, the loader and the built-in packs.

The names below load on first use, so ``personas.catalog`` (a cheap pack listing for the app's
first frame) does not pull in pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "PackError": "personas.errors",
    **dict.fromkeys(("PackInfo", "builtin_pack_names", "default_user_dir", "list_packs",
                     "load_pack", "pack_to_toml", "parse_pack"), "personas.loader"),
    **dict.fromkeys(("Budget", "Pack", "PackMeta", "Persona", "Role", "Termination"),
                    "personas.models"),
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'personas' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
