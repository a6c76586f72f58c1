"""Registers the Milvus service so that an undecodable request gets a Status, not INTERNAL.

The generated `add_MilvusServiceServicer_to_server` lets protobuf's parser fail inside gRPC
(invalid UTF-8 in a string field, truncated bytes), which a client sees as gRPC INTERNAL with
no Milvus status. Here each unary handler is built from the service descriptor with a
deserializer that hands the failure to the handler, which answers code 1100 (invalid
parameter) in the method's own response type. Everything else is as generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass

from reference.domain.errors import StatusError
from reference.wire import status
from reference.wire.auth_gate import GuardedServer
from reference.wire.proto import common_pb2, milvus_pb2

SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
INVALID_PARAMETER = 1100  # merr ErrParameterInvalid (observed §0)


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request protobuf could not parse; carries the parser's reason."""

    reason: str


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as error:
            return UndecodableRequest(str(error))

    return deserialize


def _invalid_request_answer(response_class: Any, reason: str, context: grpc.ServicerContext) -> Any:
    answer = status.from_error(
        StatusError(INVALID_PARAMETER, "IllegalArgument", f"{reason}: invalid parameter")
    )
    if response_class is common_pb2.Status:
        return answer
    if "status" in response_class.DESCRIPTOR.fields_by_name:
        return response_class(status=answer)
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, answer.reason)  # no Status field to carry it
    raise AssertionError("unreachable: context.abort raises")


def _guarded(behaviour: Callable[..., Any], response_class: Any) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, UndecodableRequest):
            return _invalid_request_answer(response_class, request.reason, context)
        return behaviour(request, context)

    return handle


def add_milvus_service(servicer: Any, server: grpc.Server | GuardedServer) -> None:
    """Like the generated registration, for the unary methods (streaming ones stay unknown,
    which gRPC answers UNIMPLEMENTED, as the generated base class would)."""
    handlers = {}
    for method in SERVICE.methods:
        if method.client_streaming or method.server_streaming:
            continue
        request_class = GetMessageClass(method.input_type)
        response_class = GetMessageClass(method.output_type)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _guarded(getattr(servicer, method.name), response_class),
            request_deserializer=_lenient(request_class.FromString),
            response_serializer=response_class.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
