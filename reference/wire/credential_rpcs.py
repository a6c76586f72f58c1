"""CredentialRpcs: Connect, GetVersion, CheckHealth, the credential RPCs and SelectUser.

A thin translation layer: protobuf in, domain call, protobuf out. Every outcome is a response
or a deliberate gRPC status; unexpected failures become a 65535 status, never a crash.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from reference.domain.errors import PermissionDenied, StatusError, Unauthenticated
from reference.wire import status
from reference.wire.auth_gate import current_principal
from reference.wire.proto import common_pb2, milvus_pb2

if TYPE_CHECKING:
    from reference.app import Application

_log = logging.getLogger(__name__)
_connection_ids = itertools.count(int(time.time() * 1000) % (1 << 40))

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _guarded(wrap_status: Callable[[common_pb2.Status], Any]) -> Callable[[Handler], Handler]:
    """Turn domain errors into the RPC's response (or abort); contain unexpected failures."""

    def decorate(method: Handler) -> Handler:
        @functools.wraps(method)
        def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return method(self, request, context)
            except StatusError as error:
                return wrap_status(status.from_error(error))
            except (PermissionDenied, Unauthenticated) as error:
                denied = error
            except Exception as error:
                _log.error("internal error in %s: %s", method.__name__, type(error).__name__)
                return wrap_status(status.internal_error("internal error"))
            status.abort(context, denied)

        return handler  # type: ignore[return-value]

    return decorate


def _status_only(value: common_pb2.Status) -> common_pb2.Status:
    return value


class CredentialRpcs:
    app: Application

    @_guarded(lambda s: milvus_pb2.ConnectResponse(status=s))
    def Connect(self, request: Any, context: grpc.ServicerContext) -> Any:
        info = common_pb2.ServerInfo(
            build_tags=self.app.profile.server_version,
            deploy_mode="STANDALONE",
            reserved={"server": "milvus-reference", "profile": self.app.profile.name},
        )
        return milvus_pb2.ConnectResponse(
            status=status.success(), server_info=info, identifier=next(_connection_ids)
        )

    @_guarded(lambda s: milvus_pb2.GetVersionResponse(status=s))
    def GetVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        return milvus_pb2.GetVersionResponse(
            status=status.success(), version=self.app.profile.server_version
        )

    @_guarded(lambda s: milvus_pb2.CheckHealthResponse(status=s, isHealthy=False))
    def CheckHealth(self, request: Any, context: grpc.ServicerContext) -> Any:
        return milvus_pb2.CheckHealthResponse(status=status.success(), isHealthy=True)

    @_guarded(_status_only)
    def CreateCredential(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.app.credentials.create(current_principal.get(), request.username, request.password)
        return status.success()

    @_guarded(_status_only)
    def UpdateCredential(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.app.credentials.update(
            current_principal.get(), request.username, request.oldPassword, request.newPassword
        )
        return status.success()

    @_guarded(_status_only)
    def DeleteCredential(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.app.credentials.delete(current_principal.get(), request.username)
        return status.success()

    @_guarded(lambda s: milvus_pb2.ListCredUsersResponse(status=s))
    def ListCredUsers(self, request: Any, context: grpc.ServicerContext) -> Any:
        names = self.app.credentials.list_usernames(current_principal.get())
        return milvus_pb2.ListCredUsersResponse(status=status.success(), usernames=names)

    @_guarded(lambda s: milvus_pb2.SelectUserResponse(status=s))
    def SelectUser(self, request: Any, context: grpc.ServicerContext) -> Any:
        wanted = request.user.name if request.HasField("user") else None
        names = self.app.credentials.select(current_principal.get(), wanted)
        # Roles are not modelled: every user, root included, has none (observed §3.3).
        results = [milvus_pb2.UserResult(user=milvus_pb2.UserEntity(name=n)) for n in names]
        return milvus_pb2.SelectUserResponse(status=status.success(), results=results)
