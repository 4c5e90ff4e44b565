"""The ``import`` generator: a splat scene someone already has, tiled, LOD'd and continued.

``prepare_source`` reads the scene (source.py), stands it upright at our spawn (placement.py),
renders it from the spawn and prepares the photo generator on that picture: the continuation
past the scene's edges is the photo generator's ground, buildings and trees, dressed in the
scene's own colours and materials as seen from where the viewer starts. ``generate`` serves, for
any key, the scene's splats in that tile (LOD 0: the file's own splats; coarser: merged, see
merge.py) over the continuation, whose buildings and trees keep off the scene's footprint and
whose ground lies under the scene's as an underlay (it closes the scene's pinholes and carries
on where the scene ends). Deterministic: the tile is a function of the prepared world and key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.buckets import TileBuckets
from bridge.generate.photo.generator import GRID, PhotoGenerator
from bridge.generate.photo.pictures import png
from bridge.generate.scene.merge import merge_cells
from bridge.generate.scene.placement import place
from bridge.generate.scene.source import SceneError, check_scene, read_scene
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey

SPAWN_VFOV_DEG = 60.0
SPAWN_SIZE = (1280, 720)
VIEW_SIZE = (512, 288)  # the picture the continuation is prepared from
VIEW_BACKGROUND = (0.62, 0.74, 0.86)  # an open sky where the scene has nothing to show
FOOTPRINT_CELL_M = 2.0
FOOTPRINT_MIN_SPLATS = 3  # per cell: a few floaters do not make a footprint
FOOTPRINT_MIN_OPACITY = 0.3
UNDERLAY_SIGMAS = 2.0  # the continuation's ground under the scene lies this many of its radii down
_MARGIN = 3  # cells
_FIELDS = ("positions", "scales", "rotations", "opacities", "colors")
_PHOTO = "photo."  # payload prefix of the continuation's photo world


@dataclass(frozen=True)
class _SceneState:
    scene: SplatCloud
    continuation: PreparedWorld
    footprint: np.ndarray  # [rows (z), cols (x)] bool
    footprint_origin: tuple[float, float]  # world (x, z) of cell (0, 0)'s corner
    base_tile_m: float

    def inside(self, positions: np.ndarray) -> np.ndarray:
        cols = np.floor((positions[:, 0] - self.footprint_origin[0]) / FOOTPRINT_CELL_M).astype(np.int64)
        rows = np.floor((positions[:, 2] - self.footprint_origin[1]) / FOOTPRINT_CELL_M).astype(np.int64)
        h, w = self.footprint.shape
        ok = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        out = np.zeros(len(positions), dtype=bool)
        out[ok] = self.footprint[rows[ok], cols[ok]]
        return out


class ImportGenerator:
    name = "import"
    # The continuation is the photo generator's: a new photo version is a new import world too.
    version = f"0.1.0+photo.{PhotoGenerator.version}"
    splats_per_tile_edge = GRID

    def __init__(self) -> None:
        self._photo = PhotoGenerator()
        self._states: dict[str, _SceneState] = {}
        self._tiles: dict[tuple[str, int], TileBuckets] = {}  # by (world, LOD)

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self, photo: np.ndarray, options: GeneratorOptions) -> PreparedWorld:
        raise SceneError("the import generator reads a splat scene (.ply or .spz), not a photo")

    def check_source(self, data: bytes) -> None:
        check_scene(data)

    def prepare_source(self, data: bytes, options: GeneratorOptions) -> PreparedWorld:
        cloud = read_scene(data)
        placement = place(cloud, options.scene_scale or None)
        scene = placement.apply(cloud)
        spawn = Camera.looking(
            (0.0, placement.spawn_height_m, 0.0),
            (0.0, 0.0, -1.0),
            Intrinsics.from_vertical_fov(SPAWN_VFOV_DEG, *SPAWN_SIZE),
        )
        view = _spawn_view(scene, spawn)
        continuation = self._photo.prepare(view, options)
        footprint, origin = _footprint(scene)
        notes = {
            "scene_sha256": hashlib.sha256(data).hexdigest(),
            "splats": len(scene),
            "bounds_m": [np.round(b, 3).tolist() for b in scene.bounds()],
            **placement.notes,
            "continuation": f"photo generator {PhotoGenerator.version} on the scene seen from the spawn",
        }
        payload: dict[str, np.ndarray] = {name: getattr(scene, name) for name in _FIELDS}
        payload |= {_PHOTO + name: value for name, value in continuation.payload.items()}
        payload |= {
            "footprint": footprint.astype(np.uint8),
            "footprint_origin": np.array(origin, dtype=np.float64),
            "notes": np.frombuffer(json.dumps(notes, sort_keys=True).encode(), dtype=np.uint8),
        }
        return PreparedWorld(
            generator=self.name,
            generator_version=self.version,
            options=options,
            spawn=spawn,
            sky=continuation.sky,
            payload=payload,
            pictures={
                "scene_view": png(view),
                "scene_footprint": png(np.repeat(footprint[..., None] * np.uint8(255), 3, axis=2)),
                "scene.json": json.dumps(notes, indent=2, sort_keys=True).encode(),
                **{f"continuation_{name}": picture for name, picture in continuation.pictures.items()},
            },
        )

    # -- generate ----------------------------------------------------------------------------

    def generate(self, world: PreparedWorld, key: TileKey) -> TileContent:
        fingerprint = _fingerprint(world)
        state = self._state(world, fingerprint)
        around = self._photo.surroundings(state.continuation, key)
        ground = around.ground
        under = state.inside(ground.positions)
        if under.any():
            radius = key.edge_m(state.base_tile_m) / GRID
            positions = ground.positions.copy()
            positions[under, 1] = np.minimum(positions[under, 1], 0.0) - UNDERLAY_SIGMAS * radius
            ground = SplatCloud(positions, ground.scales, ground.rotations, ground.opacities, ground.colors)
        standing = around.standing.subset(~state.inside(around.standing.positions))
        scene = self._scene_tile(fingerprint, state, key)
        return TileContent(key=key, splats=SplatCloud.concat([scene, ground, standing]), heights=around.heights)

    def _state(self, world: PreparedWorld, fingerprint: str) -> _SceneState:
        state = self._states.get(fingerprint)
        if state is None:
            p = world.payload
            photo_payload = {name[len(_PHOTO) :]: v for name, v in p.items() if name.startswith(_PHOTO)}
            continuation = PreparedWorld(
                "photo", PhotoGenerator.version, world.options, world.spawn, world.sky, photo_payload
            )
            origin = p["footprint_origin"]
            state = _SceneState(
                scene=SplatCloud(*(p[name] for name in _FIELDS)),
                continuation=continuation,
                footprint=p["footprint"].astype(bool),
                footprint_origin=(float(origin[0]), float(origin[1])),
                base_tile_m=world.options.base_tile_m,
            )
            self._states[fingerprint] = state
        return state

    def _scene_tile(self, fingerprint: str, state: _SceneState, key: TileKey) -> SplatCloud:
        """The scene's splats in ``key``: the file's own at LOD 0, merged in cells of the tile
        grid's spacing (edge / GRID, the LOD's geometric error) at coarser LODs."""
        buckets = self._tiles.get((fingerprint, key.lod))
        if buckets is None:
            edge = key.edge_m(state.base_tile_m)
            cloud = state.scene if key.lod == 0 else merge_cells(state.scene, edge / GRID)
            buckets = self._tiles[(fingerprint, key.lod)] = TileBuckets.of(cloud, edge)
        return buckets.tile(key.ix, key.iz)


def _fingerprint(world: PreparedWorld) -> str:
    return f"{world.options}|{bytes(world.payload['notes']).decode()}"


def _spawn_view(scene: SplatCloud, spawn: Camera) -> np.ndarray:
    """[H, W, 3] uint8: the scene from the spawn, over an open sky, on the CPU renderer with one
    thread (the same bytes on any machine and in any process)."""
    import torch

    from bridge.render.rasterize import render_torch

    camera = spawn.with_intrinsics(spawn.intrinsics.scaled(*VIEW_SIZE))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image = render_torch(scene, camera, VIEW_BACKGROUND).image
    finally:
        torch.set_num_threads(threads)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _footprint(scene: SplatCloud) -> tuple[np.ndarray, tuple[float, float]]:
    """Which 2 m ground cells the scene stands on: those under a few opaque splats, closed and
    with holes filled (a courtyard inside the scene is the scene's)."""
    solid = scene.positions[scene.opacities >= FOOTPRINT_MIN_OPACITY]
    if len(solid) == 0:
        return np.zeros((1, 1), dtype=bool), (0.0, 0.0)
    # A margin of empty cells round the scene, so the closing never reads past the grid's edge.
    lo = (np.floor(solid[:, [0, 2]].min(axis=0) / FOOTPRINT_CELL_M) - _MARGIN) * FOOTPRINT_CELL_M
    cols = np.floor((solid[:, 0] - lo[0]) / FOOTPRINT_CELL_M).astype(np.int64)
    rows = np.floor((solid[:, 2] - lo[1]) / FOOTPRINT_CELL_M).astype(np.int64)
    counts = np.zeros((rows.max() + 1 + _MARGIN, cols.max() + 1 + _MARGIN), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    cells = ndimage.binary_closing(counts >= FOOTPRINT_MIN_SPLATS, iterations=2)
    return ndimage.binary_fill_holes(cells), (float(lo[0]), float(lo[1]))
