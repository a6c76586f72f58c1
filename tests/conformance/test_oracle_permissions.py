"""Unit tests of the caller-permission oracle and the undecodable-old-password reset oracle."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.oracle import (
    caller_verdict,
    decode_error_offset,
    load_params,
    reset_undecodable_old_verdict,
)
from conformance.oracle.params import ProfileError, params_from_mapping

DOCS = load_params("docs-2.1")
V23 = load_params("milvus-2.3")
V26 = load_params("milvus-2.6")
RBAC_RPCS = ["ListCredUsers", "CreateCredential", "DeleteCredential", "UpdateCredential"]


@pytest.mark.parametrize("rpc", RBAC_RPCS)
@pytest.mark.parametrize("target_is_self", [False, True])
def test_docs_has_no_roles_so_every_caller_passes(rpc: str, target_is_self: bool) -> None:
    verdict = caller_verdict(
        DOCS, "alice", rpc, caller_is_root=False, target_is_self=target_is_self
    )
    assert verdict.accepted and verdict.outcome_class == "accepted"


def test_docs_does_not_cover_select_user() -> None:
    with pytest.raises(ValueError, match="SelectUser is not covered"):
        caller_verdict(DOCS, "alice", "SelectUser", caller_is_root=False, target_is_self=True)


@pytest.mark.parametrize(
    ("rpc", "privilege"),
    [
        ("ListCredUsers", "PrivilegeSelectOwnership"),
        ("CreateCredential", "PrivilegeCreateOwnership"),
        ("DeleteCredential", "PrivilegeDropOwnership"),
        ("UpdateCredential", "PrivilegeUpdateUser"),
        ("SelectUser", "PrivilegeSelectUser"),
    ],
)
def test_rbac_denies_a_user_without_grants(rpc: str, privilege: str) -> None:
    v23 = caller_verdict(V23, "alice", rpc, caller_is_root=False, target_is_self=False)
    assert not v23.accepted
    assert (v23.kind, v23.grpc_code) == ("rpc_error", "PERMISSION_DENIED")
    assert v23.reason == f"{privilege}: permission deny to alice"  # observed §4.3 [OBS 2.3.5]
    v26 = caller_verdict(V26, "alice", rpc, caller_is_root=False, target_is_self=False)
    assert v26.reason == f"{privilege}: permission deny to alice in the `default` database"


@pytest.mark.parametrize("params", [V23, V26], ids=["2.3", "2.6"])
def test_rbac_lets_a_user_reset_and_select_itself_only(params) -> None:
    for rpc in ("UpdateCredential", "SelectUser"):
        assert caller_verdict(
            params, "alice", rpc, caller_is_root=False, target_is_self=True
        ).accepted
    for rpc in ("ListCredUsers", "CreateCredential", "DeleteCredential"):
        verdict = caller_verdict(params, "alice", rpc, caller_is_root=False, target_is_self=True)
        assert verdict.grpc_code == "PERMISSION_DENIED", rpc  # deleting oneself is denied too


@pytest.mark.parametrize("params", [DOCS, V23, V26], ids=["docs", "2.3", "2.6"])
def test_root_is_never_denied(params) -> None:
    for rpc in params.permissions.rpcs:
        for target_is_self in (False, True):
            verdict = caller_verdict(
                params, "root", rpc, caller_is_root=True, target_is_self=target_is_self
            )
            assert verdict.accepted, (params.name, rpc)


def test_unknown_rpc_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Search is not covered"):
        caller_verdict(V23, "alice", "Search", caller_is_root=False, target_is_self=False)


def _mapping(**permissions) -> dict:
    return {
        "name": "x",
        "compare": "outcome",
        "rbac": True,
        "root": {"user": "root", "default_password": "Milvus"},
        "username": {
            "max_length": 32,
            "length_unit": "bytes",
            "first_char": ["ascii_letter"],
            "later_chars": ["ascii_letter"],
            "trim_before_validation": False,
            "stored_as_given": True,
        },
        "password": {"min_length": 6, "max_length": 256, "length_unit": "bytes"},
        "permissions": permissions,
    }


def test_profile_permissions_are_validated() -> None:
    with pytest.raises(ProfileError, match="unknown credential RPCs"):
        params_from_mapping(_mapping(rpcs=["Search"]))
    with pytest.raises(ProfileError, match="privilege for every RPC"):
        params_from_mapping(_mapping(rpcs=["ListCredUsers"]))
    outcome_only = params_from_mapping(
        _mapping(rpcs=["ListCredUsers"], privileges={"ListCredUsers": "P"})
    )
    verdict = caller_verdict(
        outcome_only, "a", "ListCredUsers", caller_is_root=False, target_is_self=False
    )
    assert verdict.outcome_class == "gRPC PERMISSION_DENIED" and verdict.reason is None


# ---- Go base64 error offsets and the undecodable-old-password reset -------------------------


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("@@@", 0),  # fixtures/snapshots/milvus-2.3.5.json update-old-invalid-base64
        ("UHdk!x==", 4),  # illegal byte
        ("UHdkUHc", 4),  # short final quantum: offset of its start
        ("UHdkUA=", 7),  # "xx=" without the second '='
        ("UA==UA==", 4),  # data after padding
        ("U===", 1),  # padding after one character
        ("UH=x", 2),  # "xx=" then not "=": Go blames the byte before
        ("UHc=\nx", 5),  # newline skipped, then garbage
        ("", None),
        ("UHc9", None),
        ("UHc=", None),
        ("UA==\r\n", None),
    ],
)
def test_go_base64_error_offset(value: str, offset: int | None) -> None:
    assert decode_error_offset(value) == offset


@given(st.binary(max_size=40))
def test_encoded_bytes_always_decode(raw: bytes) -> None:
    assert decode_error_offset(base64.b64encode(raw)) is None


@given(st.text(alphabet="AB+/=\n@", max_size=12))
@example(value="AAAA=")
def test_offset_agrees_with_python_on_validity(value: str) -> None:
    """Where both decoders define the answer (no newlines), validity must agree.

    Python's decoder tolerates excess padding after a full quantum ("AAAA="); Go's padded
    StdEncoding needs whole 4-character quanta, so Python counts only with length % 4 == 0.
    """
    if "\n" in value:
        return
    try:
        base64.b64decode(value, validate=True)
        python_ok = len(value) % 4 == 0
    except (binascii.Error, ValueError):
        python_ok = False
    assert (decode_error_offset(value) is None) == python_ok


def test_undecodable_old_password_verdicts() -> None:
    docs = reset_undecodable_old_verdict(DOCS, "@@@")
    assert (docs.accepted, docs.outcome_class, docs.reason) == (False, "error status", None)
    v23 = reset_undecodable_old_verdict(V23, "UHdk!x==")
    assert (v23.code, v23.error_code) == (65535, 1)
    assert v23.reason == "decode old password failed: illegal base64 data at input byte 4"
    assert reset_undecodable_old_verdict(V26, "@@@").reason.endswith("input byte 0")
    with pytest.raises(ValueError, match="valid base64"):
        reset_undecodable_old_verdict(V23, "UHc9")
