"""Streams open now, by client: the per-client limit, and a reconnect taking over its own old stream.

A viewer that reconnects (a network change, a dropped socket) opens its new stream before the
server has seen the old one go. Counted naively, a client at its limit is refused its own
reconnect. A new stream that resumes a session still served to the same client takes that
stream's slot instead: the old stream is told to end, and the client's count does not rise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.core.errors import TooManyStreamsError


@dataclass(eq=False)
class Slot:
    """One stream's place in its client's count. ``end`` stops the stream when a reconnect takes it over."""

    peer: str
    session_id: str = ""
    end: Callable[[], None] = field(default=lambda: None)
    counted: bool = True  # False once handed to a reconnect (or given back): releasing it again counts nothing


class StreamSlots:
    def __init__(self) -> None:
        self._open: Counter[str] = Counter()  # by client address; "" (unnamed) is not limited
        self._by_session: dict[str, Slot] = {}

    def admit(self, peer: str, limit: int, resume_session_id: str = "") -> Slot:
        """A slot for a new stream from ``peer``, or TooManyStreamsError past ``limit``. A stream that
        resumes a session this client still has open takes that stream's slot and ends it."""
        old = self._by_session.get(resume_session_id) if resume_session_id else None
        if old is not None and old.counted and old.peer == peer:
            old.counted = False
            del self._by_session[resume_session_id]
            old.end()
            return Slot(peer)
        if peer and self._open[peer] >= limit:
            raise TooManyStreamsError(f"{peer} already has {limit} streams open")
        self._open[peer] += 1
        return Slot(peer)

    def serve(self, slot: Slot, session_id: str, end: Callable[[], None]) -> None:
        """The slot's stream is serving ``session_id``: a reconnect resuming it may take the slot over."""
        if slot.counted:
            slot.session_id, slot.end = session_id, end
            self._by_session[session_id] = slot

    def release(self, slot: Slot) -> None:
        if self._by_session.get(slot.session_id) is slot:
            del self._by_session[slot.session_id]
        if not slot.counted:
            return
        slot.counted = False
        self._open[slot.peer] -= 1
        if self._open[slot.peer] <= 0:
            del self._open[slot.peer]

    @property
    def total(self) -> int:
        return sum(self._open.values())
