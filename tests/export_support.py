"""Helpers for the export tests (no tests here): one small world, exports of it into folders,
and the third-party readers the files are checked with."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.core.export import ExportRequest, Region, plan_export
from bridge.core.export.folder import write_folder
from bridge.core.worlds import Worlds

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules").is_dir(),
    reason="third-party JS readers absent: run `npm ci --prefix tests/js` (needs node)",
)
# Two LOD-0 tiles of 8 m: the spawn's (the lifted photo) and its neighbour (the continuation).
REGION = Region(0.0, -8.0, 16.0, 0.0)


def request(fmt: str, **kwargs: Any) -> ExportRequest:
    return ExportRequest(REGION, fmt, **kwargs)


async def export_to(worlds: Worlds, world_id: str, req: ExportRequest, out: Path) -> dict[str, Any]:
    """Export into ``out``; its manifest."""
    plan = await plan_export(worlds, world_id, req)
    await write_folder(plan.events(), out)
    return json.loads((out / "manifest.json").read_text())


def folder_digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def node(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([NODE or "node", *args], cwd=JS, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"node {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done
