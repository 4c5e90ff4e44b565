"""Sessions a viewer can resume: what each stream's viewer holds, by session id.

A stream registers its live session under a fresh id (sent in its hello); a reconnecting viewer
names that id and its new stream starts from the tiles the old one knew it held (acked), so
nothing it has is sent again. When a stream ends, what its viewer held is kept in memory,
bounded by the tiles remembered over all sessions (the oldest sessions are forgotten first):
after a server restart, or past the bound, a viewer lists what it holds instead
(``ViewerUpdate.held``).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict

from bridge.stream.session import HeldTile, StreamSession
from bridge.world.keys import TileKey

MAX_REMEMBERED_TILES = 200_000  # ~200 bytes each: a bound of about 40 MB over all ended sessions


class Sessions:
    def __init__(self, max_tiles: int = MAX_REMEMBERED_TILES) -> None:
        self._live: dict[str, StreamSession] = {}
        self._ended: OrderedDict[str, tuple[str, dict[TileKey, HeldTile]]] = OrderedDict()
        self._ended_tiles = 0
        self._max_tiles = max_tiles

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(16)

    def open(self, session_id: str, session: StreamSession) -> None:
        self._forget(session_id)
        self._live[session_id] = session

    def close(self, session_id: str, session: StreamSession) -> None:
        """The stream ended: keep what its viewer held (unless a newer stream took the id over)."""
        if self._live.get(session_id) is not session:
            return
        del self._live[session_id]
        held = session.acked_tiles()
        self._ended[session_id] = (session.world_id, held)
        self._ended_tiles += len(held)
        while self._ended_tiles > self._max_tiles and self._ended:
            _, (_, dropped) = self._ended.popitem(last=False)
            self._ended_tiles -= len(dropped)

    def held(self, session_id: str, world_id: str) -> dict[TileKey, HeldTile] | None:
        """The tiles that session's viewer acked, or None for an unknown id or another world's."""
        live = self._live.get(session_id)
        if live is not None:
            return live.acked_tiles() if live.world_id == world_id else None
        entry = self._ended.get(session_id)
        if entry is None or entry[0] != world_id:
            return None
        return dict(entry[1])

    def _forget(self, session_id: str) -> None:
        entry = self._ended.pop(session_id, None)
        if entry is not None:
            self._ended_tiles -= len(entry[1])

    @property
    def remembered_tiles(self) -> int:
        return self._ended_tiles
