"""The WebSocket's JSON Schema (proto/worldbridge/v1/stream.schema.json) as validators, one per
direction, for the schema tests and the browser tests (no tests here)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from tests.conftest import REPO

SCHEMA = json.loads((REPO / "proto" / "worldbridge" / "v1" / "stream.schema.json").read_text())


def validator(definition: str) -> jsonschema.Draft202012Validator:
    """A validator for one of the schema's definitions (its $refs resolved within the schema)."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    top = {k: v for k, v in SCHEMA.items() if k != "oneOf"}
    return jsonschema.Draft202012Validator({**top, "$ref": f"#/$defs/{definition}"})


SERVER = validator("ServerMessage")
VIEWER = validator("ViewerUpdate")


def problems(message: Any, sent_by_viewer: bool) -> list[str]:
    """Why ``message`` does not validate in its direction ([] when it does)."""
    return [e.message for e in (VIEWER if sent_by_viewer else SERVER).iter_errors(message)]
