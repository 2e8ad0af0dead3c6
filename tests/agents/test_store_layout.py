"""Schema 3's compact rows: packed payloads, integer times, labels and states by reference."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agents.store import Store
from agents.store.codec import Codec, label_ref, pack_time, summary, unpack_time

PACK = {"moderator": {"id": "chair", "name": "Maya", "role": "moderator"},
        "speakers": [{"id": "ada", "name": "Ada, Architect", "role": "expert"}]}
TEXT = ("The cache sits in front of the orders service; a miss reads through to the database "
        "and the entry lives for five minutes, which bounds how stale an order can look.")


def test_codec_round_trips_and_only_packs_what_shrinks() -> None:
    codec = Codec('"agent":"ada","name":"Ada, Architect"')
    for text in ("", "{}", '{"~":1,"turn":3}', '{"text":"' + TEXT + '"}', "é" * 300):
        packed = codec.pack(text)
        assert codec.unpack(packed) == text
    assert isinstance(codec.pack('{"text":"' + TEXT + '"}'), bytes)
    assert codec.pack("{}") == "{}"  # short: stays text
    assert Codec("other words").unpack("plain") == "plain"


def test_times_are_integers_only_when_exact() -> None:
    now = "2026-11-24T10:34:23.123456+00:00"
    assert isinstance(pack_time(now), int) and unpack_time(pack_time(now)) == now
    for text in ("2026-11-24T10:34:23+00:00", "2026-11-24T11:34:23.123456+01:00",
                 "2026-11-24T10:34:23.123456", "yesterday"):
        assert pack_time(text) == text


def test_label_refers_to_its_message_only_when_it_reads_back_exactly() -> None:
    label = summary(TEXT, 80)
    assert label.endswith("…") and len(label) == 80
    assert label_ref(label, 7, TEXT) == 7 << 8 | 80
    assert label_ref("Opening", 7, TEXT) is None
    assert label_ref(summary("Short one.", 80), 7, "Short one.") == 7 << 8


async def test_labels_and_states_by_reference_read_back(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    state = {"goal": "g", "decisions": ["cache"]}
    async with await Store.open(path) as store:
        main = await store.create_session(session_id="s1", title="t", topic="Caching",
                                          pack_name="p", pack_json=PACK, model="m")
        seq = await store.begin_message("s1", main, "ada", {"agent": "ada", "text": "Th"})
        await store.finish_message("s1", seq, {"agent": "ada", "text": TEXT})
        patched = await store.append_event("s1", main, "state_patched", "ada",
                                           {"agent": "ada", "state": state})
        await store.add_checkpoint("s1", main, seq=patched, turn=1,
                                   state={**state, "_routing": {}}, label=summary(TEXT, 80))
        await store.add_checkpoint("s1", main, seq=patched, turn=2,
                                   state={**state, "_routing": {"next": 1}}, label="By hand")
    with sqlite3.connect(path) as raw:
        stored = raw.execute("SELECT typeof(label), typeof(state) FROM checkpoints ORDER BY id"
                             ).fetchall()
        assert stored[0] == ("integer", "integer") and stored[1][0] == "text"
        agents = raw.execute("SELECT agent FROM events ORDER BY id").fetchall()
        assert agents == [(None,), (None,)]  # read back from the payloads
    async with await Store.open(path) as store:
        rows = await store.checkpoints("s1", main)
        assert [(c.turn, c.label, c.state) for c in rows] == [
            (1, summary(TEXT, 80), {**state, "_routing": {}}),
            (2, "By hand", {**state, "_routing": {"next": 1}})]
        events = await store.events("s1", main)
        assert [(e.agent, e.payload.get("text")) for e in events] == [("ada", TEXT), ("ada", None)]
        marks = await store.checkpoint_marks("s1", main, 0)
        assert [m[3] for m in marks] == [summary(TEXT, 80), "By hand"]
