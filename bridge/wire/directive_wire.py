"""Directive results and listings on the wire: protobuf for gRPC, JSON for HTTP (same fields)."""

from __future__ import annotations

import json
from typing import Any

from bridge.core.worlds import DirectiveListing, DirectiveResult, GlbUpload
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb


def result_json(result: DirectiveResult) -> dict[str, Any]:
    return {
        "version": result.version,
        "directive_id": result.directive_id,
        "touched_tiles": result.touched_tiles,
        "notes": list(result.notes),
    }


def glb_json(upload: GlbUpload) -> dict[str, Any]:
    width, height, depth = upload.extent_m
    return {
        "sha256": upload.sha256,
        "size": upload.size,
        "triangles": upload.triangles,
        "width_m": width,
        "height_m": height,
        "depth_m": depth,
    }


def glb_to_proto(upload: GlbUpload) -> pb.GlbInfo:
    return pb.GlbInfo(**glb_json(upload))


def result_to_proto(result: DirectiveResult) -> pb.DirectiveResult:
    return pb.DirectiveResult(**result_json(result))


def listing_json(listing: DirectiveListing) -> dict[str, Any]:
    """The whole history, oldest first; a revert names (and shows) the directive it undid."""
    applied = {e.target: e.directive for e in listing.entries if e.op == "apply"}
    active = set(listing.active)
    entries = []
    for e in listing.entries:
        directive = applied.get(e.target)
        entries.append(
            {
                "version": e.version,
                "op": e.op,
                "directive_id": e.target,
                "directive": directive.to_json() if directive is not None else None,
                "created_unix_ms": e.created_unix_ms,
                "in_effect": e.op == "apply" and e.target in active,
            }
        )
    return {"version": listing.version, "entries": entries}


def listing_to_proto(listing: DirectiveListing) -> pb.ListDirectivesResponse:
    entries = [
        pb.DirectiveEntry(
            version=e["version"],
            op=e["op"],
            directive_id=e["directive_id"],
            directive_json=json.dumps(e["directive"], sort_keys=True) if e["directive"] is not None else "",
            created_unix_ms=e["created_unix_ms"],
            in_effect=e["in_effect"],
        )
        for e in listing_json(listing)["entries"]
    ]
    return pb.ListDirectivesResponse(version=listing.version, entries=entries)
