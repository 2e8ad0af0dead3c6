"""Markdown and JSON exports of a saved session."""

from __future__ import annotations

from typing import Any

from agents.cost import CostLedger
from agents.events import UsageRecorded
from agents.history import load_events, no_such_session, resolve_branch
from agents.logs import redact
from agents.state import SharedState
from agents.store import Store, StoreError

EXPORT_FORMAT = "agentchat-session"
EXPORT_VERSION = 1


async def export_json(store: Store, session_id: str,
                      branch: str | None = None) -> dict[str, Any]:
    """The whole session tree — every branch, event and checkpoint — or, with ``branch``, just
    that branch's view (its ancestors up to the fork points), ready for `sessions import`."""
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    branches = await store.branches(row.id)
    if branch is None:
        events = await store.all_events(row.id)
        checkpoints = await store.all_checkpoints(row.id)
        head = row.head_branch
    else:
        head = await resolve_branch(store, row.id, branch)
        by_id = {b.id: b for b in branches}
        chain: list[str] = []
        cursor: str | None = head
        while cursor is not None:
            chain.append(cursor)
            cursor = by_id[cursor].parent_branch
        branches = [b for b in branches if b.id in chain]
        events = await store.events(row.id, head)
        checkpoints = await store.checkpoints(row.id, head)
    # what the exported events say, so an export of one branch re-exports identically
    turns = max((c.turn for c in checkpoints), default=0)
    cost = sum(float(e.payload.get("cost_usd") or 0.0) for e in events
               if e.kind == "usage_recorded")
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "session": {
            "id": row.id,
            "title": row.title,
            "topic": row.topic,
            "pack_name": row.pack_name,
            "pack": row.pack_json,
            "model": row.model,
            "created": row.created.isoformat(),
            "updated": row.updated.isoformat(),
            "head_branch": head,
            "turns": turns,
            "cost_usd": round(cost, 9),
        },
        "branches": [
            {
                "id": b.id,
                "parent_branch": b.parent_branch,
                "fork_seq": b.fork_seq,
                "name": b.name,
                "created": b.created.isoformat(),
            }
            for b in branches
        ],
        "events": [
            {
                "seq": e.seq,
                "branch_id": e.branch_id,
                "kind": e.kind,
                "agent": e.agent,
                "payload": e.payload,
                "created": e.created.isoformat(),
            }
            for e in events
        ],
        "checkpoints": [
            {"branch_id": c.branch_id, "seq": c.seq, "turn": c.turn, "state": c.state,
             "label": c.label, "created": c.created.isoformat()}
            for c in checkpoints
        ],
    }


async def import_json(store: Store, data: Any, source: str = "the file") -> str:
    """Load a JSON export back into the store exactly as it was; return the session id."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise StoreError(f"{source} is not an agentchat session export (no "
                         f'"format": "{EXPORT_FORMAT}"); export one with `sessions export`')
    version = data.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise StoreError(f"{source} is export version {version}, newer than this agentchat "
                         f"reads ({EXPORT_VERSION}); upgrade agentchat")
    try:
        session = data["session"]
        await store.import_tree(session, data["branches"], data["events"], data["checkpoints"])
    except (KeyError, TypeError) as exc:
        raise StoreError(f"{source} is missing the field {exc} of a session export; "
                         "it may be truncated") from None
    return str(session["id"])


def _state_md(state: SharedState) -> list[str]:
    out = ["## Shared state", ""]
    out.append(f"**Goal:** {state.goal or '—'}")
    out.append("")
    for title, items in (("Agenda", state.agenda), ("Decisions", state.decisions),
                         ("Open questions", state.open_questions)):
        out.append(f"### {title}")
        out.extend([f"- {i}" for i in items] or ["- (none)"])
        out.append("")
    out.append("### Action items")
    out.extend([f"- [{'x' if a.status == 'done' else ' '}] {a.text} — {a.owner or 'unassigned'}"
                f" ({a.status})" for a in state.action_items] or ["- (none)"])
    out.append("")
    for art in state.artifacts.values():
        out.append(f"### Artifact: {art.name} ({art.kind}, by {art.author or 'unknown'})")
        out.append("")
        fence = "````" if "```" in art.content else "```"
        out.extend([f"{fence}{art.language or ''}", art.content, fence, ""])
    return out


async def export_markdown(store: Store, session_id: str, branch_id: str | None = None) -> str:
    """One branch as a readable document: transcript, decisions, final state, costs."""
    row = await store.get_session(session_id)
    if row is None:
        raise no_such_session(session_id)
    events = await load_events(store, row.id, branch_id)
    ledger = CostLedger()
    state = SharedState(goal=row.topic)
    lines = [f"# {row.title}", "",
             f"- Session: `{row.id}`", f"- Pack: {row.pack_name}", f"- Model: {row.model}",
             f"- Topic: {row.topic}", f"- Created: {row.created:%Y-%m-%d %H:%M} UTC", "",
             "## Transcript", ""]
    for event in events:
        if event.kind == "message_completed":
            mark = " *(interrupted)*" if event.interrupted else ""
            to = f" → @{event.to}" if event.to else ""
            lines += [f"### {event.name} ({event.role}){to}{mark}", "", event.text or "…", ""]
        elif event.kind == "moderator_decision":
            rule = f" — fallback: {event.fallback_reason}" if event.fallback else ""
            who = ", ".join(event.speakers)
            lines += [f"> Turn {event.turn}: moderator gives the floor to {who}: "
                      f"{event.reason}{rule}", ""]
        elif event.kind == "state_patched":
            state = event.state
        elif event.kind == "usage_recorded":
            assert isinstance(event, UsageRecorded)
            ledger.record(event)
        elif event.kind == "error_raised":
            lines += [f"> **Error** ({event.agent or 'session'}): {event.message}", ""]
        elif event.kind == "session_ended":
            lines += [f"> Session ended ({event.reason}): {event.detail}", ""]
    lines += _state_md(state)
    lines += ["## Cost", "", "| persona | calls | tokens in | tokens out | USD |",
              "|---|---:|---:|---:|---:|"]
    for agent, cost in sorted(ledger.agents.items()):
        usd = "unpriced" if cost.unpriced_calls else f"{cost.cost_usd:.6f}"
        lines.append(f"| {agent} | {cost.calls} | {cost.prompt_tokens} | "
                     f"{cost.completion_tokens} | {usd} |")
    o = ledger.overhead
    lines.append(f"| orchestration | {o.calls} | {o.prompt_tokens} | {o.completion_tokens} | "
                 f"{'unpriced' if o.unpriced_calls else f'{o.cost_usd:.6f}'} |")
    lines.append(f"| **total** | | | | {ledger.total_usd:.6f} |")
    return redact("\n".join(lines) + "\n")
