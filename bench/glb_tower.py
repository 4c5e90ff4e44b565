"""A landmark GLB for docs and tests: a square tower made with trimesh, textured with real photo
pixels (the red lacquer of the pagoda photo's pillars).

    .venv/bin/python bench/glb_tower.py ../shared/photos/lyra2_01.png --out /tmp/tower.glb
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

TOWER_M = (6.0, 18.0, 6.0)  # width, height, depth


def red_lacquer(pagoda: Path) -> Image.Image:
    """The reddest 96 x 96 patch of the pagoda photo (lyra2_01: its lacquered pillars): the tower's texture."""
    photo = np.asarray(Image.open(pagoda).convert("RGB"), np.float64)
    redness = photo[..., 0] - photo[..., 1:].max(axis=2)
    best, at = -1.0, (0, 0)
    for y in range(0, photo.shape[0] - 96, 32):
        for x in range(0, photo.shape[1] - 96, 32):
            score = float(redness[y : y + 96, x : x + 96].mean())
            if score > best:
                best, at = score, (y, x)
    y, x = at
    return Image.fromarray(photo[y : y + 96, x : x + 96].astype(np.uint8))


def tower_glb(texture: Image.Image) -> bytes:
    """A square tower, its walls and top wearing ``texture`` (each face the whole patch), foot at y = 0."""
    box = trimesh.creation.box(TOWER_M)
    box.apply_translation([0, TOWER_M[1] / 2, 0])
    box.unmerge_vertices()  # each face its own corners, so each face its own UVs
    corners = box.vertices[box.faces]  # [m, 3, 3]
    axis = np.abs(box.face_normals).argmax(axis=1)
    lo, hi = box.bounds
    uv = np.zeros((len(box.vertices), 2))
    for f, a in enumerate(axis):
        across = [(2, 1), (0, 2), (0, 1)][a]  # the two axes spanning the face
        for k in range(3):
            p = (corners[f, k] - lo) / (hi - lo)
            uv[box.faces[f, k]] = [p[across[0]], p[across[1]]]
    box.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=trimesh.visual.material.PBRMaterial(baseColorTexture=texture)
    )
    return trimesh.Scene(box).export(file_type="glb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pagoda", type=Path, help="the pagoda photo (lyra2_01.png)")
    parser.add_argument("--out", type=Path, default=Path("tower.glb"))
    args = parser.parse_args()
    args.out.write_bytes(tower_glb(red_lacquer(args.pagoda)))
    print(args.out)


if __name__ == "__main__":
    main()
