"""Regenerate the Python gRPC code from ``proto/`` (``.venv/bin/python scripts/codegen.py``).

grpcio-tools writes absolute imports (``from worldbridge.v1 import types_pb2``) that only work
with ``proto``'s output folder on ``sys.path``; we rewrite them to point into ``bridge.wire`` so
the generated code imports like any other module. A test regenerates into a temporary folder
and fails when the committed files differ: edit the .proto, run this, commit both.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "proto"
OUTPUT_ROOT = REPO_ROOT / "bridge" / "wire" / "_proto"
PACKAGE_PREFIX = "bridge.wire._proto"

_IMPORT = re.compile(r"^from worldbridge\.v1 import (\w+) as (\w+)$", re.MULTILINE)


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("worldbridge/v1/*.proto"))


def generate(output_root: Path = OUTPUT_ROOT) -> list[Path]:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py under ``output_root``; return the files written."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    output_root.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see its messages above")
    written = sorted(p for p in output_root.rglob("*") if p.suffix in {".py", ".pyi"})
    for path in written:
        text = path.read_text()
        fixed = _IMPORT.sub(rf"from {PACKAGE_PREFIX}.worldbridge.v1 import \1 as \2", text)
        if fixed != text:
            path.write_text(fixed)
    for folder in (output_root, output_root / "worldbridge", output_root / "worldbridge" / "v1"):
        (folder / "__init__.py").touch()
    return sorted(p for p in output_root.rglob("*") if p.suffix in {".py", ".pyi"})


if __name__ == "__main__":
    for path in generate():
        print(path.relative_to(REPO_ROOT), file=sys.stderr)
