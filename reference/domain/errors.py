"""Errors the domain raises; the wire layer turns them into statuses or gRPC aborts."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the domain reports to a client."""


class StatusError(DomainError):
    """An answer carried in the response's Status (the RPC itself succeeds).

    `error_code` is the *name* of the legacy `common.ErrorCode` enum member; the wire layer
    resolves it, so the domain never needs protobuf.
    """

    def __init__(self, code: int, error_code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.error_code = error_code
        self.reason = reason


class Unauthenticated(DomainError):
    """The request's credentials were missing or wrong (gRPC UNAUTHENTICATED)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(DomainError):
    """The authenticated caller lacks the privilege (gRPC PERMISSION_DENIED)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
