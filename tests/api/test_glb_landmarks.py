"""Uploaded GLB landmarks through the real faces: a tower made with trimesh and textured with a
photo's red lacquer is uploaded (HTTP and gRPC), placed 40 m in front of a sample world's spawn,
and seen there from the spawn, standing on the ground; only its tiles change and a revert brings
their bytes back. Broken, huge and unknown GLBs are refused with the reason and change nothing."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import aiohttp
import grpc
import numpy as np
import pytest

from bridge.cli import main
from bridge.client.client import WorldBridgeClient
from bridge.formats.ply import decode_ply
from bridge.formats.splats import SplatCloud
from bridge.generate.directives.glb import MAX_GLB_BYTES
from bridge.render.rasterize import render
from bridge.stream.interest import StreamOptions
from bridge.world.directives import parse_directive
from bridge.world.keys import TileKey, tile_at
from tests.conftest import run
from tests.glb_support import TOWER_M, many_instances_glb, nan_glb, points_only_glb, red_lacquer, tower_glb
from tests.stream_support import small_photo
from tests.transport_support import both_faces

LOD = 1  # 16 m tiles: what a viewer holds 40 m out


def test_an_uploaded_glb_stands_40_m_ahead_and_a_revert_restores_the_bytes(tmp_path: Path) -> None:
    texture = red_lacquer()
    colour = np.asarray(texture, np.float64).reshape(-1, 3).mean(axis=0) / 255.0
    glb = tower_glb(texture)

    async def scenario() -> None:
        async with both_faces(tmp_path, StreamOptions()) as faces, aiohttp.ClientSession() as http:
            world, _ = await faces.worlds.create_world(small_photo(), name="glb")
            spawn = world.spec.spawn
            x, _, z = (float(v) for v in spawn.position)
            f = spawn.forward
            heading = math.atan2(float(f[0]), -float(f[2]))
            cx, cz = x + 40 * math.sin(heading), z - 40 * math.cos(heading)
            async with http.post(f"{faces.http_url}/v1/worlds/{world.id}/glbs", data=glb) as response:
                assert response.status == 200
                uploaded = await response.json()
            assert uploaded["triangles"] == 12 and uploaded["height_m"] == pytest.approx(TOWER_M[1])
            async with WorldBridgeClient(faces.grpc_target) as client:
                again = await client.upload_glb(world.id, glb)  # the same bytes: the same asset
                assert again.sha256 == uploaded["sha256"]
                assert await client.get_asset(world.id, f"glb-{again.sha256}") == glb

                a, b = tile_at(cx - 16, cz - 16, LOD, 8.0), tile_at(cx + 16, z, LOD, 8.0)
                keys = [TileKey(LOD, ix, iz) for iz in range(a.iz, b.iz + 1) for ix in range(a.ix, b.ix + 1)]

                async def tiles() -> dict[TileKey, tuple[str, bytes]]:
                    got = await asyncio.gather(*(client.get_tile(world.id, k, "ply") for k in keys))
                    return {t.key: (t.sha256, t.data) for t in got}

                def view(held: dict[TileKey, tuple[str, bytes]]) -> np.ndarray:
                    cloud = SplatCloud.concat([decode_ply(data) for _, data in held.values()])
                    k = spawn.intrinsics
                    camera = spawn.with_intrinsics(k.scaled(160, round(k.height * 160 / k.width)))
                    return render(cloud, camera, (0.5, 0.6, 0.7)).image

                before = await tiles()
                directive = {
                    "kind": "place",
                    "region": {"circle": {"center": [cx, cz], "radius": 6}},
                    "glb": again.sha256,
                }
                result = await client.apply_directive(world.id, json.dumps(directive))
                assert result.touched_tiles > 0
                after = await tiles()
                touches = parse_directive(directive)
                changed = {k for k in keys if after[k][0] != before[k][0]}
                assert changed == {k for k in keys if touches.touches(k, 8.0)}, "exactly the touched tiles"

                seen_before, seen_after = view(before), view(after)
                new = np.abs(seen_after - seen_before).max(axis=2) > 0.1
                assert new.mean() > 0.015, f"only {new.mean():.3%} of the view changed"
                # What changed wears the photo's lacquer: the texture's colour, not a flat stand-in.
                assert np.abs(seen_after[new].mean(axis=0) - colour).max() < 0.06, (
                    seen_after[new].mean(axis=0),
                    colour,
                )
                cols = np.flatnonzero(new.any(axis=0))
                assert abs((cols.min() + cols.max()) / 2 - new.shape[1] / 2) < new.shape[1] * 0.15  # ahead

                # On the ground: its lowest splats meet the ground under it, none hang or sink far.
                added = SplatCloud.concat([decode_ply(after[k][1]) for k in changed]).positions.astype(np.float64)
                near = added[np.hypot(added[:, 0] - cx, added[:, 2] - cz) < 3.2]
                old = SplatCloud.concat([decode_ply(before[k][1]) for k in changed]).positions.astype(np.float64)
                ground = old[np.hypot(old[:, 0] - cx, old[:, 2] - cz) < 6][:, 1]
                foot = near[:, 1].min()
                assert ground.min() - 0.6 < foot < np.median(ground) + 0.3, (foot, ground.min(), np.median(ground))
                assert near[:, 1].max() - foot == pytest.approx(TOWER_M[1], abs=0.5)

                await client.revert_directive(world.id, result.directive_id)
                assert {k: v[0] for k, v in (await tiles()).items()} == {k: v[0] for k, v in before.items()}

    run(scenario(), 120)


def test_bad_glbs_are_refused_with_the_reason_and_change_nothing(tmp_path: Path) -> None:
    good = tower_glb(red_lacquer())
    huge = good[:8] + (MAX_GLB_BYTES + 1024).to_bytes(4, "little") + bytes(MAX_GLB_BYTES + 1024 - 12)
    bad = [
        (b"this is a photo, not a model", "not a GLB"),
        (good[: len(good) // 2], "truncated"),
        (points_only_glb(), "no triangle mesh"),
        (nan_glb(), "not finite"),
        (many_instances_glb(25), "more than 2000000 triangles"),
        (huge, "at most 33554432"),
    ]

    async def scenario() -> None:
        async with both_faces(tmp_path, StreamOptions()) as faces, aiohttp.ClientSession() as http:
            world, _ = await faces.worlds.create_world(small_photo(), name="bad-glb")
            assets = faces.worlds.store.list_assets(world.id)
            url = f"{faces.http_url}/v1/worlds/{world.id}"
            async with WorldBridgeClient(faces.grpc_target) as client:
                for data, reason in bad:
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await client.upload_glb(world.id, data)
                    if data is huge:  # this in-process gRPC server keeps grpc's 4 MiB message limit
                        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    else:
                        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                        assert reason in (refused.value.details() or ""), refused.value.details()
                    async with http.post(f"{url}/glbs", data=data) as response:
                        assert response.status == 400
                        assert reason in (await response.json())["error"]["message"]
                assert faces.worlds.store.list_assets(world.id) == assets, "nothing stored"

                # A place naming a GLB never uploaded here, or one too big for its region.
                unknown = {"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 6}}, "glb": "ab" * 32}
                sha = (await client.upload_glb(world.id, good)).sha256
                cramped = {"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 2}}, "glb": sha}
                scaled = {**cramped, "region": {"circle": {"center": [0, -40], "radius": 6}}, "scale": 0}
                for directive, reason in [
                    (unknown, "was uploaded"),
                    (cramped, "outside the region"),
                    (scaled, "scale"),
                ]:
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await client.apply_directive(world.id, json.dumps(directive))
                    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                    assert reason in (refused.value.details() or ""), refused.value.details()
                    async with http.post(f"{url}/directives", data=json.dumps(directive)) as response:
                        assert response.status == 400
                assert (await client.list_directives(world.id)).version == 0, "nothing changed"

                # The CLI: a broken --glb ends the command (exit 2) before any directive is sent.
                broken = tmp_path / "broken.glb"
                broken.write_bytes(good[:100])
                place = json.dumps({"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 6}}})
                args = ["directive", "apply", place, "--glb", str(broken), "--server", faces.grpc_target]
                assert await asyncio.to_thread(main, args) == 2
                assert (await client.list_directives(world.id)).version == 0

    run(scenario(), 120)
