"""Splat glTF checked against the extensions' own text, where the Khronos validator cannot judge.

glTF-Validator 2.0.0-dev.3.10 predates ``KHR_gaussian_splatting``: it reports the extension's
attributes as MESH_PRIMITIVE_INVALID_ATTRIBUTE and knows nothing of the SPZ variant. This checks
what the texts in KhronosGroup/glTF say instead:

- ``extensions/2.0/Khronos/KHR_gaussian_splatting/README.md`` (Release Candidate, commit 63770cc):
  the extension in ``extensionsUsed``; mode POINTS; ``kernel`` and ``colorSpace`` required and
  every property one it defines; the attributes ``POSITION``, ``:ROTATION``, ``:SCALE``,
  ``:OPACITY``, ``:SH_DEGREE_0_COEF_0`` with the types its table allows; unit quaternions,
  scales not negative, opacity in [0, 1]; one count; SH degrees complete and never without the
  degree below.
- ``extensions/2.0/Khronos/KHR_gaussian_splatting_compression_spz_2/README.md`` (Draft, commit
  3b2a287): the compression object sits in the ``KHR_gaussian_splatting`` object's own
  ``extensions`` with a ``bufferView`` holding an SPZ **version 2** file; the extension is in
  ``extensionsUsed`` (and in ``extensionsRequired`` when the accessors have no data of their own:
  the conformance section allows no fallback then); the SPZ supplies ``POSITION``, ``COLOR_0``,
  ``:SCALE``, ``:ROTATION`` and the SH attributes of its degree, whose accessors are typed as
  the values after decompression and whose ``count`` is the SPZ's number of points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bridge.formats._gltf import JSON_ERRORS, Glb, json_index, read_glb
from bridge.formats.gltf_splats import EXTENSION, OPACITY, ROTATION, SCALE, SH_DC, splat_primitives
from bridge.formats.gltf_spz import COMPRESSION, SPZ_VERSION
from bridge.formats.spz import read_spz

# (accessor type, allowed (componentType, normalized) pairs) per the base extension's table.
_FLOAT = (5126, False)
_ALLOWED: dict[str, tuple[str, set[tuple[int, bool]]]] = {
    ROTATION: ("VEC4", {_FLOAT, (5120, True), (5122, True)}),
    SCALE: ("VEC3", {_FLOAT, (5121, False), (5121, True), (5123, False), (5123, True)}),
    OPACITY: ("SCALAR", {_FLOAT, (5121, True), (5123, True)}),
    # COLOR_0 as core glTF defines it; the SPZ variant maps colour and alpha into it.
    "COLOR_0": ("VEC4", {_FLOAT, (5121, True), (5123, True)}),
    "POSITION": ("VEC3", {_FLOAT}),
}
_SH_COEFFICIENTS = {1: 3, 2: 5, 3: 7}
_KNOWN = {
    "kernel": {"ellipse"},
    "colorSpace": {"srgb_rec709_display", "lin_rec709_display"},
    "projection": {"perspective"},
    "sortingMethod": {"cameraDistance"},
}
_BASE_REQUIRED = ("POSITION", ROTATION, SCALE, OPACITY, SH_DC)
_SPZ_SUPPLIED = ("POSITION", "COLOR_0", SCALE, ROTATION)


def check_gaussian_splatting(data: bytes) -> list[str]:
    """Problems with a GLB's KHR_gaussian_splatting primitives (plain or SPZ-compressed) against
    the extensions' rules; an empty list when there are none. ValueError only for no GLB at all."""
    glb = read_glb(data)
    used = glb.gltf.get("extensionsUsed", [])
    problems: list[str] = []
    if not isinstance(used, list) or EXTENSION not in used:
        problems.append(f"{EXTENSION} is not listed in extensionsUsed")
    try:
        found = splat_primitives(glb)
    except ValueError as exc:
        return [str(exc)]
    if not found:
        problems.append(f"no primitive carries {EXTENSION}")
    for number, (prim, _) in enumerate(found):
        where = f"splat primitive {number}"
        ext = prim["extensions"][EXTENSION]
        problems += _base_properties(prim, ext, where)
        nested = ext.get("extensions", {})
        if isinstance(nested, dict) and COMPRESSION in nested:
            problems += _spz_primitive(glb, prim, nested[COMPRESSION], where)
        else:
            problems += _plain_attributes(glb, prim["attributes"], where)
        problems += _sh_degrees(prim["attributes"], where)
    return problems


def _base_properties(prim: dict[str, Any], ext: dict[str, Any], where: str) -> list[str]:
    problems = [f"{where}: required property {p!r} is missing" for p in ("kernel", "colorSpace") if p not in ext]
    for prop, known in _KNOWN.items():
        if prop in ext and (not isinstance(ext[prop], str) or ext[prop] not in known):
            problems.append(f"{where}: {prop} {ext[prop]!r} is not defined by the base extension")
    if prim.get("mode", 4) != 0:
        problems.append(f"{where}: mode must be POINTS (0), not {prim.get('mode', 4)}")
    return problems


def _accessor_type(gltf: dict[str, Any], name: str, index: object, where: str) -> tuple[dict[str, Any] | None, str]:
    """(the accessor, "") or (None, the problem) for attribute ``name``'s declared type."""
    try:
        acc = gltf["accessors"][json_index(index)]
        kind, normalized, count = int(acc["componentType"]), bool(acc.get("normalized", False)), int(acc["count"])
    except (ValueError, *JSON_ERRORS) as exc:
        return None, f"{where}: {name} accessor unreadable: {exc}"
    if count < 1:
        return None, f"{where}: {name} accessor count {count} is not positive"
    if name in _ALLOWED:
        want_type, allowed = _ALLOWED[name]
        if acc.get("type") != want_type or (kind, normalized) not in allowed:
            return None, f"{where}: {name} is {acc.get('type')}/{kind}, not allowed by the spec"
    if name.startswith(f"{EXTENSION}:SH_DEGREE_") and (acc.get("type") != "VEC3" or kind != 5126):
        return None, f"{where}: {name} must be a float VEC3"
    return acc, ""


def _plain_attributes(glb: Glb, attrs: dict[str, Any], where: str) -> list[str]:
    problems = [f"{where}: required attribute {name} is missing" for name in _BASE_REQUIRED if name not in attrs]
    counts = set()
    for name, index in attrs.items():
        acc, problem = _accessor_type(glb.gltf, name, index, where)
        if acc is None:
            problems.append(problem)
            continue
        counts.add(int(acc["count"]))
        try:
            with np.errstate(invalid="ignore"):
                values = glb.accessor(index).astype(np.float64)
        except ValueError as exc:
            problems.append(f"{where}: {name} accessor unreadable: {exc}")
            continue
        problems += _value_ranges(name, int(acc["componentType"]), values, where)
    if len(counts) > 1:
        problems.append(f"{where}: attributes disagree on the splat count: {sorted(counts)}")
    return problems


def _value_ranges(name: str, kind: int, values: np.ndarray, where: str) -> list[str]:
    if kind != 5126 or not values.size:
        return []
    if name == ROTATION:
        norm = np.linalg.norm(values, axis=1)
        if np.abs(norm - 1).max() > 1e-3:
            return [f"{where}: rotations are not unit quaternions (|q| up to {norm.max():.4f})"]
    if name == SCALE and values.min() < 0:
        return [f"{where}: negative scale values"]
    if name == OPACITY and (values.min() < 0 or values.max() > 1):
        return [f"{where}: opacity outside [0, 1]"]
    return []


def _spz_primitive(glb: Glb, prim: dict[str, Any], compression: object, where: str) -> list[str]:
    gltf = glb.gltf
    problems = []
    used, required = gltf.get("extensionsUsed", []), gltf.get("extensionsRequired", [])
    if not isinstance(used, list) or COMPRESSION not in used:
        problems.append(f"{COMPRESSION} is not listed in extensionsUsed")
    if not isinstance(compression, dict) or "bufferView" not in compression:
        return [*problems, f"{where}: {COMPRESSION} has no bufferView"]
    try:
        info, cloud = read_spz(glb.view_bytes(compression["bufferView"]))
    except ValueError as exc:
        return [*problems, f"{where}: {COMPRESSION} bufferView is no SPZ file: {exc}"]
    if info.version != SPZ_VERSION:
        problems.append(f"{where}: the SPZ is version {info.version}; {COMPRESSION} wraps version {SPZ_VERSION}")
    attrs = prim["attributes"]
    problems += [
        f"{where}: attribute {name}, which the SPZ supplies, is missing" for name in _SPZ_SUPPLIED if name not in attrs
    ]
    fallback = False
    for name, index in attrs.items():
        acc, problem = _accessor_type(gltf, name, index, where)
        if acc is None:
            problems.append(problem)
            continue
        fallback = fallback or "bufferView" in acc
        if int(acc["count"]) != info.num_points:
            problems.append(f"{where}: {name} count {acc['count']} is not the SPZ's {info.num_points} points")
    if not fallback and (not isinstance(required, list) or COMPRESSION not in required):
        problems.append(f"{where}: the accessors have no data of their own, so {COMPRESSION} must be required")
    degrees = {d for d in _SH_COEFFICIENTS if f"{EXTENSION}:SH_DEGREE_{d}_COEF_0" in attrs}
    if degrees != set(range(1, info.sh_degree + 1)):
        problems.append(f"{where}: the SPZ holds SH degree {info.sh_degree}; the attributes define {sorted(degrees)}")
    problems += _position_bounds(gltf, attrs.get("POSITION"), cloud.positions, where)
    return problems


def _position_bounds(gltf: dict[str, Any], index: object, positions: np.ndarray, where: str) -> list[str]:
    """POSITION's min and max (core glTF requires them) must hold the positions the SPZ decodes to."""
    try:
        acc = gltf["accessors"][json_index(index)]
        low, high = np.asarray(acc["min"], dtype=np.float64), np.asarray(acc["max"], dtype=np.float64)
    except (ValueError, *JSON_ERRORS) as exc:
        return [f"{where}: POSITION has no min and max: {exc!r}"]
    if low.shape != (3,) or high.shape != (3,):
        return [f"{where}: POSITION min/max are not three numbers each"]
    if not len(positions):
        return []
    tolerance = 1e-5 * max(1.0, float(np.abs(positions).max()))
    if (positions < low - tolerance).any() or (positions > high + tolerance).any():
        return [f"{where}: the SPZ's positions lie outside POSITION's min/max"]
    return []


def _sh_degrees(attrs: dict[str, Any], where: str) -> list[str]:
    problems = []
    for degree, coefficients in _SH_COEFFICIENTS.items():
        present = [f"{EXTENSION}:SH_DEGREE_{degree}_COEF_{k}" in attrs for k in range(coefficients)]
        if any(present) and not all(present):
            problems.append(f"{where}: SH degree {degree} is only partly defined")
        below = [
            f"{EXTENSION}:SH_DEGREE_{degree - 1}_COEF_{k}" in attrs for k in range(_SH_COEFFICIENTS.get(degree - 1, 0))
        ]
        if all(present) and degree > 1 and not all(below):
            problems.append(f"{where}: SH degree {degree} without degree {degree - 1}")
    return problems
