"""Inserting an exported session tree (``agentchat sessions import``) in schema 3's layout."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.store.codec import pack_time, session_words
from agents.store.layout import Layout, lo
from agents.store.rows import encode, encode_event, now_iso, usd
from agents.store.schema import StoreError


def import_rows(db: sqlite3.Connection, layout: Layout, path: Path, session: Mapping[str, Any],
                branches: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]],
                checkpoints: Sequence[Mapping[str, Any]]) -> None:
    sid = str(session["id"])
    if db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is not None:
        raise StoreError(
            f"session {sid} is already in {path}; delete it first or import into another "
            "database with --db.", path)
    layout.forget(sid)
    pack = session["pack"]
    cost = sum(usd(e["payload"].get("cost_usd")) for e in events if e["kind"] == "usage_recorded")
    db.execute(
        "INSERT INTO sessions (id, title, topic, pack_name, pack_json, model, created, updated,"
        " head_branch, words, last_seq, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sid, session["title"], session["topic"], session["pack_name"], encode(pack),
         session["model"], session["created"], session["updated"], session["head_branch"],
         session_words(pack if isinstance(pack, Mapping) else {}, str(session["model"]),
                       str(session["topic"])),
         max((int(e["seq"]) for e in events), default=0), cost),
    )
    for b in branches:
        db.execute(
            "INSERT INTO branches (id, session_id, parent_branch, fork_seq, name, created, n)"
            " VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(n), 0) + 1 FROM branches))",
            (b["id"], sid, b["parent_branch"], b["fork_seq"], b["name"], b["created"]))
    db.executemany(
        "INSERT INTO events (id, kind, agent, created, payload) VALUES (?, ?, ?, ?, ?)",
        [layout.event_values(db, sid, layout.number(db, sid, str(e["branch_id"])), int(e["seq"]),
                             str(e["kind"]), str(e["agent"]),
                             encode_event(str(e["kind"]), e["payload"]), str(e["created"]))
         for e in events])
    codec = layout.codec(db, sid)
    db.executemany(
        "INSERT INTO checkpoints (id, seq, label, created, state) VALUES (?, ?, ?, ?, ?)",
        [(lo(layout.number(db, sid, str(c["branch_id"]))) | int(c["turn"]), c["seq"],
          codec.pack(str(c["label"])), pack_time(str(c.get("created") or now_iso())),
          codec.pack(encode(c["state"]))) for c in checkpoints])
