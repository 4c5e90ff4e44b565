"""``worldbridge quality``: the quality report (:mod:`bridge.quality.report`), its views rendered
as jobs (:mod:`bridge.quality.views`) in this process or a pool of them (:mod:`bridge.quality.pool`)."""

from bridge.quality.report import (
    DRIFT_EVERY_STEPS,
    SPAWN_HEADINGS_DEG,
    STEP_M,
    WALK_IN_M,
    QualityOptions,
    run_quality,
)
from bridge.quality.views import SIDE_OFFSETS_M

__all__ = [
    "DRIFT_EVERY_STEPS",
    "SIDE_OFFSETS_M",
    "SPAWN_HEADINGS_DEG",
    "STEP_M",
    "WALK_IN_M",
    "QualityOptions",
    "run_quality",
]
