"""What a world is made with and where a viewer starts in it: the spec stored with each world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.generate.base import GeneratorOptions
from bridge.world.camera import Camera


@dataclass(frozen=True)
class WorldSpec:
    base_tile_m: float  # edge of a LOD-0 tile, metres
    seed: int
    spawn: Camera  # the photo's camera, world frame
    photo_size: tuple[int, int]  # (width, height), pixels
    scene_scale: float = 0.0  # an imported scene's metres per unit as given; 0: none given

    def to_json(self) -> dict[str, Any]:
        """The spec as the store keeps it; :meth:`from_json` reads it back."""
        options = GeneratorOptions(self.base_tile_m, self.seed, self.scene_scale)
        return {
            "options": options.to_json(),
            "spawn": self.spawn.to_json(),
            "photo_size": list(self.photo_size),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorldSpec:
        width, height = data["photo_size"]
        return cls(
            base_tile_m=data["options"]["base_tile_m"],
            seed=data["options"]["seed"],
            spawn=Camera.from_json(data["spawn"]),
            photo_size=(int(width), int(height)),
            scene_scale=float(data["options"].get("scene_scale", 0.0)),
        )
