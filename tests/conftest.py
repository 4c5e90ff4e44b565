"""Shared fixtures: the sample photos and a real server process."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bridge.client.server_process import ServerProcess, start_server

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "photos"
T = TypeVar("T")


def photo_path(name: str = "lyra2_06") -> Path:
    path = PHOTOS / f"{name}.png"
    if not path.exists():
        pytest.skip(f"sample photos not found at {PHOTOS}")
    return path


def run(coro: Coroutine[Any, Any, T], timeout_s: float = 120.0) -> T:
    """Run a coroutine with an upper bound, so a hang fails instead of stalling the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("server-data"), workers=2)
    try:
        yield process
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"
