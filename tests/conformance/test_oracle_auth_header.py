"""Unit tests of the per-request authentication oracle."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.drivers.wire import Outcome
from conformance.oracle import auth_verdict, basic_metadata, load_params, mismatch, std_b64decode

V23 = load_params("milvus-2.3")
DOCS = load_params("docs-2.1")
VALID = {"root": "Milvus", "alice": "pa:ss\x00word"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ([], "auth_missing"),
        ([("authorization", "!!")], "auth_bad_token"),
        ([("authorization", "cm9vdDpNaWx2dXM")], "auth_bad_token"),  # unpadded
        ([("authorization", "Bearer " + _b64("root:Milvus"))], "auth_bad_token"),
        ([("authorization", _b64("rootMilvus"))], "auth_api_key"),
        ([("authorization", "")], "auth_api_key"),
        ([("authorization", _b64("root:milvus"))], "auth_wrong_credentials"),
        ([("authorization", _b64("root:"))], "auth_wrong_credentials"),
        ([("authorization", _b64("bob:Milvus"))], "auth_wrong_credentials"),
        (
            [("sourceid", _b64("@@milvus-member@@")), ("authorization", _b64("root:x"))],
            "auth_wrong_credentials",
        ),
    ],
)
def test_rejections(metadata, rule) -> None:
    verdict = auth_verdict(V23, metadata, VALID)
    assert not verdict.accepted and verdict.rejection == rule
    assert verdict.grpc_code == "UNAUTHENTICATED"


def test_valid_credentials_pass_and_split_on_first_colon() -> None:
    assert auth_verdict(V23, basic_metadata("root", "Milvus"), VALID).accepted
    assert auth_verdict(V23, basic_metadata("alice", "pa:ss\x00word"), VALID).accepted
    assert auth_verdict(V23, [("Authorization", _b64("root:Milvus"))], VALID).accepted


def test_go_decoder_edge_cases() -> None:
    assert std_b64decode(b"YQ==") == b"a"
    assert std_b64decode(b"YQ=") is None
    assert std_b64decode(b"Y Q==") is None
    assert std_b64decode(b"YQ==\n") == b"a"  # Go skips CR/LF
    assert std_b64decode(b"YQ==YQ==") is None


@settings(max_examples=300, derandomize=True, database=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_only_pass_when_they_are_valid_credentials(raw: bytes) -> None:
    metadata = [("authorization", base64.b64encode(raw).decode())]
    expected = raw in (b"root:Milvus", b"alice:pa:ss\x00word")
    assert auth_verdict(DOCS, metadata, VALID).accepted is expected


def test_mismatch_compares_classes_or_exact_answers() -> None:
    verdict = auth_verdict(V23, [], VALID)
    right = Outcome("rpc_error", "UNAUTHENTICATED", None, None, "missing authorization in header")
    wrong_text = Outcome("rpc_error", "UNAUTHENTICATED", None, None, "nope")
    accepted = Outcome("ok", "OK", 0, 0, "")
    assert mismatch(right, verdict) is None
    assert "message" in mismatch(wrong_text, verdict)
    assert "expected gRPC UNAUTHENTICATED" in mismatch(accepted, verdict)
    assert mismatch(wrong_text, auth_verdict(DOCS, [], VALID)) is None  # docs: class only
