"""Raw gRPC driver over the pymilvus.grpc_gen stubs, with explicit metadata on every call.

It shows what the server does: every server answer (success, error Status, gRPC error) becomes
an `Outcome`; only an unreachable server raises `HarnessError`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc

from conformance.drivers.errors import HarnessError

__all__ = ["HarnessError", "Outcome", "WireClient", "b64", "basic_token"]

DEFAULT_TIMEOUT = 10.0
_SUCCESS = 0
# Details gRPC itself produces when no connection could be made (not a server answer).
_CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]
_TRANSPORT_HINTS = ("failed to connect", "connection refused", "dns resolution failed")


@dataclass(frozen=True)
class Outcome:
    kind: Literal["ok", "status_error", "rpc_error"]
    grpc_code: str
    status_code: int | None
    error_code: int | None
    reason: str
    payload: Any = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def describe(self) -> str:
        if self.kind == "ok":
            return "ok"
        if self.kind == "rpc_error":
            return f"gRPC {self.grpc_code}: {self.reason}"
        return f"status code={self.status_code} error_code={self.error_code}: {self.reason}"


def b64(raw: bytes | str) -> str:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return base64.b64encode(data).decode("ascii")


def basic_token(user: str, password: str) -> str:
    """The authorization value pymilvus sends: base64('user:password')."""
    return b64(f"{user}:{password}")


def _status_outcome(status: common_pb2.Status, payload: Any) -> Outcome:
    code = status.code
    error_code = status.error_code
    if code == _SUCCESS and error_code == _SUCCESS:
        return Outcome("ok", "OK", code, error_code, status.reason, payload)
    return Outcome("status_error", "OK", code, error_code, status.reason, None)


class WireClient:
    """One client identity on one channel. `metadata` (if given) is sent verbatim instead of the
    user/password header, so tests can send arbitrary headers."""

    def __init__(
        self,
        address: str,
        user: str | None = None,
        password: str | None = None,
        *,
        metadata: Sequence[tuple[str, str | bytes]] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.address = address
        self.timeout = timeout
        # A private subchannel pool: gRPC otherwise shares connections (and their reconnect
        # back-off after a restart) between all channels to the same address.
        self._channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
        self._stub = milvus_pb2_grpc.MilvusServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self.user = user
        self._metadata: list[tuple[str, str | bytes]] = []
        if metadata is not None:
            self._metadata = list(metadata)
        else:
            self.rebind(user, password)

    # -- identity -------------------------------------------------------------------------------
    def rebind(self, user: str | None, password: str | None) -> None:
        """Send `user:password` from now on (what a reconnect with new credentials does)."""
        self.user = user
        if user is None or password is None:
            self._metadata = []
        else:
            self._metadata = [("authorization", basic_token(user, password))]

    def close(self) -> None:
        self._channel.close()

    def wait_until_reachable(self, timeout: float = 10.0) -> bool:
        """Block until the channel (re)connects, e.g. after a server restart."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            return False
        return True

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic call ---------------------------------------------------------------------------
    def call(self, method_name: str, request: Any) -> Outcome:
        """Invoke MilvusService.<method_name>(request) with this client's metadata."""
        method = getattr(self._stub, method_name, None)
        if method is None:
            raise HarnessError(f"MilvusService has no method {method_name!r}")
        return self._invoke(method, request)

    def _invoke(self, method: Any, request: Any) -> Outcome:
        try:
            response = method(request, metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as exc:
            return self._rpc_error(exc)
        return self._decode(response)

    def _rpc_error(self, exc: grpc.RpcError) -> Outcome:
        code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
        details = (exc.details() if hasattr(exc, "details") else str(exc)) or ""
        if code == grpc.StatusCode.UNAVAILABLE and any(
            hint in details.lower() for hint in _TRANSPORT_HINTS
        ):
            raise HarnessError(f"target {self.address} unreachable: {details}") from exc
        return Outcome("rpc_error", code.name, None, None, details, None)

    @staticmethod
    def _decode(response: Any) -> Outcome:
        if isinstance(response, common_pb2.Status):
            return _status_outcome(response, None)
        if isinstance(response, health_pb2.HealthCheckResponse):
            return Outcome("ok", "OK", None, None, "", response.status)
        status = getattr(response, "status", None)
        if status is None:
            return Outcome("ok", "OK", None, None, "", response)
        payload: Any = response
        if isinstance(response, milvus_pb2.ListCredUsersResponse):
            payload = list(response.usernames)
        elif isinstance(response, milvus_pb2.GetVersionResponse):
            payload = response.version
        elif isinstance(response, milvus_pb2.BoolResponse):
            payload = response.value
        elif isinstance(response, milvus_pb2.ShowCollectionsResponse):
            payload = list(response.collection_names)
        elif isinstance(response, milvus_pb2.SelectUserResponse):
            payload = [r.user.name for r in response.results]
        return _status_outcome(status, payload)

    # -- typed helpers --------------------------------------------------------------------------
    def connect(self) -> Outcome:
        info = common_pb2.ClientInfo(sdk_type="conformance-wire", user=self.user or "")
        return self.call("Connect", milvus_pb2.ConnectRequest(client_info=info))

    def get_version(self) -> Outcome:
        return self.call("GetVersion", milvus_pb2.GetVersionRequest())

    def check_health(self) -> Outcome:
        return self.call("CheckHealth", milvus_pb2.CheckHealthRequest())

    def health_check(self) -> Outcome:
        """Standard grpc.health.v1 Health/Check on the same server."""
        return self._invoke(self._health.Check, health_pb2.HealthCheckRequest(service=""))

    def create_credential(
        self, user: str, password: str, raw_password_b64: str | None = None
    ) -> Outcome:
        encoded = raw_password_b64 if raw_password_b64 is not None else b64(password)
        request = milvus_pb2.CreateCredentialRequest(username=user, password=encoded)
        return self.call("CreateCredential", request)

    def update_credential(
        self,
        user: str,
        old_password: str,
        new_password: str,
        raw_old_password_b64: str | None = None,
    ) -> Outcome:
        """`raw_old_password_b64` is sent as oldPassword verbatim (e.g. text that is not base64)."""
        encoded_old = (
            raw_old_password_b64 if raw_old_password_b64 is not None else b64(old_password)
        )
        request = milvus_pb2.UpdateCredentialRequest(
            username=user, oldPassword=encoded_old, newPassword=b64(new_password)
        )
        return self.call("UpdateCredential", request)

    def delete_credential(self, user: str) -> Outcome:
        return self.call("DeleteCredential", milvus_pb2.DeleteCredentialRequest(username=user))

    def list_cred_users(self) -> Outcome:
        return self.call("ListCredUsers", milvus_pb2.ListCredUsersRequest())

    def select_user(self, user: str) -> Outcome:
        request = milvus_pb2.SelectUserRequest(user=milvus_pb2.UserEntity(name=user))
        return self.call("SelectUser", request)

    def show_collections(self) -> Outcome:
        return self.call("ShowCollections", milvus_pb2.ShowCollectionsRequest())

    def has_collection(self, name: str = "cf_probe") -> Outcome:
        return self.call("HasCollection", milvus_pb2.HasCollectionRequest(collection_name=name))

    def search(self, collection: str = "cf_probe", dim: int = 2) -> Outcome:
        """A minimal well-formed search: one float vector, top 1, field `vector`."""
        return self.call("Search", minimal_search_request(collection, dim))


def minimal_search_request(collection: str, dim: int) -> milvus_pb2.SearchRequest:
    import struct

    vector = struct.pack(f"<{dim}f", *([0.5] * dim))
    group = common_pb2.PlaceholderGroup(
        placeholders=[
            common_pb2.PlaceholderValue(
                tag="$0", type=common_pb2.PlaceholderType.FloatVector, values=[vector]
            )
        ]
    )
    params = [
        common_pb2.KeyValuePair(key="anns_field", value="vector"),
        common_pb2.KeyValuePair(key="topk", value="1"),
        common_pb2.KeyValuePair(key="metric_type", value="L2"),
        common_pb2.KeyValuePair(key="params", value="{}"),
    ]
    return milvus_pb2.SearchRequest(
        collection_name=collection,
        dsl="",
        dsl_type=common_pb2.DslType.BoolExprV1,
        placeholder_group=group.SerializeToString(),
        search_params=params,
        nq=1,
    )
