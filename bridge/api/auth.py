"""The bearer-token guard: ``authorization: Bearer <token>`` on every call but health checks."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

import grpc

_OPEN_METHODS = ("/grpc.health.v1.Health/",)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_matches(header: str | None, token: str) -> bool:
    expected = f"Bearer {token}"
    return header is not None and hmac.compare_digest(header.encode(), expected.encode())


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self.token = token

        async def deny(request: object, context: grpc.aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong 'authorization: Bearer <token>'")

        # The refusals take their requests as streams, whatever the method's kind, and never read
        # them: a unary handler would be given the whole message first (up to a 32 MiB photo for
        # every caller without the token).
        self._deny_unary = grpc.stream_unary_rpc_method_handler(deny)
        self._deny_streaming = grpc.stream_stream_rpc_method_handler(deny)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if details.method.startswith(_OPEN_METHODS):
            return await continuation(details)
        header = dict(details.invocation_metadata or ()).get("authorization")
        if token_matches(header, self.token):
            return await continuation(details)
        handler = await continuation(details)
        if handler is None:
            return None
        return self._deny_streaming if handler.response_streaming else self._deny_unary
