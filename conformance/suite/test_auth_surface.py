"""Every RPC is authenticated; nothing but current valid credentials passes (observed §5)."""

from __future__ import annotations

import json
import string
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.drivers.wire import Outcome, WireClient, b64, basic_token
from conformance.oracle import auth_verdict, mismatch
from conformance.plugin import not_applicable
from conformance.suite.support import fresh_password, scaled

MEMBER_SOURCE_ID = b64("@@milvus-member@@")  # observed §5.3: the former internal-member bypass

RPCS: dict[str, Callable[[WireClient, str], Outcome]] = {
    "Connect": lambda c, _: c.connect(),
    "GetVersion": lambda c, _: c.get_version(),
    "CheckHealth": lambda c, _: c.check_health(),
    "grpc.health.v1/Check": lambda c, _: c.health_check(),
    "ListCredUsers": lambda c, _: c.list_cred_users(),
    "CreateCredential": lambda c, name: c.create_credential(name, "Sneaky_pw1"),
    "ShowCollections": lambda c, _: c.show_collections(),
    "HasCollection": lambda c, _: c.has_collection(),
    "Search": lambda c, _: c.search(),
}


def _header_cases(root: str, root_password: str, user: str, user_password: str) -> dict:
    """name -> metadata; none of them carries valid credentials."""
    wrong = root_password + "_wrong"
    return {
        "no header": [],
        "malformed base64": [("authorization", "!!not*base64!!")],
        "no colon": [("authorization", b64(root + root_password))],
        "unknown user": [("authorization", basic_token("cfnobody_x9", "Whatever1"))],
        "wrong password": [("authorization", basic_token(user, user_password + "x"))],
        "wrong root password": [("authorization", basic_token(root, wrong))],
        "empty password": [("authorization", basic_token(root, ""))],
        "Bearer prefix": [("authorization", "Bearer " + basic_token(root, root_password))],
        "sourceid + wrong password": [
            ("sourceid", MEMBER_SOURCE_ID),
            ("authorization", basic_token(root, wrong)),
        ],
    }


def _sweep(wire, users, profile, metadata, valid) -> list[str]:
    failures = []
    for rpc, invoke in RPCS.items():
        name = users.new_name("x")
        users.ledger.tried.add(name)  # if a bad header is let through, teardown removes the user
        users.mine.add(name)
        with wire(metadata=metadata) as client:
            outcome = invoke(client, name)
        problem = mismatch(outcome, auth_verdict(profile, metadata, valid))
        if problem:
            failures.append(f"{rpc}: {problem}")
    return failures


@pytest.mark.clause("AUTH-EVERY-RPC", driver="wire")
@pytest.mark.parametrize(
    "case",
    [
        "no header",
        "malformed base64",
        "no colon",
        "unknown user",
        "wrong password",
        "wrong root password",
        "empty password",
        "Bearer prefix",
    ],
)
def test_every_rpc_rejects_invalid_credentials(users, wire, root_session, profile, case) -> None:
    # Only the "wrong password" case needs a real non-root user.
    user, password = users.create() if case == "wrong password" else ("cfnobody_y8", "Unused_1")
    valid = {root_session.user: root_session.password, user: password}
    metadata = _header_cases(root_session.user, root_session.password, user, password)[case]
    failures = _sweep(wire, users, profile, metadata, valid)
    assert not failures, f"header case '{case}' was not rejected by:\n  " + "\n  ".join(failures)


@pytest.mark.clause("AUTH-EVERY-RPC", driver="wire")
def test_every_rpc_accepts_valid_credentials(users, wire, root_session) -> None:
    """The counterpart: with root's valid header no RPC is rejected as unauthenticated."""
    client = wire(root_session.user, root_session.password)
    for rpc, invoke in RPCS.items():
        if rpc == "CreateCredential":
            continue  # creation is covered by the lifecycle clauses
        outcome = invoke(client, "")
        assert outcome.grpc_code not in ("UNAUTHENTICATED", "PERMISSION_DENIED"), (
            f"{rpc} refused root's valid credentials: {outcome.describe()}"
        )


def _account_with_padded_token(users) -> tuple[str, str]:
    """A user whose base64 credential ends in '=', so stripping the padding changes it."""
    name = users.new_name("pad")
    password = fresh_password()
    while len(f"{name}:{password}".encode()) % 3 == 0:
        password += "x"
    outcome = users.try_create(name, password)
    assert outcome.ok, f"target refused to create the valid user {name!r}: {outcome.describe()}"
    return name, password


@pytest.mark.clause("AUTH-HEADER-ARBITRARY", driver="wire")
def test_unpadded_base64_of_valid_credentials_is_rejected(users, wire, root_session, profile):
    """Standard base64 requires its padding (observed §5.1): valid credentials with the '='
    stripped are a malformed token, on every RPC."""
    user, password = _account_with_padded_token(users)
    valid = {root_session.user: root_session.password, user: password}
    metadata = [("authorization", basic_token(user, password).rstrip("="))]
    failures = _sweep(wire, users, profile, metadata, valid)
    assert not failures, "unpadded base64 credentials were not rejected by:\n  " + "\n  ".join(
        failures
    )


@pytest.mark.clause("AUTH-NO-BYPASS-HEADER", driver="wire")
@pytest.mark.parametrize("with_authorization", [True, False], ids=["wrong-password", "alone"])
def test_member_sourceid_is_no_bypass(users, wire, root_session, profile, with_authorization):
    metadata = _header_cases(root_session.user, root_session.password, "u", "p")[
        "sourceid + wrong password"
    ]
    if not with_authorization:
        metadata = metadata[:1]
    valid = {root_session.user: root_session.password}
    failures = _sweep(wire, users, profile, metadata, valid)
    assert not failures, "sourceid member header bypassed authentication:\n  " + "\n  ".join(
        failures
    )


_PRINTABLE = string.ascii_letters + string.digits + "+/=:_- .!*"


def _header_values(user: str, password: str) -> st.SearchStrategy[str]:
    """Legal gRPC metadata values: raw printable text, base64 of arbitrary bytes, and base64
    of near-miss credentials (weighted to the decoder's edge cases)."""
    near_misses = st.sampled_from(
        [
            f"{user}:{password}",
            f"{user}:{password} ",
            f" {user}:{password}",
            f"{user}::{password}",
            f"{user.upper()}:{password}",
            f"{user}:{password[:-1]}",
            f"{user}{password}",
            f":{password}",
            f"{user}:",
        ]
    )
    encoded = st.one_of(st.binary(max_size=48), near_misses.map(str.encode)).map(b64)
    mangled = st.builds(
        lambda token, cut, extra: (token[:cut] + extra) if cut < len(token) else token + extra,
        encoded,
        st.integers(0, 60),
        st.sampled_from(["", "=", "==", "A", " ", "*"]),
    )
    raw = st.text(st.sampled_from(_PRINTABLE), max_size=40)
    return st.one_of(encoded, mangled, raw, encoded.map(lambda t: "Bearer " + t))


class _LazyUser:
    """Creates one user on first use and reuses it for every example of the property (a
    refusal then fails the test rather than erroring its setup)."""

    def __init__(self, users) -> None:
        self._users = users
        self._account: tuple[str, str] | None = None

    def get(self) -> tuple[str, str]:
        if self._account is None:
            self._account = self._users.create(password=fresh_password(), tag="hdr")
        return self._account


@pytest.fixture
def header_user(users) -> _LazyUser:
    return _LazyUser(users)


@pytest.mark.clause("AUTH-HEADER-ARBITRARY", driver="wire")
@scaled(1.5)
@given(data=st.data())
@example(data=None)
def test_arbitrary_header_bytes(header_user, wire, root_session, profile, data) -> None:
    user, password = header_user.get()
    valid = {root_session.user: root_session.password, user: password}
    if data is None:
        value = basic_token(user, password)  # the one value that must pass
    else:
        value = data.draw(_header_values(user, password), label="authorization")
    value = value.strip()  # HTTP/2 strips surrounding whitespace from header values
    metadata = [("authorization", value)]
    with wire(metadata=metadata) as client:
        outcome = client.get_version()
    problem = mismatch(outcome, auth_verdict(profile, metadata, valid))
    assert problem is None, f"authorization {value!r}: {problem}"


@pytest.mark.clause("AUTH-HEADER-ARBITRARY", driver="wire")
@pytest.mark.parametrize("name", [b"\xff", b"r\xc3", b"ro\x80ot"], ids=["ff", "cut", "cont"])
def test_non_utf8_username_is_wrong_credentials(wire, root_session, profile, name) -> None:
    # Found by mutation testing: random bytes rarely put invalid UTF-8 before a colon, so a
    # server that crashes (or answers anything but "wrong credentials") on it went unnoticed.
    metadata = [("authorization", b64(name + b":" + root_session.password.encode()))]
    with wire(metadata=metadata) as client:
        outcome = client.get_version()
    problem = mismatch(outcome, auth_verdict(profile, metadata, {}))
    assert problem is None, f"user bytes {name!r}: {problem}"


@pytest.mark.clause("AUTH-MANAGEMENT-PORT", driver="wire")
def test_management_port_is_no_side_door(target, users, root_wire) -> None:
    base = target.management_url
    if not base:
        not_applicable("the target exposes no management_url to probe")
    base = base.rstrip("/")
    name = users.new_name("http")
    users.ledger.tried.add(name)
    users.mine.add(name)
    findings = []
    listed = _http("GET", f"{base}/api/v1/credential/users")
    if listed is not None and listed[0] == 200 and "root" in listed[1]:
        findings.append(f"GET /api/v1/credential/users listed users without auth: {listed[1][:80]}")
    body = json.dumps({"username": name, "password": b64("Mgmt_pw1")}).encode()
    _http("POST", f"{base}/api/v1/credential", body)
    listing = root_wire.list_cred_users()
    if listing.ok and name in listing.payload:
        findings.append(f"POST /api/v1/credential created {name!r} without auth")
        _http("DELETE", f"{base}/api/v1/credential", json.dumps({"username": name}).encode())
        after = root_wire.list_cred_users()
        if after.ok and name not in after.payload:
            findings.append("DELETE /api/v1/credential removed it without auth")
    assert not findings, "management port is an unauthenticated side door:\n  " + "\n  ".join(
        findings
    )


def _http(method: str, url: str, body: bytes | None = None) -> tuple[int, str] | None:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return None
