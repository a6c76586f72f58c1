"""The REST v2 answer envelope: `{"code": 0, "data": ...}` or `{"code": N, "message": ...}`."""

from __future__ import annotations

from typing import Any

from reference.domain.errors import StatusError

NOT_AUTHENTICATED = 1800  # merr.ErrNeedAuthenticate
NOT_AUTHENTICATED_MESSAGE = "user hasn't authenticated"
PRIVILEGE_NOT_PERMITTED = 1401  # merr.ErrPrivilegeNotPermitted


class RestError(Exception):
    """An answer that is not a success. Milvus sends most of them with HTTP 200."""

    def __init__(self, code: int, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def from_status(error: StatusError) -> RestError:
    """A domain status keeps its Milvus code and message, as the gRPC status would."""
    return RestError(error.code, error.reason)


def unauthenticated() -> RestError:
    # observed §8.1: every authentication failure looks the same over REST.
    return RestError(NOT_AUTHENTICATED, NOT_AUTHENTICATED_MESSAGE, http_status=401)


def permission_denied(message: str) -> RestError:
    # observed §8.2: an RBAC denial is HTTP 403 (checkAuthorizationV2).
    return RestError(PRIVILEGE_NOT_PERMITTED, message, http_status=403)


def success(data: Any) -> dict[str, Any]:
    return {"code": 0, "data": data}
