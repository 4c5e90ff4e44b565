"""What the test-vector writers and their checks share: the manifest, and running a Node check.

A vector directory holds encoded tiles, the float32 values a decoder must produce
(:data:`DECODED_LAYOUT`) and ``manifest.json``; a Node script in ``tests/js`` decodes every tile
it lists with a JavaScript decoder and prints one JSON report.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "js"
NODE = shutil.which("node")
DECODED_LAYOUT = "float32 LE: positions[N,3] scales[N,3] rotations[N,4] (w x y z) opacities[N] colors[N,3]"
needs_node = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules").is_dir(),
    reason="JS decoder's dependencies absent: run `npm ci --prefix tests/js` (needs node)",
)


def vector_entry(name: str, count: int, encoded: bytes, decoded: bytes, /, **fields: object) -> dict[str, object]:
    """One manifest row: the name, the count, ``fields`` (file names, header values) and hashes."""
    return {
        "name": name,
        "count": count,
        **fields,
        "encoded_sha256": hashlib.sha256(encoded).hexdigest(),
        "decoded_sha256": hashlib.sha256(decoded).hexdigest(),
    }


def write_manifest(out: Path, fmt: str, version: int, entries: list[dict[str, object]]) -> dict[str, object]:
    manifest: dict[str, object] = {
        "format": fmt,
        "version": version,
        "decoded_layout": DECODED_LAYOUT,
        "vectors": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def node_check(script: str, directory: Path) -> dict[str, object]:
    """Run ``tests/js/SCRIPT DIRECTORY``; its JSON report (the test fails on a non-zero exit)."""
    done = subprocess.run(
        [NODE or "node", "--import", "./bare_imports.mjs", script, str(directory)],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"JS decoder disagrees:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)
