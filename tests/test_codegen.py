"""The committed gRPC code is what grpcio-tools makes of proto/ now."""

from __future__ import annotations

from pathlib import Path

from bridge.api import codegen


def test_generated_code_is_current(tmp_path: Path) -> None:
    fresh = codegen.generate(tmp_path)
    committed = sorted(p for p in codegen.OUTPUT_ROOT.rglob("*") if p.suffix in {".py", ".pyi"})
    assert [p.relative_to(tmp_path) for p in fresh] == [p.relative_to(codegen.OUTPUT_ROOT) for p in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert new.read_text() == old.read_text(), (
            f"{old} is stale: run `python -m bridge.api.codegen` after editing proto/ and commit the result"
        )
