"""A PreparedWorld as bytes (an .npz) and back: what the store keeps of ``prepare``'s work."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from bridge.generate.base import GeneratorOptions, PreparedWorld, Sky
from bridge.world.camera import Camera

FORMAT_VERSION = 1
_PAYLOAD_PREFIX = "payload/"


def dumps(world: PreparedWorld) -> bytes:
    meta = {
        "format_version": FORMAT_VERSION,
        "generator": world.generator,
        "generator_version": world.generator_version,
        "options": world.options.to_json(),
        "spawn": world.spawn.to_json(),
    }
    arrays = {f"{_PAYLOAD_PREFIX}{name}": value for name, value in world.payload.items()}
    arrays["sky"] = world.sky.panorama
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def loads(data: bytes) -> PreparedWorld:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not a prepared world: {exc}") from exc
    meta = json.loads(arrays.pop("meta").tobytes())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"prepared world format {meta.get('format_version')} is not {FORMAT_VERSION}")
    payload = {name[len(_PAYLOAD_PREFIX) :]: v for name, v in arrays.items() if name.startswith(_PAYLOAD_PREFIX)}
    return PreparedWorld(
        generator=meta["generator"],
        generator_version=meta["generator_version"],
        options=GeneratorOptions.from_json(meta["options"]),
        spawn=Camera.from_json(meta["spawn"]),
        sky=Sky(panorama=arrays["sky"]),
        payload=payload,
    )
