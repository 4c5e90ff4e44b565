"""The example project (godot_addon/example) packed with the addon, as the tests run it in the engine.

The example's own files go in as they are; the addon's runtime files go under
``addons/worldbridge/`` (where the example's symlink points); the project gets the Dummy audio
driver (no audio worklet starts in headless Chromium), an empty global class cache, and, when
given, a probe script as an autoload that drives and measures the run.
"""

from __future__ import annotations

from pathlib import Path

ADDON_ROOT = Path(__file__).resolve().parents[2] / "godot_addon"
ADDON = ADDON_ROOT / "addons" / "worldbridge"
EXAMPLE = ADDON_ROOT / "example"
RUNTIME_SUFFIXES = (".gd", ".gdshader", ".cfg")


def addon_files() -> dict[str, bytes]:
    """The addon's files under ``addons/worldbridge/`` (the editor's tools/ included: nothing at
    run time loads them)."""
    return {
        f"addons/worldbridge/{path.relative_to(ADDON).as_posix()}": path.read_bytes()
        for path in sorted(ADDON.rglob("*"))
        if path.is_file() and path.suffix in RUNTIME_SUFFIXES
    }


def example_files(probe: str | None = None) -> dict[str, bytes | str]:
    """The example project and the addon, ready for :func:`tests.godot.pck.write_pck`."""
    files: dict[str, bytes | str] = {
        path.name: path.read_bytes()
        for path in sorted(EXAMPLE.iterdir())
        if path.is_file() and path.suffix in (".godot", ".tscn", ".gd")
    }
    project = (EXAMPLE / "project.godot").read_text()
    project += '\n[audio]\n\ndriver/driver="Dummy"\n'
    if probe is not None:
        project += '\n[autoload]\n\nProbe="*res://probe.gd"\n'
        files["probe.gd"] = probe
    files["project.godot"] = project
    files[".godot/global_script_class_cache.cfg"] = "list=[]\n"
    return files | addon_files()
