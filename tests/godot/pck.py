"""Write and read Godot 4 ``.pck`` packs (pack format 3, what Godot 4.4-4.6 write and read).

A pack is the archive a Godot export loads its project from. One holding plain-text
``project.godot``, ``.tscn`` and ``.gd`` files loads as is (no import step), which is all the
tests need to run GDScript in the real engine. Layout, little-endian (from the engine's reader,
``core/io/file_access_pack.cpp``)::

    off size type    field
      0    4 bytes   magic "GDPC"
      4    4 u32     pack format version = 3
      8   12 u32x3   engine version major, minor, patch that made it (a reader refuses newer)
     20    4 u32     pack flags: bit 1 = offsets are relative to the pack's start (always, in 3)
     24    8 u64     file base: where the file data starts, from the pack's start
     32    8 u64     directory offset, from the pack's start
     40   64         reserved, zero
    104              file data (each file at file base + its offset)
    ...              directory: u32 file count, then per file: u32 path length, the UTF-8 path
                     ("res://..."), u64 offset from the file base, u64 size, 16-byte MD5 of the
                     contents, u32 flags (0: plain, not encrypted, not removed)

Files are laid out in the order given, 16-byte aligned as the engine's own packer does.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

MAGIC = b"GDPC"
FORMAT_VERSION = 3
ENGINE_VERSION = (4, 6, 0)
FLAG_RELATIVE_FILE_BASE = 1 << 1
HEADER = struct.Struct("<4sIIIIIQQ64s")
ENTRY = struct.Struct("<QQ16sI")
ALIGN = 16


def _pad(n: int) -> int:
    return -n % ALIGN


def res_path(path: str) -> str:
    """``res://`` + the project-relative path; ValueError for anything that escapes the project."""
    relative = path.removeprefix("res://")
    parts = relative.split("/")
    if not relative or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{path!r} is not a plain path inside the project")
    return "res://" + relative


def write_pck(files: Mapping[str, bytes | str]) -> bytes:
    """A pack holding ``files`` (project path -> contents; text is written as UTF-8)."""
    if "project.godot" not in {res_path(p).removeprefix("res://") for p in files}:
        raise ValueError("a Godot pack needs a project.godot at its root")
    data = bytearray()
    directory = bytearray(struct.pack("<I", len(files)))
    for path, contents in files.items():
        blob = contents.encode() if isinstance(contents, str) else bytes(contents)
        name = res_path(path).encode()
        directory += struct.pack("<I", len(name)) + name
        directory += ENTRY.pack(len(data), len(blob), hashlib.md5(blob).digest(), 0)
        data += blob + bytes(_pad(len(blob)))
    file_base = HEADER.size + _pad(HEADER.size)
    head = HEADER.pack(
        MAGIC, FORMAT_VERSION, *ENGINE_VERSION, FLAG_RELATIVE_FILE_BASE, file_base, file_base + len(data), bytes(64)
    )
    return head + bytes(_pad(HEADER.size)) + bytes(data) + bytes(directory)


def read_pck(pack: bytes) -> dict[str, bytes]:
    """The files of a pack this module wrote (path -> contents); ValueError if malformed or if an
    MD5 disagrees."""
    if len(pack) < HEADER.size:
        raise ValueError("a pack is at least its 104-byte header")
    magic, version, _major, _minor, _patch, flags, file_base, dir_offset, _ = HEADER.unpack_from(pack)
    if magic != MAGIC or version != FORMAT_VERSION or not flags & FLAG_RELATIVE_FILE_BASE:
        raise ValueError(f"not a format-{FORMAT_VERSION} Godot pack")
    try:
        (count,) = struct.unpack_from("<I", pack, dir_offset)
        at = dir_offset + 4
        files: dict[str, bytes] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<I", pack, at)
            path = pack[at + 4 : at + 4 + length].decode()
            offset, size, md5, _flags = ENTRY.unpack_from(pack, at + 4 + length)
            at += 4 + length + ENTRY.size
            blob = pack[file_base + offset : file_base + offset + size]
            if len(blob) != size or hashlib.md5(blob).digest() != md5:
                raise ValueError(f"{path}: contents disagree with the directory")
            files[path] = blob
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed pack directory: {exc}") from exc
    return files
