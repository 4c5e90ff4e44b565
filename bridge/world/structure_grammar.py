"""Words to a structure: the small deterministic grammar behind ``place`` directives.

"a gothic church with a red roof", "a row of three houses with blue roofs", "a stone tower":
one noun names the structure (church, chapel, tower, house, wall, bridge, arch, tree, rock),
the other words set its style (roof colour, wall material, size, storeys, era, a count for a
row). Words the grammar does not know are an error that names them: a designer learns what to
change instead of getting something else silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

STRUCTURES = ("church", "chapel", "tower", "house", "wall", "bridge", "arch", "tree", "rock")
_PLURALS = {
    "churches": "church",
    "chapels": "chapel",
    "towers": "tower",
    "houses": "house",
    "walls": "wall",
    "bridges": "bridge",
    "arches": "arch",
    "trees": "tree",
    "rocks": "rock",
    "cottage": "house",
    "cottages": "house",
    "cathedral": "church",
    "steeple": "tower",
    "boulder": "rock",
    "boulders": "rock",
}
# sRGB in [0, 1]: saturated enough to read as the named colour after the renderer's blending.
COLOURS = {
    "red": (0.72, 0.12, 0.08),
    "blue": (0.14, 0.26, 0.62),
    "green": (0.16, 0.45, 0.18),
    "black": (0.08, 0.08, 0.09),
    "grey": (0.45, 0.46, 0.48),
    "gray": (0.45, 0.46, 0.48),
    "white": (0.92, 0.91, 0.88),
    "brown": (0.42, 0.27, 0.15),
    "yellow": (0.85, 0.72, 0.22),
    "orange": (0.82, 0.42, 0.12),
    "slate": (0.28, 0.30, 0.34),
    "golden": (0.80, 0.63, 0.22),
}
MATERIALS = {
    "stone": (0.58, 0.55, 0.50),
    "brick": (0.60, 0.30, 0.22),
    "wooden": (0.50, 0.34, 0.20),
    "wood": (0.50, 0.34, 0.20),
    "timber": (0.50, 0.34, 0.20),
    "plaster": (0.86, 0.82, 0.74),
    "concrete": (0.66, 0.66, 0.64),
    "marble": (0.90, 0.89, 0.86),
    "granite": (0.52, 0.50, 0.50),
}
SIZES = {"tiny": 0.5, "small": 0.7, "little": 0.7, "big": 1.3, "large": 1.3, "huge": 1.7, "tall": 1.0, "grand": 1.4}
ERAS = ("gothic", "medieval", "romanesque", "modern", "ancient", "old", "roman", "baroque", "victorian")
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
# Words that carry no meaning of their own here.
FILLER = {
    "a",
    "an",
    "the",
    "with",
    "and",
    "of",
    "in",
    "made",
    "its",
    "has",
    "having",
    "walls",
    "wall's",
    "roof",
    "roofs",
    "roofed",
    "storey",
    "storeys",
    "story",
    "stories",
    "floor",
    "floors",
    "high",
    "row",
    "line",
    "pointed",
    "spire",
    "here",
    "some",
    "is",
}
MAX_WORDS = 24
MAX_COUNT = 8


class GrammarError(ValueError):
    """Words the grammar cannot take; the message names them."""


@dataclass(frozen=True)
class StructureSpec:
    """A parsed description: what the structure builders take."""

    kind: str  # one of STRUCTURES
    count: int  # in a row ("a row of three houses"): 1 for one
    roof: tuple[float, float, float] | None  # None: the world's palette
    wall: tuple[float, float, float] | None  # None: the world's palette
    scale: float  # 1 = the kind's usual size
    storeys: int  # 0: the kind's usual
    era: str  # "" or one of ERAS
    tall: bool


def parse_structure(text: str) -> StructureSpec:
    """Parse ``text``; raises GrammarError naming every word it did not understand."""
    if not isinstance(text, str) or not text.strip():
        raise GrammarError("a place directive needs words describing the structure, e.g. 'a stone tower'")
    words = re.findall(r"[a-z]+(?:-[a-z]+)*|\d+", text.lower())
    if len(words) > MAX_WORDS:
        raise GrammarError(f"at most {MAX_WORDS} words describe a structure; got {len(words)}")
    kinds: list[str] = []
    unknown: list[str] = []
    roof = wall = None
    scale, storeys, count, era, tall = 1.0, 0, 1, "", False
    pending_colour: tuple[float, float, float] | None = None  # a colour waits for the noun it qualifies
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        number = NUMBERS.get(word) or (int(word) if word.isdigit() else 0)
        if number:
            if nxt.rstrip("s") in ("storey", "story", "floor") or nxt in ("storeys", "stories", "floors"):
                storeys = number
            else:
                count = number
            continue
        if word.endswith("-storey") or word.endswith("-story"):
            n = word.split("-")[0]
            if n in NUMBERS:
                storeys = NUMBERS[n]
                continue
        if word in STRUCTURES or word in _PLURALS:
            kinds.append(_PLURALS.get(word, word))
            if pending_colour is not None:
                wall, pending_colour = pending_colour, None
            continue
        if word in COLOURS:
            colour = COLOURS[word]
            if nxt in ("roof", "roofs", "roofed"):
                roof = colour
            elif nxt in ("walls", "wall's", "wall") and kinds:
                wall = colour
            else:
                pending_colour = colour
            continue
        if word in MATERIALS:
            wall = MATERIALS[word]
            continue
        if word in SIZES:
            scale *= SIZES[word]
            tall = tall or word == "tall"
            continue
        if word in ERAS:
            era = word
            continue
        if word in FILLER:
            continue
        unknown.append(word)
    if pending_colour is not None:
        # "a house, white" / "walls white": a colour with no noun after it colours the walls.
        wall = wall or pending_colour
    if unknown:
        raise GrammarError(
            f"words not understood in {text.strip()!r}: {', '.join(repr(w) for w in dict.fromkeys(unknown))}; "
            f"structures: {', '.join(STRUCTURES)}; colours: {', '.join(COLOURS)}; "
            f"materials: {', '.join(MATERIALS)}; sizes: {', '.join(SIZES)}; eras: {', '.join(ERAS)}"
        )
    distinct = list(dict.fromkeys(k for k in kinds if k != "wall" or len(set(kinds)) == 1))
    if not distinct:
        raise GrammarError(f"no structure named in {text.strip()!r}; say one of: {', '.join(STRUCTURES)}")
    if len(distinct) > 1:
        raise GrammarError(f"one structure per directive; {text.strip()!r} names {', '.join(distinct)}")
    if not 1 <= count <= MAX_COUNT:
        raise GrammarError(f"a row holds 1 to {MAX_COUNT} structures; asked for {count}")
    if storeys > 12:
        raise GrammarError(f"at most 12 storeys; asked for {storeys}")
    return StructureSpec(distinct[0], count, roof, wall, scale, storeys, era, tall)


# A church's plan at scale 1, metres: its nave (length, width) with the tower's square (side) at
# its west end, the whole turned this far from the front so that, seen from where it faces, the
# east gable, the long roof and the tower with its spire stand side by side (a three-quarter
# view), the tower the farthest part: 40 m ahead its spire's tip stays inside a photo's frame.
CHURCH_NAVE_M = (18.0, 7.5)
CHURCH_TOWER_M = 5.0
CHURCH_TURN_DEG = 28.0
CHURCH_BUTTRESS_M = 0.6  # how far the buttresses stand out from the nave's walls
ROOF_OVERHANG_M = 0.35
CHAPEL_M = (6.0, 10.0)  # width, length (its gable faces the front)
TOWER_M = 6.0  # a tower's square side
BRIDGE_M = (4.0, 22.0)  # deck width, span
# A row of houses: each house's frontage and depth at scale 1, in turn (a fixed cycle, so the
# row's footprint is known from the words alone and neighbours always differ).
HOUSE_FRONTAGES_M = (7.4, 9.6, 6.6, 8.8, 10.2, 7.0, 8.2, 9.2)
HOUSE_DEPTHS_M = (8.6, 9.4, 8.0, 9.8, 8.4, 9.0, 8.2, 9.6)
HOUSE_GAP_M = 0.6


def house_row(count: int, scale: float) -> list[tuple[float, float, float]]:
    """(centre x, frontage, depth) of each house of a row, left to right seen from the front
    (+x first: the structure's frame is seen from -z), the row centred on x = 0."""
    fronts = [HOUSE_FRONTAGES_M[k % len(HOUSE_FRONTAGES_M)] * scale for k in range(count)]
    depths = [HOUSE_DEPTHS_M[k % len(HOUSE_DEPTHS_M)] * scale for k in range(count)]
    total = sum(fronts) + HOUSE_GAP_M * scale * (count - 1)
    out, x = [], total / 2
    for front, depth in zip(fronts, depths, strict=True):
        out.append((x - front / 2, front, depth))
        x -= front + HOUSE_GAP_M * scale
    return out


def church_plan(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The nave's and the tower's corners, (x, z) [4, 2] each, before the turn; together centred."""
    (length, width), side = (v * scale for v in CHURCH_NAVE_M), CHURCH_TOWER_M * scale
    nave_x = -side / 2  # the tower at +x (its west end), the nave's east end at -x
    # The buttresses stand out past the roof's overhang: they bound the nave's plan.
    half_l, half_w = length / 2 + CHURCH_BUTTRESS_M, width / 2 + CHURCH_BUTTRESS_M
    nave = np.array([[nave_x - half_l, -half_w], [nave_x + length / 2, -half_w], [nave_x + length / 2, half_w]])
    tower_x = nave_x + length / 2 + side / 2
    tower = np.array([[tower_x - side / 2, -side / 2], [tower_x + side / 2, -side / 2], [tower_x + side / 2, side / 2]])
    return _close(nave), _close(tower)


def _close(three: np.ndarray) -> np.ndarray:
    """A rectangle's four corners from three consecutive ones."""
    return np.vstack([three, three[0] + three[2] - three[1]])


def turned_church_corners(scale: float) -> np.ndarray:
    """Every corner of the church's plan after its turn, (x, z) [8, 2]: the builder's frame."""
    a = math.radians(-CHURCH_TURN_DEG)  # its west end (the tower) away from the front
    c, s = math.cos(a), math.sin(a)
    xz = np.vstack(church_plan(scale))
    return np.stack([c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]], axis=1)


def footprint(spec: StructureSpec) -> tuple[float, float]:
    """(width along x, depth along z) in metres, before turning: a box holding what the structure covers."""
    s = spec.scale
    if spec.kind == "church":
        corners = turned_church_corners(s)
        return tuple(2 * np.abs(corners).max(axis=0))  # type: ignore[return-value]
    if spec.kind == "chapel":
        return CHAPEL_M[0] * s + 2 * ROOF_OVERHANG_M, CHAPEL_M[1] * s + 2 * ROOF_OVERHANG_M
    if spec.kind == "tower":
        return TOWER_M * s + 0.8, TOWER_M * s + 0.8
    if spec.kind == "house":
        row = house_row(spec.count, s)
        width = row[0][0] + row[0][1] / 2 - (row[-1][0] - row[-1][1] / 2)
        return width + 2 * ROOF_OVERHANG_M, max(d for _, _, d in row) + 2 * ROOF_OVERHANG_M
    if spec.kind == "wall":
        return 24.0 * s * spec.count, 1.2 * s
    if spec.kind == "bridge":
        return BRIDGE_M[0] * s + 0.4, BRIDGE_M[1] * s
    if spec.kind == "arch":
        return 10.0 * s, 2.0 * s
    if spec.kind == "tree":
        return 7.0 * s * spec.count, 7.0 * s
    return 5.0 * s * spec.count, 4.0 * s  # rock
