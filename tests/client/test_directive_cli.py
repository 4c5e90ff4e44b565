"""``worldbridge directive apply|list|revert`` against a real ``worldbridge serve``."""

from __future__ import annotations

import json

import pytest

from bridge.cli import main
from bridge.client.client import WorldBridgeClient
from bridge.client.server_process import ServerProcess
from tests.conftest import run
from tests.stream_support import small_photo


def test_apply_list_and_revert_from_the_shell(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    async def create() -> str:
        async with WorldBridgeClient(server.target) as client:
            return (await client.create_world(small_photo(), name="directive-cli")).id

    world = run(create(), 120)
    at = ["--server", server.target, "--json"]  # the newest world: the one just made
    tower = {"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 5}}, "structure": "a stone tower"}
    assert main(["directive", "apply", json.dumps(tower), *at]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert (applied["world_id"], applied["version"], applied["directive_id"]) == (world, 1, 1)
    assert applied["touched_tiles"] > 0

    bad = {**tower, "structure": "a stone zeppelin"}
    assert main(["directive", "apply", json.dumps(bad), *at]) == 2
    assert "INVALID_ARGUMENT" in (err := capsys.readouterr().err) and "'zeppelin'" in err
    assert main(["directive", "revert", "1", "--world", world, *at]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2
    assert main(["directive", "revert", "1", *at]) == 2  # already reverted
    assert "already reverted" in capsys.readouterr().err
    assert main(["directive", "list", *at]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(e["op"], e["in_effect"]) for e in listing["entries"]] == [("apply", False), ("revert", False)]
    assert json.loads(listing["entries"][0]["directive_json"])["structure"] == "a stone tower"
    assert main(["directive", "apply", *at]) == 2  # no directive given
    assert "needs the directive" in capsys.readouterr().err
