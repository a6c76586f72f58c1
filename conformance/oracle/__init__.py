"""Pure oracles: (profile parameters, input) -> expected Verdict. No I/O, no target access."""

from conformance.oracle.auth_header import auth_verdict, basic_metadata, std_b64decode
from conformance.oracle.go_base64 import decode_error_offset
from conformance.oracle.lifecycle import (
    create_undecodable_password_verdict,
    create_verdict,
    delete_verdict,
    reset_undecodable_old_verdict,
    reset_verdict,
)
from conformance.oracle.params import ProfileParams, load_params
from conformance.oracle.passwords import password_accepted, password_verdict
from conformance.oracle.permissions import caller_verdict
from conformance.oracle.user_limit import capped_create_verdict
from conformance.oracle.usernames import go_trim_space, stored_name, username_verdict
from conformance.oracle.verdict import Verdict, mismatch, outcome_class

__all__ = [
    "ProfileParams",
    "Verdict",
    "auth_verdict",
    "basic_metadata",
    "caller_verdict",
    "capped_create_verdict",
    "create_undecodable_password_verdict",
    "create_verdict",
    "decode_error_offset",
    "delete_verdict",
    "go_trim_space",
    "load_params",
    "mismatch",
    "outcome_class",
    "password_accepted",
    "password_verdict",
    "reset_undecodable_old_verdict",
    "reset_verdict",
    "std_b64decode",
    "stored_name",
    "username_verdict",
]
