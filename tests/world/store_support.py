"""What the crash and full-disk tests check in a data folder a server left (no tests here)."""

from __future__ import annotations

from pathlib import Path

from bridge.formats import format_revisions
from bridge.world.keys import TileKey
from bridge.world.store import WorldStore


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: field 4 of stat, after the command)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def store_problems(data: Path, world_id: str, tiles: dict[TileKey, str], fmt: str = "ply") -> list[str]:
    """The store's integrity problems, and every tile of ``tiles`` (key -> sha256) it lost."""
    store = WorldStore(data, format_revisions())
    try:
        problems = store.integrity_problems()
        for key, sha in tiles.items():
            row = store.get_tile(world_id, key, fmt)
            if row is None or row.sha256 != sha:
                problems.append(f"tile {key} ({sha}) was lost")
        return problems
    finally:
        store.close()
