"""How much memory a refusal took (no tests here): hostile claims must be refused before the
decoder allocates for them."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest


def refused_peak(decode: Callable[[], object], match: str) -> int:
    """Run ``decode``, which must raise ValueError matching ``match``; the peak of memory traced
    meanwhile (tracemalloc sees numpy's buffers too), bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            decode()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
