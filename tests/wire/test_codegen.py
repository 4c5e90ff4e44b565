"""The committed gRPC code is what grpcio-tools makes of proto/ now."""

from __future__ import annotations

import runpy
from pathlib import Path

# A development tool, not part of the package: loaded from its file.
codegen = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "codegen.py"))


def test_generated_code_is_current(tmp_path: Path) -> None:
    fresh = codegen["generate"](tmp_path)
    committed = sorted(p for p in codegen["OUTPUT_ROOT"].rglob("*") if p.suffix in {".py", ".pyi"})
    assert [p.relative_to(tmp_path) for p in fresh] == [p.relative_to(codegen["OUTPUT_ROOT"]) for p in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert new.read_text() == old.read_text(), (
            f"{old} is stale: run `python scripts/codegen.py` after editing proto/ and commit the result"
        )
