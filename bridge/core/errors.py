"""The service's one error vocabulary: google.rpc codes, and the exceptions that carry them.

The core decides which code a failure gets; a transport only maps the code to its wire (a gRPC
status, an HTTP status, a WebSocket close code) and passes the message on unchanged.
"""

from __future__ import annotations

import errno
import sqlite3
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


class StoreWriteError(ServiceError):
    """The store could not take bytes: a write failed in the OS or in SQLite. The write left
    nothing half-done; what was stored before is unaffected."""

    code = Code.INTERNAL


class StoreFullError(StoreWriteError):
    """The store's disk (or the process's file size limit) has no room for the write."""

    code = Code.RESOURCE_EXHAUSTED


# A write refused for want of room: no space, over quota, or past the process's file size limit.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def store_write_error(error: BaseException) -> StoreWriteError | None:
    """The client-facing error for a write to the store that failed (an OS error for want of
    room, or SQLite's "full" or I/O error), else None: other failures keep their own meaning.
    SQLite reports a write past the file size limit as an I/O error, not as full."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return StoreFullError(f"it could not be stored: the server's disk is full ({error.strerror or 'no room'})")
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL:
            return StoreFullError("it could not be stored: the server's disk is full (its index has no room)")
        if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
            return StoreWriteError(
                f"it could not be stored: the server could not write its index ({error}; is its disk full?)"
            )
    return None


def code_of(error: Exception) -> Code:
    """A ServiceError's code; any other ValueError (a value a transport could not decode) is a bad argument."""
    return error.code if isinstance(error, ServiceError) else Code.INVALID_ARGUMENT
