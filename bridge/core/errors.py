"""The service's one error vocabulary: google.rpc codes, and the exceptions that carry them.

The core decides which code a failure gets; a transport only maps the code to its wire (a gRPC
status, an HTTP status, a WebSocket close code) and passes the message on unchanged.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """The google.rpc.Code values the service uses (the numbers are the wire's)."""

    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    RESOURCE_EXHAUSTED = 8
    INTERNAL = 13
    UNAUTHENTICATED = 16


class ServiceError(Exception):
    """A request the service refuses: a code and a message saying what to fix."""

    code: Code = Code.INTERNAL

    @property
    def message(self) -> str:
        return str(self)


class NotFoundError(ServiceError, LookupError):
    """The named world, tile or asset does not exist."""

    code = Code.NOT_FOUND


class InvalidRequestError(ServiceError, ValueError):
    """The request is malformed; the message says what to fix."""

    code = Code.INVALID_ARGUMENT


class TooManyStreamsError(ServiceError):
    """The peer has ``StreamOptions.max_streams_per_peer`` streams open already."""

    code = Code.RESOURCE_EXHAUSTED


class DamagedDataError(ServiceError):
    """Stored bytes were found damaged and could not be made again."""

    code = Code.INTERNAL


def code_of(error: Exception) -> Code:
    """A ServiceError's code; any other ValueError (a value a transport could not decode) is a bad argument."""
    return error.code if isinstance(error, ServiceError) else Code.INVALID_ARGUMENT
