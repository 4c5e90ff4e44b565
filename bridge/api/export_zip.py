"""An export as one zip archive written as its files come, for the HTTP face.

The archive is a pure function of the files: every entry carries the same fixed time stamp, so
the same export is the same zip. Already-compressed files (SPZ, GLB) are stored; the rest are
deflated.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable

from bridge.core.export import ExportEvent, ExportFile

_STORED_SUFFIXES = (".spz", ".glb")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date


class _Sink:
    """A write-only, unseekable file: zipfile then writes sizes after each entry's data."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.pending = b"".join(self.pending), []
        return data


def _entry(file: ExportFile) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(file.path, date_time=_FIXED_TIME)
    stored = file.path.endswith(_STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # an ordinary file when unpacked
    return info


async def write_zip(events: AsyncIterator[ExportEvent], send: Callable[[bytes], Awaitable[None]]) -> None:
    """Zip every file of ``events``, passing the archive's bytes to ``send`` as they are made."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w") as archive:  # type: ignore[arg-type]
        async for event in events:
            if isinstance(event, ExportFile):
                archive.writestr(_entry(event), event.data, compresslevel=6)
                await send(sink.take())
    await send(sink.take())  # the central directory, written on close
