"""The directives an export is made under: the world's in effect when it is planned, or the ones a
manifest lists when an export is rebuilt from it.

Either way the tiles are made from the list of directives in effect (by id, the version that
applied each), replayed into a fresh :class:`DirectiveState`: the state a tile's directives come
from is the same for the first export and for every rebuild, whatever the data folder's log
holds by then. Replaying only the directives in effect gives each tile the directives the world
gives it: a pin keeps those in effect when it came, and of the directives in effect now those
are exactly the ones applied before it (a directive reverted and applied again has a new id).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bridge.core.errors import InvalidRequestError
from bridge.world.directives import (
    Directive,
    DirectiveError,
    DirectiveState,
    LogEntry,
    directives_json,
    parse_directive,
)
from bridge.world.keys import TileKey

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ExportDirectives:
    base_tile_m: float
    version: int = 0  # the world's directive version (0: never directed)
    applied: tuple[tuple[int, Directive], ...] = ()  # in effect, by id, oldest first

    @classmethod
    def of_world(cls, state: DirectiveState | None, base_tile_m: float) -> ExportDirectives:
        if state is None:
            return cls(base_tile_m)
        return cls(base_tile_m, state.version, tuple(sorted(state.active().items())))

    @classmethod
    def from_manifest(cls, section: object, base_tile_m: float) -> ExportDirectives:
        """The manifest's ``directives`` section; InvalidRequestError naming what is wrong."""
        if not isinstance(section, dict) or section.get("schema_version") != SCHEMA_VERSION:
            raise InvalidRequestError(f"the manifest's directives are not of schema version {SCHEMA_VERSION}")
        version, entries = section.get("version"), section.get("applied")
        if not isinstance(version, int) or not isinstance(entries, list):
            raise InvalidRequestError("the manifest's directives lack their version or their list")
        try:
            applied = tuple((int(e["version"]), parse_directive(e["directive"])) for e in entries)
        except DirectiveError as exc:
            raise InvalidRequestError(f"a directive in the manifest is refused: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"the manifest's directives are malformed: {exc!r}") from exc
        ids = [i for i, _ in applied]
        if ids != sorted(set(ids)) or any(i < 1 or i > version for i in ids):
            raise InvalidRequestError(f"the manifest's directive versions {ids} are not distinct, 1..{version}")
        return cls(base_tile_m, version, applied)

    @cached_property
    def _state(self) -> DirectiveState:
        return DirectiveState(self.base_tile_m, [LogEntry(i, "apply", i, d, 0) for i, d in self.applied])

    def for_tile(self, key: TileKey) -> tuple[int, str]:
        """(the tile's stamp, the JSON list a generation worker takes; "" for none)."""
        stamp, found = self._state.effective(key)
        return stamp, directives_json([d for _, d in found]) if found else ""

    def glbs(self) -> list[str]:
        """The sha256 of every GLB a place directive in effect names."""
        return sorted({d.params["glb"] for _, d in self.applied if "glb" in d.params})

    def to_json(self, directed_tiles: int) -> dict[str, Any]:
        section: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "version": self.version,
            "applied": [{"version": i, "directive": d.to_json()} for i, d in self.applied],
        }
        if self.applied:  # an undirected export's manifest keeps the bytes it always had
            section["directed_tiles"] = directed_tiles
        return section
