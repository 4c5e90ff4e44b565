"""The ``import`` generator: a splat scene someone already has, tiled, LOD'd and continued.

``prepare_source`` reads the scene (source.py), stands it upright at our spawn (placement.py),
renders it from the spawn and prepares the photo generator on that picture: the continuation
past the scene's edges is the photo generator's ground, buildings and trees, dressed in the
scene's own colours and materials as seen from where the viewer starts. ``generate`` serves, for
any key, the scene's splats in that tile (LOD 0: the file's own splats; coarser: merged, see
merge.py) over the continuation, whose buildings and trees keep off the scene's footprint and
whose ground lies under the scene's as an underlay (it closes the scene's pinholes and carries
on where the scene ends). Where the scene ends (rim.py) its floaters are trimmed, its splats fade
out and the continuation's ground takes over on the scene's own ground height and colour.
Deterministic: the tile is a function of the prepared world and key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.buckets import TileBuckets
from bridge.generate.photo.analysis import horizon_row
from bridge.generate.photo.generator import GRID, PhotoGenerator, ground_per_edge
from bridge.generate.photo.pictures import png
from bridge.generate.photo.terrain import surface_at
from bridge.generate.scene.merge import merge_cells
from bridge.generate.scene.placement import place
from bridge.generate.scene.rim import BLEND_M, FIELD_CELL_M, SceneRim, blend_ground, fade, find_rim
from bridge.generate.scene.source import SceneError, check_scene, read_scene
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey

SPAWN_VFOV_DEG = 60.0
SPAWN_SIZE = (1280, 720)
VIEW_SIZE = (512, 288)  # the picture the continuation is prepared from
VIEW_BACKGROUND = (0.62, 0.74, 0.86)  # an open sky where the scene has nothing to show
DRAWN_ALPHA = 0.5  # a pixel of the spawn's view the scene covers this much shows the scene
TEXTURE_KEY = TileKey(4, 3, 3)  # a continuation tile far from the scene: its ground's mean colour, failing a band
BAND_LOD = 2  # the tiles the band round the rim is read from (32 m), or coarser ones ...
MAX_BAND_TILES = 64  # ... where more than this many would cover the scene
UNDERLAY_SIGMAS = 2.0  # the continuation's ground under the scene lies this many of its radii down
_FIELDS = ("positions", "scales", "rotations", "opacities", "colors")
_PHOTO = "photo."  # payload prefix of the continuation's photo world


@dataclass(frozen=True)
class _SceneState:
    scene: SplatCloud
    continuation: PreparedWorld
    rim: SceneRim
    base_tile_m: float


class ImportGenerator:
    name = "import"
    # The continuation is the photo generator's: a new photo version is a new import world too.
    # 0.2.3: the scene's ground colour carried past the rim is what a camera above sees of it, read
    # a cell in from the outline (the splats' mean near the ground of the outermost cells: darker);
    # the continuation's houses and trees that reach into the scene are left out whole (they were
    # cut along the rim, showing their insides and stepped roofs); the continuation is read with
    # the spawn's own camera (guessed from the scene's picture: 1.7 m up instead of 2.9 m);
    # 0.2.2: the continuation's mean ground colour, which the rim's blend lays its texture about,
    # read over the band round the rim (from one far tile, a dark ring round the scene);
    # 0.2.1: the continuation's ground sunk under the scene by two of its own splats' radii
    # (finer on the finest tiles since photo 0.11.1);
    # 0.2.0: the scene's floaters trimmed, its rim faded into the continuation's ground.
    version = f"0.2.3+photo.{PhotoGenerator.version}"
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
        placement = place(cloud, options.scene_scale or None, options.scene_spawn or None)
        placed = placement.apply(cloud)
        rim, footprint = find_rim(placed)
        scene, trimmed = fade(placed, rim)
        spawn = Camera.looking(
            (0.0, placement.spawn_height_m, 0.0),
            placement.spawn_forward,
            Intrinsics.from_vertical_fov(SPAWN_VFOV_DEG, *SPAWN_SIZE),
        )
        view = _spawn_view(placed, spawn)  # the scene as it is, unfaded: its colours for the continuation
        # Read as a photo whose camera is known: the continuation's horizon, camera height and
        # field of view are the spawn's, so what it hides behind the scene stays hidden there.
        continuation = self._photo.prepare(view, options, camera=spawn)
        rim = replace(rim, texture_mean=self._band_mean(continuation, rim, options.base_tile_m))
        notes = {
            "scene_sha256": hashlib.sha256(data).hexdigest(),
            "splats": len(scene),
            "bounds_m": [np.round(b, 3).tolist() for b in scene.bounds()],
            **placement.notes,
            "trimmed_floaters": trimmed,
            "continuation": f"photo generator {PhotoGenerator.version} on the scene seen from the spawn",
        }
        payload: dict[str, np.ndarray] = {name: getattr(scene, name) for name in _FIELDS}
        payload |= {_PHOTO + name: value for name, value in continuation.payload.items()}
        payload |= rim.payload()
        payload |= {
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

    def _band_mean(self, continuation: PreparedWorld, rim: SceneRim, base_tile_m: float) -> np.ndarray:
        """The continuation ground's mean colour over the band outside the rim that blend_ground
        carries the scene's ground colour into: there its texture is laid on that colour as its
        difference from this mean. (Read from one far tile instead, a town's paved streets there
        made the band a darker ring round the scene.)"""
        x0, z0 = rim.origin
        rows, cols = rim.distance.shape
        lod = BAND_LOD
        while True:  # a large scene is read from coarser tiles: at most MAX_BAND_TILES of them
            edge = TileKey(lod, 0, 0).edge_m(base_tile_m)
            xs = range(math.floor(x0 / edge), math.ceil((x0 + cols * FIELD_CELL_M) / edge))
            zs = range(math.floor(z0 / edge), math.ceil((z0 + rows * FIELD_CELL_M) / edge))
            if len(xs) * len(zs) <= MAX_BAND_TILES:
                break
            lod += 1
        found = []
        for ix, iz in itertools.product(xs, zs):
            ground = self._photo.surroundings(continuation, TileKey(lod, ix, iz)).ground
            distance = rim.at(ground.positions[:, 0], ground.positions[:, 2])[0]
            found.append(ground.colors[(distance < 0.0) & (distance > -BLEND_M)])
        colours = np.concatenate(found)
        if len(colours) == 0:  # no band on the grid (a scene with no footprint): the far ground's
            colours = self._photo.surroundings(continuation, TEXTURE_KEY).ground.colors
        return colours.mean(axis=0, dtype=np.float64).astype(np.float32)

    # -- generate ----------------------------------------------------------------------------

    def generate(self, world: PreparedWorld, key: TileKey) -> TileContent:
        fingerprint = _fingerprint(world)
        state = self._state(world, fingerprint)
        around = self._photo.surroundings(state.continuation, key, keep_off=state.rim.clear_of)
        ground = _ground(state, key, around.ground, around.heights)
        scene = self._scene_tile(fingerprint, state, key)
        splats = SplatCloud.concat([scene, ground, around.standing])
        return TileContent(key=key, splats=splats, heights=_heights(state, key, around.heights))

    def _state(self, world: PreparedWorld, fingerprint: str) -> _SceneState:
        state = self._states.get(fingerprint)
        if state is None:
            p = world.payload
            photo_payload = {name[len(_PHOTO) :]: v for name, v in p.items() if name.startswith(_PHOTO)}
            continuation = PreparedWorld(
                "photo", PhotoGenerator.version, world.options, world.spawn, world.sky, photo_payload
            )
            state = _SceneState(
                scene=SplatCloud(*(p[name] for name in _FIELDS)),
                continuation=continuation,
                rim=SceneRim.from_payload(p),
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


def _ground(state: _SceneState, key: TileKey, ground: SplatCloud, heights: np.ndarray) -> SplatCloud:
    """The continuation's ground met to the scene's at its rim, and sunk under it inside. It
    starts from the terrain's surface: the photo generator sinks its ground where its lifted
    photo would stand, which an imported world has not."""
    p = ground.positions
    x0, z0, _, _ = key.bounds(state.base_tile_m)
    edge = key.edge_m(state.base_tile_m)
    spacing = edge / GRID  # the height field's
    surface = surface_at(heights, (p[:, 0] - x0) / spacing, (p[:, 2] - z0) / spacing, spacing)[0]
    depth = UNDERLAY_SIGMAS * edge / ground_per_edge(key)  # two of its splats' radii (finer on the finest tiles)
    y, colours = blend_ground(state.rim, p[:, 0], p[:, 2], surface, ground.colors, depth)
    positions = np.stack([p[:, 0], y, p[:, 2]], axis=1)
    return SplatCloud(positions, ground.scales, ground.rotations, ground.opacities, colours)


def _heights(state: _SceneState, key: TileKey, heights: np.ndarray) -> np.ndarray:
    """The tile's height field (the mesh's surface) on the scene's ground where the scene is."""
    x0, z0, _, _ = key.bounds(state.base_tile_m)
    steps = np.arange(GRID + 1) * key.edge_m(state.base_tile_m) / GRID
    gz, gx = np.meshgrid(z0 + steps, x0 + steps, indexing="ij")  # as the photo generator's
    return blend_ground(state.rim, gx, gz, heights)[0]


def _fingerprint(world: PreparedWorld) -> str:
    return f"{world.options}|{bytes(world.payload['notes']).decode()}"


def _spawn_view(scene: SplatCloud, spawn: Camera) -> np.ndarray:
    """[H, W, 3] uint8: the scene from the spawn, over an open sky above the horizon, on the CPU
    renderer with one thread (the same bytes on any machine and in any process). Below the
    horizon, where the view looks past the scene's end, the nearest of what it drew goes on: sky
    there would be read as water by the continuation, a canal down a town's street."""
    from bridge.render.rasterize import render_one_thread

    camera = spawn.with_intrinsics(spawn.intrinsics.scaled(*VIEW_SIZE))
    view = render_one_thread(scene, camera, VIEW_BACKGROUND)
    image, alpha = view.image.astype(np.float64), view.alpha.astype(np.float64)[..., None]
    drawn = view.alpha >= DRAWN_ALPHA
    if drawn.any():
        _, (rows, cols) = ndimage.distance_transform_edt(~drawn, return_indices=True)
        below = (np.arange(image.shape[0]) >= horizon_row(camera))[:, None, None]
        # The splats' own colour (the background taken out again), over the nearest drawn pixel's.
        splats = image - (1.0 - alpha) * np.asarray(VIEW_BACKGROUND)
        image = np.where(below, splats + (1.0 - alpha) * image[rows, cols], image)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
