"""HTTP `Authorization` -> Principal, through the gRPC server's own Authenticator.

Accepted (observed §8.1): `Bearer user:password` in plain text, split on the first colon, and
`Basic base64(user:password)`. Both are handed to the shared Authenticator as the base64 token
gRPC uses, so REST and gRPC share one verified-credential cache: a reset or a deletion on either
side is enforced on the other at the next call (doc §Reset password, §Delete a user).
"""

from __future__ import annotations

import base64

from reference.domain.authn import Authenticator, Principal
from reference.domain.errors import Unauthenticated
from reference.rest.envelope import RestError, unauthenticated


def _raw(header: str) -> bytes:
    # Starlette decodes header bytes as latin-1; this gives back the bytes the client sent.
    return header.encode("latin-1")


def grpc_token(header: str | None) -> str | None:
    """The base64("user:password") token an HTTP Authorization header stands for."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        if b":" not in _raw(value):
            # A colon-less bearer value is an API key, which open-source Milvus never accepts.
            raise unauthenticated()
        return base64.b64encode(_raw(value)).decode("ascii")
    if scheme.lower() == "basic":
        return value  # already base64; the Authenticator applies Go's strict decoding
    raise unauthenticated()


def authenticate(authenticator: Authenticator, header: str | None) -> Principal:
    """The caller, or RestError 401/1800 (with authentication off, whoever the header claims)."""
    try:
        token = grpc_token(header)
    except RestError:
        if authenticator.enabled:
            raise
        token = None
    try:
        return authenticator.authenticate(token)
    except Unauthenticated:
        raise unauthenticated() from None
