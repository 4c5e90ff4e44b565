"""Fuzz every tile decoder with mutated real tiles; print one JSON object of outcome counts.

Each decoder gets N inputs made from valid encodings of a photo tile by random mutation (bit
flips, byte overwrites, extreme values in header fields, truncation, insertion, duplication,
splicing, pure noise behind the right magic) and, for the compressed formats, by mutating the
*decompressed* payload and re-wrapping it with a valid container (checksum, gzip, zstd frame), so the
fuzz reaches the parsers behind the checksums. A decoder may return a cloud or raise ValueError;
anything else is a crash, and anything slower than 2 s counts as a hang. Each input's peak of
traced memory (tracemalloc: numpy's buffers included) is recorded; the largest is reported.

Then the caps: inputs built to claim more splats than a decoder's memory cap allows, each with a
payload that truly holds them where a small file can (zero bytes compress a thousandfold): the
issue's 2 KB stream tile claiming 4.2 M splats and 326 KB SPZ claiming 16.8 M points among them.
Each must be refused (ValueError) from its header: time and traced peak are reported.

    .venv/bin/python bench/fuzz_decoders.py [--n 2000] [--seed 0] [--decoders stream,splat-textures]
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import sys
import time
import traceback
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zstandard

from bridge.formats import decode_splats, encode_tile
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.splat_textures import HASHED_HEADER, digest
from bridge.formats.splat_textures import HEADER_SIZE as TEXTURES_HEADER_SIZE
from bridge.formats.spz import DEFAULT_MAX_POINTS, encode_spz
from bridge.formats.spz import MAGIC as SPZ_MAGIC
from bridge.formats.tilecodec import BYTES_PER_SPLAT_RAW, DEFAULT_MAX_SPLATS, HEADER_SIZE
from bridge.world.keys import TileKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the sample tiles
from tests.sample_tiles import PHOTOS, ground_tile, load_photo

HANG_S = 2.0
EXTREMES = (0, 1, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate(data: bytes, rng: np.random.Generator, others: list[bytes]) -> bytes:
    """One random mutation of ``data`` (sometimes several stacked)."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 8))
        if kind == 0 and out:  # flip bits
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(0, len(out)))
                out[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and out:  # overwrite bytes
            for _ in range(int(rng.integers(1, 17))):
                out[int(rng.integers(0, len(out)))] = int(rng.integers(0, 256))
        elif kind == 2 and len(out) >= 4:  # an extreme value in a (probable) header field
            i = int(rng.integers(0, max(1, min(len(out), 128) - 3)))
            struct.pack_into("<I", out, i, int(rng.choice(EXTREMES)))
        elif kind == 3:  # truncate
            del out[int(rng.integers(0, len(out) + 1)) :]
        elif kind == 4:  # insert noise
            i = int(rng.integers(0, len(out) + 1))
            out[i:i] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        elif kind == 5 and out:  # duplicate a slice
            i = int(rng.integers(0, len(out)))
            j = int(rng.integers(i, min(len(out), i + 4096) + 1))
            out[j:j] = out[i:j]
        elif kind == 6 and others:  # splice with another valid input
            other = others[int(rng.integers(0, len(others)))]
            i = int(rng.integers(0, len(out) + 1))
            out[i:] = other[int(rng.integers(0, len(other) + 1)) :]
        else:  # noise behind the real magic
            out = bytearray(out[:4]) + rng.integers(0, 256, int(rng.integers(0, 2048)), dtype=np.uint8).tobytes()
    return bytes(out)


def _rewrap_stream(data: bytes, rng: np.random.Generator) -> bytes:
    """Mutate a tile codec payload *inside* its zstd frame and fix length and checksum."""
    raw = zstandard.ZstdDecompressor().decompress(data[HEADER_SIZE:])
    payload = zstandard.ZstdCompressor().compress(mutate(raw, rng, []))
    head = bytearray(data[:HEADER_SIZE])
    struct.pack_into("<I", head, 12, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(bytes(head[: HEADER_SIZE - 4])))
    struct.pack_into("<I", head, HEADER_SIZE - 4, crc)
    return bytes(head) + payload


def _rewrap_textures(data: bytes, rng: np.random.Generator) -> bytes:
    """Mutate a splat-textures body *inside* its zstd frame (new frame, new length field, new
    SHA-256); the header mutates half the time, so the body's parser also meets headers that
    disagree with it."""
    raw = zstandard.ZstdDecompressor().decompress(data[TEXTURES_HEADER_SIZE:])
    payload = zstandard.ZstdCompressor().compress(mutate(raw, rng, []))
    head = data[:TEXTURES_HEADER_SIZE]
    if rng.integers(0, 2):
        head = mutate(head, rng, []).ljust(TEXTURES_HEADER_SIZE, b"\0")[:TEXTURES_HEADER_SIZE]
    out = bytearray(head)
    struct.pack_into("<I", out, 24, len(payload))
    return bytes(out[:HASHED_HEADER]) + digest(bytes(out), payload) + payload


def _rewrap_spz(data: bytes, rng: np.random.Generator) -> bytes:
    if data[:2] == b"\x1f\x8b":  # v2/v3: mutate the gzip's contents, header included
        return gzip.compress(mutate(gzip.decompress(data), rng, []), mtime=0)
    return mutate(data[:32], rng, []) + data[32:]  # v4: the plain header and its table of contents


def inputs(photo_name: str) -> dict[str, list[bytes]]:
    photo = load_photo(PHOTOS / f"{photo_name}.png", max_width=320)
    tiles = [ground_tile(photo, TileKey(0, i, -i), per_side=20 + 7 * i) for i in range(3)]
    out: dict[str, list[bytes]] = {
        fmt: [encode_tile(t, fmt, 32.0) for t in tiles] for fmt in ("ply", "stream", "splat-textures")
    }
    out["spz"] = [encode_spz(t.splats, version=v) for t in tiles for v in (2, 3, 4)]
    out["gltf-splats"] = [encode_tile(t, "gltf-splats", 32.0) for t in tiles]
    out["glb-check"] = out["gltf-splats"] + [encode_tile(t, "glb", 32.0) for t in tiles[:1]]
    return out


def run(n: int, seed: int, photo_name: str = "lyra2_06", only: set[str] | None = None) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    decoders: dict[str, Callable[[bytes], object]] = {
        "ply": lambda d: decode_splats(d, "ply"),
        "spz": lambda d: decode_splats(d, "spz"),
        "stream": lambda d: decode_splats(d, "stream"),
        "splat-textures": lambda d: decode_splats(d, "splat-textures"),
        "gltf-splats": lambda d: decode_splats(d, "gltf-splats"),
        "glb-check": check_gaussian_splatting,
    }
    rewrap: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
        "stream": _rewrap_stream,
        "spz": _rewrap_spz,
        "splat-textures": _rewrap_textures,
    }
    report: dict[str, object] = {"n_per_decoder": n, "seed": seed}
    for name, valid in inputs(photo_name).items():
        if only is not None and name not in only:
            continue
        counts = {"inputs": 0, "value_error": 0, "decoded": 0, "crashes": 0, "hangs": 0}
        slowest = peak = 0.0
        tracemalloc.start()
        samples: list[str] = []
        for i in range(n):
            base = valid[i % len(valid)]
            data = rewrap[name](base, rng) if name in rewrap and i % 3 == 0 else mutate(base, rng, valid)
            counts["inputs"] += 1
            tracemalloc.reset_peak()
            start = time.perf_counter()
            try:
                decoders[name](data)
                counts["decoded"] += 1
            except ValueError:
                counts["value_error"] += 1
            except Exception:  # the whole point: any other exception is a bug
                counts["crashes"] += 1
                if len(samples) < 3:
                    samples.append(traceback.format_exc(limit=3)[-600:])
            elapsed = time.perf_counter() - start
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            slowest = max(slowest, elapsed)
            counts["hangs"] += int(elapsed > HANG_S)
        tracemalloc.stop()
        report[name] = {
            **counts,
            "slowest_ms": round(slowest * 1000, 1),
            "peak_mib": round(peak / 2**20, 1),
            "crash_samples": samples,
        }
    if only is None or "caps" in only:
        report["caps"] = caps(inputs(photo_name)["stream"][0])
    return report


def _stream_claiming(valid: bytes, count: int, body: bool = True) -> bytes:
    """``valid``'s header claiming ``count`` splats over a zstd frame of that many zero splats
    (without ``body``, an empty frame)."""
    payload = zstandard.ZstdCompressor().compress(bytes(BYTES_PER_SPLAT_RAW * count if body else 0))
    head = bytearray(valid[:HEADER_SIZE])
    struct.pack_into("<II", head, 8, count, len(payload))
    struct.pack_into("<I", head, HEADER_SIZE - 4, zlib.crc32(payload, zlib.crc32(bytes(head[: HEADER_SIZE - 4]))))
    return bytes(head) + payload


def _spz_claiming(points: int, body: bool) -> bytes:
    """A v3 SPZ claiming ``points``; with ``body``, a gzip body of that many zero points."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflate.compress(struct.pack("<IIIBBBB", SPZ_MAGIC, 3, points, 0, 12, 0, 0))]
    for _ in range(20 * points // (1 << 20) if body else 0):
        parts.append(deflate.compress(bytes(1 << 20)))
    parts.append(deflate.compress(bytes(20 * points % (1 << 20) if body else 0)))
    return b"".join([*parts, deflate.flush()])


def caps(valid_stream: bytes) -> dict[str, object]:
    """Inputs claiming past each decoder's cap: every one refused, how fast, with what memory."""
    crafted = {
        "stream: cap + 1 splats": ("stream", _stream_claiming(valid_stream, DEFAULT_MAX_SPLATS + 1)),
        "stream: 4.2 M splats": ("stream", _stream_claiming(valid_stream, 1 << 22)),
        "stream: 2^32 - 1 splats, empty frame": ("stream", _stream_claiming(valid_stream, 2**32 - 1, body=False)),
        "spz: cap + 1 points": ("spz", _spz_claiming(DEFAULT_MAX_POINTS + 1, body=True)),
        "spz: 16.8 M points": ("spz", _spz_claiming(1 << 24, body=True)),
    }
    out: dict[str, object] = {}
    for label, (fmt, data) in crafted.items():
        tracemalloc.start()
        start = time.perf_counter()
        try:
            decode_splats(data, fmt)
            outcome = "decoded"
        except ValueError as exc:
            outcome = f"refused: {exc}"
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[label] = {"bytes": len(data), "outcome": outcome, "ms": round(elapsed * 1000, 2), "peak_kib": peak >> 10}
    return out


def main() -> None:
    # Hostile floats overflow on the way in (NaN, 1e38 logits): numpy's warnings are expected noise.
    warnings.simplefilter("ignore", RuntimeWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="mutated inputs per decoder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decoders", help="comma-separated names to fuzz (default: all)")
    args = parser.parse_args()
    only = set(args.decoders.split(",")) if args.decoders else None
    print(json.dumps(run(args.n, args.seed, only=only)))


if __name__ == "__main__":
    main()
