"""A world as a live OGC 3D Tiles 1.1 tileset: implicit quadtree tiling over our (lod, ix, iz) keys.

The offline export (bridge/formats/tiles3d.py) lists every tile of a bounded region explicitly;
a live world is unbounded, so this view describes it implicitly and the runtime (CesiumJS,
Cesium for Unreal / Unity) asks for subtrees and tiles as its screen-space error needs them.

Layout (all pure functions of the world's spawn, base tile edge and splats per edge):

- **Roots.** 3D Tiles needs a bounded root. It is the 2 x 2 block of our LOD-``root_lod`` tiles
  around the grid corner nearest the spawn, ``root_lod`` the coarsest LOD whose tile is at least
  ``ROOT_EDGE_M`` (4 km) across (capped at MAX_LOD): the spawn is at least 2 km from the edge of
  an 8 km square (coarser roots cost seconds each to generate on a CPU, and a runtime loads them
  first). An explicit, content-less root tile holds the four, and each is the root of an
  implicit quadtree. Past the square's edge the tileset has no tiles: a Cesium viewer walking
  out of it sees the world end (the gRPC / WebSocket stream, which has no edge, does not).
- **Implicit tiles.** Implicit level ``n`` under root key ``(L, rx, rz)`` is our LOD ``L - n``;
  tile ``(x, y)`` there is our key ``(L - n, rx * 2^n + x, rz * 2^n + 2^n - 1 - y)``: implicit y
  grows along the box's second axis, which is north (-z in our frame), while our iz grows south.
  ``availableLevels = L + 1`` (down to LOD 0); every tile exists and has content, so the one
  subtree per root (``subtreeLevels = availableLevels``) is availability constants, no bitstreams.
- **Frames.** Tile content is glTF, Y-up; 3D Tiles runtimes turn it Z-up by (x, y, z) ->
  (x, -z, y), so our +x is east, -z north and +y up in the tileset frame. The root ``transform``
  puts that frame on the local east-north-up tangent plane at (lat, lon, height) on WGS84.
- **Geometric error** of a tile is our LOD maths: its splat spacing, edge / splats per edge
  (TileGrid.geometric_error_m); implicit tiling halves it per level as our LODs do. The explicit
  root's is twice its children's; the tileset's twice the root's.
- **Bounding volumes**: each implicit tile's box is its key's square exactly; its height range is
  the root's (implicit tiling subdivides the box in x and y only), measured from the four root
  tiles' content and padded by ``HEIGHT_PAD_FRACTION`` of their span plus ``HEIGHT_PAD_M``, so
  finer tiles (which can only add detail, not move the ground) stay inside.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from bridge.formats.tiles3d import box_z_up_over
from bridge.world.keys import MAX_LOD, TileKey, tile_at

ROOT_EDGE_M = 4_096.0
HEIGHT_PAD_FRACTION = 0.5
HEIGHT_PAD_M = 20.0
DEFAULT_GEO = (0.0, 0.0, 0.0)  # lat, lon (degrees), height (metres): stated in `serve --help`
CONTENT_KINDS = ("splats", "mesh")
SPLAT_EXTENSIONS = ("KHR_gaussian_splatting", "KHR_gaussian_splatting_compression_spz_2")
MESH_EXTENSION = "KHR_materials_unlit"  # the mesh GLB's material (bridge/formats/glb_mesh.py)
SUBTREE_MAGIC = b"subt"
SUBTREE_VERSION = 1

_WGS84_A = 6_378_137.0
_WGS84_E2 = 6.69437999014e-3


@dataclass(frozen=True)
class Layout:
    """Where a world's tileset roots lie, and how deep its implicit trees go."""

    base_tile_m: float
    splats_per_edge: int
    root_lod: int
    roots: tuple[TileKey, ...]  # the 2 x 2 block, row by row
    y_range: tuple[float, float]  # world Y (up) every box spans, metres

    @property
    def available_levels(self) -> int:
        return self.root_lod + 1

    def geometric_error(self, lod: int) -> float:
        return self.base_tile_m * (1 << lod) / self.splats_per_edge

    def root(self, name: str) -> TileKey:
        """A root's key from its URL name ``L_IX_IZ``; LookupError for any other name."""
        for key in self.roots:
            if name == root_name(key):
                return key
        raise LookupError(f"{name!r} is not one of this tileset's roots ({', '.join(map(root_name, self.roots))})")

    def key(self, root: TileKey, level: int, x: int, y: int) -> TileKey:
        """Our key for implicit tile (level, x, y) under ``root``; LookupError when out of range."""
        if not 0 <= level < self.available_levels:
            raise LookupError(f"implicit level {level} outside [0, {self.available_levels - 1}]")
        side = 1 << level
        if not (0 <= x < side and 0 <= y < side):
            raise LookupError(f"tile ({x}, {y}) outside level {level}'s {side} x {side}")
        return TileKey(root.lod - level, root.ix * side + x, root.iz * side + side - 1 - y)


def root_name(key: TileKey) -> str:
    return f"{key.lod}_{key.ix}_{key.iz}"


def choose_roots(spawn_x: float, spawn_z: float, base_tile_m: float) -> tuple[int, tuple[TileKey, ...]]:
    """(root LOD, the 2 x 2 root keys around the root-grid corner nearest the spawn)."""
    lod = min(MAX_LOD, max(0, math.ceil(math.log2(ROOT_EDGE_M / base_tile_m))))
    edge = base_tile_m * (1 << lod)
    cx = tile_at(spawn_x + edge / 2, 0.0, lod, base_tile_m).ix  # nearest grid corner: tiles cx-1, cx
    cz = tile_at(0.0, spawn_z + edge / 2, lod, base_tile_m).iz
    return lod, tuple(TileKey(lod, cx + dx, cz + dz) for dz in (-1, 0) for dx in (-1, 0))


def padded_y_range(low: float, high: float) -> tuple[float, float]:
    pad = (high - low) * HEIGHT_PAD_FRACTION + HEIGHT_PAD_M
    return low - pad, high + pad


def _box(layout: Layout, keys: tuple[TileKey, ...]) -> list[float]:
    """A 3D Tiles box (Z-up tileset frame) over the squares of ``keys`` and the layout's heights."""
    bounds = np.array([k.bounds(layout.base_tile_m) for k in keys])
    ground = (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    return box_z_up_over(tuple(float(v) for v in ground), layout.y_range)


def enu_transform(lat_deg: float, lon_deg: float, height_m: float) -> list[float]:
    """The column-major 4 x 4 matrix from local east-north-up metres at (lat, lon, height) on
    WGS84 to Earth-centred, Earth-fixed metres (3D Tiles' ``transform``)."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    n = _WGS84_A / math.sqrt(1 - _WGS84_E2 * math.sin(lat) ** 2)
    origin = [
        (n + height_m) * math.cos(lat) * math.cos(lon),
        (n + height_m) * math.cos(lat) * math.sin(lon),
        (n * (1 - _WGS84_E2) + height_m) * math.sin(lat),
    ]
    east = [-math.sin(lon), math.cos(lon), 0.0]
    north = [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)]
    up = [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]
    return [*east, 0.0, *north, 0.0, *up, 0.0, *origin, 1.0]


def check_geo(lat: float, lon: float, height: float) -> tuple[float, float, float]:
    """ValueError unless a plausible place on Earth."""
    if not all(math.isfinite(v) for v in (lat, lon, height)):
        raise ValueError("--geo values must be finite")
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise ValueError(f"--geo {lat},{lon}: latitude must be in [-90, 90] and longitude in [-180, 180]")
    if not -11_000.0 <= height <= 100_000.0:
        raise ValueError(f"--geo height {height} m is not between the ocean floor and space")
    return lat, lon, height


def parse_geo(text: str) -> tuple[float, float, float]:
    """``"LAT,LON,HEIGHT"`` (degrees, degrees, metres above the WGS84 ellipsoid)."""
    parts = text.split(",")
    if len(parts) != 3:
        raise ValueError(f"--geo {text!r} is not LAT,LON,HEIGHT")
    try:
        lat, lon, height = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--geo {text!r} is not three numbers") from None
    return check_geo(lat, lon, height)


def tileset_json(layout: Layout, geo: tuple[float, float, float], kind: str) -> dict:
    """The tileset for content ``kind`` (``splats`` or ``mesh``); URIs relative to tileset.json."""
    children = []
    for key in layout.roots:
        name = root_name(key)
        children.append(
            {
                "boundingVolume": {"box": _box(layout, (key,))},
                "geometricError": layout.geometric_error(key.lod),
                "refine": "REPLACE",
                "content": {"uri": f"3dtiles/{kind}/{name}/{{level}}/{{x}}/{{y}}.glb"},
                "implicitTiling": {
                    "subdivisionScheme": "QUADTREE",
                    "subtreeLevels": layout.available_levels,
                    "availableLevels": layout.available_levels,
                    "subtrees": {"uri": f"3dtiles/subtrees/{name}/{{level}}/{{x}}/{{y}}.subtree"},
                },
            }
        )
    root_error = 2 * layout.geometric_error(layout.root_lod)
    # 3DTILES_content_gltf names the glTF extensions the content uses; CesiumJS picks its splat
    # renderer only when both splat extensions are listed as required here.
    used = list(SPLAT_EXTENSIONS) if kind == "splats" else [MESH_EXTENSION]
    required = list(SPLAT_EXTENSIONS) if kind == "splats" else []
    return {
        "extensionsUsed": ["3DTILES_content_gltf"],
        "extensions": {"3DTILES_content_gltf": {"extensionsUsed": used, "extensionsRequired": required}},
        "asset": {
            "version": "1.1",
            "generator": "WorldBridge live 3D Tiles",
            "extras": {
                "frame": "ENU tangent plane; glTF content Y-up: +x east, -z north, +y up",
                "content": kind,
                "geo": {"latitude_deg": geo[0], "longitude_deg": geo[1], "height_m": geo[2]},
            },
        },
        "geometricError": 2 * root_error,
        "root": {
            "transform": enu_transform(*geo),
            "boundingVolume": {"box": _box(layout, layout.roots)},
            "geometricError": root_error,
            "refine": "REPLACE",
            "children": children,
        },
    }


def json_bytes(value: dict) -> bytes:
    """Sorted keys, no spaces: the same tileset is the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def subtree_bytes(layout: Layout, level: int) -> bytes:
    """The binary subtree file: one subtree holds all ``available_levels`` levels (runtimes read
    availability constants as covering every level of a subtree, so a subtree must not reach
    past the last level); every tile and its content are available, as constants (no bitstreams,
    no binary chunk), and there are no child subtrees. Layout: magic "subt", u32 version 1, u64
    JSON length, u64 binary length, then the JSON padded with spaces to 8 bytes."""
    if level != 0:
        raise LookupError(f"no subtree starts at level {level}: one subtree spans all {layout.available_levels} levels")
    body = json_bytes(
        {
            "tileAvailability": {"constant": 1},
            "contentAvailability": [{"constant": 1}],
            "childSubtreeAvailability": {"constant": 0},
        }
    )
    body += b" " * (-len(body) % 8)
    return SUBTREE_MAGIC + struct.pack("<IQQ", SUBTREE_VERSION, len(body), 0) + body
