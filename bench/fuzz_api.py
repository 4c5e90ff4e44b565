"""Fuzz the server's surfaces against a real ``worldbridge serve``; print one JSON object of counts.

The strategies of tests/api_fuzz.py (the suite runs a small sample of them): unary gRPC calls
(well-formed messages with extreme values, and raw bytes), StreamTiles updates of any value, and
WebSocket control messages (JSON nested deep and wide, huge numbers and strings). Per surface:
inputs tried, outcomes by name, crashes (anything but a status or close code with a message,
or a dead server), the slowest answer; and the server's peak and final resident memory.

    .venv/bin/python bench/fuzz_api.py [--n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.benches.viewers import rss_bytes
from tests.api_fuzz import (
    PROPER_CLOSE,
    PROPER_GRPC,
    control_messages,
    grpc_stream_outcome,
    grpc_unary_outcome,
    unary_requests,
    viewer_updates,
    websocket_outcome,
)
from tests.transport_support import server_with_world


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="inputs per surface")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder, server_with_world(Path(folder), "fuzz", workers=1) as (server, world):
        rss_start = rss_bytes(server.process.pid) / 2**20
        with grpc.insecure_channel(server.target) as channel:

            def surface(name: str, proper: set[str], strategy: st.SearchStrategy, answer: Callable[[Any], str]) -> None:
                outcomes: Counter[str] = Counter()
                slowest = 0.0
                began = time.perf_counter()

                @settings(max_examples=args.n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                @given(strategy)
                def one(value: object) -> None:
                    nonlocal slowest
                    started = time.perf_counter()
                    outcomes[answer(value)] += 1
                    slowest = max(slowest, time.perf_counter() - started)

                one()
                crashes = sum(c for o, c in outcomes.items() if o not in proper)
                alive = server.process.poll() is None
                results[name] = {
                    "tried": sum(outcomes.values()),
                    "outcomes": dict(outcomes.most_common()),
                    "crashes": crashes + (0 if alive else 1),
                    "slowest_s": round(slowest, 3),
                    "seconds": round(time.perf_counter() - began, 1),
                }

            surface("grpc_unary", PROPER_GRPC, unary_requests([world]), lambda v: grpc_unary_outcome(channel, *v))
            surface(
                "grpc_stream",
                PROPER_GRPC,
                st.lists(viewer_updates([world]), min_size=1, max_size=2),
                lambda v: grpc_stream_outcome(channel, [u.SerializeToString() for u in v]),
            )
            surface(
                "websocket_json",
                PROPER_CLOSE,
                st.lists(control_messages([world]), min_size=1, max_size=2),
                lambda v: asyncio.run(websocket_outcome(server.http_url, world, v)),
            )
        results["server_rss_mb"] = {
            "start": round(rss_start),
            "end": round(rss_bytes(server.process.pid) / 2**20),
            "peak": round(peak_rss_mb(server.process.pid)),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
