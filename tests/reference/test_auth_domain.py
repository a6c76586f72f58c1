"""Unit tests of the pure domain pieces behind authentication (no server)."""

from __future__ import annotations

import base64
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.domain import go_base64
from reference.domain.authn import Authenticator, CredentialVerifier
from reference.domain.errors import Unauthenticated
from reference.domain.password_hash import PasswordHasher, ScryptCost
from reference.domain.profile import ProfileError, available_profiles, load_profile, parse_profile


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("not base64!", 3),
        ("%%%", 0),
        ("cm9vdA", 4),  # missing padding: Go reports the end of input minus the partial quantum
        ("cm9vdA=", 7),  # one pad where two are needed
        ("cm9v=A==", 4),
        ("cm9vdA==x", 8),  # trailing garbage
        ("Bearer cm9vdA==", 6),
    ],
)
def test_go_base64_rejections(text: str, offset: int) -> None:
    with pytest.raises(go_base64.GoBase64Error) as caught:
        go_base64.decode(text)
    assert str(caught.value) == f"illegal base64 data at input byte {offset}"


def test_go_base64_skips_newlines_and_accepts_empty() -> None:
    assert go_base64.decode("cm9v\ndA==\r\n") == b"root"
    assert go_base64.decode("") == b""


@settings(max_examples=200, derandomize=True, database=None)
@given(st.binary(max_size=64))
def test_go_base64_round_trips_standard_encoding(raw: bytes) -> None:
    assert go_base64.decode(base64.b64encode(raw).decode()) == raw


def test_hash_is_salted_and_records_its_parameters() -> None:
    hasher = PasswordHasher(ScryptCost(log2_n=4, r=1, p=1))
    first, second = hasher.hash(b"same-password"), hasher.hash(b"same-password")
    assert first != second and first.startswith("scrypt$4$1$1$")
    assert hasher.verify(b"same-password", first)
    assert not hasher.verify(b"same-passwore", first)
    assert not hasher.verify(b"same-password", "garbage")
    assert PasswordHasher().verify(b"same-password", first)  # old parameters still verify
    assert PasswordHasher().needs_rehash(first)
    assert not hasher.needs_rehash(first)


# Written once with hashlib.scrypt directly (n=2**9, r=4, p=1, salt bytes 0..15): a hash from
# another build or an older data dir must keep verifying, so the derivation may never drift.
KNOWN_HASH = "scrypt$9$4$1$AAECAwQFBgcICQoLDA0ODw==$QVoTt7pp98xbRqBHhJYHcS77Kok/9tf8lyisoaVna2s="


def test_a_hash_from_another_build_verifies() -> None:
    assert PasswordHasher().verify(b"Known-answer_1", KNOWN_HASH)
    assert not PasswordHasher().verify(b"Known-answer_2", KNOWN_HASH)


class CountingStore:
    def __init__(self) -> None:
        self.hashes: dict[str, str] = {}
        self.lookups = 0

    def get_hash(self, username: str) -> str | None:
        self.lookups += 1
        return self.hashes.get(username)


def test_verified_cache_avoids_slow_path_and_is_invalidated() -> None:
    hasher = PasswordHasher(ScryptCost(log2_n=4, r=1, p=1))
    store = CountingStore()
    store.hashes["ann"] = hasher.hash(b"pw-one")
    verifier = CredentialVerifier(store, hasher)
    assert verifier.verify("ann", b"pw-one")
    assert verifier.verify("ann", b"pw-one")
    assert store.lookups == 1
    assert not verifier.verify("ann", b"pw-two")
    store.hashes["ann"] = hasher.hash(b"pw-two")
    verifier.credential_changed("ann", b"pw-two")
    assert not verifier.verify("ann", b"pw-one")
    assert verifier.verify("ann", b"pw-two")
    del store.hashes["ann"]
    verifier.credential_changed("ann", None)
    assert not verifier.verify("ann", b"pw-two")
    assert not verifier.verify("ann", b"")


def test_stale_verification_cannot_repopulate_cache_after_change() -> None:
    hasher = PasswordHasher(ScryptCost(log2_n=4, r=1, p=1))
    old_hash = hasher.hash(b"old-pw")
    store = CountingStore()
    store.hashes["bea"] = old_hash
    verifier = CredentialVerifier(store, hasher)
    reading = threading.Event()
    proceed = threading.Event()
    original = store.get_hash

    def slow_get_hash(username: str) -> str | None:
        value = original(username)
        reading.set()
        proceed.wait(5)
        return value

    store.get_hash = slow_get_hash  # type: ignore[method-assign]
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(verifier.verify("bea", b"old-pw")))
    worker.start()
    reading.wait(5)
    store.hashes["bea"] = hasher.hash(b"new-pw")  # reset lands while the old hash is in flight
    verifier.credential_changed("bea", b"new-pw")
    proceed.set()
    worker.join(5)
    store.get_hash = original  # type: ignore[method-assign]
    assert result == [True]  # that call started before the reset
    assert not verifier.verify("bea", b"old-pw")  # but it must not have been cached


def test_authenticator_messages_and_auth_off() -> None:
    profile = load_profile("docs-2.1")
    hasher = PasswordHasher(ScryptCost(log2_n=4, r=1, p=1))
    store = CountingStore()
    store.hashes["root"] = hasher.hash(b"Milvus")
    verifier = CredentialVerifier(store, hasher)
    on = Authenticator(profile, verifier, enabled=True)
    assert on.authenticate(base64.b64encode(b"root:Milvus").decode()).name == "root"
    with pytest.raises(Unauthenticated, match="missing authorization"):
        on.authenticate(None)
    off = Authenticator(profile, verifier, enabled=False)
    claimed = off.authenticate(base64.b64encode(b"root:wrong").decode())
    assert (claimed.name, claimed.verified) == ("root", False)
    assert off.authenticate("Bearer nonsense").verified is False


def test_profiles_load_and_broken_profiles_are_rejected() -> None:
    assert set(available_profiles()) >= {"docs-2.1", "milvus-2.3", "milvus-2.6"}
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile("milvus-0.1")
    with pytest.raises(ProfileError):
        parse_profile("just a string", "broken")
    text = (load_profile.__globals__["PROFILES_DIR"] / "milvus-2.3.yaml").read_text()
    with pytest.raises(ProfileError, match="unknown placeholders"):
        parse_profile(text.replace("{username}: not authenticated", "{secret}"), "broken")
    with pytest.raises(ProfileError, match="missing error"):
        parse_profile(text.replace("  root_delete:", "  root_delete_x:"), "broken")
