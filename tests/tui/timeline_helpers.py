"""A deterministic session with two branches, written straight into a store: what the timeline,
fork preview, compare and replay tests (and their snapshots) look at.

``main``: the opening and turns 1–4, one priced message per turn; the shared state grows turn by
turn (a decision at turn 2, an action item at turn 3, a second decision and an artifact at 4).
``b2-t2``: forked at turn 2; the moderator's opening message edited; turns 3–4 said otherwise
(another decision, the action item done, the artifact changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widget import Widget
from textual.widgets import OptionList

from agents.events import (
    BranchForked,
    Event,
    MessageCompleted,
    ModeratorDecision,
    SessionEnded,
    SessionStarted,
    StatePatched,
    TurnStarted,
    UsageRecorded,
    event_payload,
)
from agents.state import ActionItem, Artifact, SharedState, StatePatch, apply_patch
from agents.store import Store
from personas.loader import load_pack

TOPIC = "Add a read-through cache in front of the orders API"
SESSION_ID = "branchy00001"
MODEL = "openai/test-model"
# design-review speakers in order: architect, product, sre, security, critic, scribe


@dataclass(frozen=True)
class Written:
    session_id: str
    main: str
    fork: str


class _Writer:
    def __init__(self, store: Store, session_id: str, branch: str) -> None:
        self.store = store
        self.session_id = session_id
        self.branch = branch
        self.rows: list[tuple[str, str, dict[str, Any]]] = []
        self.checkpoints: list[tuple[int, int, SharedState]] = []

    def add(self, event: Event) -> None:
        self.rows.append((event.kind, getattr(event, "agent", ""), event_payload(event)))

    def checkpoint(self, turn: int, state: SharedState) -> None:
        self.checkpoints.append((turn, len(self.rows), state))

    async def flush(self) -> list[int]:
        seqs = await self.store.append_events(self.session_id, self.branch, self.rows)
        for turn, count, state in self.checkpoints:
            await self.store.add_checkpoint(
                self.session_id, self.branch, seq=seqs[count - 1], turn=turn,
                state=state.model_dump(mode="json"), label=f"checkpoint of turn {turn}")
        return seqs


def _turn(w: _Writer, turn: int, persona: Any, text: str, cost: float,
          state: SharedState, patch: StatePatch | None = None) -> SharedState:
    w.add(ModeratorDecision(turn=turn, speakers=[persona.id],
                            reason=f"{persona.name} covers point {turn}."))
    w.add(UsageRecorded(agent="chair", model=MODEL, turn=turn, prompt_tokens=600,
                        completion_tokens=20, latency_ms=80.0, cost_usd=cost / 4, overhead=True))
    w.add(TurnStarted(turn=turn, speakers=[persona.id]))
    w.add(MessageCompleted(message_id=f"{w.branch[:4]}-m{turn}", agent=persona.id,
                           name=persona.name, role=persona.role, turn=turn, text=text))
    w.add(UsageRecorded(agent=persona.id, model=MODEL, turn=turn, prompt_tokens=800,
                        completion_tokens=40, latency_ms=200.0, cost_usd=cost))
    if patch is not None:
        state = apply_patch(state, patch, persona.id)
        w.add(StatePatched(agent=persona.id, turn=turn, patch=patch, state=state))
    w.checkpoint(turn, state)
    return state


async def write_branching_session(db_path: Path) -> Written:
    pack = load_pack("design-review")
    by_id = {p.id: p for p in pack.personas}
    store = await Store.open(db_path)
    try:
        main = await store.create_session(
            session_id=SESSION_ID, title=TOPIC, topic=TOPIC, pack_name=pack.name,
            pack_json=pack.model_dump(mode="json"), model=MODEL)
        w = _Writer(store, SESSION_ID, main)
        state = SharedState(goal=TOPIC)
        w.add(SessionStarted(title=TOPIC, pack=pack.name, topic=TOPIC, model=MODEL,
                             model_note="Using openai/test-model (from --model)."))
        chair = by_id["chair"]
        w.add(MessageCompleted(message_id="opening", agent="chair", name=chair.name,
                               role=chair.role, turn=0, text="Welcome. Scope: the cache."))
        w.add(UsageRecorded(agent="chair", model=MODEL, turn=0, prompt_tokens=700,
                            completion_tokens=20, latency_ms=100.0, cost_usd=0.001))
        w.checkpoint(0, state)
        state = _turn(w, 1, by_id["architect"], "Put Redis in front of the orders API.", 0.002,
                      state)
        state = _turn(w, 2, by_id["product"], "Reads dominate: cache them for 60 s.", 0.002,
                      state, StatePatch(add_decisions=["Cache reads for 60 s"]))
        fork_state = state
        state = _turn(w, 3, by_id["sre"], "We need a load test first.", 0.002, state,
                      StatePatch(add_action_items=[ActionItem(text="Load test", owner="sre")]))
        state = _turn(w, 4, by_id["security"], "Encrypt the cache at rest.", 0.002, state,
                      StatePatch(add_decisions=["Encrypt at rest"], put_artifacts=[Artifact(
                          name="plan.md", kind="markdown", content="# Plan\n\nRedis, 60 s.")]))
        w.add(SessionEnded(reason="max_turns", detail="reached 4 turns", turns=4,
                           cost_usd=0.0))
        seqs = await w.flush()
        fork_seq = seqs[w.checkpoints[2][1] - 1]  # the checkpoint of turn 2

        fork = await store.fork_branch(SESSION_ID, main, fork_seq, "b2-t2")
        f = _Writer(store, SESSION_ID, fork)
        f.add(BranchForked(parent_branch_id=main, fork_seq=fork_seq, turn=2, name="b2-t2"))
        f.add(MessageCompleted(message_id="opening", agent="chair", name=chair.name,
                               role=chair.role, turn=0, text="Welcome. Scope: cache and costs.",
                               edited=True))
        state = _turn(f, 3, by_id["sre"], "Skip the load test; canary it.", 0.003, fork_state,
                      StatePatch(add_decisions=["Canary instead of a load test"]))
        state = _turn(f, 4, by_id["security"], "Plan written.", 0.003, state,
                      StatePatch(put_artifacts=[Artifact(
                          name="plan.md", kind="markdown", content="# Plan\n\nCanary.")]))
        await f.flush()
        await store.set_head(SESSION_ID, fork)
        return Written(SESSION_ID, main, fork)
    finally:
        await store.close()


def option_texts(pane: Widget, selector: str) -> list[str]:
    """The plain text of every option of the option list ``selector`` inside ``pane``."""
    option_list = pane.query_one(selector, OptionList)
    out = []
    for index in range(option_list.option_count):
        prompt = option_list.get_option_at_index(index).prompt
        assert isinstance(prompt, Text)
        out.append(prompt.plain)
    return out
