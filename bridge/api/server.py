"""The server process: gRPC WorldService (with health and reflection) and the same service over
HTTP/WebSocket, both over one :class:`Worlds` (store, worker pool and generation scheduler)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge.api.auth import TokenInterceptor, is_loopback
from bridge.api.grpc_service import SERVICE_NAME, WorldServicer, add_world_service
from bridge.api.http import build_app
from bridge.api.tiles3d_routes import add_tiles3d_routes
from bridge.core.errors import InvalidRequestError
from bridge.core.tiles3d_live import DEFAULT_GEO
from bridge.core.worlds import Worlds
from bridge.formats import format_revisions
from bridge.generate.base import GeneratorOptions
from bridge.generate.workers import make_pool
from bridge.world.photos import MAX_PHOTO_BYTES
from bridge.world.store import WorldStore

log = logging.getLogger(__name__)

# Set on purpose: requests carry at most one photo (plus framing); replies are chunked to 1 MiB,
# so 4 MiB leaves room without ever needing a larger limit for a large tile.
MAX_RECEIVE_BYTES = MAX_PHOTO_BYTES + 64 * 1024
MAX_SEND_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_S = 5.0
# Keepalive: clients may ping every 10 s (engines keep NAT and proxy mappings open that way);
# gRPC's default policy answers pings more often than every 5 minutes without data with "too
# many pings" and drops the connection. The server pings idle connections itself once a minute.
MIN_CLIENT_PING_INTERVAL_MS = 5_000
KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", MIN_CLIENT_PING_INTERVAL_MS),
    ("grpc.http2.min_ping_interval_without_data_ms", MIN_CLIENT_PING_INTERVAL_MS),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.http2.max_pings_without_data", 0),
]
# Flow control is the back-pressure on what a client sends: gRPC's BDP probing grows a stream's
# receive window to megabytes, and a client flooding updates faster than the loop applies them
# then had minutes of them buffered (a stream acting on poses 80 s old). A fixed window of this
# many bytes holds about 1,000 pose updates, a fraction of a second's work; the client waits for
# the rest. It bounds a photo upload to window/RTT (1.3 MB/s over a 50 ms round trip).
RECEIVE_WINDOW_BYTES = 64 * 1024
FLOW_CONTROL_OPTIONS = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", RECEIVE_WINDOW_BYTES)]


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051  # 0 picks a free port (printed in the ready line)
    http_port: int = 8080  # HTTP/WebSocket; 0 picks a free port, -1 turns HTTP off
    data_dir: Path = Path("worldbridge-data")
    token: str | None = None
    photo: Path | None = None  # make (or reuse) a world from this photo at start
    scene_scale: float = 0.0  # --photo a splat scene: its metres per unit (0: the importer's guess)
    scene_spawn: tuple[float, ...] = ()  # --photo a splat scene: its trainer's first camera (--cameras)
    workers: int | None = None  # generation processes; default: one per core
    geo: tuple[float, float, float] = DEFAULT_GEO  # where the live 3D Tiles place the world (lat, lon, h)


class ConfigError(ValueError):
    pass


def check_config(config: ServerConfig) -> None:
    if config.scene_scale and config.photo is None:
        raise ConfigError("--scale sets the scale of the splat scene given with --photo; there is none")
    if config.scene_spawn and config.photo is None:
        raise ConfigError("--cameras sets the spawn of the splat scene given with --photo; there is none")
    if not is_loopback(config.host) and not config.token:
        raise ConfigError(f"refusing to listen on {config.host} (beyond loopback) without --token")


async def serve(config: ServerConfig, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM; prints one JSON ready line on stdout."""
    check_config(config)
    stop = stop or asyncio.Event()
    store = WorldStore(config.data_dir, format_revisions())
    workers = config.workers or max(1, os.cpu_count() or 1)
    pool = make_pool(workers)
    worlds = Worlds(store, pool, concurrency=workers)
    interceptors = [TokenInterceptor(config.token)] if config.token else []
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
            *KEEPALIVE_OPTIONS,
            *FLOW_CONTROL_OPTIONS,
        ],
    )
    add_world_service(WorldServicer(worlds), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner: web.AppRunner | None = None
    try:
        await server.start()
        http_port = None
        if config.http_port >= 0:
            # Shutdown closes open WebSockets (the app's on_shutdown) before the grace period ends.
            app = build_app(worlds, token=config.token)
            add_tiles3d_routes(app, config.geo)
            runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_GRACE_S)
            await runner.setup()
            await web.TCPSite(runner, config.host, config.http_port).start()
            http_port = int(runner.addresses[0][1])  # the real one when 0 asked for a free port
        world_id = None
        if config.photo is not None:
            options = GeneratorOptions(scene_scale=config.scene_scale, scene_spawn=config.scene_spawn)
            try:
                row, _ = await worlds.create_world(config.photo.read_bytes(), name=config.photo.stem, options=options)
            except InvalidRequestError as exc:
                raise ConfigError(f"--photo {config.photo}: {exc}") from exc
            world_id = row.id
        await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        ready = {
            "event": "ready",
            "grpc": f"{config.host}:{port}",
            "port": port,
            "http": f"http://{_url_host(config.host)}:{http_port}" if http_port is not None else None,
            "http_port": http_port,
            "world_id": world_id,
            "data": str(config.data_dir),
        }
        print(json.dumps(ready), flush=True)
        log.info("serving", extra=ready)
        await stop.wait()
    finally:
        log.info("stopping", extra={"grace_s": SHUTDOWN_GRACE_S})
        await health_servicer.enter_graceful_shutdown()
        if runner is not None:
            await runner.cleanup()
        await server.stop(SHUTDOWN_GRACE_S)
        await worlds.close()
        pool.shutdown(wait=True, cancel_futures=True)
        store.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        print(json.dumps({"event": "stopped"}), file=sys.stderr, flush=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
