"""The default generator: one photo, read once, continued forever on a CPU with no weights.

``prepare`` reads the photo (analysis), lifts it into splats (the spawn), builds the sky and the
ground materials, and returns them as arrays. ``generate`` builds any tile from those arrays only:
the photo's splats that fall in the tile (its far ground split into grained rows, see
ground_grain), plus ground from world-anchored fields everywhere the
photo did not see (which material lies where, each dressed in texture synthesised from its
exemplar), handed over from the photo's colours to synthesised texture by a blend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.buckets import TileBuckets
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo import pictures
from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, PhotoAnalysis, analyse
from bridge.generate.photo.buildings import building_splats
from bridge.generate.photo.clearance import allowed_tops, box_corners, boxes_clear
from bridge.generate.photo.dressing import FacadeSource
from bridge.generate.photo.ground_grain import long_ground, split_rows
from bridge.generate.photo.layout import (
    Buildings,
    LayoutRules,
    Water,
    buildings_in,
    on_street,
    rules_from,
    trees_in,
    water_at,
)
from bridge.generate.photo.lift import APRON_PX, THICKNESS, apron_opacity, frame_distance_px, lift
from bridge.generate.photo.materials import (
    MAP_EXTENT_M,
    GroundMaterials,
    calibrate_biases,
    exemplar_source,
    material_map,
    material_wear,
    material_weights,
    pick_materials,
)
from bridge.generate.photo.payload import PhotoPayload, payload_fingerprint
from bridge.generate.photo.reading import read_scene
from bridge.generate.photo.scene import SceneReading
from bridge.generate.photo.sky import build_sky
from bridge.generate.photo.slopes import FarFace, face_weight, far_face
from bridge.generate.photo.solve import solve_colours
from bridge.generate.photo.spawn_view import SpawnView
from bridge.generate.photo.steering import Steering
from bridge.generate.photo.terrain import Terrain, Valley, surface_at, tilt_to
from bridge.generate.photo.texture import Exemplar, build_exemplar, for_splats, synthesize
from bridge.generate.photo.vegetation import tree_splats
from bridge.world.camera import Camera
from bridge.world.directives import GROUNDS, Directive
from bridge.world.keys import TileKey

GRID = 64  # continuation splats per tile edge, at every LOD: coarser tiles have larger splats
# Ground splats per edge of a finest (LOD-0) tile: 8.3 cm apart, so ground seen at eye height
# shows its exemplar's grain (cobbles, planks, ripples), not a blur of it. Only a viewer near a
# tile holds it at LOD 0, so a view holds about a fifth more splats (+22 % at lyra2_06's spawn,
# bench/README.md), not twice as many.
FINEST_GROUND_PER_EDGE = 96
SPLAT_OVERLAP = 1.0  # continuation splat std dev as a fraction of the grid spacing: >= 99 % opaque everywhere
JITTER = 0.3  # of the grid spacing: breaks the grid pattern, never leaves gaps
HANDOVER_M = 16.0  # distance beyond the photo's view over which its colours fade into synthesis
# Under the lifted photo the continuation still lays its ground (the underlay): the photo's
# pixel-sized ground splats cover every pixel seen from the spawn but leave pinholes seen from
# above, which the underlay closes. It lies deep enough that, seen from the spawn's height, each
# underlay splat sorts behind every lifted splat it overlaps on screen (see _underlay_depth).
UNDERLAY_REACH_SIGMAS = 3.0  # a splat's visible extent, in standard deviations
UNDERLAY_SAFETY = 1.5
WATER_MATERIAL_DISTANCE = 0.12  # RGB distance between a material's mean and the photo's water colour
LIFT_RADIUS_M = 96.0  # the photo is lifted out to this distance from the spawn

# Far ground whose solved colour lies further than this from the photo's keeps its streak: there the
# solve sharpened the spawn view against the parent's exact profile along its ray, which a row of
# sub-splats does not have (splitting every long splat cost lyra2_00's spawn 2.4 dB; this, 0.5 dB).
GRAIN_MAX_CORRECTION = 0.03
# Splat sizes are set by a tile's edge, not its LOD index: detail 1 is a 32 m tile (the size the
# layout's spacings were chosen for), 0.25 an 8 m one. Tiles finer than 32 m are what a viewer
# holds within a few tens of metres, where 0.3 m wall splats read as blur.
REFERENCE_EDGE_M = 32.0
TRIPLANAR_SHARPNESS = 4.0  # the steep slopes' face blends its three planes by |normal| to this power


@dataclass(frozen=True)
class _WorldState:
    """What ``generate`` reconstructs from a PreparedWorld's payload (cached per process)."""

    analysis: PhotoAnalysis
    colours: np.ndarray  # [h, w, 3] solved splat colours of the lifted photo
    extension: np.ndarray  # [h, w, 3] the photo's ground colours, blurred, for the hand-over
    exemplars: tuple[Exemplar, ...]  # one per ground material, presharpened for the continuation
    # The same, as read: the lifted far ground's grain rows keep the photo's colour at the spawn,
    # and presharpened grain clipped there (lyra2_08's spawn 36.05 -> 34.62 dB at 640 px).
    grain_exemplars: tuple[Exemplar, ...]
    face: Exemplar | None  # what steep slopes wear (see slopes.py); None where nothing rises steeply
    material_biases: np.ndarray  # [M] see materials.calibrate_biases
    material_variation: np.ndarray  # [M] see materials.material_wear
    spawn_view: SpawnView  # what the layout and the terrain keep clear of
    terrain: Terrain
    underlay_depth_per_sigma: float  # see _underlay_depth
    ground_distance_px: np.ndarray  # [h, w] pixels from each pixel to the nearest lifted ground pixel
    solve_correction: np.ndarray  # [h, w] how far the colour solve moved each pixel's colour from the photo's
    reading: SceneReading  # the photo read as a scene: what the layout continues
    layout: LayoutRules  # what stands where
    water_material: int | None  # the ground material that is the photo's water, if one is
    paving_material: int  # the one streets are paved with
    facades: list[FacadeSource]  # the photo's facades, ready for synthesis
    conifer_share: float  # of the trees that are cones
    seed: int
    base_tile_m: float


# Which of the objects at (x, z), reaching ``reach`` metres round, may stand: [N] bool.
KeepOff = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Surroundings:
    """A tile's continuation apart from the lifted photo (see PhotoGenerator.surroundings)."""

    ground: SplatCloud  # on the terrain, or sunk under the photo's own ground as its underlay
    standing: SplatCloud  # the layout's buildings and trees
    heights: np.ndarray  # TileContent.heights


class PhotoGenerator:
    name = "photo"
    # 0.12.7: exemplar levels under 32 texels are not presharpened, and a presharpened level keeps its
    # mean (0.12.6 laid lyra2_07's ground 10-40 m out up to 0.79 bright between 0.56 and 0.40);
    # 0.12.6: a house lowered under the photo's skyline keeps a lower roof (with its roof cut flat
    # it stood as a slab beside the street 40-100 m ahead of a town's spawn); the apron fades
    # within 8 working pixels of the frame (a dark band beside it at every 45-degree turn); ground
    # exemplars presharpened at each level's texel (the splats' own blur took 60-70 % of the grain);
    # 0.12.5: the valley's ground in the photo's view kept 3 pixels under its skyline (rock faces
    # poked into lyra2_07's sky from the spawn: its spawn 37.1 dB clipped, now 38.1);
    # 0.12.4: the steep slopes' face laid on three planes (it streaked seen from above);
    # 0.12.3: steep slopes wear the photo's far terrain (lyra2_07's rock and snow), not its
    # valley floor stood on end;
    # 0.12.2: the sky carried round the horizon has no thin dark marks (lyra2_00's rigging stood
    # in it at every heading) and no specks of roof (hanging as streaks above lyra2_06's houses);
    # above and below the frame its edge rows go up blurred along themselves, not streaked;
    # 0.12.1: no facade sample from a wall seen at a grazing angle (a smear: lyra2_02's roofs,
    # lyra2_08's far wall); at a block's corner the cross row begins behind the long sides' back
    # walls (houses overlapped by up to 5 m); a steered street's row builds shallow houses, or
    # single bays, where deep ones would reach a street behind them;
    # 0.12.0: the photo's far ground, split along its rays into rows as fine as the ground
    # around and grained with its material, where the colour solve allows (no radial streaks
    # walking in);
    # 0.11.1: ground laid 8.3 cm apart on the finest tiles (12.5 cm before);
    # 0.11.0: ground exemplars are the cleanest half-size squares (no fountain, log or barrel
    # paving the world), read from the photo at its own resolution (up to 2 MP), worn as the
    # photo's ground varies;
    # 0.10.0: street fronts laid at 7.5 cm on the finest tiles, facades read down to 4 cm, walls
    # closed at arm's length (no lattice of splats);
    # ground materials read from ground seen clearly, not through haze (lyra2_03's valley);
    # 0.9.1: the photo's sky goes round the horizon (mirrored copies at the elevations it saw),
    # and what stands in it is filled from the sky around (push-pull), not streaked along rows;
    # 0.9: sky seen past rigging, caps and smoke is sky (not lifted as painted walls), and the
    # skyline the layout keeps under is where each column's sky ends at the bottom;
    # 0.8.2: a town's water goes on (a canal ahead, or a waterfront to one side); the apron fades out;
    # 0.8: a clearing round the spawn, the town behind the photo's facades, no cut-out cards;
    # 0.7: splats sized by tile edge, 8 m finest tiles.
    version = "0.12.7"  # a new version is a new world id
    splats_per_tile_edge = GRID

    def __init__(self) -> None:
        self._states: dict[str, _WorldState] = {}
        self._lift_clouds: dict[tuple[str, int], SplatCloud] = {}  # by pixels per splat
        self._lifts: dict[tuple[str, int], TileBuckets] = {}  # by LOD

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self, photo: np.ndarray, options: GeneratorOptions, camera: Camera | None = None) -> PreparedWorld:
        """The world of ``photo``; its camera read from the photo, or ``camera`` where it is known."""
        lift_radius = LIFT_RADIUS_M
        analysis = analyse(photo, lift_radius, camera)
        # The sky, the ground materials and the analysis pictures do not depend on the colour solve:
        # they run beside it (numpy, scipy and Pillow release the GIL), shortening the wait for the
        # first tile wherever a second core is free. Each is a pure function: same bytes either way.
        with ThreadPoolExecutor(max_workers=1) as beside:
            # The photo at its own resolution (up to 2 MP), which the ground exemplars and the
            # mountains' face are read from: made once, on the same thread as those who read it.
            source_job = beside.submit(exemplar_source, photo)
            sky_job = beside.submit(build_sky, analysis)
            materials_job = beside.submit(_materials_and_picture, analysis, source_job, options.seed)
            pictures_job = beside.submit(pictures.analysis_pictures, analysis)
            scene_job = beside.submit(_scene_and_picture, analysis, source_job)
            extension = _ground_extension(analysis)
            spawn_lift = lift(analysis, analysis.image, 1, extension)  # the LOD-0 lift's geometry
            colours = solve_colours(analysis, spawn_lift)
            sky, (materials, materials_png), analysis_pictures, (reading, face, scene_png) = (
                sky_job.result(),
                materials_job.result(),
                pictures_job.result(),
                scene_job.result(),
            )
        cam = analysis.camera
        k = cam.intrinsics
        payload = PhotoPayload(
            image=analysis.image,
            colours=colours,
            extension=extension,
            sky=analysis.sky,
            depth=analysis.depth,
            kind=analysis.kind,
            material_textures=materials.textures,
            material_shares=materials.shares,
            material_variation=materials.variation,
            horizon_v=analysis.horizon_v,
            lift_radius_m=lift_radius,
            texel_m=materials.texel_m,
            camera=cam,
            reading=reading,
            far_face=face,
        ).to_arrays()
        full_h, full_w = photo.shape[:2]
        spawn = cam.with_intrinsics(k.scaled(full_w, full_h))
        world = PreparedWorld(
            generator=self.name,
            generator_version=self.version,
            options=options,
            spawn=spawn,
            sky=sky,
            payload=payload,
            pictures={**analysis_pictures, "materials": materials_png, "scene": scene_png},
        )
        # The LOD-0 lift the first tile needs is the solve's geometry in the solved colours: kept,
        # not lifted again (what lift() gives for those colours, so the same bytes either way).
        recoloured = _recoloured(spawn_lift, colours, analysis.kind != KIND_SKY)
        self._lift_clouds[(_fingerprint(world), 1)] = recoloured
        return world

    # -- generate ----------------------------------------------------------------------------

    def generate(self, world: PreparedWorld, key: TileKey) -> TileContent:
        return self._generate(world, key, None)

    def generate_steered(self, world: PreparedWorld, key: TileKey, directives: list[Directive]) -> TileContent:
        """The tile with the layout directives in effect on it as inputs of the layout grammar's
        plan (see steering.py): the hook bridge.generate.directives.apply uses for them."""
        state = self._state(world, _fingerprint(world))
        return self._generate(world, key, Steering.of(directives, state.layout))

    def _generate(self, world: PreparedWorld, key: TileKey, steer: Steering | None) -> TileContent:
        fingerprint = _fingerprint(world)
        state = self._state(world, fingerprint)
        photo_part = self._photo_splats(fingerprint, state, key)
        if steer is not None:
            photo_part = steer.photo_kept(photo_part, state.terrain)
        around = self._surroundings(state, key, steer)
        splats = SplatCloud.concat([photo_part, around.ground, around.standing])
        return TileContent(key=key, splats=splats, heights=around.heights)

    def surroundings(self, world: PreparedWorld, key: TileKey, keep_off: KeepOff | None = None) -> Surroundings:
        """The tile without the lifted photo: its ground, buildings and trees (what the import
        generator continues a scene with, the scene standing where the photo would), without
        the buildings and trees that ``keep_off`` refuses (whole: never a house cut in two)."""
        return self._surroundings(self._state(world, _fingerprint(world)), key, keep_off=keep_off)

    def _surroundings(
        self, state: _WorldState, key: TileKey, steer: Steering | None = None, keep_off: KeepOff | None = None
    ) -> Surroundings:
        # The surface of this tile: the terrain sampled at the grid's corners (the mesh's height
        # field); the ground splats lie on it, so splats and mesh agree and borders are shared.
        x0, z0, _, _ = key.bounds(state.base_tile_m)
        steps = np.arange(GRID + 1) * key.edge_m(state.base_tile_m) / GRID
        gz, gx = np.meshgrid(z0 + steps, x0 + steps, indexing="ij")  # row r at z0 + r * step
        heights = state.terrain.height(gx, gz).astype(np.float32)
        ground = _continuation(state, key, heights, steer)
        standing = _layout_splats(state, key, steer, keep_off)
        return Surroundings(ground, standing, heights)

    # -- hooks for directives (bridge.generate.directives.apply) ------------------------------

    def ground_height(self, world: PreparedWorld, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The terrain under any (x, z): what a placed structure stands on."""
        return self._state(world, _fingerprint(world)).terrain.height(x, z)

    def palette(self, world: PreparedWorld) -> dict[str, np.ndarray]:
        """The photo's colours for placed structures: its facades, roofs, vegetation and ground."""
        state = self._state(world, _fingerprint(world))
        reading = state.reading
        ground = state.extension.reshape(-1, 3).mean(axis=0)
        # The median facade texel: the wall, not its windows.
        wall = np.median(reading.facades[0].texture.reshape(-1, 3), axis=0) if reading.facades else ground
        greens = np.asarray(reading.vegetation_colours).reshape(-1, 3)
        return {"wall": wall, "roof": reading.roof_colour, "foliage": greens[len(greens) // 2], "rock": ground}

    def facades(self, world: PreparedWorld) -> list[FacadeSource]:
        """The photo's facades, ready for synthesis: what placed houses wear, as the layout's do."""
        return self._state(world, _fingerprint(world)).facades

    def _state(self, world: PreparedWorld, fingerprint: str) -> _WorldState:
        state = self._states.get(fingerprint)
        if state is None:
            state = _state_from_payload(world)
            self._states[fingerprint] = state
        return state

    def _photo_splats(self, fingerprint: str, state: _WorldState, key: TileKey) -> SplatCloud:
        """The lifted photo's splats inside ``key``, from a per-LOD lift bucketed by tile."""
        cache_key = (fingerprint, key.lod)
        cached = self._lifts.get(cache_key)
        if cached is None:
            # Never finer than a pixel, never coarser than the whole photo (a small photo's
            # coarsest tiles once asked for blocks larger than the image).
            k = max(1, min(round(detail_scale(key, state.base_tile_m)), min(state.analysis.kind.shape)))
            cloud = self._lift_clouds.get((fingerprint, k))
            if cloud is None:
                cloud = lift(state.analysis, state.colours, k, state.extension)
                self._lift_clouds[(fingerprint, k)] = cloud
            cached = TileBuckets.of(cloud, key.edge_m(state.base_tile_m))
            self._lifts[cache_key] = cached
        return _with_grain(state, key, cached)


def _with_grain(state: _WorldState, key: TileKey, lifted: TileBuckets) -> SplatCloud:
    """The tile's lifted splats with its far ground split into grained rows (see ground_grain):
    its own splats short enough to keep, and the sub-splats standing here of the long ground
    splats of it and its neighbours (a row can cross a tile border)."""
    edge = key.edge_m(state.base_tile_m)
    target = edge / ground_per_edge(key) * SPLAT_OVERLAP  # as fine as the continuation's ground
    own = lifted.tile(key.ix, key.iz)
    around = SplatCloud.concat([lifted.tile(key.ix + dx, key.iz + dz) for dz in (-1, 0, 1) for dx in (-1, 0, 1)])
    spawn = state.analysis.camera.position
    rows = split_rows(
        around.subset(np.flatnonzero(_splittable(state, around, target))),
        (float(spawn[0]), float(spawn[2])),
        target,
        (key.ix, key.iz, edge),
        state.grain_exemplars,
        state.seed,
    )
    return SplatCloud.concat([own.subset(np.flatnonzero(~_splittable(state, own, target))), rows])


def _splittable(state: _WorldState, cloud: SplatCloud, target_m: float) -> np.ndarray:
    """[N] bool: long ground splats (see ground_grain.long_ground) whose pixel's solved colour
    lies within GRAIN_MAX_CORRECTION of the photo's."""
    long = long_ground(cloud, target_m)
    if not long.any():
        return long
    camera = state.analysis.camera
    h, w = state.solve_correction.shape
    uv, _ = camera.project(cloud.positions[long].astype(np.float64))
    u = np.clip(np.nan_to_num(uv[:, 0]), 0, w - 1).astype(np.int64)
    v = np.clip(np.nan_to_num(uv[:, 1]), 0, h - 1).astype(np.int64)
    long[long] = state.solve_correction[v, u] <= GRAIN_MAX_CORRECTION
    return long


def detail_scale(key: TileKey, base_tile_m: float) -> float:
    """How fine ``key``'s splats are: its edge over REFERENCE_EDGE_M (see there)."""
    return key.edge_m(base_tile_m) / REFERENCE_EDGE_M


def _recoloured(cloud: SplatCloud, colours: np.ndarray, lifted: np.ndarray) -> SplatCloud:
    """A full-resolution lift (its frame's splats first, one per ``lifted`` pixel) in ``colours``."""
    frame = colours[lifted]
    apron = cloud.colors[len(frame) :]
    return SplatCloud(cloud.positions, cloud.scales, cloud.rotations, cloud.opacities, np.concatenate([frame, apron]))


def _fingerprint(world: PreparedWorld) -> str:
    return f"{world.options}|{payload_fingerprint(world.payload)}"


def _state_from_payload(world: PreparedWorld) -> _WorldState:
    p = PhotoPayload.from_arrays(world.payload)
    reading, camera = p.reading, p.camera
    water_material = _water_material(p.material_textures, reading.water_colour)
    origin = (float(camera.position[0]), float(camera.position[2]))
    layout = rules_from(reading, origin, world.options.seed, has_water_ground=water_material is not None)
    analysis = PhotoAnalysis(
        image=p.image,
        sky=p.sky,
        horizon_v=p.horizon_v,
        camera=camera,
        depth=p.depth,
        kind=p.kind,
        lift_radius_m=p.lift_radius_m,
    )
    spawn_view = SpawnView.of(analysis)
    grain = tuple(build_exemplar(texture, p.texel_m) for texture in p.material_textures)
    face = p.far_face
    return _WorldState(
        analysis=analysis,
        colours=p.colours,
        extension=p.extension,
        exemplars=tuple(for_splats(exemplar) for exemplar in grain),
        grain_exemplars=grain,
        # Only the valley's mountains are steep; a town's gentle ground never wears the face.
        face=None if face is None or layout.town else for_splats(build_exemplar(face.texture, face.texel_m)),
        material_biases=calibrate_biases(p.material_shares, world.options.seed),
        material_variation=p.material_variation,
        spawn_view=spawn_view,
        underlay_depth_per_sigma=_underlay_depth(camera, 1.0),
        ground_distance_px=ndimage.distance_transform_edt(analysis.kind != KIND_GROUND).astype(np.float32),
        solve_correction=np.abs(p.colours - p.image).max(axis=2),
        terrain=Terrain(
            world.options.seed,
            analysis.camera_height_m,
            (float(camera.position[0]), float(camera.position[2])),
            p.lift_radius_m + HANDOVER_M,
            valley=None
            if layout.town
            else Valley(reading.relief_m, reading.roughness, layout.heading, keep_under=spawn_view),
        ),
        reading=reading,
        layout=layout,
        water_material=water_material,
        # Streets are paved with the photo's nearest ground (its first material: the street it
        # stands on), unless that is its water and the layout keeps the water off the land.
        paving_material=1 if water_material == 0 and layout.water != Water.NONE else 0,
        facades=[FacadeSource.of(sample) for sample in reading.facades],
        conifer_share=_conifer_share(reading.vegetation_colours),
        seed=world.options.seed,
        base_tile_m=world.options.base_tile_m,
    )


def _water_material(textures: np.ndarray, water_colour: np.ndarray) -> int | None:
    """The ground material that looks like the photo's water (its mean colour within
    WATER_MATERIAL_DISTANCE of the water's), when there is another to be the land."""
    if len(textures) < 2:
        return None
    means = textures.reshape(len(textures), -1, 3).mean(axis=1)
    distance = np.linalg.norm(means - np.asarray(water_colour)[None], axis=1)
    nearest = int(np.argmin(distance))
    return nearest if distance[nearest] < WATER_MATERIAL_DISTANCE else None


def _conifer_share(palette: np.ndarray) -> float:
    """Dark, blue-leaning greens read as evergreens (a mountain forest), bright ones as broadleaf."""
    mean = np.asarray(palette, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    luminance = float(mean @ [0.2126, 0.7152, 0.0722])
    return float(np.clip((0.38 - luminance) / 0.2, 0.1, 0.9))


CROWN_REACH = 1.3  # of a tree's crown radius: how far its splats reach from its trunk


def _house_reach(buildings: Buildings) -> np.ndarray:
    """[n] half the diagonal of each house's footprint: how far it reaches from its centre."""
    return np.hypot(buildings.frontage, buildings.depth) / 2


def _layout_splats(
    state: _WorldState, key: TileKey, steer: Steering | None, keep_off: KeepOff | None = None
) -> SplatCloud:
    """The layout's buildings and trees standing in ``key`` (by the centre of their footprint),
    as ``steer`` has them, clear of the photo's own view (see clearance) and of what
    ``keep_off`` refuses, built at the tile's LOD."""
    bounds = key.bounds(state.base_tile_m)
    buildings = buildings_in(state.layout, bounds) if steer is None else steer.buildings(bounds)
    if len(buildings) and keep_off is not None:
        buildings = buildings.subset(keep_off(buildings.x, buildings.z, _house_reach(buildings)))
    if len(buildings):
        reach = _house_reach(buildings)
        ground = state.terrain.height(buildings.x, buildings.z)
        # Walls stand from the lowest ground under their footprint: no gap on a slope.
        foot = ground - reach * 0.15
        corners = box_corners(buildings.x, buildings.z, reach, reach, foot, foot + buildings.height + buildings.roof_m)
        buildings = buildings.lowered_to(allowed_tops(state.spawn_view, corners) - foot)
        keep = buildings.height > 0
        buildings, foot = buildings.subset(keep), foot[keep]
    trees = trees_in(state.layout, bounds) if steer is None else steer.trees(bounds)
    if len(trees) and keep_off is not None:
        trees = trees.subset(keep_off(trees.x, trees.z, trees.crown_m * CROWN_REACH))
    if len(trees):
        ground = state.terrain.height(trees.x, trees.z)
        crown = trees.crown_m * CROWN_REACH
        corners = box_corners(trees.x, trees.z, crown, crown, ground, ground + trees.height)
        keep = boxes_clear(state.spawn_view, corners)
        trees, ground = trees.subset(keep), ground[keep]
    parts = []
    detail = detail_scale(key, state.base_tile_m)
    if len(buildings):
        parts.append(building_splats(buildings, foot, detail, state.facades, state.reading.roof_colour))
    if len(trees):
        parts.append(tree_splats(trees, ground, detail, state.reading.vegetation_colours, state.conifer_share))
    return SplatCloud.concat(parts) if parts else SplatCloud.empty()


def _scene_and_picture(
    analysis: PhotoAnalysis, source: Future[np.ndarray]
) -> tuple[SceneReading, FarFace | None, bytes]:
    reading = read_scene(analysis)
    face = far_face(analysis, reading.layers, source.result())
    return reading, face, pictures.png(pictures.scene_picture(analysis, reading))


def _materials_and_picture(
    analysis: PhotoAnalysis, source: Future[np.ndarray], seed: int
) -> tuple[GroundMaterials, bytes]:
    materials = pick_materials(analysis, source.result())
    picture = pictures.materials_picture(analysis, materials, material_map(materials, seed), MAP_EXTENT_M)
    return materials, pictures.png(picture)


def _ground_extension(analysis: PhotoAnalysis) -> np.ndarray:
    """The photo's ground colours, heavily blurred over ground pixels only (normalised convolution)."""
    ground = (analysis.kind == KIND_GROUND).astype(np.float32)[..., None]  # float32: half the filter time
    sigma = (8.0, 8.0, 0.0)
    blurred = ndimage.gaussian_filter(analysis.image * ground, sigma)
    weight = ndimage.gaussian_filter(ground, sigma)
    fallback = analysis.image.reshape(-1, 3).mean(axis=0)
    return np.where(weight > 1e-3, blurred / np.maximum(weight, 1e-3), fallback).astype(np.float32)


def ground_per_edge(key: TileKey) -> int:
    """Ground splats per edge of the tile ``key`` (the first of its splats are its ground)."""
    return FINEST_GROUND_PER_EDGE if key.lod == 0 else GRID


def _continuation(state: _WorldState, key: TileKey, heights: np.ndarray, steer: Steering | None) -> SplatCloud:
    """Ground splats on a jittered world-anchored grid; under the lifted photo they are an underlay."""
    edge = key.edge_m(state.base_tile_m)
    per_edge = ground_per_edge(key)
    spacing = edge / per_edge
    height_spacing = edge / GRID  # the terrain's grid (TileContent.heights) stays GRID per edge
    cols = np.arange(per_edge)
    gj, gi = np.meshgrid(key.iz * per_edge + cols, key.ix * per_edge + cols, indexing="ij")
    gi, gj = gi.ravel(), gj.ravel()
    jx = (hash_to_unit(gi, gj, key.lod, state.seed, 1) - 0.5) * JITTER
    jz = (hash_to_unit(gi, gj, key.lod, state.seed, 2) - 0.5) * JITTER
    x = (gi + 0.5 + jx) * spacing
    z = (gj + 0.5 + jz) * spacing

    radius = spacing * SPLAT_OVERLAP
    sunk, handover = _photo_coverage(state, x, z, radius)
    if steer is not None:
        # Steered streets and water replace the photo's ground: theirs lies on the surface.
        surfaced = steer.surfaced(x, z)
        sunk = np.where(surfaced, 0.0, sunk)
        handover[surfaced, 3] = 0.0
    x0, z0, _, _ = key.bounds(state.base_tile_m)
    surface, normals = surface_at(heights, (x - x0) / height_spacing, (z - z0) / height_spacing, height_spacing)
    colours = _ground_colours(state, x, z, spacing, steer)
    if state.face is not None:
        _wear_face(state, colours, np.stack([x, surface, z], axis=1), normals, spacing)
    if handover.size:
        photo_weight = handover[:, 3:4]
        colours = colours * (1.0 - photo_weight) + handover[:, :3] * photo_weight
    n = x.size
    y = np.where(sunk > 0, -state.underlay_depth_per_sigma * radius * sunk, surface)
    positions = np.stack([x, y, z], axis=1)
    scales = np.tile(np.array([radius, radius * THICKNESS, radius]), (n, 1))
    rotations = tilt_to(normals)
    return SplatCloud.from_arrays(positions, scales, rotations, np.ones(n), colours)


def _wear_face(
    state: _WorldState, colours: np.ndarray, points: np.ndarray, normals: np.ndarray, footprint_m: float
) -> None:
    """Steep ground takes on the photo's far terrain (its mountains' rock, snow or forest), in place.

    Laid on the three planes (x, y), (z, y) and (x, z), up the texture being up the slope, each
    weighed by how squarely the slope faces it (sharpened, TRIPLANAR_SHARPNESS): laid from above
    only, a steep slope stretched it into streaks; laid upright only, into streaks seen from above."""
    assert state.face is not None
    weight = face_weight(normals)
    at = np.flatnonzero(weight > 0)
    if not at.size:
        return
    x, y, z = points[at, 0], points[at, 1], points[at, 2]
    salt = len(state.exemplars)
    facing = np.abs(normals[at]) ** TRIPLANAR_SHARPNESS  # [n, 3]: towards x, y, z
    face = (
        facing[:, 2:3] * synthesize(state.face, x, -y, footprint_m, state.seed, salt=salt)
        + facing[:, 0:1] * synthesize(state.face, z, -y, footprint_m, state.seed, salt=salt + 1)
        + facing[:, 1:2] * synthesize(state.face, x, z, footprint_m, state.seed, salt=salt + 2)
    ) / facing.sum(axis=1, keepdims=True)
    colours[at] += (weight[at, None] * (face - colours[at])).astype(np.float32)


def _ground_colours(
    state: _WorldState, x: np.ndarray, z: np.ndarray, footprint_m: float, steer: Steering | None = None
) -> np.ndarray:
    """[N, 3] synthesised ground colour: each material's texture where it lies, blended at borders."""
    weights = material_weights(x, z, state.material_biases, state.seed)
    water = state.water_material
    if water is not None and state.layout.water != Water.NONE:
        # The water lies where the layout has it, not in patches over the land.
        weights[:, water] = 0.0
        dry = weights.sum(axis=1) <= 0.0
        weights[dry, state.paving_material] = 1.0
        weights /= weights.sum(axis=1, keepdims=True)
    if state.layout.town:
        street = on_street(state.layout, x, z)
        weights[street] = 0.0
        weights[street, state.paving_material] = 1.0
    # The layout's own water only where the photo has a water material (as before steering); the
    # hot path of an unsteered tile without one asks nothing more.
    wet = water_at(state.layout, x, z) if water is not None else np.zeros(x.size, dtype=bool)
    if steer is not None:
        paved = steer.paved(x, z)
        weights[paved] = 0.0
        weights[paved, state.paving_material] = 1.0
        wet = (wet & ~paved) | steer.wet(x, z)
    if water is not None:
        weights[wet] = 0.0
        weights[wet, water] = 1.0
    colours = np.zeros((x.size, 3), dtype=np.float32)
    for m, exemplar in enumerate(state.exemplars):
        at = np.flatnonzero(weights[:, m])  # most points lie on one material: synthesise only that one
        if at.size:
            texture = synthesize(exemplar, x[at], z[at], footprint_m, state.seed, salt=m)
            wear = material_wear(x[at], z[at], float(state.material_variation[m]), state.seed, m)
            texture = np.clip(texture * wear[:, None], 0.0, 1.0)
            colours[at] += (weights[at, m, None] * texture).astype(np.float32)
    if water is None and wet.any():
        # Steered water (the only water here) in a world whose photo has none: the water preset,
        # its grain world-anchored.
        cells = np.floor(np.stack([x[wet], z[wet]]) * 4).astype(np.int64)
        grain = 0.9 + 0.2 * hash_to_unit(cells[0], cells[1], 31)
        colours[wet] = (np.asarray(GROUNDS["water"])[None, :] * grain[:, None]).astype(np.float32)
    return colours


def _underlay_depth(camera: Camera, sigma_m: float) -> float:
    """How far below the ground the underlay lies, in metres.

    Renderers sort splats by their centre's depth. A lifted splat at ground distance r hides the
    underlay at r * (h + d) / h, farther than itself, so the underlay sorts behind the splats it
    should be behind as long as its own extent (reach = 3 sigma) stays within that margin:
    d > reach * h / r. The nearest ground a viewer at the spawn's height sees is the bottom row's.
    """
    bottom = camera.rays_through(np.array([camera.intrinsics.cx]), np.array([camera.intrinsics.height - 0.5]))[0]
    height = float(camera.position[1])
    down = max(-float(bottom[1]), 1e-3)
    nearest = max(height / down * math.hypot(float(bottom[0]), float(bottom[2])), 1.0)
    return UNDERLAY_SAFETY * UNDERLAY_REACH_SIGMAS * sigma_m * height / nearest


def _photo_coverage(state: _WorldState, x: np.ndarray, z: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """([N] how far to sink each ground splat into the underlay, 0..1; [N, 4] hand-over colour and weight).

    Sunk fully: the lifted photo's ground is there. Ground the spawn sees neither lifted nor
    beyond the lift (hidden behind something standing) lies on the surface, except within a
    splat's reach on screen of lifted ground, where at the same depth it would sort in front of
    it: there it sinks too, rising back over as many pixels again.
    """
    analysis = state.analysis
    camera = analysis.camera
    h, w = analysis.kind.shape
    points = np.stack([x, np.zeros_like(x), z], axis=1)
    uv, depth = camera.project(points)
    u, v = uv[:, 0], uv[:, 1]
    in_front = depth > 1e-3
    ground_distance = np.hypot(x - camera.position[0], z - camera.position[2])
    within_lift = ground_distance <= analysis.lift_radius_m
    inside = in_front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    ui = np.clip(np.nan_to_num(u), 0, w - 1).astype(np.int64)
    vi = np.clip(np.nan_to_num(v), 0, h - 1).astype(np.int64)
    # Hand-over: how far outside the photo's view, in metres on the ground, via pixels * depth / f.
    outside_px = frame_distance_px(u, v, w, h)
    # The lifted photo owns its frame's ground and the apron around it (see lift.apron_pixels).
    in_apron = in_front & ~inside & (outside_px <= APRON_PX) & (v >= 0)
    covered = within_lift & ((inside & (analysis.kind[vi, ui] == KIND_GROUND)) | in_apron)
    reach_px = UNDERLAY_REACH_SIGMAS * radius_m * camera.intrinsics.fx / np.maximum(depth, 1e-3)
    near_lifted = np.clip(2.0 - state.ground_distance_px[vi, ui] / reach_px, 0.0, 1.0)
    sunk = np.where(covered, 1.0, np.where(within_lift & inside, near_lifted, 0.0))
    outside_m = np.where(in_front, outside_px * np.maximum(depth, 0) / camera.intrinsics.fx, math.inf)
    t = np.clip(1.0 - outside_m / HANDOVER_M, 0.0, 1.0)
    # Fading with the apron too: the frame edge's colour goes no farther sideways than it does.
    weight = t * t * (3 - 2 * t) * apron_opacity(outside_px)
    weight = np.where(within_lift & (analysis.kind[vi, ui] == KIND_GROUND), weight, 0.0)
    handover = np.concatenate([state.extension[vi, ui], weight[:, None]], axis=1)
    return sunk, handover
