"""Where Go's base64.StdEncoding gives up on a value: the byte offset its CorruptInputError
reports ("illegal base64 data at input byte N").  # observed §4.1 (Base64Decode of passwords)

Written from the documented decoding rules (4-character quanta, '=' padding, CR/LF skipped),
not from any server's code.
"""

from __future__ import annotations

_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = frozenset(b"\r\n")
_PAD = ord("=")


def _skip_newlines(data: bytes, index: int) -> int:
    while index < len(data) and data[index] in _NEWLINES:
        index += 1
    return index


def _quantum_error(data: bytes, start: int) -> tuple[int, int | None, bool]:
    """Decode one quantum from `start`: (next index, error offset or None, input finished)."""
    index = start
    filled = 0
    while filled < 4:
        if index == len(data):
            if filled == 0:
                return index, None, True
            return index, index - filled, True  # a short final quantum
        byte = data[index]
        index += 1
        if byte in _ALPHABET:
            filled += 1
            continue
        if byte in _NEWLINES:
            continue
        if byte != _PAD or filled < 2:
            return index, index - 1, True  # an illegal byte, or padding too early
        if filled == 2:  # "xx==": the second '=' must follow (newlines aside)
            index = _skip_newlines(data, index)
            if index == len(data):
                return index, len(data), True
            if data[index] != _PAD:
                return index, index - 1, True
            index += 1
        index = _skip_newlines(data, index)
        return index, (index if index < len(data) else None), True  # garbage after padding
    return index, None, False


def decode_error_offset(value: str | bytes) -> int | None:
    """The offset Go's StdEncoding.DecodeString reports for `value`; None if it decodes."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    index = 0
    while index < len(data):
        index, error, finished = _quantum_error(data, index)
        if error is not None:
            return error
        if finished:
            return None
    return None
