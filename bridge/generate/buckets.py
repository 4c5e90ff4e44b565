"""Splats sorted by the tile they stand in, so a tile's share is two binary searches away."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.formats.splats import SplatCloud


@dataclass(frozen=True)
class TileBuckets:
    cloud: SplatCloud  # sorted by (iz, ix) of the tile each centre stands in
    iz: np.ndarray  # [N] int64, ascending
    ix: np.ndarray  # [N] int64, ascending within each iz

    @classmethod
    def of(cls, cloud: SplatCloud, edge_m: float) -> TileBuckets:
        """Buckets of tiles of edge ``edge_m`` (tile (ix, iz) spans [ix, ix + 1) * edge in x)."""
        ix = np.floor(cloud.positions[:, 0] / edge_m).astype(np.int64)
        iz = np.floor(cloud.positions[:, 2] / edge_m).astype(np.int64)
        order = np.lexsort((ix, iz))
        return cls(cloud.subset(order), iz[order], ix[order])

    def tile(self, ix: int, iz: int) -> SplatCloud:
        """The splats whose centres stand in tile (ix, iz), in bucket order."""
        lo = np.searchsorted(self.iz, iz, side="left")
        hi = np.searchsorted(self.iz, iz, side="right")
        row = self.ix[lo:hi]
        a = lo + np.searchsorted(row, ix, side="left")
        b = lo + np.searchsorted(row, ix, side="right")
        return self.cloud.subset(np.arange(a, b))
