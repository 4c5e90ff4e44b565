"""What a world is made with and where a viewer starts in it: the spec stored with each world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.world.camera import Camera


@dataclass(frozen=True)
class WorldSpec:
    base_tile_m: float  # edge of a LOD-0 tile, metres
    seed: int
    spawn: Camera  # the photo's camera, world frame
    photo_size: tuple[int, int]  # (width, height), pixels
    scene_scale: float = 0.0  # an imported scene's metres per unit as given; 0: none given
    scene_spawn: tuple[float, ...] = ()  # an imported scene's spawn camera as given; (): none

    def to_json(self) -> dict[str, Any]:
        """The spec as the store keeps it; :meth:`from_json` reads it back."""
        # The same record as GeneratorOptions.to_json (a layer above): scene_scale and
        # scene_spawn only when set, so a world made without them keeps the record it always had.
        options: dict[str, float | int | list[float]] = {"base_tile_m": self.base_tile_m, "seed": self.seed}
        if self.scene_scale:
            options["scene_scale"] = self.scene_scale
        if self.scene_spawn:
            options["scene_spawn"] = list(self.scene_spawn)
        return {
            "options": options,
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
            scene_spawn=tuple(float(v) for v in data["options"].get("scene_spawn", ())),
        )
