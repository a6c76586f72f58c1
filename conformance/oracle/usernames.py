"""Username oracle: which names a target must accept, and how it must reject the rest."""

from __future__ import annotations

from conformance.oracle.params import ProfileParams, UsernameRules
from conformance.oracle.verdict import ACCEPTED, Verdict, rejected

# Unicode White_Space, which is what Go's strings.TrimSpace strips (observed §1). Python's
# str.strip() also strips U+001C..U+001F, so it cannot be used here.
GO_WHITESPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_CLASS_CHARS = {
    "ascii_letter": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    "ascii_digit": frozenset("0123456789"),
    "underscore": frozenset("_"),
    "dot": frozenset("."),
    "hyphen": frozenset("-"),
}


def go_trim_space(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in GO_WHITESPACE:
        start += 1
    while end > start and text[end - 1] in GO_WHITESPACE:
        end -= 1
    return text[start:end]


def allowed_chars(classes: tuple[str, ...]) -> frozenset[str]:
    chars: frozenset[str] = frozenset()
    for cls in classes:
        chars |= _CLASS_CHARS[cls]
    return chars


def _length(rules: UsernameRules, name: str) -> int:
    return len(name.encode("utf-8")) if rules.length_unit == "bytes" else len(name)


def _units(rules: UsernameRules, name: str) -> list[tuple[str, int]]:
    """(char, first byte) per checked unit: bytes are checked one by one in the byte unit."""
    if rules.length_unit == "bytes":
        return [(chr(b), b) for b in name.encode("utf-8")]
    return [(c, c.encode("utf-8")[0]) for c in name]


def username_verdict(params: ProfileParams, name: str) -> Verdict:
    """Expected answer to CreateCredential(name, <valid password>).  # doc §Limitations"""
    rules = params.username
    checked = go_trim_space(name) if rules.trim_before_validation else name
    if checked == "":
        return rejected(params, "username_empty", "status_error")
    length = _length(rules, checked)
    if length > rules.max_length:
        return rejected(params, "username_length", "status_error", name=checked, length=length)
    units = _units(rules, checked)
    first, first_byte = units[0]
    if first not in allowed_chars(rules.first_char):
        return rejected(
            params,
            "username_first_char",
            "status_error",
            name=checked,
            byte=first_byte,
            char=chr(first_byte),
        )
    later = allowed_chars(rules.later_chars)
    for char, byte in units[1:]:
        if char not in later:
            return rejected(params, "username_charset", "status_error", name=checked, byte=byte)
    return ACCEPTED


def stored_name(params: ProfileParams, name: str) -> str | None:
    """The name an accepted user is listed and logs in under; None when the profile leaves
    it undefined (2.6 trims in one place but not another, observed §1.3)."""
    rules = params.username
    if rules.stored_as_given or not rules.trim_before_validation:
        return name
    return name if go_trim_space(name) == name else None
