"""The generator contract: ``prepare`` once per world, then ``generate`` any tile, any time.

A backend is a class registered under the entry-point group ``worldbridge.generators``. The
server calls ``prepare`` when a world is created (its result is persisted with the world, as
bytes), and ``generate`` for each tile, in worker processes, from the persisted preparation only.
For a deterministic backend, ``generate`` is a pure function of (preparation, key): that is what
lets any machine regenerate any tile and get the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bridge.formats.splats import TileContent
from bridge.world.camera import Camera
from bridge.world.keys import TileKey


@dataclass(frozen=True)
class GeneratorOptions:
    """Per-world settings every backend understands."""

    base_tile_m: float = 8.0  # edge of a LOD-0 tile, metres
    seed: int = 0  # varies the world's procedural fields; part of the world's identity
    # An imported splat scene's metres per scene unit; 0: the importer's guess (1). Part of the
    # world's identity when set; photo backends refuse it (a photo's scale is its camera's).
    scene_scale: float = 0.0
    # An imported splat scene's spawn: (x, y, z, forward x, y, z) in the trainer's frame (OpenCV,
    # as its cameras.json has it; see bridge.generate.scene.cameras); (): the importer's choice.
    # Part of the world's identity when set; photo backends refuse it.
    scene_spawn: tuple[float, ...] = ()

    def to_json(self) -> dict[str, float | int | list[float]]:
        """As worlds and manifests record them: ``scene_scale`` and ``scene_spawn`` only when set,
        so a world made without them keeps the records (and the id) it always had."""
        out: dict[str, float | int | list[float]] = {"base_tile_m": self.base_tile_m, "seed": self.seed}
        if self.scene_scale:
            out["scene_scale"] = self.scene_scale
        if self.scene_spawn:
            out["scene_spawn"] = list(self.scene_spawn)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GeneratorOptions:
        """The options :meth:`to_json` recorded (KeyError, TypeError or ValueError if malformed)."""
        return cls(
            base_tile_m=float(data["base_tile_m"]),
            seed=int(data["seed"]),
            scene_scale=float(data.get("scene_scale", 0.0)),
            scene_spawn=tuple(float(v) for v in data.get("scene_spawn", ())),
        )


@dataclass(frozen=True)
class Sky:
    """The sky at infinity, as an equirectangular panorama (what engines' sky spheres take).

    ``panorama``: [H, 2H, 3] uint8 sRGB. Column 0 is azimuth -180 degrees (looking +Z), the centre
    column looks -Z (the spawn's forward); row 0 is straight up, the last row straight down.
    """

    panorama: np.ndarray


@dataclass(frozen=True)
class PreparedWorld:
    """What ``prepare`` made of the photo: everything ``generate`` may read, and the spawn camera."""

    generator: str
    generator_version: str
    options: GeneratorOptions
    spawn: Camera  # the photo's camera, in world coordinates
    sky: Sky
    payload: dict[str, np.ndarray]  # backend-specific arrays, persisted as an .npz
    # PNGs a person can check (depth, ...); a name ending .json is a JSON note (a scene's placement)
    pictures: dict[str, bytes] = field(default_factory=dict)


@runtime_checkable
class Generator(Protocol):
    name: str
    version: str
    # Splats along a tile's edge at every LOD: with the world's base edge, the tiles' geometric
    # error (bridge.world.grid.TileGrid), which the stream's LOD selection reads.
    splats_per_tile_edge: int

    def prepare(self, photo: np.ndarray, options: GeneratorOptions) -> PreparedWorld:
        """``photo``: [H, W, 3] uint8 sRGB, already decoded and validated."""
        ...

    def generate(self, world: PreparedWorld, key: TileKey) -> TileContent: ...


@runtime_checkable
class SourceGenerator(Generator, Protocol):
    """A backend that reads its own input file (a splat scene, ...) instead of a decoded photo.

    The server hands it the uploaded bytes as they are: ``check_source`` in the server process
    (cheap header checks, so a bad upload is refused before a worker is busy), then
    ``prepare_source`` in a worker. Both raise ValueError with the reason on bad input.
    """

    def check_source(self, data: bytes) -> None: ...

    def prepare_source(self, data: bytes, options: GeneratorOptions) -> PreparedWorld: ...
