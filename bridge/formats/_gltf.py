"""A small glTF 2.0 binary (GLB) writer and reader shared by the mesh and splat GLB formats.

GLB layout (glTF 2.0 spec, "Binary glTF Layout"), little-endian::

    header   u32 magic 0x46546C67 ("glTF"), u32 version 2, u32 total length
    chunk 0  u32 length, u32 type 0x4E4F534A ("JSON"), UTF-8 JSON padded with spaces to 4 bytes
    chunk 1  u32 length, u32 type 0x004E4942 ("BIN\\0"), the buffer padded with zeros to 4 bytes

Every buffer view starts on a 4-byte boundary, so every accessor is aligned for its component
type, as the spec requires. Frame: glTF's axes (right-handed, +Y up, metres) are our world
frame's, so nothing is converted here.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
# componentType codes and the numpy dtypes they hold.
COMPONENT_DTYPES: dict[int, np.dtype] = {
    5120: np.dtype("<i1"),
    5121: np.dtype("<u1"),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
COMPONENT_CODES = {dtype: code for code, dtype in COMPONENT_DTYPES.items()}
TYPE_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
WIDTH_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}
# What a lookup in hostile glTF JSON can raise (any type can stand anywhere): a malformed file.
JSON_ERRORS = (KeyError, IndexError, TypeError, AttributeError, OverflowError)
MAX_GLB_BYTES = 1 << 30  # a tile is megabytes; a reader facing untrusted bytes stops at 1 GiB


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


@dataclass
class GlbBuilder:
    """Accumulates one binary buffer and the glTF objects that point into it."""

    gltf: dict[str, Any] = field(default_factory=lambda: {"asset": {"version": "2.0"}})
    _blob: bytearray = field(default_factory=bytearray)

    def _list(self, name: str) -> list[Any]:
        return self.gltf.setdefault(name, [])

    def buffer_view(self, data: bytes, target: int | None = None) -> int:
        self._blob += bytes(-len(self._blob) % 4)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self._blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self._blob += data
        views = self._list("bufferViews")
        views.append(view)
        return len(views) - 1

    def accessor(
        self,
        array: np.ndarray,
        *,
        target: int | None = ARRAY_BUFFER,
        normalized: bool = False,
        bounds: bool = False,
    ) -> int:
        """An accessor over a fresh buffer view holding ``array`` ([N] or [N, k]) as it is typed."""
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<")
        width = 1 if array.ndim == 1 else array.shape[1]
        accessor: dict[str, Any] = {
            "bufferView": self.buffer_view(array.astype(dtype).tobytes(), target),
            "componentType": COMPONENT_CODES[dtype],
            "count": int(array.shape[0]),
            "type": WIDTH_TYPES[width],
        }
        if normalized:
            accessor["normalized"] = True
        if bounds and array.shape[0]:
            flat = array.reshape(array.shape[0], width)
            cast = float if dtype.kind == "f" else int
            accessor["min"] = [cast(v) for v in flat.min(axis=0)]
            accessor["max"] = [cast(v) for v in flat.max(axis=0)]
        accessors = self._list("accessors")
        accessors.append(accessor)
        return len(accessors) - 1

    def image(self, data: bytes, mime_type: str) -> int:
        images = self._list("images")
        images.append({"bufferView": self.buffer_view(data), "mimeType": mime_type})
        return len(images) - 1

    def add(self, name: str, obj: dict[str, Any]) -> int:
        items = self._list(name)
        items.append(obj)
        return len(items) - 1

    def use_extension(self, name: str, *, required: bool = False) -> None:
        used = self._list("extensionsUsed")
        if name not in used:
            used.append(name)
        if required and name not in self._list("extensionsRequired"):
            self.gltf["extensionsRequired"].append(name)

    def to_glb(self) -> bytes:
        gltf = dict(self.gltf)
        if self._blob:
            gltf["buffers"] = [{"byteLength": len(self._blob)}]
        text = _pad(json.dumps(gltf, separators=(",", ":"), sort_keys=True).encode(), b" ")
        blob = _pad(bytes(self._blob), b"\0")
        chunks = struct.pack("<II", len(text), CHUNK_JSON) + text
        if blob:
            chunks += struct.pack("<II", len(blob), CHUNK_BIN) + blob
        return struct.pack("<III", GLB_MAGIC, 2, 12 + len(chunks)) + chunks


def json_index(value: object) -> int:
    """A glTF index: a non-negative integer (JSON allows anything; Python lists take -1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"glTF index {value!r} is not a non-negative integer")
    return value


@dataclass(frozen=True)
class Glb:
    gltf: dict[str, Any]
    binary: bytes

    def accessor(self, index: int) -> np.ndarray:
        """An accessor's values as [count] or [count, width] in its stored type (tightly packed
        or strided views; no sparse accessors). ValueError if malformed or outside the buffer."""
        try:
            acc = self.gltf["accessors"][json_index(index)]
            view = self.gltf["bufferViews"][json_index(acc["bufferView"])]
            dtype = COMPONENT_DTYPES[acc["componentType"]]
            width = TYPE_WIDTHS[acc["type"]]
            count = int(acc["count"])
            if view.get("buffer", 0) != 0 or "sparse" in acc:
                raise ValueError("only the GLB's own buffer and dense accessors are read")
            view_start = int(view.get("byteOffset", 0))
            view_end = view_start + int(view["byteLength"])
            start = view_start + int(acc.get("byteOffset", 0))
            stride = int(view.get("byteStride", dtype.itemsize * width))
        except JSON_ERRORS as exc:
            raise ValueError(f"glTF accessor {index} is malformed: {exc!r}") from exc
        if count < 0 or start < view_start or stride < dtype.itemsize * width:
            raise ValueError(f"glTF accessor {index} has a negative count, offset or short stride")
        end = start + (stride * (count - 1) + dtype.itemsize * width if count else 0)
        if end > view_end or end > len(self.binary):
            raise ValueError(f"glTF accessor {index} reads past its buffer view")
        if count == 0:
            return np.zeros((0, width) if width > 1 else (0,), dtype=dtype)
        rows = np.lib.stride_tricks.as_strided(
            np.frombuffer(self.binary, dtype=np.uint8, count=end - start, offset=start),
            shape=(count, dtype.itemsize * width),
            strides=(stride, 1),
        )
        values = np.ascontiguousarray(rows).view(dtype).reshape(count, width)
        return values[:, 0] if width == 1 else values

    def view_bytes(self, index: object) -> bytes:
        """A buffer view's bytes (the GLB's own buffer); ValueError if malformed or outside it."""
        try:
            view = self.gltf["bufferViews"][json_index(index)]
            start = int(view.get("byteOffset", 0))
            end = start + int(view["byteLength"])
            if view.get("buffer", 0) != 0:
                raise ValueError("only the GLB's own buffer is read")
        except JSON_ERRORS as exc:
            raise ValueError(f"glTF buffer view {index!r} is malformed: {exc!r}") from exc
        if start < 0 or end < start or end > len(self.binary):
            raise ValueError(f"glTF buffer view {index!r} lies outside the binary chunk")
        return self.binary[start:end]


def read_glb(data: bytes) -> Glb:
    """Split a GLB into its JSON and binary chunk; ValueError with the reason if malformed."""
    if len(data) > MAX_GLB_BYTES:
        raise ValueError(f"GLB of {len(data)} bytes is over the {MAX_GLB_BYTES}-byte limit")
    if len(data) < 20:
        raise ValueError("data too short for a GLB")
    magic, version, length = struct.unpack_from("<III", data)
    if magic != GLB_MAGIC:
        raise ValueError(f"not a GLB: magic {magic:#010x}")
    if version != 2:
        raise ValueError(f"GLB version {version} is not 2")
    if length != len(data):
        raise ValueError(f"GLB header says {length} bytes, {len(data)} present")
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    if chunk_type != CHUNK_JSON or 20 + chunk_length > len(data):
        raise ValueError("GLB does not start with a whole JSON chunk")
    try:
        gltf = json.loads(data[20 : 20 + chunk_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"GLB JSON chunk is not valid JSON: {exc}") from exc
    if not isinstance(gltf, dict):
        raise ValueError("GLB JSON chunk is not an object")
    binary = b""
    offset = 20 + chunk_length
    if offset + 8 <= len(data):
        bin_length, bin_type = struct.unpack_from("<II", data, offset)
        if bin_type != CHUNK_BIN or offset + 8 + bin_length > len(data):
            raise ValueError("GLB second chunk is not a whole BIN chunk")
        binary = data[offset + 8 : offset + 8 + bin_length]
    return Glb(gltf, binary)
