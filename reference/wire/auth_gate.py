"""Authenticates every RPC, including grpc.health.v1, before its handler runs (observed §5.3).

Each method handler is wrapped once, when it is registered, instead of through a
grpc.ServerInterceptor: gRPC's interceptor pipeline bypasses the registered-method fast path and
rebuilds the handler on every call, which cost about a quarter of the unary RPC rate. Methods
nobody registered stay unknown to gRPC (UNIMPLEMENTED), exactly as with an interceptor.

Verification happens on the worker thread, and the resulting Principal is published through
`current_principal` for the duration of the call.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def first_authorization(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    # gRPC lower-cases keys; only the first value counts (observed §5.1). Every other key,
    # `sourceid` included, is ignored.
    for key, value in metadata or ():
        if key == AUTHORIZATION_KEY:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


class AuthGate:
    """Decides, per call, who the caller is; aborts UNAUTHENTICATED when nobody is proven."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    def admit(
        self, method: str, metadata: Sequence[tuple[str, Any]], context: grpc.ServicerContext
    ) -> Principal:
        try:
            return self._authenticator.authenticate(first_authorization(metadata))
        except Unauthenticated as error:
            _log.info("rejected unauthenticated call: %s", error.message)
            abort(context, error)


def _unary(gate: AuthGate, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def authenticated(request: Any, context: grpc.ServicerContext) -> Any:
        token = current_principal.set(gate.admit(method, context.invocation_metadata(), context))
        try:
            return behaviour(request, context)
        except NotImplementedError:
            # The generated base class raises this for RPCs nobody implements; answer
            # UNIMPLEMENTED without gRPC logging a traceback for every such call.
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")
        finally:
            current_principal.reset(token)

    return authenticated


def _streaming(gate: AuthGate, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def authenticated(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        token = current_principal.set(gate.admit(method, context.invocation_metadata(), context))
        try:
            responses = behaviour(request, context)
        finally:
            current_principal.reset(token)
        yield from responses

    return authenticated


def guard_handler(
    gate: AuthGate, method: str, handler: grpc.RpcMethodHandler
) -> grpc.RpcMethodHandler:
    """`handler` with authentication in front of whichever behaviour it carries."""
    wrap = _streaming if handler.response_streaming else _unary

    def guarded(behaviour: Callable[..., Any] | None) -> Callable[..., Any] | None:
        return None if behaviour is None else wrap(gate, method, behaviour)

    return handler._replace(
        unary_unary=guarded(handler.unary_unary),
        unary_stream=guarded(handler.unary_stream),
        stream_unary=guarded(handler.stream_unary),
        stream_stream=guarded(handler.stream_stream),
    )


class _GuardedGenericHandler(grpc.GenericRpcHandler):
    def __init__(self, gate: AuthGate, inner: grpc.GenericRpcHandler) -> None:
        self._gate = gate
        self._inner = inner
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(details)
        if handler is None:
            return None
        method = details.method
        if method not in self._guarded:  # wrap once per method, not per call
            self._guarded[method] = guard_handler(self._gate, method, handler)
        return self._guarded[method]


class GuardedServer:
    """The registration half of grpc.Server, wrapping every handler in the auth gate.

    Pass it to generated `add_*_to_server` functions in place of the server itself.
    """

    def __init__(self, server: grpc.Server, gate: AuthGate) -> None:
        self._server = server
        self._gate = gate

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_GuardedGenericHandler(self._gate, handler) for handler in handlers)
        )

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        guarded = {
            name: guard_handler(self._gate, f"/{service}/{name}", handler)
            for name, handler in handlers.items()
        }
        self._server.add_registered_method_handlers(service, guarded)
