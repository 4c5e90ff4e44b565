"""``worldbridge directive apply|list|revert``: steer a running server's world from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    directive = sub.add_parser(
        "directive",
        help="apply, list or revert a world's directives on a running server",
        description="Directives are persistent, versioned edits (docs/directives.md); the JSON form is "
        "described by proto/worldbridge/v1/directive.schema.json.",
    )
    directive.add_argument("action", choices=["apply", "list", "revert", "upload"])
    directive.add_argument(
        "what",
        nargs="?",
        default=None,
        help="apply: the directive's JSON, @FILE or - (stdin); revert: the directive id; upload: a .glb file",
    )
    directive.add_argument(
        "--glb",
        default=None,
        help="apply: upload this .glb to the world first and set the place directive's 'glb' to its sha256",
    )
    directive.add_argument("--server", default="127.0.0.1:50051", help="gRPC address (default 127.0.0.1:50051)")
    directive.add_argument("--world", default=None, help="world id (default: the server's newest world)")
    directive.add_argument("--token", default=None, help="bearer token, for a server started with --token")
    directive.add_argument("--json", action="store_true", help="print one JSON object")
    directive.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    import grpc  # here, not at the top: every other command starts without loading gRPC

    try:
        result = asyncio.run(_run(args))
    except grpc.aio.AioRpcError as exc:
        print(f"worldbridge directive {args.action}: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"worldbridge directive {args.action}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    elif args.action == "list":
        for entry in result.get("entries", []):
            state = "in effect" if entry.get("in_effect") else ""
            print(
                f"v{entry['version']} {entry['op']} #{entry['directive_id']} {state} {entry.get('directive_json', '')}"
            )
    elif args.action == "upload":
        print(
            f"{result['sha256']}  {result['triangles']} triangles, "
            f"{result['width_m']:.1f} x {result['height_m']:.1f} x {result['depth_m']:.1f} m"
        )
    else:
        notes = "; ".join(result.get("notes", []))
        print(
            f"version {result['version']}: directive {result['directive_id']} {args.action} "
            f"({result.get('touched_tiles', 0)} LOD 0 tiles changed){'; ' + notes if notes else ''}"
        )
    return 0


def _directive_text(what: str | None) -> str:
    if what is None:
        raise ValueError("apply needs the directive: its JSON, @FILE or - for stdin")
    if what == "-":
        return sys.stdin.read()
    if what.startswith("@"):
        return Path(what[1:]).read_text()
    return what


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from google.protobuf import json_format

    from bridge.client.client import WorldBridgeClient

    async with WorldBridgeClient(args.server, token=args.token) as client:
        world = args.world
        if world is None:
            worlds = (await client.list_worlds(page_size=1)).worlds
            if not worlds:
                raise ValueError(f"the server at {args.server} has no world; pass --world or create one")
            world = worlds[0].id
        if args.action == "upload":
            if args.what is None:
                raise ValueError("upload needs a .glb file")
            response = await client.upload_glb(world, Path(args.what).read_bytes())
        elif args.action == "apply":
            text = _directive_text(args.what)
            if args.glb is not None:
                # Uploaded first; a GLB the server refuses ends the command before any directive.
                info = await client.upload_glb(world, Path(args.glb).read_bytes())
                data = json.loads(text)
                if not isinstance(data, dict):
                    raise ValueError("--glb goes with one place directive (a JSON object)")
                text = json.dumps({**data, "glb": info.sha256})
            response = await client.apply_directive(world, text)
        elif args.action == "revert":
            if args.what is None or not args.what.isdigit():
                raise ValueError(f"revert needs a directive id (a number); got {args.what!r}")
            response = await client.revert_directive(world, int(args.what))
        else:
            response = await client.list_directives(world)
        out = json_format.MessageToDict(
            response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        out["world_id"] = world
        return _numbers(out)


_UINT64_FIELDS = ("version", "directive_id", "created_unix_ms", "size", "triangles")


def _numbers(value: Any) -> Any:
    """proto3 JSON writes 64-bit integers as strings; a shell user reads numbers."""
    if isinstance(value, dict):
        return {k: int(v) if k in _UINT64_FIELDS and isinstance(v, str) else _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value
