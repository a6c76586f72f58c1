"""Seeded deviations: named, deliberate departures from the spec, for proving the suite's power.

`milvus-reference serve --deviate NAME` turns one on. Each deviation is a function applied
once, at composition time (end of `Application.__init__`), that substitutes or wraps one
component: the profile values, the credential service, the verifier, the authenticator, the
gRPC auth gate, the user store or the vector service. Nothing here is imported or run
when no deviation is requested, so the normal code path pays nothing.

Each entry names the catalogue clause(s) it must break (conformance/clauses*.yaml); the
conformance selftest reads that mapping through `--list-deviations` (JSON) and requires every
deviation to be caught by one of them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from reference.domain import go_base64
from reference.domain.authn import ANONYMOUS, Authenticator, CredentialVerifier, Principal
from reference.domain.credentials import CredentialService
from reference.domain.errors import PermissionDenied, StatusError, Unauthenticated
from reference.domain.password_hash import PasswordHasher
from reference.domain.validation import (
    check_hashable,
    decode_password,
    validate_password,
    validate_username,
)

if TYPE_CHECKING:
    from reference.app import Application

_MEMBER_SOURCE_ID = "QEBtaWx2dXMtbWVtYmVyQEA="  # base64('@@milvus-member@@'), observed §5.3
_DEVIANT_ROOT_PASSWORD = b"NotMilvus"
ApplyFn = Callable[["Application"], None]


class UnknownDeviation(ValueError):
    """A requested deviation name is not in the registry (message lists the valid ones)."""


@dataclass(frozen=True)
class Deviation:
    name: str
    clauses: tuple[str, ...]  # catalogue clause ids that must fail when it is on
    summary: str
    apply: ApplyFn
    # The reference profile the departure lives in (None: any); the selftest runs the server
    # and the suite in it, since some clauses (the user cap) only apply to a real version.
    profile: str | None = None


REGISTRY: dict[str, Deviation] = {}


def _deviation(
    name: str, clauses: Sequence[str], summary: str, *, profile: str | None = None
) -> Callable[[ApplyFn], ApplyFn]:
    def register(apply: ApplyFn) -> ApplyFn:
        if name in REGISTRY:
            raise ValueError(f"duplicate deviation {name}")
        REGISTRY[name] = Deviation(name, tuple(clauses), summary, apply, profile)
        return apply

    return register


def check_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names, validated; raise UnknownDeviation listing every valid name otherwise."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in REGISTRY]
    if unknown:
        raise UnknownDeviation(
            f"unknown deviation {', '.join(unknown)}; valid names: {', '.join(sorted(REGISTRY))}"
        )
    return chosen


def apply_deviations(app: Application, names: Iterable[str]) -> None:
    for name in check_names(names):
        REGISTRY[name].apply(app)


def listing() -> list[dict[str, Any]]:
    """Machine-readable registry (what `serve --list-deviations` prints as JSON)."""
    return [
        {"name": d.name, "clauses": list(d.clauses), "summary": d.summary, "profile": d.profile}
        for d in sorted(REGISTRY.values(), key=lambda d: d.name)
    ]


# ---- composition helpers -----------------------------------------------------------------------


def _set_profile(app: Application, **changes: Any) -> None:
    """Swap profile values; both services read `profile` from the object they were given."""
    app.profile = dataclasses.replace(app.profile, **changes)
    _recompose(app)


def _recompose(
    app: Application,
    *,
    store: Any = None,
    hasher: PasswordHasher | None = None,
    verifier: CredentialVerifier | None = None,
) -> None:
    """Rebuild the credential stack around substituted parts (the rest is kept)."""
    if store is not None:
        app.store = store
    if hasher is not None:
        app.hasher = hasher
    if verifier is None and (store is not None or hasher is not None):
        verifier = CredentialVerifier(app.store, app.hasher)
    if verifier is not None:
        app.verifier = verifier
    app.authenticator = Authenticator(app.profile, app.verifier, enabled=app.config.auth_enabled)
    app.credentials = CredentialService(
        app.profile, app.store, app.hasher, app.verifier, super_users=app.config.super_users
    )


class _CredentialsOverride:
    """Delegates to the real CredentialService except for the methods a deviation replaces."""

    def __init__(self, app: Application, **methods: Callable[..., Any]) -> None:
        self._inner = app.credentials
        self._app = app
        for name, method in methods.items():
            setattr(self, name, method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _override_credentials(app: Application, **methods: Callable[..., Any]) -> CredentialService:
    inner = app.credentials
    app.credentials = _CredentialsOverride(app, **methods)  # type: ignore[assignment]
    return inner


def _store_new_user(app: Application, username: str, password: bytes) -> None:
    """What create() does after validation, for deviations that skip a username rule."""
    outcome = app.store.add(username, app.hasher.hash(password), app.profile.user_limit)
    if outcome == "exists":
        raise StatusError(65535, "CreateCredentialFailure", f"user already exists: {username}")
    app.verifier.credential_changed(username, password)


def _accept_username(app: Application, extra: Callable[[str], bool]) -> None:
    """Usernames for which `extra` holds skip the naming rules; all others are checked."""
    inner = app.credentials

    def create(caller: Principal, username: str, password_b64: str) -> None:
        if not extra(username):
            return inner.create(caller, username, password_b64)
        password = decode_password(app.profile, password_b64)
        validate_password(app.profile, password)
        check_hashable(app.profile, password)
        _store_new_user(app, username, password)
        return None

    _override_credentials(app, create=create)


def _valid_username(app: Application, name: str) -> bool:
    try:
        validate_username(app.profile, name)
    except StatusError:
        return False
    return True


# ---- usernames (doc §Limitations) ---------------------------------------------------------------


@_deviation("username-33-chars", ["AUTH-USERNAME-LENGTH"], "a 33-character username is accepted")
def _username_33(app: Application) -> None:
    _set_profile(app, username_max_length=app.profile.username_max_length + 1)


@_deviation(
    "username-digit-first", ["AUTH-USERNAME-FIRST-CHAR"], "a digit as first character is accepted"
)
def _username_digit_first(app: Application) -> None:
    _accept_username(
        app,
        lambda n: n[:1].isascii() and n[:1].isdigit() and _valid_username(app, "a" + n[1:]),
    )


@_deviation("username-hyphen", ["AUTH-USERNAME-CHARSET"], "'-' is accepted after the first letter")
def _username_hyphen(app: Application) -> None:
    _set_profile(app, username_extra_chars=app.profile.username_extra_chars + "-")


@_deviation("username-empty", ["AUTH-USERNAME-EMPTY"], "an empty username is accepted")
def _username_empty(app: Application) -> None:
    _accept_username(app, lambda n: n == "")


@_deviation(
    "username-lowercased",
    ["AUTH-USERNAME-ROUNDTRIP"],
    "usernames are stored lower-cased, so a mixed-case name is listed and logs in differently",
)
def _username_lowercased(app: Application) -> None:
    inner = app.credentials

    def create(caller: Principal, username: str, password_b64: str) -> None:
        inner.create(caller, username.lower(), password_b64)

    _override_credentials(app, create=create)


# ---- passwords (doc §Limitations) ---------------------------------------------------------------


@_deviation("password-5-chars", ["AUTH-PASSWORD-LENGTH"], "a 5-character password is accepted")
def _password_5(app: Application) -> None:
    _set_profile(app, password_min_length=app.profile.password_min_length - 1)


@_deviation("password-257-chars", ["AUTH-PASSWORD-LENGTH"], "a 257-character password is accepted")
def _password_257(app: Application) -> None:
    _set_profile(app, password_max_length=app.profile.password_max_length + 1)


@_deviation(
    "password-length-in-bytes",
    ["AUTH-PASSWORD-LENGTH"],
    "password length is counted in UTF-8 bytes instead of characters",
)
def _password_bytes(app: Application) -> None:
    _set_profile(app, length_unit="bytes")


class _TruncatingHasher(PasswordHasher):
    """bcrypt's flaw: only the first 72 bytes count."""

    def hash(self, password: bytes) -> str:
        return super().hash(password[:72])

    def verify(self, password: bytes, encoded: str) -> bool:
        return super().verify(password[:72], encoded)


@_deviation(
    "password-truncated-72-bytes",
    ["AUTH-PASSWORD-SIGNIFICANT"],
    "passwords are truncated at 72 bytes, so a prefix collision logs in",
)
def _password_truncated(app: Application) -> None:
    _recompose(app, hasher=_TruncatingHasher(app.hasher.cost))


@_deviation(
    "auth-split-last-colon",
    ["AUTH-PASSWORD-LOGIN"],
    "the authorization value is split on the last colon, so passwords with ':' cannot log in",
)
def _split_last_colon(app: Application) -> None:
    inner = app.authenticator
    verifier = app.verifier
    rejected = app.profile.auth_messages["bad_credentials"]

    class LastColon(Authenticator):
        def authenticate(self, authorization: str | None) -> Principal:
            try:
                decoded = go_base64.decode(authorization or "")
            except go_base64.GoBase64Error:
                decoded = b""
            user, colon, password = decoded.rpartition(b":")
            if not colon or not self.enabled:
                return inner.authenticate(authorization)
            name = user.decode("utf-8", "replace")
            if not verifier.verify(name, password):
                raise Unauthenticated(rejected)
            return Principal(name=name, verified=True)

    app.authenticator = LastColon(app.profile, app.verifier, enabled=app.config.auth_enabled)


# ---- root (doc §Create an authenticated user) ---------------------------------------------------


@_deviation("root-missing", ["AUTH-ROOT-DEFAULT"], "no root user is created on first start")
def _root_missing(app: Application) -> None:
    if app.root_created:
        app.store.delete(app.profile.root_user)
        app.verifier.credential_changed(app.profile.root_user, None)


@_deviation(
    "root-other-password",
    ["AUTH-ROOT-DEFAULT"],
    "root is created with another password than the requested default",
)
def _root_other_password(app: Application) -> None:
    if app.root_created:
        root = app.profile.root_user
        app.store.set_hash(root, app.hasher.hash(_DEVIANT_ROOT_PASSWORD))
        app.verifier.credential_changed(root, _DEVIANT_ROOT_PASSWORD)


@_deviation("root-deletable", ["AUTH-ROOT-UNDELETABLE"], "deleting root succeeds")
def _root_deletable(app: Application) -> None:
    inner = app.credentials

    def delete(caller: Principal, username: str) -> None:
        if username != app.profile.root_user:
            return inner.delete(caller, username)
        app.store.delete(username)
        app.verifier.credential_changed(username, None)
        return None

    _override_credentials(app, delete=delete)


@_deviation("root-not-listed", ["AUTH-ROOT-LISTED"], "the user list leaves root out")
def _root_not_listed(app: Application) -> None:
    inner = app.credentials

    def list_usernames(caller: Principal) -> list[str]:
        return [n for n in inner.list_usernames(caller) if n != app.profile.root_user]

    _override_credentials(app, list_usernames=list_usernames)


@_deviation(
    "root-password-frozen",
    ["AUTH-ROOT-CHANGE-OWN-PASSWORD"],
    "root cannot change its own password (the reset is refused)",
)
def _root_password_frozen(app: Application) -> None:
    inner = app.credentials

    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        if username == app.profile.root_user:
            raise StatusError(65535, "UpdateCredentialFailure", "root password is read-only")
        inner.update(caller, username, old_b64, new_b64)

    _override_credentials(app, update=update)


# ---- credential operations (doc §Create..., §Reset password, §Delete a user, §List all users) ---


@_deviation(
    "duplicate-create-overwrites",
    ["AUTH-CREATE-DUPLICATE"],
    "creating an existing user succeeds and replaces its password",
)
def _duplicate_create(app: Application) -> None:
    inner = app.credentials

    def create(caller: Principal, username: str, password_b64: str) -> None:
        if app.store.get_hash(username) is None:
            return inner.create(caller, username, password_b64)
        password = decode_password(app.profile, password_b64)
        validate_password(app.profile, password)
        app.store.set_hash(username, app.hasher.hash(password))
        app.verifier.credential_changed(username, password)
        return None

    _override_credentials(app, create=create)


@_deviation("delete-missing-fails", ["AUTH-DELETE-MISSING"], "deleting a missing user fails")
def _delete_missing_fails(app: Application) -> None:
    inner = app.credentials

    def delete(caller: Principal, username: str) -> None:
        if username and app.store.get_hash(username) is None:
            raise StatusError(65535, "DeleteCredentialFailure", f"user not found: {username}")
        inner.delete(caller, username)

    _override_credentials(app, delete=delete)


@_deviation("delete-is-noop", ["AUTH-DELETE"], "delete answers success but keeps the user")
def _delete_noop(app: Application) -> None:
    inner = app.credentials

    def delete(caller: Principal, username: str) -> None:
        if username == app.profile.root_user:
            inner.delete(caller, username)  # keep root's refusal intact

    _override_credentials(app, delete=delete)


def _reset_unchecked(app: Application, username: str, new_password: bytes) -> None:
    if not app.store.set_hash(username, app.hasher.hash(new_password)):
        raise StatusError(1400, "UnexpectedError", f"old password not correct for {username}")
    app.verifier.credential_changed(username, new_password)


@_deviation(
    "reset-ignores-old-password",
    ["AUTH-RESET-OLD-PASSWORD"],
    "a reset succeeds whatever old password is given",
)
def _reset_ignores_old(app: Application) -> None:
    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        new = decode_password(app.profile, new_b64, failure="new_password_decode")
        validate_password(app.profile, new)
        _reset_unchecked(app, username, new)

    _override_credentials(app, update=update)


@_deviation(
    "reset-skips-validation",
    ["AUTH-RESET-VALIDATES"],
    "a reset accepts a new password that breaks the length rules",
)
def _reset_skips_validation(app: Application) -> None:
    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        old = decode_password(app.profile, old_b64, failure="old_password_decode")
        new = decode_password(app.profile, new_b64, failure="new_password_decode")
        if not app.verifier.verify(username, old):
            raise StatusError(1400, "UnexpectedError", f"old password not correct for {username}")
        _reset_unchecked(app, username, new)

    _override_credentials(app, update=update)


@_deviation(
    "reset-garbles-new-password",
    ["AUTH-RECONNECT-NEW-PASSWORD"],
    "a reset stores a hash that the new password does not match",
)
def _reset_garbles(app: Application) -> None:
    inner = app.credentials

    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        inner.update(caller, username, old_b64, new_b64)
        new = decode_password(app.profile, new_b64)
        app.store.set_hash(username, app.hasher.hash(new[::-1] + b"#"))
        app.verifier.credential_changed(username, None)

    _override_credentials(app, update=update)


@_deviation(
    "reset-applies-to-all-users",
    ["AUTH-SESSIONS-COEXIST"],
    "one user's reset also changes every other non-root user's password",
)
def _reset_all_users(app: Application) -> None:
    inner = app.credentials

    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        inner.update(caller, username, old_b64, new_b64)
        new = decode_password(app.profile, new_b64)
        for other in app.store.usernames():
            if other not in (username, app.profile.root_user):
                app.store.set_hash(other, app.hasher.hash(new))
                app.verifier.credential_changed(other, None)

    _override_credentials(app, update=update)


@_deviation(
    "reset-reports-failure",
    ["AUTH-SDK-RESET-REBINDS"],
    "a reset applies the change but answers an error status",
)
def _reset_reports_failure(app: Application) -> None:
    inner = app.credentials

    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        inner.update(caller, username, old_b64, new_b64)
        raise StatusError(65535, "UpdateCredentialFailure", "failed to refresh proxy cache")

    _override_credentials(app, update=update)


@_deviation(
    "non-root-cannot-reset-self",
    ["AUTH-CALLER-PERMISSIONS"],
    "a verified non-root user is refused (PERMISSION_DENIED) when it resets its own password",
)
def _non_root_cannot_reset_self(app: Application) -> None:
    # Every profile lets a user reset itself (no roles in 2.1; isCurUserObject with RBAC,
    # observed §4.3), so this breaks the clause under docs-2.1 and the RBAC profiles alike.
    inner = app.credentials

    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        if caller.verified and caller.name == username != app.profile.root_user:
            raise PermissionDenied(f"PrivilegeUpdateUser: permission deny to {caller.name}")
        inner.update(caller, username, old_b64, new_b64)

    _override_credentials(app, update=update)


class _StickyVerifier(CredentialVerifier):
    """A verified-credential cache that forgets too little (observed §5.4, §12, made permanent)."""

    def __init__(self, app: Application, *, keep_on_update: bool, keep_on_delete: bool) -> None:
        super().__init__(app.store, app.hasher)
        self._remembered: dict[str, set[bytes]] = {}
        self._keep_on_update = keep_on_update
        self._keep_on_delete = keep_on_delete

    def verify(self, username: str, password: bytes) -> bool:
        key = self._cache.digest(username, password)
        if key in self._remembered.get(username, ()):
            return True
        if not super().verify(username, password):
            return False
        self._remembered.setdefault(username, set()).add(key)
        return True

    def credential_changed(self, username: str, new_password: bytes | None) -> None:
        keep = self._keep_on_delete if new_password is None else self._keep_on_update
        if not keep:
            self._remembered.pop(username, None)
        super().credential_changed(username, new_password)


@_deviation(
    "stale-cache-after-reset",
    ["AUTH-RESET-OLD-FAILS"],
    "the old password keeps working after a reset (cache never invalidated)",
)
def _stale_after_reset(app: Application) -> None:
    _recompose(app, verifier=_StickyVerifier(app, keep_on_update=True, keep_on_delete=False))


@_deviation(
    "deleted-session-survives",
    ["AUTH-DELETED-SESSION-FAILS"],
    "a deleted user's cached credential keeps authenticating",
)
def _deleted_session_survives(app: Application) -> None:
    _recompose(app, verifier=_StickyVerifier(app, keep_on_update=False, keep_on_delete=True))


@_deviation(
    "list-omits-user",
    ["AUTH-USERNAME-ROUNDTRIP", "AUTH-STATEFUL-MODEL"],
    "the user list leaves out the alphabetically last non-root user",
)
def _list_omits_user(app: Application) -> None:
    inner = app.credentials

    def list_usernames(caller: Principal) -> list[str]:
        names = inner.list_usernames(caller)
        others = [n for n in names if n != app.profile.root_user]
        return [n for n in names if not others or n != others[-1]]

    _override_credentials(app, list_usernames=list_usernames)


@_deviation(
    "list-leaks-hashes",
    ["AUTH-LIST-NO-SECRETS"],
    "each user-list entry carries the stored hash and the base64 password of the last create",
)
def _list_leaks(app: Application) -> None:
    inner = app.credentials
    last_password: dict[str, str] = {}

    def create(caller: Principal, username: str, password_b64: str) -> None:
        inner.create(caller, username, password_b64)
        last_password[username] = password_b64  # the leak a real bug would show

    def list_usernames(caller: Principal) -> list[str]:
        return [
            f"{n}:{last_password.get(n, '')}:{app.store.get_hash(n)}"
            for n in inner.list_usernames(caller)
        ]

    _override_credentials(app, create=create, list_usernames=list_usernames)


@_deviation(
    "user-limit-off-by-one",
    ["AUTH-USER-LIMIT"],
    "the user cap admits one user too many, as a cap that forgot to count root would",
    profile="milvus-2.3",
)
def _user_limit_off_by_one(app: Application) -> None:
    if app.profile.user_limit is not None:  # observed §4.2: the cap includes root
        _set_profile(app, user_limit=app.profile.user_limit + 1)


# ---- authentication surface (observed §5) -------------------------------------------------------


Exemption = Callable[[str, Sequence[tuple[str, Any]]], bool]  # (method, metadata) -> skip auth?


class _BypassGate:
    """Lets calls that `exempt` selects through without authentication."""

    def __init__(self, inner: Any, exempt: Exemption) -> None:
        self._inner = inner
        self._exempt = exempt

    def admit(self, method: str, metadata: Sequence[tuple[str, Any]], context: Any) -> Principal:
        if self._exempt(method, metadata):
            return ANONYMOUS
        return self._inner.admit(method, metadata, context)


def _exempt_calls(app: Application, exempt: Exemption) -> None:
    app.decorate_gate = lambda inner: _BypassGate(inner, exempt)


def _exempt_methods(app: Application, *suffixes: str) -> None:
    _exempt_calls(app, lambda method, metadata: method.endswith(suffixes))


@_deviation("getversion-unauthenticated", ["AUTH-EVERY-RPC"], "GetVersion needs no credentials")
def _getversion_open(app: Application) -> None:
    _exempt_methods(app, "/GetVersion")


@_deviation("connect-unauthenticated", ["AUTH-EVERY-RPC"], "Connect needs no credentials")
def _connect_open(app: Application) -> None:
    _exempt_methods(app, "/Connect")


@_deviation(
    "health-unauthenticated", ["AUTH-EVERY-RPC"], "grpc.health.v1 Check needs no credentials"
)
def _health_open(app: Application) -> None:
    _exempt_methods(app, "grpc.health.v1.Health/Check")


@_deviation(
    "data-rpcs-unauthenticated",
    ["VEC-DATA-AUTH"],
    "Insert, Search and Query need no credentials",
)
def _data_open(app: Application) -> None:
    _exempt_methods(app, "/Insert", "/Search", "/Query")


@_deviation(
    "sourceid-bypass",
    ["AUTH-NO-BYPASS-HEADER"],
    "sourceid=base64('@@milvus-member@@') skips authentication, as Milvus 2.3.5 did",
)
def _sourceid_bypass(app: Application) -> None:
    def exempt(method: str, metadata: Sequence[tuple[str, Any]]) -> bool:
        return any(key == "sourceid" and value == _MEMBER_SOURCE_ID for key, value in metadata)

    _exempt_calls(app, exempt)


class _LenientAuthenticator(Authenticator):
    """Rewrites the authorization value before the real checks (one lenience per deviation)."""

    def __init__(self, app: Application, rewrite: Callable[[str], str | None]) -> None:
        super().__init__(app.profile, app.verifier, enabled=app.config.auth_enabled)
        self._rewrite = rewrite

    def authenticate(self, authorization: str | None) -> Principal:
        if authorization is not None:
            authorization = self._rewrite(authorization) or authorization
        return super().authenticate(authorization)


@_deviation(
    "bearer-prefix-accepted",
    ["AUTH-HEADER-ARBITRARY"],
    "'Bearer <base64>' is accepted as if the prefix were absent",
)
def _bearer(app: Application) -> None:
    app.authenticator = _LenientAuthenticator(
        app, lambda value: value.removeprefix("Bearer ") if value.startswith("Bearer ") else None
    )


@_deviation(
    "unpadded-base64-accepted",
    ["AUTH-HEADER-ARBITRARY"],
    "an authorization value without its '=' padding is accepted",
)
def _unpadded(app: Application) -> None:
    def pad(value: str) -> str | None:
        if len(value) % 4 and re.fullmatch(r"[A-Za-z0-9+/]+", value):
            return value + "=" * (-len(value) % 4)
        return None

    app.authenticator = _LenientAuthenticator(app, pad)


@_deviation(
    "empty-password-accepted",
    ["AUTH-EVERY-RPC"],
    "'user:' with an empty password authenticates any existing user",
)
def _empty_password(app: Application) -> None:
    inner = app.authenticator

    class EmptyPassword(Authenticator):
        def authenticate(self, authorization: str | None) -> Principal:
            if authorization is not None:
                try:
                    decoded = go_base64.decode(authorization)
                except go_base64.GoBase64Error:
                    decoded = b""
                user, colon, password = decoded.partition(b":")
                if colon and not password:
                    name = user.decode("utf-8", "replace")
                    if app.store.get_hash(name) is not None:
                        return Principal(name=name, verified=True)
            return inner.authenticate(authorization)

    app.authenticator = EmptyPassword(app.profile, app.verifier, enabled=app.config.auth_enabled)


@_deviation(
    "auth-off-checks-header",
    ["AUTH-OFF-CREDENTIALS-IGNORED"],
    "with --no-auth, an authorization header that is not base64 is still rejected",
)
def _auth_off_checks_header(app: Application) -> None:
    if app.config.auth_enabled:
        return  # only the authentication-disabled server departs (observed §7)
    inner = app.authenticator
    rejected = app.profile.auth_messages["invalid_token"]

    class HalfOff(Authenticator):
        def authenticate(self, authorization: str | None) -> Principal:
            if authorization is not None:
                try:
                    go_base64.decode(authorization)
                except go_base64.GoBase64Error:
                    raise Unauthenticated(rejected) from None
            return inner.authenticate(authorization)

    app.authenticator = HalfOff(app.profile, app.verifier, enabled=False)


# ---- persistence (observed §3.1, §4) -----------------------------------------------------------


@_deviation(
    "users-lost-on-restart",
    ["AUTH-PERSISTENCE"],
    "every non-root user is dropped when the server starts on an existing data dir",
)
def _users_lost(app: Application) -> None:
    if not app.root_created:
        for name in app.store.usernames():
            if name != app.profile.root_user:
                app.store.delete(name)


class _VolatileUpdates:
    """A user store whose password changes live only in memory."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._changed: dict[str, str] = {}

    def get_hash(self, username: str) -> str | None:
        stored = self._inner.get_hash(username)
        return None if stored is None else self._changed.get(username, stored)

    def set_hash(self, username: str, password_hash: str) -> bool:
        if self._inner.get_hash(username) is None:
            return False
        self._changed[username] = password_hash
        return True

    def delete(self, username: str) -> bool:
        self._changed.pop(username, None)
        return bool(self._inner.delete(username))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@_deviation(
    "password-change-lost-on-restart",
    ["AUTH-PERSISTENCE"],
    "password resets are kept in memory only and revert on restart",
)
def _password_change_lost(app: Application) -> None:
    _recompose(app, store=_VolatileUpdates(app.store))


# ---- vector core -------------------------------------------------------------------------------


class _VectorsOverride:
    """Delegates to the real VectorService except where a deviation replaces a method."""

    def __init__(self, inner: Any, **methods: Callable[..., Any]) -> None:
        self._inner = inner
        for name, method in methods.items():
            setattr(self, name, method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _override_vectors(app: Application, **methods: Callable[..., Any]) -> Any:
    inner = app.vectors
    app.vectors = _VectorsOverride(inner, **methods)
    return inner


def _rewrite_hits(app: Application, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Apply `change` to every query's (rows, distances) index order of each search answer."""
    inner = app.vectors

    def search(name: str, **kwargs: Any) -> Any:
        collection, hits = inner.search(name, **kwargs)
        for q, rows in enumerate(hits.rows):
            order = change(np.arange(len(rows)))
            hits.rows[q] = rows[order]
            hits.distances[q] = hits.distances[q][order]
        return collection, hits

    _override_vectors(app, search=search)


@_deviation(
    "search-wrong-order",
    ["VEC-FLAT-EXACT-L2", "VEC-FLAT-EXACT-IP", "VEC-FLAT-EXACT-COSINE"],
    "search hits come back worst first",
)
def _search_wrong_order(app: Application) -> None:
    _rewrite_hits(app, lambda order: order[::-1])


@_deviation(
    "search-topk-off-by-one",
    ["VEC-FLAT-EXACT-L2", "VEC-FLAT-EXACT-IP", "VEC-FLAT-EXACT-COSINE"],
    "search returns one hit fewer than top-k",
)
def _search_topk_off_by_one(app: Application) -> None:
    _rewrite_hits(app, lambda order: order[:-1])


@_deviation(
    "search-ignores-deletes", ["VEC-DELETE-GONE"], "deleted entities still appear in search"
)
def _search_ignores_deletes(app: Application) -> None:
    inner = app.vectors

    def search(name: str, **kwargs: Any) -> Any:
        collection = inner.get(name)
        with collection.lock:
            alive = collection._alive.view()
            saved = alive.copy()
            alive[:] = True
            try:
                return collection, collection.search(**kwargs)
            finally:
                alive[:] = saved

    _override_vectors(app, search=search)


_IN_LIST = re.compile(r"(\bin\s*\[)([^\[\]]*)(\])", re.IGNORECASE)


def _drop_last_in_element(expression: str) -> str:
    def shorten(match: re.Match[str]) -> str:
        items = match.group(2).split(",")
        kept = ",".join(items[:-1]) if len(items) > 1 else ""
        return f"{match.group(1)}{kept}{match.group(3)}"

    return _IN_LIST.sub(shorten, expression)


class _RewritingCollection:
    """A collection view whose filter expressions pass through `rewrite` first."""

    def __init__(self, inner: Any, rewrite: Callable[[str], str]) -> None:
        self._inner = inner
        self._rewrite = rewrite

    def query_rows(self, expression: str, *args: Any) -> Any:
        return self._inner.query_rows(self._rewrite(expression), *args)

    def count(self, expression: str, *args: Any) -> Any:
        return self._inner.count(self._rewrite(expression), *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@_deviation(
    "filter-in-drops-last",
    ["VEC-QUERY-FILTER", "VEC-SEARCH-FILTER"],
    "the filter operator `in [...]` ignores the list's last element",
)
def _filter_in_drops_last(app: Application) -> None:
    inner = app.vectors

    def get(name: str) -> Any:
        return _RewritingCollection(inner.get(name), _drop_last_in_element)

    def search(name: str, **kwargs: Any) -> Any:
        kwargs["expression"] = _drop_last_in_element(kwargs.get("expression", ""))
        return inner.search(name, **kwargs)

    def delete(name: str, expression: str, partition: str = "") -> Any:
        return inner.delete(name, _drop_last_in_element(expression), partition)

    _override_vectors(app, get=get, search=search, delete=delete)


@_deviation(
    "cosine-as-ip",
    ["VEC-FLAT-EXACT-COSINE"],
    "COSINE searches compute the plain inner product (no normalisation)",
)
def _cosine_as_ip(app: Application) -> None:
    inner = app.vectors

    def search(name: str, **kwargs: Any) -> Any:
        collection = inner.get(name)
        with collection.lock:
            field = collection.anns_field(kwargs.get("anns_field", "")).name
            index = collection.indexes.get(field)
            if index is None or index.metric_type != "COSINE":
                return collection, collection.search(**kwargs)
            collection.indexes[field] = dataclasses.replace(index, metric_type="IP")
            try:
                return collection, collection.search(**{**kwargs, "metric": "IP"})
            finally:
                collection.indexes[field] = index

    _override_vectors(app, search=search)


@_deviation(
    "ann-low-recall",
    ["VEC-ANN-RECALL"],
    "IVF/HNSW searches return ranks k+1..2k instead of the nearest k",
)
def _ann_low_recall(app: Application) -> None:
    inner = app.vectors

    def search(name: str, **kwargs: Any) -> Any:
        collection = inner.get(name)
        field = collection.anns_field(kwargs.get("anns_field", "")).name
        index = collection.indexes.get(field)
        if index is None or index.index_type.upper() == "FLAT":
            return inner.search(name, **kwargs)
        topk = int(kwargs["topk"])
        collection, hits = inner.search(name, **{**kwargs, "topk": min(2 * topk, 16384)})
        hits.rows[:] = [rows[topk:] for rows in hits.rows]
        hits.distances[:] = [d[topk:] for d in hits.distances]
        return collection, hits

    _override_vectors(app, search=search)


@_deviation(
    "released-still-searchable",
    ["VEC-RELEASED-SEARCH-FAILS"],
    "search and query keep working on a released collection",
)
def _released_searchable(app: Application) -> None:
    inner = app.vectors

    class AlwaysLoaded(_RewritingCollection):
        def require_loaded(self) -> None:
            return None

        def query_rows(self, expression: str, *args: Any) -> Any:
            return _as_loaded(self._inner, lambda: self._inner.query_rows(expression, *args))

        def count(self, expression: str, *args: Any) -> Any:
            return _as_loaded(self._inner, lambda: self._inner.count(expression, *args))

    def search(name: str, **kwargs: Any) -> Any:
        collection = inner.get(name)
        return collection, _as_loaded(collection, lambda: collection.search(**kwargs))

    _override_vectors(
        app, get=lambda name: AlwaysLoaded(inner.get(name), lambda e: e), search=search
    )


def _as_loaded(collection: Any, call: Callable[[], Any]) -> Any:
    with collection.lock:
        was_loaded = collection.loaded
        collection.loaded = True
        try:
            return call()
        finally:
            collection.loaded = was_loaded


@_deviation(
    "schema-drops-descriptions",
    ["VEC-SCHEMA-ROUNDTRIP"],
    "CreateCollection forgets the field descriptions",
)
def _schema_drops_descriptions(app: Application) -> None:
    inner = app.vectors

    def create_collection(name: str, schema_name: str, fields: list[Any], **kwargs: Any) -> None:
        plain = [dataclasses.replace(f, description="") for f in fields]
        inner.create_collection(name, schema_name, plain, **kwargs)

    _override_vectors(app, create_collection=create_collection)


# ---- REST v2 (observed §8; doc §Limitations, §Create..., §Reset password, §Delete a user) -------
# The REST server runs every request through `Application.decorate_rest(_serve)`, where
# `_serve(app, endpoint, header, raw)` authenticates with `app.authenticator` and hands
# `app.credentials` to the handler. A REST deviation wraps that pipeline; most of them hand it
# a view of the Application in which one component is replaced, so gRPC stays untouched.

RestServe = Callable[["Application", Any, "str | None", bytes], Any]


def _wrap_rest(
    app: Application, wrapper: Callable[[RestServe, Application, Any, str | None, bytes], Any]
) -> None:
    previous = app.decorate_rest

    def decorate(serve: RestServe) -> RestServe:
        inner = previous(serve)
        return lambda view, endpoint, header, raw: wrapper(inner, view, endpoint, header, raw)

    app.decorate_rest = decorate  # type: ignore[method-assign]


class _AppView:
    """The Application as the REST server sees it, with some attributes replaced."""

    def __init__(self, app: Application, **replaced: Any) -> None:
        self._app = app
        for name, value in replaced.items():
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def _rest_view(app: Application, **replaced: Any) -> None:
    """REST requests see `replaced` components; gRPC keeps the real ones."""
    view = _AppView(app, **replaced)
    _wrap_rest(app, lambda serve, _app, endpoint, header, raw: serve(view, endpoint, header, raw))


def _rest_credentials(app: Application, **methods: Callable[..., Any]) -> None:
    _rest_view(app, credentials=_CredentialsOverride(app, **methods))


def _rest_path(endpoint: Any) -> str:
    return str(endpoint.path)


class _OpenAuthenticator:
    """Treats a caller that fails authentication as root (REST list endpoint only)."""

    enabled = False  # makes the REST header parser pass malformed headers through

    def __init__(self, app: Application) -> None:
        self._inner = app.authenticator
        self._root = app.profile.root_user

    def authenticate(self, authorization: str | None) -> Principal:
        try:
            return self._inner.authenticate(authorization)
        except Unauthenticated:
            return Principal(name=self._root, verified=True)


@_deviation(
    "rest-list-unauthenticated",
    ["REST-AUTH-EVERY-ENDPOINT"],
    "REST /users/list answers without (or with bad) credentials",
)
def _rest_list_open(app: Application) -> None:
    view = _AppView(app, authenticator=_OpenAuthenticator(app))

    def wrapper(serve: RestServe, real: Any, endpoint: Any, header: str | None, raw: bytes) -> Any:
        return serve(view if _rest_path(endpoint) == "/users/list" else real, endpoint, header, raw)

    _wrap_rest(app, wrapper)


@_deviation(
    "rest-basic-rejected",
    ["REST-AUTH-SCHEMES"],
    "REST refuses HTTP Basic credentials (only `Bearer user:password` works)",
)
def _rest_basic_rejected(app: Application) -> None:
    from reference.rest.envelope import unauthenticated

    def wrapper(serve: RestServe, real: Any, endpoint: Any, header: str | None, raw: bytes) -> Any:
        if header is not None and header.strip().lower().startswith("basic "):
            raise unauthenticated()
        return serve(real, endpoint, header, raw)

    _wrap_rest(app, wrapper)


@_deviation(
    "rest-missing-field-wrong-code",
    ["REST-ERROR-CODES"],
    "a REST request missing a required field gets code 1100 instead of 1802",
)
def _rest_missing_field_code(app: Application) -> None:
    from reference.rest.envelope import RestError

    def wrapper(serve: RestServe, real: Any, endpoint: Any, header: str | None, raw: bytes) -> Any:
        try:
            return serve(real, endpoint, header, raw)
        except RestError as error:
            if error.code != 1802:  # merr.ErrMissingRequiredParameters
                raise
            raise RestError(1100, error.message, error.http_status) from None

    _wrap_rest(app, wrapper)


def _no_query_vector(raw: bytes) -> bool:
    """A search body whose `data` has no vector, or an empty one."""
    try:
        request = json.loads(raw)
    except ValueError:
        return False
    data = request.get("data") if isinstance(request, dict) else None
    return isinstance(data, list) and (not data or any(v == [] for v in data))


@_deviation(
    "rest-500-on-bad-vector",
    ["REST-SCHEMA-FUZZ"],
    "a REST search with no query vector (or an empty one) crashes with HTTP 500",
)
def _rest_500_on_bad_vector(app: Application) -> None:
    from reference.rest.auth import authenticate

    def wrapper(serve: RestServe, real: Any, endpoint: Any, header: str | None, raw: bytes) -> Any:
        if _rest_path(endpoint) == "/entities/search" and _no_query_vector(raw):
            authenticate(real.authenticator, header)  # credentials are still checked first
            raise IndexError("query vector index out of range")  # the unguarded data[0][0]
        return serve(real, endpoint, header, raw)

    _wrap_rest(app, wrapper)


@_deviation(
    "rest-long-username-accepted",
    ["REST-USER-LIMITS"],
    "REST /users/create accepts a username one character over the maximum",
)
def _rest_long_username(app: Application) -> None:
    inner = app.credentials
    limit = app.profile.username_max_length

    def create(caller: Principal, username: str, password_b64: str) -> None:
        if len(username) != limit + 1 or not _valid_username(app, username[:limit]):
            return inner.create(caller, username, password_b64)
        password = decode_password(app.profile, password_b64)
        validate_password(app.profile, password)
        check_hashable(app.profile, password)
        _store_new_user(app, username, password)
        return None

    _rest_credentials(app, create=create)


@_deviation(
    "rest-root-droppable",
    ["REST-ROOT"],
    "REST /users/drop of root answers success (root is silently kept)",
)
def _rest_root_droppable(app: Application) -> None:
    inner = app.credentials

    def delete(caller: Principal, username: str) -> None:
        if username != app.profile.root_user:
            inner.delete(caller, username)

    _rest_credentials(app, delete=delete)


@_deviation(
    "rest-reset-ignores-old",
    ["REST-RESET"],
    "REST /users/update_password succeeds whatever old password is given",
)
def _rest_reset_ignores_old(app: Application) -> None:
    def update(caller: Principal, username: str, old_b64: str, new_b64: str) -> None:
        new = decode_password(app.profile, new_b64, failure="new_password_decode")
        validate_password(app.profile, new)
        _reset_unchecked(app, username, new)

    _rest_credentials(app, update=update)


class _DeletedStillWorks:
    """REST authentication that remembers every header that once worked, for deleted users."""

    def __init__(self, app: Application) -> None:
        self._inner = app.authenticator
        self._store = app.store
        self._remembered: dict[str, Principal] = {}
        self.enabled = self._inner.enabled

    def authenticate(self, authorization: str | None) -> Principal:
        try:
            principal = self._inner.authenticate(authorization)
        except Unauthenticated:
            known = self._remembered.get(authorization or "")
            if known is None or self._store.get_hash(known.name) is not None:
                raise
            return known  # the user is gone, but its header still works
        if authorization and principal.verified:
            self._remembered[authorization] = principal
        return principal


@_deviation(
    "rest-deleted-still-works",
    ["REST-DELETE"],
    "over REST, a deleted user's credentials keep working if they were used before",
)
def _rest_deleted_still_works(app: Application) -> None:
    _rest_view(app, authenticator=_DeletedStillWorks(app))


@_deviation(
    "rest-separate-user-store",
    ["REST-CROSS-PROTOCOL"],
    "REST keeps its own user store (own root), so REST and gRPC users never meet",
)
def _rest_separate_store(app: Application) -> None:
    from reference.storage.database import Database
    from reference.storage.users import UserRepository

    directory = app.config.data_dir / "rest-only-users"
    directory.mkdir(exist_ok=True)
    store = UserRepository(Database(directory))
    verifier = CredentialVerifier(store, app.hasher)
    credentials = CredentialService(
        app.profile, store, app.hasher, verifier, super_users=app.config.super_users
    )
    credentials.ensure_root(app.config.root_password)
    _rest_view(
        app,
        store=store,
        verifier=verifier,
        credentials=credentials,
        authenticator=Authenticator(app.profile, verifier, enabled=app.config.auth_enabled),
    )


# ---- management port (observed §8.3) --------------------------------------------------------


def _json_reply(status: int, document: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(document).encode()


@_deviation(
    "management-port-side-door",
    ["AUTH-MANAGEMENT-PORT"],
    "the management port lists, creates and deletes users without authentication "
    "(/api/v1/credential, as Milvus 2.3.5's :9091)",
)
def _management_side_door(app: Application) -> None:
    # Every call runs as root, whatever (or whoever) sent it: that is the side door.
    root = Principal(name=app.profile.root_user, verified=True)

    def body_of(raw: bytes) -> dict[str, Any]:
        document = json.loads(raw or b"{}")
        if not isinstance(document, dict):
            raise ValueError("a JSON object is required")
        return document

    def guarded(run: Callable[[dict[str, Any]], Any]) -> Callable[[Any, bytes], Any]:
        def handle(_app: Any, raw: bytes) -> tuple[int, str, bytes]:
            try:
                return _json_reply(200, run(body_of(raw)))
            except (KeyError, ValueError, TypeError) as error:
                return _json_reply(400, {"status": {"code": 1, "reason": str(error)}})
            except StatusError as error:
                return _json_reply(200, {"status": {"code": error.code, "reason": error.reason}})

        return handle

    def list_users(_: dict[str, Any]) -> Any:
        return {"status": {}, "usernames": app.credentials.list_usernames(root)}

    def create(request: dict[str, Any]) -> Any:
        app.credentials.create(root, str(request["username"]), str(request["password"]))
        return {}

    def delete(request: dict[str, Any]) -> Any:
        app.credentials.delete(root, str(request["username"]))
        return {}

    previous = app.decorate_management

    def decorate(routes: dict[Any, Any]) -> dict[Any, Any]:
        return {
            **previous(routes),
            ("GET", "/api/v1/credential/users"): guarded(list_users),
            ("POST", "/api/v1/credential"): guarded(create),
            ("DELETE", "/api/v1/credential"): guarded(delete),
        }

    app.decorate_management = decorate  # type: ignore[method-assign]
