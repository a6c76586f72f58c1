"""Request bodies: parse JSON, then check them against the endpoint's schema (spec.py).

Milvus's REST v2 answers a body that is not JSON, or has a value of the wrong JSON type, with
code 1801, and a missing required field with 1802, both with HTTP 200 (observed §8.2).
"""

from __future__ import annotations

import json
from typing import Any

from reference.rest.envelope import RestError
from reference.rest.spec import Schema

BAD_FORMAT = 1801  # merr.ErrIncorrectParameterFormat
MISSING_PARAMETER = 1802  # merr.ErrMissingRequiredParameters
MAX_BODY_BYTES = 64 * 1024 * 1024  # same bound as the gRPC server's messages
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def bad_format(detail: str) -> RestError:
    return RestError(BAD_FORMAT, f"can only accept json format request, error: {detail}")


def missing(path: str) -> RestError:
    return RestError(MISSING_PARAMETER, f"missing required parameters, error: {path} is required")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`; an empty body counts as `{}`."""
    if len(raw) > MAX_BODY_BYTES:
        raise bad_format(f"request body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise bad_format(str(error)) from None
    if not isinstance(value, dict):
        raise bad_format(f"the body must be a JSON object, got {type(value).__name__}")
    return value


def check(value: Any, schema: Schema, path: str = "body") -> None:
    """Raise 1801/1802 where `value` does not fit `schema` (the subset spec.py uses)."""
    if "oneOf" in schema:
        if not any(_fits(value, option, path) for option in schema["oneOf"]):
            raise bad_format(f"{path} has an unexpected type {type(value).__name__}")
        return
    expected = schema.get("type")
    if expected is not None and not _has_type(value, expected):
        raise bad_format(f"{path} must be of type {expected}, got {_json_type(value)}")
    if "enum" in schema and value not in schema["enum"]:
        raise bad_format(f"{path} must be one of {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value or value[key] is None:
                raise missing(f"{path}.{key}")
        for key, sub in schema.get("properties", {}).items():
            if value.get(key) is not None:
                check(value[key], sub, f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(item, schema["items"], f"{path}[{index}]")


def _fits(value: Any, schema: Schema, path: str) -> bool:
    try:
        check(value, schema, path)
    except RestError:
        return False
    return True


def _has_type(value: Any, expected: str) -> bool:
    if isinstance(value, bool):
        return expected == "boolean"
    return isinstance(value, _JSON_TYPES[expected])


def _json_type(value: Any) -> str:
    for name in _JSON_TYPES:
        if _has_type(value, name) and name != "number":
            return name
    return "null" if value is None else type(value).__name__
