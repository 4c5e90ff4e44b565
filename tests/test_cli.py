"""Same world, same key, same bytes: in separate processes, through the CLI users run."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
from plyfile import PlyData

from bridge.formats.ply import decode_ply
from tests.conftest import photo_path

KEYS = ("0,0,-1", "0,0,0", "2,-3,5", "4,1,-2")
_GENERATE_ALL = """
import sys
from pathlib import Path
from bridge.formats.ply import encode_ply
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
photo, out = Path(sys.argv[1]), Path(sys.argv[2])
generator = PhotoGenerator()
world = generator.prepare(decode_photo(photo.read_bytes()), GeneratorOptions())
for text in sys.argv[3:]:
    (out / (text + ".ply")).write_bytes(encode_ply(generator.generate(world, TileKey.parse(text)).splats))
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_worldbridge_tile_twice_in_two_processes_gives_identical_files_plyfile_reads(tmp_path: Path) -> None:
    photo = photo_path("lyra2_00")
    outs = [tmp_path / "a.ply", tmp_path / "b.ply"]
    for out in outs:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bridge",
                "tile",
                str(photo),
                "--key",
                "0,0,0",
                "--format",
                "ply",
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
    assert _digest(outs[0]) == _digest(outs[1])
    vertex = PlyData.read(str(outs[0]))["vertex"]
    assert vertex.count > 1000
    assert {"x", "y", "z", "f_dc_0", "opacity", "scale_0", "rot_0"} <= set(vertex.data.dtype.names)


def test_many_tiles_are_identical_across_processes_and_in_the_rdf_frame(tmp_path: Path) -> None:
    photo = photo_path("lyra2_04")
    runs = [tmp_path / "one", tmp_path / "two"]
    for out in runs:
        out.mkdir()
        subprocess.run([sys.executable, "-c", _GENERATE_ALL, str(photo), str(out), *KEYS], check=True)
    for key in KEYS:
        assert _digest(runs[0] / f"{key}.ply") == _digest(runs[1] / f"{key}.ply"), f"tile {key} differs"
        assert decode_ply((runs[0] / f"{key}.ply").read_bytes()).is_finite()
    # The tile in front of the spawn (-Z in our frame) lies at +z in the file. It holds the lifted
    # ground (y = 0) and, beneath it, the continuation's underlay: below ground is y > 0 in RDF.
    front = PlyData.read(str(runs[0] / "0,0,-1.ply"))["vertex"].data
    assert np.all(front["z"] > 0)
    assert np.all(front["y"] >= -1e-6)
    assert np.any(front["y"] > 1e-3)
