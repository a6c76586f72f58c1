"""Authenticates every RPC, including grpc.health.v1, before the handler runs (observed §5.3).

Verification happens inside the wrapped handler, i.e. on the worker thread (not on gRPC's
polling thread), and the resulting Principal is published through `current_principal`.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from reference.domain.authn import ANONYMOUS, Authenticator, Principal
from reference.domain.errors import Unauthenticated
from reference.wire.status import abort

AUTHORIZATION_KEY = "authorization"

current_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "current_principal", default=ANONYMOUS
)

_log = logging.getLogger(__name__)


def _first_authorization(metadata: Any) -> str | None:
    # gRPC lower-cases keys; only the first value counts (observed §5.1). Every other key,
    # `sourceid` included, is ignored.
    for key, value in metadata or ():
        if key == AUTHORIZATION_KEY:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        authorization = _first_authorization(handler_call_details.invocation_metadata)
        wrap = self._unary if not handler.response_streaming else self._streaming
        return handler._replace(
            unary_unary=wrap(handler.unary_unary, authorization),
            unary_stream=wrap(handler.unary_stream, authorization),
            stream_unary=wrap(handler.stream_unary, authorization),
            stream_stream=wrap(handler.stream_stream, authorization),
        )

    def _principal(self, authorization: str | None, context: grpc.ServicerContext) -> Principal:
        try:
            return self._authenticator.authenticate(authorization)
        except Unauthenticated as error:
            _log.info("rejected unauthenticated call: %s", error.message)
            abort(context, error)

    def _unary(self, behaviour: Callable[..., Any] | None, authorization: str | None) -> Any:
        if behaviour is None:
            return None

        def authenticated(request: Any, context: grpc.ServicerContext) -> Any:
            token = current_principal.set(self._principal(authorization, context))
            try:
                return behaviour(request, context)
            except NotImplementedError:
                # The generated base class raises this for RPCs nobody implements; answer
                # UNIMPLEMENTED without gRPC logging a traceback for every such call.
                context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")
            finally:
                current_principal.reset(token)

        return authenticated

    def _streaming(self, behaviour: Callable[..., Any] | None, authorization: str | None) -> Any:
        if behaviour is None:
            return None

        def authenticated(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            principal = self._principal(authorization, context)
            token = current_principal.set(principal)
            try:
                responses = behaviour(request, context)
            finally:
                current_principal.reset(token)
            yield from responses

        return authenticated
