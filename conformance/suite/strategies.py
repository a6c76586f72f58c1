"""Hypothesis strategies weighted to the boundaries of the doc's limits (doc §Limitations)."""

from __future__ import annotations

import string

from hypothesis import strategies as st

LETTERS = string.ascii_letters
DIGITS = string.digits
PUNCTUATION = "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~"
DOT_HYPHEN = ".-"
WHITESPACE = " \t\n\r\v\f\xa0\u3000"
NON_ASCII_LETTERS = "éßñøЖжλΩ中文ﬁ"
CONTROL = "\x00\x01\x07\x1b\x1f\x7f\x85"
MULTIBYTE = "éж中😀ß€"

_NAME_BODY = LETTERS + DIGITS + "_"
_ANY_NAME_CHAR = _NAME_BODY + PUNCTUATION + DOT_HYPHEN + WHITESPACE + NON_ASCII_LETTERS + CONTROL


def _text(alphabet: str, min_size: int = 0, max_size: int = 64) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


def _inject(base: str, char: str, position: int) -> str:
    position = min(position, len(base))
    return base[:position] + char + base[position:]


def valid_looking_names(max_size: int = 40) -> st.SearchStrategy[str]:
    """A letter followed by letters, digits and underscores (mostly valid)."""
    return st.builds(
        lambda first, rest: first + rest, st.sampled_from(LETTERS), _text(_NAME_BODY, 0, max_size)
    )


def usernames() -> st.SearchStrategy[str]:
    """Arbitrary names, lengths 0..64, weighted to the rule boundaries."""
    one_odd_char = st.builds(
        _inject,
        valid_looking_names(33),
        st.sampled_from(PUNCTUATION + DOT_HYPHEN + WHITESPACE + NON_ASCII_LETTERS + CONTROL),
        st.integers(0, 34),
    )
    around_max = st.integers(30, 34).flatmap(
        lambda n: st.builds(
            lambda first, rest: first + rest,
            st.sampled_from(LETTERS),
            _text(_NAME_BODY + NON_ASCII_LETTERS[:3], n - 1, n - 1),
        )
    )
    padded = st.builds(
        lambda pad_left, name, pad_right: pad_left + name + pad_right,
        _text(WHITESPACE, 0, 2),
        valid_looking_names(20),
        _text(WHITESPACE, 0, 2),
    )
    return st.one_of(
        st.just(""),
        _text(WHITESPACE, 1, 3),
        valid_looking_names(),
        one_odd_char,
        around_max,
        padded,
        _text(_ANY_NAME_CHAR, 0, 64),
        st.text(max_size=64),  # anything Unicode (no surrogates: they cannot be sent)
    )


_BOUNDARY_LENGTHS = (0, 1, 5, 6, 7, 71, 72, 73, 74, 255, 256, 257, 300)
_PW_ASCII = string.ascii_letters + string.digits + string.punctuation + " "


def passwords() -> st.SearchStrategy[str]:
    """Passwords of 0..300 characters, ASCII and multi-byte, weighted to length boundaries."""
    ascii_at_boundary = st.sampled_from(_BOUNDARY_LENGTHS).flatmap(lambda n: _text(_PW_ASCII, n, n))
    multibyte_near_72_bytes = st.integers(20, 40).flatmap(
        lambda n: st.builds(lambda a, b: a + b, _text(MULTIBYTE, n, n), _text(_PW_ASCII, 0, 4))
    )
    return st.one_of(
        ascii_at_boundary,
        _text(_PW_ASCII, 0, 300),
        _text(_PW_ASCII + MULTIBYTE + "\x00:", 0, 120),
        multibyte_near_72_bytes,
        st.text(st.characters(codec="utf-8"), max_size=80),
    )


def mutated(password: str, position: int, replacement: str) -> str:
    """`password` with the character at `position` replaced (appended when past the end)."""
    position %= len(password) + 1
    if position == len(password):
        return password + replacement
    original = password[position]
    if replacement == original:
        replacement = "x" if original != "x" else "y"
    return password[:position] + replacement + password[position + 1 :]


def late_positions(password_length: int) -> st.SearchStrategy[int]:
    """Mutation positions weighted beyond byte 72 (where bcrypt would silently truncate)."""
    upper = max(password_length - 1, 0)
    late = st.integers(min(72, upper), upper) if upper >= 72 else st.integers(0, upper)
    return st.one_of(late, st.integers(0, upper), st.just(upper))
