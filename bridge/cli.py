"""``worldbridge``: the one command line users, tests, benches and demos all go through."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

DEFAULT_DATA = Path("worldbridge-data")
SCALE_HELP = (
    "a splat scene (.ply/.spz) only: metres per scene unit, overriding the importer's guess of 1 (part of the"
    " world's identity; stated in the world info)"
)
CAMERAS_HELP = (
    "a splat scene only: its trainer's cameras.json (3DGS layout); the world's viewer starts at its first camera,"
    " looking where it looked (part of the world's identity)"
)
SPAWN_HELP = (
    "a splat scene only: X,Y,Z,FX,FY,FZ, where its viewer starts and looks, in the trainer's frame (OpenCV: y down,"
    " z forward), instead of --cameras"
)


def _scene_spawn(args: argparse.Namespace) -> tuple[float, ...]:
    """The spawn --cameras (a trainer's cameras.json) or --spawn (six numbers) gives, () without
    either; ValueError (SceneError is one) or OSError, saying why, if it cannot."""
    from bridge.generate.scene.cameras import check_spawn, spawn_from_cameras

    if args.cameras and args.spawn:
        raise ValueError("give --cameras or --spawn, not both")
    if args.cameras:
        return spawn_from_cameras(Path(args.cameras).read_bytes())
    if not args.spawn:
        return ()
    try:
        spawn = tuple(float(v) for v in args.spawn.split(","))
    except ValueError:
        raise ValueError(f"--spawn {args.spawn!r}: six numbers with commas were expected") from None
    check_spawn(spawn)
    return spawn


def _cmd_serve(args: argparse.Namespace) -> int:
    from bridge import logs
    from bridge.api.server import ConfigError, ServerConfig, serve
    from bridge.core.tiles3d_live import parse_geo

    logs.configure(args.log_level)
    try:
        geo = parse_geo(args.geo)
        spawn = _scene_spawn(args)
    except (ValueError, OSError) as exc:  # SceneError is a ValueError
        print(f"worldbridge serve: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data),
        token=args.token,
        photo=Path(args.photo) if args.photo else None,
        workers=args.workers,
        http_port=args.http_port,
        geo=geo,
        scene_scale=args.scale,
        scene_spawn=spawn,
    )
    try:
        asyncio.run(serve(config))
    except ConfigError as exc:
        print(f"worldbridge serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_tile(args: argparse.Namespace) -> int:
    from bridge.core.errors import InvalidRequestError
    from bridge.core.worlds import check_scene_options
    from bridge.formats import FORMATS, encode_tile
    from bridge.formats.spz import WRITE_VERSIONS, encode_spz
    from bridge.generate.base import GeneratorOptions, SourceGenerator
    from bridge.generate.directives.apply import generate_directed
    from bridge.generate.directives.glb import GlbError, load_glb
    from bridge.generate.registry import generator_for, load_generator
    from bridge.generate.scene.source import SceneError
    from bridge.world.directives import DirectiveError, parse_directive_list
    from bridge.world.keys import TileKey
    from bridge.world.photos import PhotoError, decode_photo

    try:
        key = TileKey.parse(args.key)
    except ValueError as exc:
        print(f"worldbridge tile: {exc}", file=sys.stderr)
        return 2
    if args.format not in FORMATS:
        print(f"worldbridge tile: unknown format {args.format!r}; known: {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    if args.spz_version not in WRITE_VERSIONS:
        print(f"worldbridge tile: SPZ version {args.spz_version} is not one of {WRITE_VERSIONS}", file=sys.stderr)
        return 2
    try:
        spawn = _scene_spawn(args)
    except (OSError, ValueError) as exc:
        print(f"worldbridge tile: {exc}", file=sys.stderr)
        return 2
    options = GeneratorOptions(seed=args.seed, scene_scale=args.scale, scene_spawn=spawn)
    if args.base_tile_m is not None:
        options = replace(options, base_tile_m=args.base_tile_m)
    directives = []
    if args.directives:
        try:
            directives = parse_directive_list(Path(args.directives).read_bytes())
        except (OSError, DirectiveError) as exc:
            print(f"worldbridge tile: --directives {args.directives}: {exc}", file=sys.stderr)
            return 2
    try:
        source = Path(args.photo).read_bytes()
        generator = load_generator(generator_for(source, args.generator))
        check_scene_options(options, isinstance(generator, SourceGenerator))
        if isinstance(generator, SourceGenerator):  # a splat scene (.ply / .spz)
            world = generator.prepare_source(source, options)
        else:
            world = generator.prepare(decode_photo(source), options)
    except (OSError, LookupError, PhotoError, SceneError, InvalidRequestError) as exc:
        print(f"worldbridge tile: {exc}", file=sys.stderr)
        return 2
    # Offline, a place directive's "glb" names one of the --glb files by its sha256.
    glbs: dict[str, bytes] = {}
    for name in args.glb or []:
        try:
            data = Path(name).read_bytes()
            load_glb(data)
        except (OSError, GlbError) as exc:
            print(f"worldbridge tile: --glb {name}: {exc}", file=sys.stderr)
            return 2
        glbs[hashlib.sha256(data).hexdigest()] = data
    missing = sorted({d.params["glb"] for d in directives if "glb" in d.params} - set(glbs))
    if missing:
        print(f"worldbridge tile: --directives names GLBs not given with --glb: {', '.join(missing)}", file=sys.stderr)
        return 2
    content = generate_directed(generator, world, key, directives, glbs.__getitem__)
    if args.format == "spz":  # the version asked for (the stream's SPZ tiles stay version 3)
        data = encode_spz(content.splats, version=args.spz_version)
    else:
        data = encode_tile(content, args.format, options.base_tile_m)
    Path(args.out).write_bytes(data)
    summary = {
        "key": str(key),
        "format": args.format,
        "bytes": len(data),
        "splats": len(content.splats),
        "out": str(args.out),
    }
    print(json.dumps(summary) if args.json else f"wrote {args.out}: {len(content.splats)} splats, {len(data)} bytes")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from bridge.core.errors import ServiceError
    from bridge.core.export import ExportProgress, ExportRequest, Origin, Region, read_manifest
    from bridge.core.export.local import LocalSource, run_local_export, source_from_manifest
    from bridge.generate.base import GeneratorOptions

    def progress(p: ExportProgress) -> None:
        # About twenty lines for a whole export, whatever its size.
        step = max(1, p.tiles_total // 20)
        if p.tiles_done == p.tiles_total or p.tiles_done % step == 0:
            print(f"export: {p.tiles_done}/{p.tiles_total} tiles, {p.bytes_done / 1e6:.1f} MB", file=sys.stderr)

    try:
        if args.from_manifest:
            manifest, request = read_manifest(Path(args.from_manifest).read_bytes())
            source, origin, directives = source_from_manifest(manifest, args.source)
        else:
            if not args.source or not args.region or not args.format:
                raise ValueError("give PHOTO_OR_WORLD, --region and --format (or --from-manifest)")
            request = ExportRequest(
                Region.parse(args.region), args.format, args.lod, args.spz_version, args.tiles_content, args.merged
            )
            options = GeneratorOptions(
                base_tile_m=args.base_tile_m,
                seed=args.seed,
                scene_scale=args.scale,
                scene_spawn=_scene_spawn(args),
            )
            source = LocalSource(args.source, args.generator, options)
            origin = Origin(photo="" if source.is_world_id else args.source)
            directives = None  # the world's own
        glbs = [Path(name).read_bytes() for name in args.glb or []]
        result = run_local_export(
            Path(args.data),
            args.workers,
            source,
            request,
            Path(args.out),
            origin,
            None if args.json else progress,
            directives,
            glbs,
        )
    except (OSError, ServiceError, ValueError) as exc:
        print(f"worldbridge export: {exc}", file=sys.stderr)
        return 2
    summary = {
        "world_id": result.world_id,
        "out": args.out,
        "files": len(result.files),
        "bytes": sum((Path(args.out) / f.path).stat().st_size for f in result.files),
        "seconds": round(result.seconds, 3),
    }
    said = f"wrote {summary['files']} files, {summary['bytes']} bytes to {args.out}"
    print(json.dumps(summary) if args.json else said)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bridge.demo import DemoOptions, run_demo

    options = DemoOptions(
        photo=Path(args.photo) if args.photo else None,
        out_dir=Path(args.out),
        distance_m=args.distance,
        speed_m_s=args.speed,
        radius_m=args.radius,
        workers=args.workers,
    )
    report = run_demo(options)
    if args.json:
        print(json.dumps(report))
    return 0


def _cmd_quality(args: argparse.Namespace) -> int:
    from bridge.quality import QualityOptions, run_quality

    report = run_quality(
        QualityOptions(
            photo=Path(args.photo),
            distance_m=args.distance,
            out_dir=Path(args.out) if args.out else None,
            workers=args.workers,
            processes=args.processes,
            **({"radius_m": args.radius} if args.radius is not None else {}),
            **({"likeness_width": args.likeness_width} if args.likeness_width is not None else {}),
        )
    )
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from bridge.benches import generation

    photo = Path(args.photo) if args.photo else None
    if photo is None:
        from bridge.samples import sample_photo_path

        photo = sample_photo_path()
    if args.which == "stream":
        from bridge.benches.streaming import StreamBenchOptions, bench_stream

        result = bench_stream(
            StreamBenchOptions(
                photo=photo,
                speed_m_s=args.speed,
                radius_m=args.radius,
                duration_s=args.duration,
                cores=args.cores,
                workers=args.workers,
                fmt=args.format,
                transport=args.transport,
            )
        )
    elif args.which == "serve":
        from bridge.benches.serving import ServeBenchOptions, bench_serve

        result = bench_serve(
            ServeBenchOptions(
                photo=photo,
                viewers=args.viewers,
                radius_m=args.radius,
                cores=args.cores,
                workers=args.workers,
                fmt=args.format,
                steps=args.steps,
            )
        )
    elif args.which == "directive":
        from bridge.benches.directive import DirectiveBenchOptions, bench_directive

        result = bench_directive(DirectiveBenchOptions(photo, args.runs, args.cores, args.workers))
    elif args.which == "first-tile":
        from bridge.benches.first_tile import FirstTileBenchOptions, bench_first_tile

        result = bench_first_tile(FirstTileBenchOptions(photo, args.runs, args.cores, args.workers))
    else:
        result = generation.bench_tile(photo, args.count)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bridge.client import directive_cli

    parser = argparse.ArgumentParser(
        prog="worldbridge", description="One photo in, an endless explorable 3D world out, streamed tile by tile."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (gRPC WorldService)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    serve.add_argument("--port", type=int, default=50051, help="gRPC port; 0 picks a free one (default 50051)")
    serve.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="HTTP/WebSocket port; 0 picks a free one, -1 turns HTTP off (default 8080)",
    )
    serve.add_argument("--data", default=str(DEFAULT_DATA), help="data folder: SQLite index and tile blobs")
    serve.add_argument("--token", default=None, help="require 'authorization: Bearer TOKEN' (needed off loopback)")
    serve.add_argument(
        "--photo", default=None, help="make (or reuse) a world from this photo or splat scene (.ply/.spz) at start"
    )
    serve.add_argument("--scale", type=float, default=0.0, help=SCALE_HELP)
    serve.add_argument("--cameras", default=None, help=CAMERAS_HELP)
    serve.add_argument("--spawn", default=None, help=SPAWN_HELP)
    serve.add_argument("--workers", type=int, default=None, help="generation processes (default: one per core)")
    serve.add_argument(
        "--geo",
        default="0,0,0",
        help="LAT,LON,HEIGHT (degrees, degrees, metres on WGS84) where /v1/worlds/ID/tileset.json places the"
        " world's east-north-up plane (default 0,0,0)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_cmd_serve)

    tile = sub.add_parser("tile", help="generate one tile from a photo into a file, without a server")
    tile.add_argument("photo", help="input photo (PNG, JPEG or WebP) or splat scene (3DGS .ply, .spz)")
    tile.add_argument("--key", required=True, help="tile key LOD,IX,IZ (e.g. 0,0,-1 is just in front of the spawn)")
    tile.add_argument("--format", default="ply", help="tile format (ply, ...)")
    tile.add_argument("--out", required=True, help="output file")
    tile.add_argument(
        "--generator", default="", help="generator backend (default: import for a .ply/.spz scene, else photo)"
    )
    tile.add_argument(
        "--spz-version", type=int, default=2, help="--format spz only: SPZ version 2 (default; npm spz-js too), 3 or 4"
    )
    tile.add_argument("--base-tile-m", type=float, default=None, help="edge of a LOD-0 tile, metres (default 8)")
    tile.add_argument("--seed", type=int, default=0, help="world seed")
    tile.add_argument("--scale", type=float, default=0.0, help=SCALE_HELP)
    tile.add_argument("--cameras", default=None, help=CAMERAS_HELP)
    tile.add_argument("--spawn", default=None, help=SPAWN_HELP)
    tile.add_argument("--json", action="store_true", help="print one JSON object")
    tile.add_argument("--directives", default=None, help="a JSON list of directives to generate the tile under")
    tile.add_argument(
        "--glb", action="append", help="a .glb a place directive names by its sha256 (repeat for several)"
    )
    tile.set_defaults(run=_cmd_tile)

    directive_cli.add_parser(sub)

    export = sub.add_parser(
        "export",
        help="a region of a world as files (GLB, PLY, SPZ, splat glTF plain or SPZ-compressed, 3D Tiles) with a"
        " provenance manifest",
        description="Writes one file per tile of the region (or one for all of it with --merged; 3D Tiles: a "
        "tileset over content files), "
        "manifest.json (sources, parameters, every file's sha256, the command that rebuilds them) and "
        "PROVENANCE.txt into --out, which must be absent or empty. See docs/export.md.",
    )
    export.add_argument(
        "source", nargs="?", default=None, help="a photo, a splat scene (.ply/.spz), or the id of a world in --data"
    )
    export.add_argument("--region", default=None, help="X0,Z0,X1,Z1 in world metres (X0 < X1, Z0 < Z1)")
    export.add_argument("--format", default=None, help="glb, ply, spz, gltf-splats, gltf-spz or 3dtiles")
    export.add_argument("--lod", type=int, default=0, help="level of detail of the tiles (0 is the finest)")
    export.add_argument(
        "--spz-version", type=int, default=2, help="SPZ version: 2 (default; every reader, npm spz-js too) or 3"
    )
    export.add_argument(
        "--tiles-content",
        default="glb",
        help="3dtiles only: content as glb meshes (default), gltf-splats or gltf-spz (what CesiumJS draws as splats)",
    )
    export.add_argument(
        "--merged",
        action="store_true",
        help="one file for the whole region (glb, ply, spz, gltf-splats, gltf-spz; up to 1024 tiles) instead of one per"
        " tile",
    )
    export.add_argument(
        "--from-manifest",
        default=None,
        help="rebuild the export a manifest.json describes, under the directives it lists",
    )
    export.add_argument(
        "--glb", action="append", help="a .glb a listed place directive names by its sha256 (repeat for several)"
    )
    export.add_argument("--out", required=True, help="output folder (absent or empty)")
    export.add_argument("--data", default=str(DEFAULT_DATA), help="data folder the world is made in or read from")
    export.add_argument(
        "--generator", default="", help="generator backend (default: import for a .ply/.spz scene, else photo)"
    )
    export.add_argument("--base-tile-m", type=float, default=8.0, help="edge of a LOD-0 tile, metres (default 8)")
    export.add_argument("--seed", type=int, default=0, help="world seed")
    export.add_argument("--scale", type=float, default=0.0, help=SCALE_HELP)
    export.add_argument("--cameras", default=None, help=CAMERAS_HELP)
    export.add_argument("--spawn", default=None, help=SPAWN_HELP)
    export.add_argument("--workers", type=int, default=2, help="generation processes (default 2)")
    export.add_argument("--json", action="store_true", help="no progress; one JSON object on stdout")
    export.set_defaults(run=_cmd_export)

    demo = sub.add_parser("demo", help="the main job: serve a photo's world, walk a player through it, write pictures")
    demo.add_argument(
        "photo", nargs="?", default=None, help="input photo or splat scene (default: the sample shipped inside)"
    )
    demo.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    demo.add_argument("--distance", type=float, default=1000.0, help="metres to walk forward before turning back")
    demo.add_argument("--speed", type=float, default=20.0, help="walking speed, m/s (simulated time)")
    demo.add_argument("--radius", type=float, default=1024.0, help="view radius, metres")
    demo.add_argument("--workers", type=int, default=None, help="server generation processes")
    demo.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")
    demo.set_defaults(run=_cmd_demo)

    quality = sub.add_parser(
        "quality", help="the quality report: spawn PSNR, revisits, seams, drift and likeness over a long walk"
    )
    quality.add_argument("photo", help="input photo")
    quality.add_argument("--distance", type=float, default=10_000.0, help="metres to walk (default 10000)")
    quality.add_argument("--out", default=None, help="folder for the rendered views (default quality-out/PHOTO)")
    quality.add_argument(
        "--processes", type=int, default=1, help="processes rendering the views (default 1; figures the same for any)"
    )
    quality.add_argument(
        "--workers", type=int, default=None, help="server generation processes (default: as many as --processes)"
    )
    # Defaults from bridge.quality (RADIUS_M, LIKENESS_VIEW_WIDTH), not imported here: it pulls in torch.
    quality.add_argument("--radius", type=float, default=None, help="view radius of the walk, metres (default 1024)")
    quality.add_argument(
        "--likeness-width", type=int, default=None, help="pixels across the likeness views (default 640)"
    )
    quality.add_argument("--json", action="store_true", help="one line of JSON on stdout")
    quality.set_defaults(run=_cmd_quality)

    bench = sub.add_parser("bench", help="benchmarks (see bench/README.md); each prints one JSON object")
    bench.add_argument(
        "which",
        choices=["first-tile", "tile", "stream", "serve", "directive"],
        help="first-tile: photo to first tile; tile: one LOD-0 tile; stream: a fast player on a cold world "
        "(holes on entering the view, bytes per km); serve: many viewers on a warm world over gRPC and WebSocket; "
        "directive: ApplyDirective to the changed tiles at a connected viewer",
    )
    bench.add_argument("--photo", default=None, help="input photo (default: the sample shipped inside)")
    bench.add_argument("--count", type=int, default=200, help="tiles to time (bench tile)")
    bench.add_argument(
        "--runs", type=int, default=3, help="fresh servers to time (bench first-tile); directives (bench directive)"
    )
    bench.add_argument("--speed", type=float, default=50.0, help="player speed, m/s (bench stream)")
    bench.add_argument("--radius", type=float, default=256.0, help="view radius, metres (bench stream, serve)")
    bench.add_argument("--duration", type=float, default=20.0, help="seconds of running (bench stream)")
    bench.add_argument("--viewers", type=int, default=32, help="concurrent viewers (bench serve)")
    bench.add_argument("--steps", type=int, default=12, help="pose updates per viewer (bench serve)")
    bench.add_argument(
        "--cores", type=int, default=2, help="cores the server is pinned to (bench first-tile, stream...)"
    )
    bench.add_argument(
        "--workers", type=int, default=2, help="server generation processes (bench first-tile, stream...)"
    )
    bench.add_argument("--format", default="stream", help="tile format viewers ask for (bench stream, serve)")
    bench.add_argument("--transport", default="grpc", choices=["grpc", "websocket"], help="bench stream transport")
    bench.add_argument("--json", action="store_true", help="one line of JSON")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
