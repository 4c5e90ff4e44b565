"""Every GDScript file of the Godot addon, its example and the tests' probe parses, lints and is
formatted (gdtoolkit: gdparse, gdlint, gdformat)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ADDON = Path(__file__).resolve().parents[2] / "godot_addon"
# rglob does not follow the example's symlink to the addon: each file is checked once.
SCRIPTS = sorted(ADDON.rglob("*.gd")) + sorted(Path(__file__).resolve().parent.glob("*.gd"))
BIN = Path(sys.executable).parent


def test_there_is_gdscript_to_check() -> None:
    assert SCRIPTS, f"no .gd files under {ADDON}"


@pytest.mark.parametrize("tool", [["gdparse"], ["gdlint"], ["gdformat", "--check"]])
def test_gdtoolkit_accepts_every_script(tool: list[str]) -> None:
    done = subprocess.run([str(BIN / tool[0]), *tool[1:], *map(str, SCRIPTS)], capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(tool)}:\n{done.stdout}\n{done.stderr}"
