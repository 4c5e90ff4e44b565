"""The Godot example (godot_addon/example) with the addon, in the real Godot 4.6 web runtime, against
a real ``worldbridge serve`` on a sample photo: the world becomes ready, tiles load in both draw
modes, the stream resumes after ``reconnect()`` and, by itself, after its socket is cut, without
sending held tiles again, the player
walks 200 m forward (new tiles arrive, old ones unload), no script error, and the view from the
spawn compares with the photo.

The example is driven by ``probe.gd``, an autoload added to its pack: it presses the example's own
walking actions and prints what it measured. The splat run takes the server and world from the
page's query string (as a web build does), the mesh run from the command line's user arguments.
Pictures are kept under the test's output folder (``spawn.png``, ``end.png``, ``photo.png``).

Software WebGL (SwiftShader on shared cores) draws the spawn's ~900,000 splats at a frame every
twenty seconds or so, so the probe hides the tiles while it waits (the streamer streams, builds,
sorts and hands over all the same) and shows them for the measurements and pictures.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.client.server_process import ServerProcess, start_server
from bridge.render.images import psnr, save_png
from tests.conftest import photo_path
from tests.godot.example_project import example_files
from tests.godot.runtime import GodotRun, run_project
from tests.sample_tiles import load_photo

PROBE = Path(__file__).resolve().parent / "probe.gd"
SIZE = (480, 300)  # the photo's aspect (1280 x 800)
VIEW_RADIUS_M = "64"
WALK_M = 200.0


@dataclass(frozen=True)
class ExampleRun:
    mode: str  # "splats" or "meshes"
    run: GodotRun
    values: dict[str, str]  # the probe's "name=value" lines (pictures excluded)
    spawn: np.ndarray  # what the engine drew at the spawn, [H, W, 3] in [0, 1]
    photo: np.ndarray
    out: Path


@pytest.fixture(scope="module")
def world_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    photo = photo_path("lyra2_06")
    server = start_server(tmp_path_factory.mktemp("godot-server"), workers=1, extra_args=["--photo", str(photo)])
    try:
        with urllib.request.urlopen(f"{server.http_url}/v1/worlds", timeout=30) as answer:
            worlds = json.load(answer)["worlds"]
        yield server, worlds[0]["id"]
    finally:
        assert server.stop() == 0, f"the server did not stop cleanly; see {server.log_path}"


def _picture(line: str) -> np.ndarray:
    data = base64.b64decode(line.split("=", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255.0


@pytest.fixture(scope="module", params=["splats", "meshes"])
def example(
    request: pytest.FixtureRequest, world_server: tuple[ServerProcess, str], tmp_path_factory: pytest.TempPathFactory
) -> ExampleRun:
    server, world_id = world_server
    mode = request.param
    out = tmp_path_factory.mktemp(f"godot-example-{mode}")
    address = f"ws://127.0.0.1:{server.http_port}"
    settings = {"server": address, "world": world_id, "draw-mode": mode, "view-radius": VIEW_RADIUS_M}
    if mode == "splats":  # as a web build is pointed at a server: the page's query string
        run = run_project(example_files(PROBE.read_text()), out, query=settings, timeout_s=240, size=SIZE)
    else:  # as a desktop build is: user arguments after "--"
        arguments = [part for name, value in settings.items() for part in (f"--{name}", value)]
        run = run_project(example_files(PROBE.read_text()), out, user_args=arguments, timeout_s=240, size=SIZE)
    (out / "printed.txt").write_text("\n".join(line[:300] for line in run.printed + run.errors))
    values: dict[str, str] = {}
    pictures: dict[str, np.ndarray] = {}
    for line in run.printed:
        name, _, value = line.partition("=")
        if name.endswith("_png"):
            pictures[name] = _picture(line)
            save_png(pictures[name], out / f"{name.removesuffix('_png')}.png")
        elif value:
            values[name] = value
    assert not run.timed_out and run.failure is None, f"{run}; see {out}"
    assert run.exit_code == 0, f"the probe failed: {values.get('failed')}; status {values.get('status')}; see {out}"
    photo = load_photo(photo_path("lyra2_06"), max_width=SIZE[0])
    save_png(photo, out / "photo.png")
    return ExampleRun(mode, run, values, pictures["spawn_png"], photo, out)


def test_the_world_becomes_ready_and_the_spawn_loads(example: ExampleRun) -> None:
    v = example.values
    assert int(v["world_ready_ms"]) < 30_000
    assert int(v["spawn_tiles"]) >= 10 and int(v["spawn_held"]) >= 10, v
    # The hand-over rule draws what is held less any parent whose four children are in; never nothing.
    assert 0 < int(v["spawn_drawn_tiles"]) <= int(v["spawn_held"]), v


def test_a_dropped_connection_resumes_without_sending_held_tiles_again(example: ExampleRun) -> None:
    v = example.values
    assert v["resumed"] == "true", v
    resumed, held = (int(float(n)) for n in v["resumed_tiles"].split("/"))  # JSON numbers print as floats
    assert resumed == held > 0, v
    assert int(v["resume_tiles_loaded"]) == 0, v


def test_a_lost_connection_is_reported_and_resumed_by_itself(example: ExampleRun) -> None:
    v = example.values
    assert v["auto_resumed"] == "true", v
    assert int(v["auto_resume_tiles_loaded"]) == 0, v
    reported = json.loads(v["auto_resume_errors"])
    assert len(reported) == 1 and "the stream closed" in reported[0] and "reconnecting" in reported[0], reported


@pytest.mark.parametrize("step", ["steer", "unsteer"])
def test_a_directive_and_its_revert_replace_exactly_the_changed_tiles(example: ExampleRun, step: str) -> None:
    # The probe POSTs a place directive (a stone tower 40 m ahead), then its revert, over HTTP.
    v = {name.removeprefix(f"{step}_"): value for name, value in example.values.items() if name.startswith(f"{step}_")}
    assert v["http"] == "200" and v["settled"] == "true", v
    changed = int(v["changed"])
    assert 0 < changed <= int(v["touched"]), v
    assert v["versions_ok"] == "true", v
    # Every changed tile was rebuilt from new content; every other held tile kept its bytes.
    assert int(v["replaced"]) == changed and int(v["new_content"]) == changed, v
    kept, others = (int(n) for n in v["kept"].split("/"))
    assert kept == others > 0, v
    if step == "unsteer":  # the revert brings back exactly the bytes held before the directive
        assert json.loads(v["contents"]) == json.loads(example.values["steer_contents_before"])


def test_walking_200_m_forward_brings_new_tiles_and_unloads_old_ones(example: ExampleRun) -> None:
    v = example.values
    assert float(v["walked_along_facing_m"]) >= WALK_M - 1.0, v
    assert int(v["walk_tiles_loaded"]) > 0 and int(v["walk_tiles_unloaded"]) > 0, v
    # The tiles around the spawn went: what is held is what the new place needs, not everything seen.
    assert int(v["end_held"]) < int(v["spawn_held"]) + int(v["walk_tiles_loaded"]), v


def test_no_script_error_reaches_the_engine_output(example: ExampleRun) -> None:
    run = example.run
    problems = [line for line in run.errors if "ERROR" in line or "Failed to load" in line]
    assert problems == [], problems
    assert json.loads(example.values["connection_errors"]) == []
    assert [m for m in run.console if m["type"] == "pageerror"] == []


def test_the_view_from_the_spawn_is_the_photo(example: ExampleRun) -> None:
    spawn, photo = example.spawn, example.photo
    assert spawn.shape == photo.shape
    (example.out / "psnr.txt").write_text(f"whole {psnr(spawn, photo):.2f} dB\n")
    if example.mode == "splats":
        # Issue 16 asks 25 dB. Measured 30.02 dB, 45.1 dB from the reference rasteriser on the same
        # tiles and camera (which gets 30.08). Before the shader took its frustum clamp from the
        # focal lengths' sizes (the renderer's projection has fy < 0 in a viewport texture) every
        # splat was drawn 9% too tall: 24.73 dB.
        assert psnr(spawn, photo) >= 25.0, example.out
    else:
        # Meshes are heightfields with a baked texture: the lower half (the square) is compared.
        # Measured 15.38 dB; without mipmaps on the run-time loaded textures 14.98 dB.
        half = spawn.shape[0] // 2
        assert psnr(spawn[half:], photo[half:]) >= 15.0, example.out
