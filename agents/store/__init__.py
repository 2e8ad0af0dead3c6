"""The session store: an aiosqlite database of sessions, branches, events and checkpoints."""

from agents.store.paths import DB_ENV_VAR, default_db_path
from agents.store.rows import BranchRow, CheckpointRow, EventRow, SessionRow
from agents.store.schema import MIGRATIONS, StoreError, latest_version
from agents.store.store import Store

__all__ = [
    "DB_ENV_VAR",
    "MIGRATIONS",
    "BranchRow",
    "CheckpointRow",
    "EventRow",
    "SessionRow",
    "Store",
    "StoreError",
    "default_db_path",
    "latest_version",
]
