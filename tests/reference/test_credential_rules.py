"""Credential semantics over the wire, profile by profile (issue items 5 and 6).

Expected texts are written out here, independently of reference/profiles/*.yaml, so a wrong
profile file fails these tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
from pymilvus.grpc_gen import milvus_pb2
from reference_harness import ROOT, UserWire, Wire, error_code, unique_name

ILLEGAL = error_code("IllegalArgument")
UNEXPECTED = error_code("UnexpectedError")
CREATE_FAILURE = error_code("CreateCredentialFailure")
DELETE_FAILURE = error_code("DeleteCredentialFailure")


@dataclass(frozen=True)
class Expect:
    less_than: str  # how "32" is rendered in the too-long message
    bytes_unit: bool
    go_byte_first: bool  # first-char message shows %!s(uint8=N)
    later_charset: str  # wording of the later-character message
    extra_chars: str
    password_max: int
    bcrypt_cap: bool
    duplicate: tuple[int, str]  # code, message suffix after the name
    trims: bool


EXPECT = {
    "docs-2.1": Expect("32", False, False, "numbers, letters and underscores", "", 256, False,
                       (65535, ""), False),
    "milvus-2.3": Expect("%!d(string=32)", True, True, "numbers, letters and underscores", "",
                         256, True, (65535, ""), True),
    "milvus-2.6": Expect("32", True, False,
                         "numbers, letters, underscores, dots, and hyphens", ".-", 72, False,
                         (1100, ": invalid parameter"), True),
}  # fmt: skip


@pytest.fixture
def expect(profile_name: str) -> Expect:
    return EXPECT[profile_name]


def first_char_message(e: Expect, name: str, ch: str) -> str:
    got = f"%!s(uint8={ch.encode()[0]})" if e.go_byte_first else ch
    if not e.bytes_unit or e.go_byte_first:
        pass
    elif ord(ch) > 0x7F:  # Go's string(byte) of a UTF-8 lead byte
        got = chr(ch.encode()[0])
    return (
        f"invalid user name {name}, the first character must be a letter, but got {got}: "
        "invalid parameter"
    )


def later_char_message(e: Expect, name: str, ch: str) -> str:
    got = f"%!s(uint8={ch.encode()[0]})" if e.bytes_unit else ch
    return f"invalid user name {name}, username must contain only {e.later_charset}, but got {got}: invalid parameter"  # noqa: E501


def too_long_message(e: Expect, name: str, n: int) -> str:
    return (
        f"invalid username {name} with length {n}, the length of username must be less than "
        f"{e.less_than}: invalid parameter"
    )


def password_message(n: int, maximum: int) -> str:
    return f"invalid password length: invalid parameter[{n} out of range 6 <= value <= {maximum}]"


def test_valid_create_then_login(root: UserWire, wire: Wire) -> None:
    name = unique_name("ok")
    assert root.create(name, "secret1").triple() == (0, 0, "")
    assert wire.as_user(name, "secret1").version().ok


def test_username_empty(root: UserWire) -> None:
    assert root.create("", "secret1").triple() == (
        1100,
        ILLEGAL,
        "username must be not empty: invalid parameter",
    )


def test_username_whitespace_only(root: UserWire, expect: Expect) -> None:
    reply = root.create("   ", "secret1")
    if expect.trims:
        assert reply.triple() == (1100, ILLEGAL, "username must be not empty: invalid parameter")
    else:
        assert reply.triple() == (1100, ILLEGAL, first_char_message(expect, "   ", " "))


def test_username_length_boundary(root: UserWire, wire: Wire, expect: Expect) -> None:
    name32 = unique_name("L").ljust(32, "x")
    assert root.create(name32, "secret1").ok
    assert name32 in root.list().response.usernames
    name33 = name32 + "y"
    assert root.create(name33, "secret1").triple() == (
        1100,
        ILLEGAL,
        too_long_message(expect, name33, 33),
    )


def test_username_length_unit(root: UserWire, expect: Expect) -> None:
    # 17 two-byte characters: 17 characters but 34 bytes (after an ASCII first letter).
    name = "a" + "é" * 16
    reply = root.create(name, "secret1")
    if expect.bytes_unit:
        assert reply.triple() == (1100, ILLEGAL, too_long_message(expect, name, 33))
    else:
        assert reply.triple() == (1100, ILLEGAL, later_char_message(expect, name, "é"))


@pytest.mark.parametrize("first", ["1", "_", "é", "-", " "])
def test_username_first_character(root: UserWire, expect: Expect, first: str) -> None:
    name = first + "abc"
    if expect.trims and first == " ":
        pytest.skip("leading whitespace is trimmed away in this profile")
    assert root.create(name, "secret1").triple() == (
        1100,
        ILLEGAL,
        first_char_message(expect, name, first),
    )


@pytest.mark.parametrize("bad", [".", "-", "é", ":", "$", "\x00"])
def test_username_later_characters(root: UserWire, wire: Wire, expect: Expect, bad: str) -> None:
    name = unique_name("c") + bad + "z"
    reply = root.create(name, "secret1")
    if bad in expect.extra_chars:
        assert reply.ok
        assert wire.as_user(name, "secret1").version().ok
    else:
        assert reply.triple() == (1100, ILLEGAL, later_char_message(expect, name, bad))


def test_username_trailing_space(root: UserWire, wire: Wire, expect: Expect) -> None:
    name = unique_name("sp") + " "
    reply = root.create(name, "secret1")
    if not expect.trims:
        assert reply.triple() == (1100, ILLEGAL, later_char_message(expect, name, " "))
        return
    # observed §1.3: stored untrimmed; only the exact name logs in.
    assert reply.ok
    assert name in root.list().response.usernames
    assert wire.as_user(name, "secret1").version().ok
    assert wire.as_user(name.strip(), "secret1").version().grpc_code == (
        grpc.StatusCode.UNAUTHENTICATED
    )


@pytest.mark.parametrize("length", [0, 1, 5])
def test_password_too_short(root: UserWire, expect: Expect, length: int) -> None:
    assert root.create(unique_name(), "p" * length).triple() == (
        1100,
        ILLEGAL,
        password_message(length, expect.password_max),
    )


def test_password_length_bounds(root: UserWire, wire: Wire, expect: Expect) -> None:
    name = unique_name("pmax")
    longest = 72 if expect.bcrypt_cap else expect.password_max
    assert root.create(name, "p" * longest).ok
    assert wire.as_user(name, "p" * longest).version().ok
    too_long = expect.password_max + 1
    assert root.create(unique_name(), "p" * too_long).triple() == (
        1100,
        ILLEGAL,
        password_message(too_long, expect.password_max),
    )


def test_password_counted_in_profile_unit(root: UserWire, wire: Wire, expect: Expect) -> None:
    # "ééé": 3 characters, 6 bytes.
    name = unique_name("pu")
    reply = root.create(name, "ééé")
    if expect.bytes_unit:
        assert reply.ok
        assert wire.as_user(name, "ééé").version().ok
    else:
        assert reply.triple() == (1100, ILLEGAL, password_message(3, expect.password_max))
    # 256 characters of "é" are 512 bytes.
    reply = root.create(unique_name(), "é" * 256)
    if expect.bytes_unit:
        assert reply.triple() == (1100, ILLEGAL, password_message(512, expect.password_max))
    else:
        assert reply.ok


@pytest.mark.parametrize("length", [73, 100, 256])
def test_passwords_beyond_72_bytes(root: UserWire, wire: Wire, expect: Expect, length: int) -> None:
    name = unique_name("p72")
    password = "q" * length
    reply = root.create(name, password)
    if expect.bcrypt_cap:
        assert reply.triple() == (
            65535,
            UNEXPECTED,
            "encrypt password failed: bcrypt: password length exceeds 72 bytes",
        )
    elif length > expect.password_max:
        assert reply.triple() == (1100, ILLEGAL, password_message(length, expect.password_max))
    else:
        # Every character is significant: a password differing after byte 72 is another one.
        assert reply.ok
        assert wire.as_user(name, password).version().ok
        other = password[:-1] + "r"
        assert wire.as_user(name, other).version().grpc_code == grpc.StatusCode.UNAUTHENTICATED


def test_password_must_be_base64(root: UserWire, wire: Wire) -> None:
    request = milvus_pb2.CreateCredentialRequest(username=unique_name(), password="not base64!")
    reply = wire.call("CreateCredential", request, *ROOT)
    assert reply.triple() == (
        65535,
        UNEXPECTED,
        "decode password fail: illegal base64 data at input byte 3",
    )


def test_password_with_nul_and_colon_works(root: UserWire, wire: Wire) -> None:
    name = unique_name("nul")
    assert root.create(name, "ab\x00c:d").ok
    assert wire.as_user(name, "ab\x00c:d").version().ok


def test_duplicate_create(root: UserWire, expect: Expect) -> None:
    name = unique_name("dup")
    assert root.create(name, "secret1").ok
    code, suffix = expect.duplicate
    for attempt in (name, "root"):
        assert root.create(attempt, "secret2").triple() == (
            code,
            CREATE_FAILURE,
            f"user already exists: {attempt}{suffix}",
        )


def test_update_validates_new_password_first(root: UserWire, expect: Expect) -> None:
    name = unique_name("upd")
    assert root.create(name, "secret1").ok
    # Wrong old password and invalid new one: the new password's length wins.
    assert root.update(name, "wrong-old", "short").triple() == (
        1100,
        ILLEGAL,
        password_message(5, expect.password_max),
    )


def test_update_wrong_old_password_for_everyone(root: UserWire, wire: Wire) -> None:
    name = unique_name("upw")
    assert root.create(name, "secret1").ok
    message = f"old password not correct for {name}: not authenticated"
    assert root.update(name, "wrong-old", "secret2").triple() == (1400, UNEXPECTED, message)
    assert wire.as_user(name, "secret1").update(name, "", "secret2").triple() == (
        1400,
        UNEXPECTED,
        message,
    )
    assert root.update(name, "secret1", "secret2").ok
    assert wire.as_user(name, "secret2").version().ok


@pytest.mark.parametrize("name", ["ghost_user_xyz", "1bad", ""])
def test_update_unknown_user_is_wrong_old_password(root: UserWire, name: str) -> None:
    assert root.update(name, "secret1", "secret2").triple() == (
        1400,
        UNEXPECTED,
        f"old password not correct for {name}: not authenticated",
    )


def test_update_bcrypt_cap_checked_after_old_password(root: UserWire, expect: Expect) -> None:
    if not expect.bcrypt_cap:
        pytest.skip("profile has no bcrypt cap")
    name = unique_name("ub")
    assert root.create(name, "secret1").ok
    assert root.update(name, "wrong-old", "x" * 73).triple()[0] == 1400
    assert root.update(name, "secret1", "x" * 73).triple() == (
        65535,
        UNEXPECTED,
        "encrypt password failed: bcrypt: password length exceeds 72 bytes",
    )


def test_update_old_password_must_be_base64(root: UserWire, wire: Wire) -> None:
    request = milvus_pb2.UpdateCredentialRequest(
        username="root", oldPassword="%%%", newPassword="c2VjcmV0Mg=="
    )
    assert wire.call("UpdateCredential", request, *ROOT).triple() == (
        65535,
        UNEXPECTED,
        "decode old password failed: illegal base64 data at input byte 0",
    )


def test_update_new_password_must_be_base64(root: UserWire, wire: Wire) -> None:
    # observed: the update path says "failed" where CreateCredential says "fail"
    request = milvus_pb2.UpdateCredentialRequest(
        username="root", oldPassword="TWlsdnVz", newPassword="%%%"
    )
    assert wire.call("UpdateCredential", request, *ROOT).triple() == (
        65535,
        UNEXPECTED,
        "decode password failed: illegal base64 data at input byte 0",
    )


def test_delete_rules(root: UserWire, wire: Wire) -> None:
    assert root.delete("root").triple() == (
        1401,
        UNEXPECTED,
        "root user cannot be deleted: privilege not permitted",
    )
    assert root.delete("never_existed_user").triple() == (0, 0, "")
    name = unique_name("del")
    assert root.create(name, "secret1").ok
    assert root.delete(name).ok
    assert name not in root.list().response.usernames
    assert wire.as_user(name, "secret1").version().grpc_code == grpc.StatusCode.UNAUTHENTICATED


def test_delete_empty_name_is_an_error(root: UserWire) -> None:
    code, err, reason = root.delete("").triple()
    assert code != 0 and err != 0 and reason


def test_list_is_bytewise_sorted_and_secret_free(root: UserWire) -> None:
    names = [unique_name("Zz"), unique_name("aa"), unique_name("B_")]
    for n in names:
        assert root.create(n, "secret-in-list").ok
    listed = list(root.list().response.usernames)
    assert "root" in listed
    assert set(names) <= set(listed)
    assert listed == sorted(listed, key=lambda s: s.encode())
    assert not any("secret" in n for n in listed)


def test_select_user(root: UserWire, wire: Wire) -> None:
    name = unique_name("sel")
    assert root.create(name, "secret1").ok
    reply = root.select(name)
    assert reply.ok
    assert [r.user.name for r in reply.response.results] == [name]
    assert list(reply.response.results[0].roles) == []
    missing = root.select("no_such_user_here")
    assert missing.ok and len(missing.response.results) == 0
    everyone = [r.user.name for r in root.select(None).response.results]
    assert "root" in everyone and name in everyone
    assert root.select("1bad").status.code == 1100


def test_get_version_and_health(root: UserWire, wire: Wire, profile_name: str) -> None:
    versions = {"docs-2.1": "v2.1.4", "milvus-2.3": "v2.3.5", "milvus-2.6": "v2.6.0"}
    assert root.version().response.version == versions[profile_name]
    health = wire.call("CheckHealth", milvus_pb2.CheckHealthRequest(), *ROOT)
    assert health.ok and health.response.isHealthy
    connect = wire.call("Connect", milvus_pb2.ConnectRequest(), *ROOT)
    assert connect.ok and connect.response.identifier > 0
