"""An export's files into a folder, all or nothing.

The files go into a hidden sibling folder first and it is renamed to the target at the end, so
a failed or interrupted export leaves nothing at the target (and a target that already holds
files is refused before anything is made).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePosixPath

from bridge.core.errors import InvalidRequestError
from bridge.core.export.run import ExportEvent, ExportFile, ExportProgress


def check_target(out: Path) -> None:
    """InvalidRequestError unless ``out`` is absent or an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidRequestError(f"{out} exists and is not an empty folder; exports never overwrite")


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"export file path {path!r} leaves the export folder")
    return relative


async def write_folder(
    events: AsyncIterator[ExportEvent], out: Path, progress: Callable[[ExportProgress], None] | None = None
) -> list[ExportFile]:
    """Write every file of ``events`` under ``out``; the files written (their data dropped)."""
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's folder is private; the export is an ordinary one
    written: list[ExportFile] = []
    try:
        async for event in events:
            if isinstance(event, ExportProgress):
                if progress is not None:
                    progress(event)
                continue
            path = staging / _safe_relative(event.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(event.data)
            written.append(ExportFile(event.path, b"", event.sha256))
        check_target(out)  # it may have been made meanwhile
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written
