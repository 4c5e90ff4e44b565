"""Counting a JPEG's scans from its markers, without decoding a pixel.

A progressive JPEG may carry any number of scans, and a decoder makes one pass over every
coefficient of the image per scan: a few hundred kilobytes of tiny scans over a large frame
("scan bomb") cost minutes of decoding. Counting the start-of-scan markers first lets the
server refuse such a file at the cost of one pass over its bytes.
"""

from __future__ import annotations

_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
_RST = range(0xD0, 0xD8)  # restart markers: no length, inside entropy-coded data


class JpegStructureError(ValueError):
    """The markers do not make a JPEG (the message says where)."""


def count_scans(data: bytes, stop_after: int) -> int:
    """Start-of-scan markers in the first image (up to its EOI), counting no further than
    ``stop_after + 1``: enough to know the limit is passed."""
    if not data.startswith(b"\xff\xd8"):
        raise JpegStructureError("no JPEG start-of-image marker")
    scans = 0
    pos = 2
    end = len(data)
    while pos < end:
        marker, pos = _next_marker(data, pos)
        if marker is None or marker == _EOI:
            break
        if marker in _RST or marker in (_SOI, _TEM):
            continue
        if pos + 2 > end:
            raise JpegStructureError(f"segment 0x{marker:02x} is cut off at byte {pos}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise JpegStructureError(f"segment 0x{marker:02x} at byte {pos} has a bad length {length}")
        pos += length
        if marker == _SOS:
            scans += 1
            if scans > stop_after:
                break
            pos = _skip_entropy_data(data, pos)
    return scans


def _next_marker(data: bytes, pos: int) -> tuple[int | None, int]:
    """The next marker from ``pos`` on (after any 0xFF fill bytes) and the position after it."""
    end = len(data)
    # Stray bytes between segments are skipped, as libjpeg does (with a warning).
    pos = data.find(b"\xff", pos)
    if pos < 0:
        return None, end
    while pos < end and data[pos] == 0xFF:
        pos += 1
    if pos >= end:
        return None, pos
    return data[pos], pos + 1


def _skip_entropy_data(data: bytes, pos: int) -> int:
    """The position of the marker that ends a scan's entropy-coded data. Inside it 0xFF is
    followed by 0x00 (a stuffed byte) or a restart marker; any other byte after a run of 0xFF
    is the next marker."""
    end = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0:
            return end
        run_end = pos
        while run_end < end and data[run_end] == 0xFF:
            run_end += 1
        if run_end >= end:
            return end
        if data[run_end] == 0x00 or data[run_end] in _RST:
            pos = run_end + 1
            continue
        return pos
