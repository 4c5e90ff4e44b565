"""Paging through the world list: one rule for every transport."""

from __future__ import annotations

from bridge.core.errors import InvalidRequestError
from bridge.core.worlds import Worlds
from bridge.world.store import WorldRow

DEFAULT_PAGE = 50
MAX_PAGE = 500


def page_size(requested: int) -> int:
    """The page size to serve for the one asked (0: the default)."""
    size = requested or DEFAULT_PAGE
    if size > MAX_PAGE:
        raise InvalidRequestError(f"page_size {size} exceeds {MAX_PAGE}")
    return size


def page_offset(token: str) -> int:
    """The offset a page token names ("" is the first page)."""
    try:
        offset = int(token or 0)
    except ValueError:
        offset = -1
    if offset < 0:
        raise InvalidRequestError(f"page_token {token!r} is not valid")
    return offset


async def list_page(worlds: Worlds, size: int, offset: int) -> tuple[list[WorldRow], str]:
    """Up to ``size`` worlds from ``offset`` (see :func:`page_size`) and the next page's token
    ("" after the last page)."""
    rows = await worlds.list_worlds(size + 1, offset)  # one more: is there a next page?
    return rows[:size], str(offset + size) if len(rows) > size else ""
