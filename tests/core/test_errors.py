"""One error vocabulary: the core names the code, every transport maps every code, and paging is
the core's rule whichever transport asks."""

from __future__ import annotations

import pytest

from bridge.api import grpc_service, http
from bridge.core.errors import Code, InvalidRequestError, NotFoundError, TooManyStreamsError, code_of
from bridge.core.pages import MAX_PAGE, page_offset, page_size


def test_every_code_has_a_status_on_every_transport() -> None:
    assert set(grpc_service._STATUS) == set(http._HTTP_STATUS) == set(http._CLOSE_CODES) == set(Code)


def test_errors_carry_their_code() -> None:
    assert code_of(NotFoundError("x")) is Code.NOT_FOUND
    assert code_of(InvalidRequestError("x")) is Code.INVALID_ARGUMENT
    assert code_of(TooManyStreamsError("x")) is Code.RESOURCE_EXHAUSTED
    assert code_of(ValueError("a value the wire could not decode")) is Code.INVALID_ARGUMENT


def test_paging_rules() -> None:
    assert page_size(0) == 50 and page_size(MAX_PAGE) == MAX_PAGE
    assert page_offset("") == 0 and page_offset("100") == 100
    with pytest.raises(InvalidRequestError, match="exceeds 500"):
        page_size(MAX_PAGE + 1)
    for token in ("x", "-1"):
        with pytest.raises(InvalidRequestError, match="is not valid"):
            page_offset(token)
