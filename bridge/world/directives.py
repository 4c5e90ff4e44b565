"""Directives: designers' persistent, versioned edits of a world, and which tiles they touch.

The JSON form (schema: ``proto/worldbridge/v1/directive.schema.json``)::

    {"kind": "place", "region": {"circle": {"center": [40, -60], "radius": 14}},
     "structure": "a gothic church with a red roof"}

Kinds: ``paint`` (a ground preset over the region), ``terrain`` (raise / lower / flatten / smooth
with a falloff), ``place`` (a structure in words, or an uploaded GLB named by its sha256 with
``"glb"``, at the region's centre), ``layout`` (no
buildings, water, a street, forest density over the region), ``pin`` (the tiles under the region
never change again), ``path`` (a cleared, flattened path along a polyline).

History is a log: every apply and every revert is a new version; nothing is rewritten. A tile's
identity includes its *stamp*: a digest of the directives in effect on it (0 when none), so a
tile is a pure function of (world, directives, generator version, key); reverting a directive
restores every stamp it changed, and so the earlier bytes. A pinned tile keeps the directives in
effect when the pin was applied.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.world.keys import TileKey
from bridge.world.structure_grammar import GrammarError, StructureSpec, footprint, parse_structure

KINDS = ("paint", "terrain", "place", "layout", "pin", "path")
GROUNDS = {  # named ground presets, sRGB
    "grass": (0.30, 0.42, 0.18),
    "meadow": (0.42, 0.50, 0.22),
    "forest": (0.16, 0.26, 0.12),
    "sand": (0.80, 0.72, 0.52),
    "snow": (0.93, 0.94, 0.96),
    "rock": (0.46, 0.44, 0.41),
    "dirt": (0.45, 0.34, 0.22),
    "gravel": (0.58, 0.56, 0.52),
    "paving": (0.55, 0.53, 0.50),
    "asphalt": (0.22, 0.22, 0.23),
    "water": (0.16, 0.30, 0.38),
    "lava": (0.80, 0.22, 0.05),
}
TERRAIN_OPS = ("raise", "lower", "flatten", "smooth")
MAX_COORD_M = 10_000_000.0  # 10,000 km from the spawn: far past any walk, well inside the key range
MAX_EXTENT_M = 2048.0  # a region's bounding box, either way: larger edits are many directives
MAX_POINTS = 256
MAX_WIDTH_M = 64.0
MAX_FALLOFF_M = 256.0
MAX_TERRAIN_M = 300.0
MAX_DIRECTIVES = 4096  # per world, in effect at once
MAX_JSON_BYTES = 64 * 1024
DEFAULT_FALLOFF_M = 2.0
FLOAT_KEYS = ("amount", "height", "falloff", "forest", "facing_deg", "scale")
MAX_GLB_SCALE = 1000.0  # a model in centimetres or kilometres still comes out in metres
# A layout directive that replans buildings changes every building whose footprint comes into
# it (or, for a street, into the band its houses take: 12 m half street + 14 m), judged from a
# centre up to 31 m off (a 60 m frontage, 13 m deep), and the side walls of their row neighbours,
# up to 60 m further along: every tile holding such a centre is touched.
LAYOUT_REACH_M = 120.0
GLB_REACH_M = 1.0  # a placed model stands inside its region (checked on apply); its discs reach this far


class DirectiveError(ValueError):
    """A directive the server cannot take; the message says which part and why."""


@dataclass(frozen=True)
class Region:
    """A circle, a polygon, or a polyline with a width, in world metres (x, z)."""

    shape: str  # "circle" | "polygon" | "polyline"
    points: np.ndarray  # [n, 2]: the centre for a circle
    radius: float = 0.0  # circle
    width: float = 0.0  # polyline, kerb to kerb

    def centre(self) -> tuple[float, float]:
        if self.shape == "circle":
            return float(self.points[0, 0]), float(self.points[0, 1])
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, z0, x1, z1) of the region itself."""
        pad = self.radius if self.shape == "circle" else self.width / 2
        lo, hi = self.points.min(axis=0) - pad, self.points.max(axis=0) + pad
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def distance(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Metres from each point to the region (0 inside)."""
        x, z = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
        if self.shape == "circle":
            return np.maximum(np.hypot(x - self.points[0, 0], z - self.points[0, 1]) - self.radius, 0.0)
        if self.shape == "polyline":
            return np.maximum(self.centreline_distance(x, z)[0] - self.width / 2, 0.0)
        closed = np.vstack([self.points, self.points[:1]])
        d = _segments_distance(closed, x, z)[0]
        return np.where(_inside_polygon(self.points, x, z), 0.0, d)

    def centreline_distance(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance, nearest x, nearest z) on a polyline's centre line."""
        return _segments_distance(self.points, np.asarray(x, np.float64), np.asarray(z, np.float64))

    def to_json(self) -> dict[str, Any]:
        pts = [[float(a), float(b)] for a, b in self.points]
        if self.shape == "circle":
            return {"circle": {"center": pts[0], "radius": self.radius}}
        if self.shape == "polyline":
            return {"polyline": {"points": pts, "width": self.width}}
        return {"polygon": pts}


def _segments_distance(points: np.ndarray, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = np.broadcast(x, z).shape
    px, pz = np.ravel(x), np.ravel(z)
    best = np.full(px.shape, np.inf)
    nx, nz = np.zeros(px.shape), np.zeros(px.shape)
    if len(points) == 1:
        points = np.vstack([points, points])
    for (ax, az), (bx, bz) in itertools.pairwise(points):
        dx, dz = bx - ax, bz - az
        length2 = dx * dx + dz * dz
        t = np.clip(((px - ax) * dx + (pz - az) * dz) / length2, 0, 1) if length2 > 0 else np.zeros(px.shape)
        cx, cz = ax + t * dx, az + t * dz
        d = np.hypot(px - cx, pz - cz)
        closer = d < best
        best, nx, nz = np.where(closer, d, best), np.where(closer, cx, nx), np.where(closer, cz, nz)
    return best.reshape(shape), nx.reshape(shape), nz.reshape(shape)


def _inside_polygon(points: np.ndarray, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Even-odd rule."""
    inside = np.zeros(np.broadcast(x, z).shape, dtype=bool)
    for (ax, az), (bx, bz) in zip(points, np.roll(points, -1, axis=0), strict=True):
        crosses = (az > z) != (bz > z)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = ax + (z - az) * (bx - ax) / (bz - az)
        inside ^= crosses & (x < at)
    return inside


@dataclass(frozen=True)
class Directive:
    """One validated directive: its kind, its region and its parameters, as normalised JSON."""

    kind: str
    region: Region
    params: dict[str, Any] = field(default_factory=dict)
    structure: StructureSpec | None = None  # place: the parsed words

    @property
    def falloff(self) -> float:
        return float(self.params.get("falloff", DEFAULT_FALLOFF_M))

    def reach_m(self) -> float:
        """How far beyond its region the directive changes anything."""
        if self.kind == "place" and "glb" in self.params:
            return GLB_REACH_M
        if self.kind == "place" and self.structure is not None:
            w, d = footprint(self.structure)
            return max(0.0, math.hypot(w, d) / 2 + 1.0 - self.region_radius())
        if self.kind == "pin":
            return 0.0
        if self.kind == "layout" and self.replans_buildings():
            return max(LAYOUT_REACH_M, self.falloff + 0.5)
        return self.falloff + 0.5  # ground splats sample a little past their centre

    def replans_buildings(self) -> bool:
        """A layout directive that takes the grammar's buildings away (or lines a street with its own)."""
        p = self.params
        return p.get("buildings") is False or bool(p.get("street")) or bool(p.get("water"))

    def region_radius(self) -> float:
        return self.region.radius if self.region.shape == "circle" else 0.0

    def touches(self, key: TileKey, base_tile_m: float) -> bool:
        """Does this directive change (or, for a pin, hold) anything in ``key``'s square?"""
        x0, z0, x1, z1 = key.bounds(base_tile_m)
        rx0, rz0, rx1, rz1 = self.region.bbox()
        reach = self.reach_m()
        if x1 < rx0 - reach or x0 > rx1 + reach or z1 < rz0 - reach or z0 > rz1 + reach:
            return False
        if self.region.shape == "circle":
            cx, cz = self.region.centre()
            return key.distance_m(cx, cz, base_tile_m) <= self.region.radius + reach
        # Polygons and polylines: the nearest of the square's centre and corners, less what lies
        # between those samples (half the diagonal over 2): never misses a tile it changes.
        xs = np.array([x0, x1, x0, x1, (x0 + x1) / 2])
        zs = np.array([z0, z0, z1, z1, (z0 + z1) / 2])
        inside = bool(np.any(self.region.distance(xs, zs) == 0))
        return inside or float(self.region.distance(xs, zs).min()) <= reach + (x1 - x0) * math.sqrt(2) / 2

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region.to_json(), **self.params}


def parse_directive(data: Any) -> Directive:
    """Validate the JSON form; raises DirectiveError naming what is wrong. Nothing is stored."""
    if isinstance(data, (str, bytes)):
        if len(data) > MAX_JSON_BYTES:
            raise DirectiveError(f"a directive is at most {MAX_JSON_BYTES} bytes of JSON; got {len(data)}")
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DirectiveError(f"the directive is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DirectiveError("a directive is a JSON object with 'kind' and 'region'")
    kind = data.get("kind")
    if kind not in KINDS:
        raise DirectiveError(f"unknown directive kind {kind!r}; known: {', '.join(KINDS)}")
    allowed = {"kind", "region", *_PARAMS[kind]}
    extra = sorted(set(data) - allowed)
    if extra:
        raise DirectiveError(f"a {kind} directive takes {', '.join(sorted(allowed))}; unknown: {', '.join(extra)}")
    region = _parse_region(data.get("region"))
    params = {k: data[k] for k in _PARAMS[kind] if k in data}
    for name in FLOAT_KEYS:
        if name in params:
            params[name] = _finite(params[name], name)
    structure = None
    if "falloff" in params and not 0 <= params["falloff"] <= MAX_FALLOFF_M:
        raise DirectiveError(f"falloff {params['falloff']} outside [0, {MAX_FALLOFF_M}] m")
    if kind == "paint":
        _check_ground(params.get("ground"), required=True)
    elif kind == "terrain":
        op = params.get("op")
        if op not in TERRAIN_OPS:
            raise DirectiveError(f"terrain op {op!r} unknown; one of: {', '.join(TERRAIN_OPS)}")
        need = {"raise": "amount", "lower": "amount", "flatten": "height"}.get(op)
        if need and need not in params:
            raise DirectiveError(f"terrain {op} needs '{need}' (metres)")
        for name in ("amount", "height"):
            if name in params and abs(params[name]) > MAX_TERRAIN_M:
                raise DirectiveError(f"{name} {params[name]} beyond +-{MAX_TERRAIN_M} m")
    elif kind == "place":
        if ("structure" in params) == ("glb" in params):
            raise DirectiveError(
                "a place directive needs one of 'structure' (words such as 'a stone tower') or 'glb' "
                "(the sha256 of a GLB uploaded to the world)"
            )
        if "glb" in params:
            _check_glb(params)
            return Directive(kind, region, params, None)
        if "scale" in params:
            raise DirectiveError("'scale' is for a GLB; a structure's size is in its words (small, large, ...)")
        try:
            structure = parse_structure(params["structure"])
        except GrammarError as exc:
            raise DirectiveError(str(exc)) from exc
    elif kind == "layout":
        if not params:
            raise DirectiveError("a layout directive sets at least one of: " + ", ".join(_PARAMS["layout"]))
        for flag in ("buildings", "water", "street"):
            if flag in params and not isinstance(params[flag], bool):
                raise DirectiveError(f"layout '{flag}' is true or false")
        if params.get("street") and region.shape != "polyline":
            raise DirectiveError("a street runs along a polyline region")
        if "forest" in params and not 0 <= params["forest"] <= 1:
            raise DirectiveError(f"forest density {params['forest']} outside [0, 1]")
    elif kind == "path":
        if region.shape != "polyline":
            raise DirectiveError("a path's region is a polyline with a width")
        _check_ground(params.get("ground"), required=False)
    return Directive(kind, region, params, structure)


_PARAMS: dict[str, tuple[str, ...]] = {
    "paint": ("ground", "falloff"),
    "terrain": ("op", "amount", "height", "falloff"),
    "place": ("structure", "glb", "scale", "facing_deg"),
    "layout": ("buildings", "water", "street", "forest", "falloff"),
    "pin": (),
    "path": ("ground", "falloff"),
}


def _check_glb(params: dict[str, Any]) -> None:
    sha = params["glb"]
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise DirectiveError(f"glb is the sha256 (64 lowercase hex digits) an upload answered; got {sha!r}")
    if "scale" in params and not 0 < params["scale"] <= MAX_GLB_SCALE:
        raise DirectiveError(f"scale {params['scale']} outside (0, {MAX_GLB_SCALE}]")


def _check_ground(value: Any, required: bool) -> None:
    if value is None and not required:
        return
    if value not in GROUNDS:
        raise DirectiveError(f"ground {value!r} unknown; presets: {', '.join(GROUNDS)}")


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DirectiveError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def _point(value: Any, name: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DirectiveError(f"{name} is a point [x, z] in metres; got {value!r}")
    x, z = (_finite(v, name) for v in value)
    if abs(x) > MAX_COORD_M or abs(z) > MAX_COORD_M:
        raise DirectiveError(f"{name} {value!r} beyond +-{MAX_COORD_M:.0f} m")
    return [x, z]


def _parse_region(data: Any) -> Region:
    if not isinstance(data, dict) or len(data) != 1:
        raise DirectiveError("region is one of {'circle': ...}, {'polygon': [...]}, {'polyline': {...}}")
    ((shape, body),) = data.items()
    if shape == "circle":
        if not isinstance(body, dict) or set(body) != {"center", "radius"}:
            raise DirectiveError("a circle region is {'center': [x, z], 'radius': metres}")
        radius = _finite(body["radius"], "radius")
        if not 0 < radius <= MAX_EXTENT_M / 2:
            raise DirectiveError(f"radius {radius} outside (0, {MAX_EXTENT_M / 2}] m")
        region = Region("circle", np.array([_point(body["center"], "center")]), radius=radius)
    elif shape in ("polygon", "polyline"):
        raw = body if shape == "polygon" else (body.get("points") if isinstance(body, dict) else None)
        least = 3 if shape == "polygon" else 2
        if not isinstance(raw, list) or not least <= len(raw) <= MAX_POINTS:
            raise DirectiveError(f"a {shape} has {least} to {MAX_POINTS} points [x, z]")
        points = np.array([_point(p, f"{shape} point") for p in raw])
        width = 0.0
        if shape == "polyline":
            if set(body) != {"points", "width"}:
                raise DirectiveError("a polyline region is {'points': [[x, z], ...], 'width': metres}")
            width = _finite(body["width"], "width")
            if not 0 < width <= MAX_WIDTH_M:
                raise DirectiveError(f"width {width} outside (0, {MAX_WIDTH_M}] m")
        region = Region(shape, points, width=width)
    else:
        raise DirectiveError(f"unknown region shape {shape!r}; one of circle, polygon, polyline")
    x0, z0, x1, z1 = region.bbox()
    if x1 - x0 > MAX_EXTENT_M or z1 - z0 > MAX_EXTENT_M:
        raise DirectiveError(f"the region spans {x1 - x0:.0f} x {z1 - z0:.0f} m; at most {MAX_EXTENT_M:.0f} m each way")
    return region


# -- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """One version of a world's directives: an apply (``directive`` set) or a revert of ``target``."""

    version: int  # 1, 2, ...; an applied directive's id is the version that applied it
    op: str  # "apply" | "revert"
    target: int  # the directive id (its own version for an apply)
    directive: Directive | None
    created_unix_ms: int


class DirectiveState:
    """A world's directive log and what it implies for each tile (in memory; the store persists it)."""

    def __init__(self, base_tile_m: float, entries: list[LogEntry] | None = None) -> None:
        self.base_tile_m = base_tile_m
        self.entries: list[LogEntry] = []
        self._active: dict[int, Directive] = {}
        self._pins: dict[int, frozenset[int]] = {}  # pin id -> directive ids in effect when it came
        self._stamps: dict[TileKey, tuple[int, tuple[tuple[int, Directive], ...]]] = {}
        for entry in entries or []:
            self.append(entry)

    @property
    def version(self) -> int:
        return self.entries[-1].version if self.entries else 0

    def active(self) -> dict[int, Directive]:
        return dict(self._active)

    def check_revert(self, directive_id: int) -> None:
        if directive_id not in self._active:
            applied = any(e.op == "apply" and e.target == directive_id for e in self.entries)
            state = "is already reverted" if applied else "does not exist"
            raise DirectiveError(f"directive {directive_id} {state}; in effect: {sorted(self._active) or 'none'}")

    def append(self, entry: LogEntry) -> None:
        if entry.op == "apply":
            assert entry.directive is not None
            if len(self._active) >= MAX_DIRECTIVES:
                raise DirectiveError(f"a world holds at most {MAX_DIRECTIVES} directives in effect")
            if entry.directive.kind == "pin":
                self._pins[entry.target] = frozenset(self._active)
            self._active[entry.target] = entry.directive
        else:
            self._active.pop(entry.target, None)
            self._pins.pop(entry.target, None)
        self.entries.append(entry)
        self._stamps.clear()

    def effective(self, key: TileKey) -> tuple[int, tuple[tuple[int, Directive], ...]]:
        """(stamp, the directives in effect on ``key`` in the order they apply); (0, ()) for none."""
        if not self._active:
            return 0, ()
        cached = self._stamps.get(key)
        if cached is not None:
            return cached
        allowed: frozenset[int] | None = None
        for pin_id in sorted(self._pins):
            if self._active[pin_id].touches(key, self.base_tile_m):
                allowed = self._pins[pin_id]  # the oldest pin on the tile decides what it keeps
                break
        found = tuple(
            (i, d)
            for i, d in sorted(self._active.items())
            if d.kind != "pin" and (allowed is None or i in allowed) and d.touches(key, self.base_tile_m)
        )
        result = (stamp_of(found), found)
        if len(self._stamps) > 65_536:
            self._stamps.clear()
        self._stamps[key] = result
        return result

    def stamp(self, key: TileKey) -> int:
        return self.effective(key)[0]

    def pinned_under(self, directive: Directive, lod: int = 0) -> list[TileKey]:
        """LOD ``lod`` tiles a new ``directive`` touches that an active pin holds still."""
        pins = [d for i, d in self._active.items() if d.kind == "pin"]
        if not pins or directive.kind == "pin":
            return []
        edge = self.base_tile_m * (1 << lod)
        x0, z0, x1, z1 = directive.region.bbox()
        reach = directive.reach_m()
        out = []
        for iz in range(math.floor((z0 - reach) / edge), math.floor((z1 + reach) / edge) + 1):
            for ix in range(math.floor((x0 - reach) / edge), math.floor((x1 + reach) / edge) + 1):
                key = TileKey(lod, ix, iz)
                if directive.touches(key, self.base_tile_m) and any(p.touches(key, self.base_tile_m) for p in pins):
                    out.append(key)
        return out


def stamp_of(directives: tuple[tuple[int, Directive], ...]) -> int:
    """A tile's directive stamp: 63 bits of the sha256 of what is in effect on it, 0 for nothing."""
    if not directives:
        return 0
    text = json.dumps([[i, d.to_json()] for i, d in directives], sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1 or 1


def directives_json(directives: list[Directive]) -> str:
    """What a generation worker is handed: the directives in order, as JSON."""
    return json.dumps([d.to_json() for d in directives], sort_keys=True)


def parse_directive_list(text: str | bytes) -> list[Directive]:
    """A JSON list of directives (``worldbridge tile --directives``); errors name the item."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DirectiveError(f"not JSON: {exc}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise DirectiveError("expected a JSON list of directives")
    out = []
    for i, item in enumerate(data):
        try:
            out.append(parse_directive(item))
        except DirectiveError as exc:
            raise DirectiveError(f"directive {i}: {exc}") from exc
    return out
