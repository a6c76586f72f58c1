"""Base64 decoding with the exact acceptance rules and error offsets of Go's base64.StdEncoding.

Milvus decodes both the `authorization` header and the credential passwords with
`base64.StdEncoding.DecodeString` (observed §2, §5.1): padding is required, CR and LF are
skipped, and the error names the offending byte offset (`illegal base64 data at input byte N`).
"""

from __future__ import annotations

import base64

_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = frozenset(b"\r\n")
_PAD = ord("=")


class GoBase64Error(ValueError):
    """Raised for input Go would reject; the message is Go's CorruptInputError text."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def _first_error(src: bytes) -> int | None:
    """Offset Go reports for `src`, or None if Go accepts it (mirrors decodeQuantum)."""
    si = 0
    n = len(src)
    while True:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j
            ch = src[si]
            si += 1
            if ch in _ALPHABET:
                j += 1
                continue
            if ch in _NEWLINES:
                continue
            if ch != _PAD or j in (0, 1):
                return si - 1
            if j == 2:
                while si < n and src[si] in _NEWLINES:
                    si += 1
                if si == n:
                    return n
                if src[si] != _PAD:
                    return si - 1
                si += 1
            while si < n and src[si] in _NEWLINES:
                si += 1
            return si if si < n else None


def decode(text: str) -> bytes:
    """Decode like Go's StdEncoding.DecodeString; raise GoBase64Error on rejection."""
    raw = text.encode("utf-8", "surrogatepass")
    offset = _first_error(raw)
    if offset is not None:
        raise GoBase64Error(offset)
    cleaned = bytes(b for b in raw if b not in _NEWLINES)
    # Go ignores non-zero trailing bits in non-strict mode; so does b64decode.
    return base64.b64decode(cleaned, validate=False)
