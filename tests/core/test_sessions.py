"""Sessions a viewer can resume: what each stream's viewer acked, by id, bounded in memory."""

from __future__ import annotations

from bridge.core.sessions import Sessions
from bridge.stream.session import StreamSession
from bridge.world.grid import TileGrid
from bridge.world.keys import TileKey


def holding(world: str, count: int, acked: bool = True) -> StreamSession:
    session = StreamSession(world, TileGrid(32.0, 64))
    for i in range(count):
        session.mark_sent(TileKey(0, i, 0), 1000, 10, "spz", f"{i:064x}")
        if acked:
            session.ack([TileKey(0, i, 0)])
    return session


def test_a_session_resumes_with_what_its_viewer_acked_on_its_own_world_only() -> None:
    sessions = Sessions()
    live = holding("w", 3)
    live.mark_sent(TileKey(1, 0, 0), 1000, 10, "spz", "f" * 64)  # sent, not acked: may not have arrived
    sessions.open("s", live)
    assert set(sessions.held("s", "w") or {}) == {TileKey(0, i, 0) for i in range(3)}  # while still open
    sessions.close("s", live)
    held = sessions.held("s", "w")
    assert held is not None and held[TileKey(0, 2, 0)].sha256 == f"{2:064x}" and held[TileKey(0, 2, 0)].acked
    assert sessions.held("s", "another-world") is None and sessions.held("nope", "w") is None


def test_ended_sessions_are_forgotten_oldest_first_past_the_bound() -> None:
    sessions = Sessions(max_tiles=10)
    for name in ("a", "b", "c"):
        session = holding("w", 4)
        sessions.open(name, session)
        sessions.close(name, session)
    assert sessions.held("a", "w") is None  # 12 tiles remembered > 10: the oldest went
    assert sessions.held("b", "w") is not None and sessions.held("c", "w") is not None
    assert sessions.remembered_tiles == 8


def test_a_resumed_id_belongs_to_the_newest_stream() -> None:
    sessions = Sessions()
    old, new = holding("w", 2), holding("w", 5)
    sessions.open("s", old)
    sessions.open("s", new)  # the viewer reconnected before the server saw the old stream end
    sessions.close("s", old)  # the old stream ends late: it must not replace the new one
    assert len(sessions.held("s", "w") or {}) == 5
    sessions.close("s", new)
    assert len(sessions.held("s", "w") or {}) == 5
