"""Username and password rules (doc §Limitations), parameterised by a Profile.

Order and messages follow Milvus's ValidateUsername / ValidatePassword (observed §1, §2);
whether lengths count characters or bytes is profile data.
"""

from __future__ import annotations

from reference.domain import go_base64
from reference.domain.errors import StatusError
from reference.domain.profile import Profile

_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ASCII_DIGITS = frozenset("0123456789")
# Go's unicode.IsSpace set, which strings.TrimSpace strips (observed §1 step 1).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def status_error(profile: Profile, kind: str, **values: object) -> StatusError:
    spec = profile.error(kind)
    return StatusError(spec.code, spec.error_code, spec.render(**values))


def validate_username(profile: Profile, username: str) -> None:
    """Raise the profile's StatusError if `username` breaks the naming rules."""
    name = username.strip(_GO_SPACE) if profile.username_trim_for_validation else username
    if not name:
        raise status_error(profile, "username_empty")
    units = _units(profile, name)
    if len(units) > profile.username_max_length:
        raise status_error(
            profile,
            "username_too_long",
            username=name,
            length=len(units),
            max=profile.username_max_length,
        )
    allowed_rest = _ASCII_LETTERS | _ASCII_DIGITS | {"_"} | set(profile.username_extra_chars)
    for position, (unit, first_byte) in enumerate(units):
        allowed = _ASCII_LETTERS if position == 0 else allowed_rest
        if unit not in allowed:
            kind = "username_first_char" if position == 0 else "username_char"
            raise status_error(profile, kind, username=name, char=unit, byte=first_byte)


def _units(profile: Profile, text: str) -> list[tuple[str, int]]:
    """(unit, its first UTF-8 byte) per character, or per byte for byte-counting profiles.

    A byte is shown as Go's string(byte) would show it: the code point of the same value.
    """
    if profile.length_unit == "chars":
        return [(ch, ch.encode("utf-8", "surrogatepass")[0]) for ch in text]
    return [(chr(b), b) for b in text.encode("utf-8", "surrogatepass")]


def decode_password(profile: Profile, encoded: str, *, failure: str = "password_decode") -> bytes:
    """Decode a base64 wire password (observed §4.1); failures are 65535-style statuses.

    `failure` names the profile message: Milvus words the create and update paths differently.
    """
    try:
        return go_base64.decode(encoded)
    except go_base64.GoBase64Error as exc:
        raise status_error(profile, failure, detail=str(exc)) from None


def validate_password(profile: Profile, password: bytes) -> None:
    """Length rule of doc §Limitations, counted in the profile's unit."""
    if profile.length_unit == "chars":
        try:
            length = len(password.decode("utf-8"))
        except UnicodeDecodeError:
            raise status_error(profile, "password_not_utf8") from None
    else:
        length = len(password)
    if not profile.password_min_length <= length <= profile.password_max_length:
        raise status_error(
            profile,
            "password_length",
            length=length,
            min=profile.password_min_length,
            max=profile.password_max_length,
        )


def check_hashable(profile: Profile, password: bytes) -> None:
    """Profiles that emulate bcrypt reject passwords its 72-byte input cannot hold."""
    limit = profile.password_hash_limit_bytes
    if limit is not None and len(password) > limit:
        raise status_error(profile, "password_hash_limit")
