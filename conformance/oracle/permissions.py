"""Who may call which credential RPC (clause AUTH-CALLER-PERMISSIONS).

docs-2.1: the doc describes no roles or privileges (doc §Create an authenticated user,
§List all users), and 2.1 had no RBAC (observed §4.3), so every authenticated caller passes.
RBAC profiles (observed §4.3): root is never denied; a public-only user is denied every
credential RPC except UpdateCredential and SelectUser aimed at itself.
"""

from __future__ import annotations

from conformance.oracle.params import ProfileParams
from conformance.oracle.verdict import ACCEPTED, Verdict, rejected


def caller_verdict(
    params: ProfileParams, caller: str, rpc: str, *, caller_is_root: bool, target_is_self: bool
) -> Verdict:
    """The authorisation gate for `caller` calling `rpc`: ACCEPTED when the call gets past it
    (what follows is the RPC's own verdict), else the PERMISSION_DENIED rejection."""
    permissions = params.permissions
    if permissions is None:
        raise ValueError(f"profile {params.name} has no permissions table")
    if rpc not in permissions.rpcs:
        raise ValueError(f"profile {params.name}: {rpc} is not covered by AUTH-CALLER-PERMISSIONS")
    if not params.rbac or caller_is_root:
        return ACCEPTED
    if target_is_self and rpc in permissions.self_allowed:
        return ACCEPTED
    verdict = rejected(
        params, "permission_denied", "rpc_error", privilege=permissions.privileges[rpc], user=caller
    )
    if verdict.grpc_code != "PERMISSION_DENIED":
        # Outcome profiles carry no message table; the class is still PERMISSION_DENIED.
        return Verdict(False, "rpc_error", "PERMISSION_DENIED", "permission_denied")
    return verdict
