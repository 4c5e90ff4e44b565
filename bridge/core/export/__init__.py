"""Exports: a region of a world as ordinary files (GLB, PLY, SPZ, splat glTF, 3D Tiles) with a
provenance manifest that rebuilds them byte for byte. Every transport and the CLI run the same
:func:`plan_export`; see docs/protocol.md for the wire forms."""

from bridge.core.export.manifest import MANIFEST_NAME, PROVENANCE_NAME, Origin, read_manifest
from bridge.core.export.request import EXPORT_FORMATS, ExportRequest, Region
from bridge.core.export.run import ExportEvent, ExportFile, ExportPlan, ExportProgress, plan_export

__all__ = [
    "EXPORT_FORMATS",
    "MANIFEST_NAME",
    "PROVENANCE_NAME",
    "ExportEvent",
    "ExportFile",
    "ExportPlan",
    "ExportProgress",
    "ExportRequest",
    "Origin",
    "Region",
    "plan_export",
    "read_manifest",
]
