"""Walking a viewer through a world: send a pose, then take everything the server sends for it.

The server echoes each update's ``sequence`` in its progress events, so the walker knows exactly
when the tiles wanted at a pose have all arrived (progress for that sequence with none pending).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bridge.client.client import (
    Received,
    ReceivedError,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    TileStream,
    WorldBridgeClient,
)
from bridge.client.held import HeldTiles
from bridge.client.players import PlayerPose
from bridge.stream.pose import Pose


@dataclass
class Walker:
    stream: TileStream
    radius_m: float
    vertical_fov_deg: float
    viewport_height_px: int
    formats: tuple[str, ...] = ("stream",)
    held: HeldTiles = field(default_factory=HeldTiles)
    errors: list[str] = field(default_factory=list)
    sequence: int = 0
    _events: AsyncIterator[Received] | None = None

    @classmethod
    def open(cls, client: WorldBridgeClient, world_id: str, **options: object) -> Walker:
        return cls(client.stream(world_id), **options)  # type: ignore[arg-type]

    async def step(self, pose: PlayerPose) -> float:
        """Send ``pose``; return once all tiles it wants are held (seconds waited)."""
        started = time.perf_counter()
        self.sequence += 1
        view = Pose(
            pose.position,
            pose.forward,
            pose.velocity,
            vertical_fov_deg=self.vertical_fov_deg,
            viewport_height_px=self.viewport_height_px,
            radius_m=self.radius_m,
        )
        await self.stream.send(
            view,
            formats=self.formats if self.sequence == 1 else (),
            sequence=self.sequence,
        )
        if self._events is None:
            self._events = self.stream.events().__aiter__()
        while True:
            event = await self._events.__anext__()
            if isinstance(event, ReceivedTile):
                self.held.add(event.key, event.data, event.format, event.sha256)
                await self.stream.ack([event.key])
            elif isinstance(event, ReceivedUnload):
                self.held.unload(event.key)
            elif isinstance(event, ReceivedError):
                self.errors.append(event.message)
            elif isinstance(event, ReceivedProgress) and event.sequence == self.sequence and event.tiles_pending == 0:
                return time.perf_counter() - started

    async def close(self) -> None:
        await self.stream.close()
        self.stream.cancel()
