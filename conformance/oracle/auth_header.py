"""Per-request authentication oracle: the verdict for arbitrary gRPC metadata given the set of
credentials that are valid right now.  # observed §5.1, §5.2, §5.3"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence

from conformance.oracle.params import ProfileParams
from conformance.oracle.verdict import ACCEPTED, Verdict, rejected

_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

Metadata = Sequence[tuple[str, str | bytes]]


def std_b64decode(value: bytes) -> bytes | None:
    """Strict standard base64 with required padding (Go base64.StdEncoding, which skips CR/LF);
    None when malformed."""
    data = value.replace(b"\r", b"").replace(b"\n", b"")
    if len(data) % 4:
        return None
    body = data.rstrip(b"=")
    if len(data) - len(body) > 2 or any(b not in _B64_ALPHABET for b in body):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def authorization_value(metadata: Metadata) -> bytes | None:
    """The first `authorization` value (keys are case-insensitive in gRPC); other keys, such as
    `sourceid`, carry no authority (no bypass header, observed §5.3)."""
    for key, value in metadata:
        if key.lower() == "authorization":
            return value.encode("latin-1") if isinstance(value, str) else bytes(value)
    return None


def credentials_valid(valid: Mapping[str, str], user: bytes, password: bytes) -> bool:
    for name, secret in valid.items():
        if hmac.compare_digest(name.encode("utf-8"), user):
            return hmac.compare_digest(secret.encode("utf-8"), password)
    return False


def auth_verdict(params: ProfileParams, metadata: Metadata, valid: Mapping[str, str]) -> Verdict:
    """Expected answer to any RPC sent with `metadata` when `valid` maps each existing user to
    its current password. Every RPC is authenticated; nothing but valid credentials passes."""
    raw = authorization_value(metadata)
    if raw is None:
        return rejected(params, "auth_missing", "rpc_error")
    decoded = std_b64decode(raw)
    if decoded is None:
        return rejected(params, "auth_bad_token", "rpc_error")
    user, colon, password = decoded.partition(b":")
    if not colon:
        return rejected(params, "auth_api_key", "rpc_error")
    if credentials_valid(valid, user, password):
        return ACCEPTED
    return rejected(params, "auth_wrong_credentials", "rpc_error")


def basic_metadata(user: str, password: str) -> list[tuple[str, str]]:
    """The header pymilvus sends: base64("user:password") in `authorization`."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return [("authorization", token)]
