"""The WebSocket's tile frames: cut to the viewer's size, reassembled exactly, damage detected."""

from __future__ import annotations

import hashlib
import random
import struct

import pytest

from bridge.stream.messages import TileSent
from bridge.wire import websocket
from bridge.world.keys import TileKey

KEY = TileKey(3, -5, 2**40)


def tile(size: int) -> TileSent:
    data = random.Random(size).randbytes(size)
    return TileSent(KEY, "spz", hashlib.sha256(data).hexdigest(), data, 1234)


@pytest.mark.parametrize("size", [0, 1, 65_535 - 80, 65_535 - 79, 200_000, 5_700_000])
def test_a_tile_cut_into_frames_of_at_most_the_asked_size_reassembles_to_its_bytes(size: int) -> None:
    event = tile(size)
    frames = websocket.tile_frames(event, websocket.DEFAULT_FRAME_BYTES)
    assert all(len(f) <= 65_535 for f in frames)
    assert len(frames) == max(1, -(-size // (65_535 - websocket.HEADER_BYTES)))
    assembler = websocket.FrameAssembler()
    done = [assembler.add(websocket.parse_tile_frame(f)) for f in frames]
    assert all(d is None for d in done[:-1])
    whole = done[-1]
    assert whole is not None
    assert (whole.key, whole.format, whole.sha256, whole.splat_count, whole.data) == (
        event.key,
        "spz",
        event.sha256,
        1234,
        event.data,
    )


def test_the_header_is_the_documented_layout() -> None:
    event = tile(100_000)
    first, second = websocket.tile_frames(event, 65_535)
    # Read with the layout written out by hand (docs/protocol.md), not with the module's struct.
    assert first[:4] == b"WBT2" and first[4] == 3 and first[5] == 2  # lod, TILE_FORMAT_SPZ
    assert first[6] == 1 and second[6] == 2  # first / last flags
    assert struct.unpack_from("<qqI", first, 8) == (-5, 2**40, 1234)
    assert struct.unpack_from("<QQ", second, 32) == (65_535 - 80, 100_000)
    assert first[48:80] == second[48:80] == bytes.fromhex(event.sha256)
    assert len(first) == 65_535 and second[80:] == event.data[65_535 - 80 :]


def test_gaps_damage_and_foreign_frames_are_refused() -> None:
    event = tile(150_000)
    frames = [websocket.parse_tile_frame(f) for f in websocket.tile_frames(event, 65_535)]
    with pytest.raises(ValueError, match="without its first"):
        websocket.FrameAssembler().add(frames[1])
    gap = websocket.FrameAssembler()
    gap.add(frames[0])
    with pytest.raises(ValueError, match="expected"):
        gap.add(frames[2])
    damaged = bytearray(websocket.tile_frames(event, 65_535)[-1])
    damaged[-1] ^= 0xFF
    hurt = websocket.FrameAssembler()
    hurt.add(frames[0])
    hurt.add(frames[1])
    with pytest.raises(ValueError, match="damaged"):
        hurt.add(websocket.parse_tile_frame(bytes(damaged)))
    with pytest.raises(ValueError, match="magic"):
        websocket.parse_tile_frame(b"WBT1" + bytes(76))
    with pytest.raises(ValueError, match="at least"):
        websocket.parse_tile_frame(b"WBT2")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"world_id": "w", "pose": ' + '{"position": ' * 5_000 + "1" + "}" * 5_001,
        '{"acks": ' + "[" * 50_000 + "]" * 50_000 + "}",
    ],
)
def test_deeply_nested_control_messages_are_refused_with_a_reason(text: str) -> None:
    """Within the control message's size, nesting deep enough to exhaust the parser's recursion."""
    assert len(text) <= websocket.MAX_CONTROL_MESSAGE_BYTES
    assert "nested too deeply" in websocket.parse_control(text).message.invalid
