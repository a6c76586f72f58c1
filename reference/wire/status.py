"""Domain errors -> `common.Status` messages or gRPC aborts."""

from __future__ import annotations

from typing import NoReturn

import grpc

from reference.domain.errors import PermissionDenied, StatusError, Unauthenticated
from reference.domain.profile import Profile
from reference.wire.proto import common_pb2

SUCCESS_ERROR_CODE = common_pb2.ErrorCode.Value("Success")
UNEXPECTED_ERROR_CODE = common_pb2.ErrorCode.Value("UnexpectedError")
UNEXPECTED_CODE = 65535  # merr's code for errors it does not classify (observed §0)


def success() -> common_pb2.Status:
    return common_pb2.Status(code=0, error_code=SUCCESS_ERROR_CODE, reason="")


def from_error(error: StatusError) -> common_pb2.Status:
    return common_pb2.Status(
        code=error.code,
        error_code=common_pb2.ErrorCode.Value(error.error_code),
        reason=error.reason,
    )


def internal_error(reason: str) -> common_pb2.Status:
    return common_pb2.Status(code=UNEXPECTED_CODE, error_code=UNEXPECTED_ERROR_CODE, reason=reason)


def abort(context: grpc.ServicerContext, error: Unauthenticated | PermissionDenied) -> NoReturn:
    code = (
        grpc.StatusCode.UNAUTHENTICATED
        if isinstance(error, Unauthenticated)
        else grpc.StatusCode.PERMISSION_DENIED
    )
    context.abort(code, error.message)
    raise AssertionError("unreachable: context.abort raises")


def check_profile_codes(profile: Profile) -> None:
    """Fail fast at start-up if a profile names an ErrorCode the protocol does not have."""
    for kind, spec in profile.errors.items():
        try:
            common_pb2.ErrorCode.Value(spec.error_code)
        except ValueError:
            raise ValueError(
                f"profile {profile.name}: error {kind} has unknown error_code"
            ) from None
