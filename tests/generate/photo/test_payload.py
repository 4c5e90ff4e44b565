"""The photo backend's payload record (bridge.generate.photo.payload): named fields over the
persisted arrays, which round-trip key for key and byte for byte."""

from __future__ import annotations

import numpy as np

from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.generator import LIFT_RADIUS_M
from bridge.generate.photo.payload import PhotoPayload
from bridge.world.photos import decode_photo
from tests.conftest import photo_path


def test_the_payload_reads_and_writes_the_persisted_arrays_unchanged() -> None:
    options = GeneratorOptions()
    world = PhotoGenerator().prepare(decode_photo(photo_path("lyra2_00").read_bytes()), options)
    payload = PhotoPayload.from_arrays(world.payload)
    again = payload.to_arrays()
    assert again.keys() == world.payload.keys()
    for name, array in world.payload.items():
        assert (again[name].dtype, again[name].shape) == (array.dtype, array.shape), name
        assert again[name].tobytes() == array.tobytes(), name
    assert payload.lift_radius_m == LIFT_RADIUS_M
    np.testing.assert_array_equal(payload.camera.position, world.spawn.position)
    assert (payload.camera.intrinsics.height, payload.camera.intrinsics.width) == payload.kind.shape
