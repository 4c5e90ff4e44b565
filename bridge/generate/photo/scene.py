"""The photo read as a structured scene: the record scene understanding hands to the layout.

Scene understanding (:mod:`bridge.generate.photo.reading`) fills a :class:`SceneReading` once per
world from the photo and its :class:`~bridge.generate.photo.analysis.PhotoAnalysis`; the layout
grammar (:mod:`bridge.generate.photo.layout`) and the dressing read nothing else of the photo.
It travels with the world as plain arrays (``to_payload`` / ``from_payload``), so a tile made
anywhere sees the same reading.

Frames: image arrays are rows top to bottom at the analysis' working resolution; metres are
world metres; headings are unit vectors in the ground plane (x, z) of the world frame (glTF:
Y up, the spawn looking towards -Z).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# Per-pixel layers of the scene (``SceneReading.layers``).
LAYER_SKY = 0
LAYER_FAR = 1  # far terrain and its skyline: hills, mountains, distant ridges
LAYER_BUILT = 2  # built structure: facades, roofs, walls, towers, hulls
LAYER_VEGETATION = 3  # trees, hedges, bushes
LAYER_WATER = 4  # sea, lakes, rivers, canals
LAYER_PAVED = 5  # hard ground: road, pavement, cobbles, decks, plazas
LAYER_NATURAL = 6  # soft ground: grass, sand, snow, soil, rock underfoot
LAYER_OBJECT = 7  # loose objects standing on the ground: boats, lamps, benches, barrels
LAYER_NAMES = ("sky", "far", "built", "vegetation", "water", "paved", "natural", "object")


@dataclass(frozen=True)
class SceneMix:
    """Shares of the photo's non-sky pixels per layer (they sum to 1): the mix decides the world's mix."""

    far: float
    built: float
    vegetation: float
    water: float
    paved: float
    natural: float
    objects: float

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> SceneMix:
        return cls(*(float(v) for v in values))


@dataclass(frozen=True)
class FacadeSample:
    """A facade rectified from the photo to its own plane: as if seen straight on.

    ``texture`` [h, w, 3] float32 sRGB in [0, 1], row 0 at the top of the facade, the last row at
    its foot; square texels of ``metres_per_px``. ``storey_m`` and ``bay_m`` are the measured
    vertical and horizontal periods of its windows (0 where no rhythm was found); synthesis
    keeps whole storeys and bays so windows stay in rows and columns.
    """

    texture: np.ndarray
    metres_per_px: float
    storey_m: float
    bay_m: float


@dataclass(frozen=True)
class SceneReading:
    """What the layout grammar needs to know about the photo, measured from it."""

    layers: np.ndarray  # [h, w] uint8 LAYER_* per working pixel
    mix: SceneMix
    facades: tuple[FacadeSample, ...]  # best first; empty when nothing built shows a facade
    building_height_m: tuple[float, float]  # 25th and 75th percentile height of what is built
    roof_colour: np.ndarray  # [3] sRGB in [0, 1]
    vegetation_colours: np.ndarray  # [k, 3] the vegetation's palette, dark to light (k >= 1)
    water_colour: np.ndarray  # [3]
    skyline_elevation_deg: np.ndarray  # [w] per column, the skyline's angle above the horizon (>= 0)
    relief_m: float  # height of the far terrain's skyline above the ground, metres (0: flat horizon)
    roughness: float  # 0 (smooth rolling skyline) .. 1 (jagged peaks)
    street_heading: np.ndarray  # [2] unit (x, z): the photo's street runs this way from the spawn
    street_width_m: float  # kerb to kerb of the photo's street or path (0: no street)

    def to_payload(self) -> dict[str, np.ndarray]:
        """Plain arrays for the world's payload (keys prefixed ``scene_``)."""
        payload = {
            "scene_layers": self.layers.astype(np.uint8),
            "scene_mix": self.mix.as_array(),
            "scene_scalars": np.array(
                [
                    *self.building_height_m,
                    self.relief_m,
                    self.roughness,
                    self.street_width_m,
                    *self.street_heading,
                ],
                dtype=np.float64,
            ),
            "scene_roof_colour": np.asarray(self.roof_colour, dtype=np.float32),
            "scene_vegetation_colours": np.asarray(self.vegetation_colours, dtype=np.float32).reshape(-1, 3),
            "scene_water_colour": np.asarray(self.water_colour, dtype=np.float32),
            "scene_skyline_elevation_deg": np.asarray(self.skyline_elevation_deg, dtype=np.float32),
            "scene_facade_count": np.array([len(self.facades)], dtype=np.int64),
        }
        for i, facade in enumerate(self.facades):
            payload[f"scene_facade_{i}_texture"] = facade.texture.astype(np.float32)
            payload[f"scene_facade_{i}_scalars"] = np.array(
                [facade.metres_per_px, facade.storey_m, facade.bay_m], dtype=np.float64
            )
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, np.ndarray]) -> SceneReading:
        low, high, relief, roughness, street_width, hx, hz = (float(v) for v in payload["scene_scalars"])
        facades = []
        for i in range(int(payload["scene_facade_count"][0])):
            metres_per_px, storey, bay = (float(v) for v in payload[f"scene_facade_{i}_scalars"])
            facades.append(FacadeSample(payload[f"scene_facade_{i}_texture"], metres_per_px, storey, bay))
        return cls(
            layers=payload["scene_layers"],
            mix=SceneMix.from_array(payload["scene_mix"]),
            facades=tuple(facades),
            building_height_m=(low, high),
            roof_colour=payload["scene_roof_colour"],
            vegetation_colours=payload["scene_vegetation_colours"],
            water_colour=payload["scene_water_colour"],
            skyline_elevation_deg=payload["scene_skyline_elevation_deg"],
            relief_m=relief,
            roughness=roughness,
            street_heading=np.array([hx, hz]),
            street_width_m=street_width,
        )
