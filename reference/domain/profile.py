"""Behaviour profiles: every version-specific rule and message is data in profiles/<name>.yaml.

Adding a Milvus version means adding a YAML file; nothing here names a version.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

DEFAULT_PROFILE = "docs-2.1"

# Every status answer a profile must define (kind -> placeholders its message may use).
REQUIRED_ERRORS: Mapping[str, frozenset[str]] = {
    "username_empty": frozenset(),
    "username_too_long": frozenset({"username", "length", "max"}),
    "username_first_char": frozenset({"username", "char", "byte"}),
    "username_char": frozenset({"username", "char", "byte"}),
    "password_length": frozenset({"length", "min", "max"}),
    "password_decode": frozenset({"detail"}),
    "old_password_decode": frozenset({"detail"}),
    "new_password_decode": frozenset({"detail"}),
    "password_not_utf8": frozenset(),
    "password_hash_limit": frozenset(),
    "user_exists": frozenset({"username"}),
    "user_limit": frozenset(),
    "old_password_mismatch": frozenset({"username"}),
    "root_delete": frozenset(),
    "delete_empty": frozenset(),
}
# Errors a profile only needs when the rule that raises them is switched on.
_CONDITIONAL_ERRORS: Mapping[str, Any] = {
    "password_not_utf8": lambda data: data["length_unit"] == "chars",
    "password_hash_limit": lambda data: data["password"].get("hash_limit_bytes") is not None,
    "user_limit": lambda data: data.get("user_limit") is not None,
}
REQUIRED_AUTH_MESSAGES = ("missing_header", "invalid_token", "no_colon", "bad_credentials")
PRIVILEGES = ("list", "create", "delete", "update", "select")


class ProfileError(ValueError):
    """A profile file is missing, malformed or incomplete."""


@dataclass(frozen=True)
class ErrorSpec:
    code: int
    error_code: str  # name of a common.ErrorCode member
    message: str  # str.format template

    def render(self, **values: object) -> str:
        return self.message.format_map(values)


@dataclass(frozen=True)
class Rbac:
    enabled: bool
    superuser: str  # the one user that bypasses RBAC
    privileges: Mapping[str, str]  # operation -> privilege name shown in denials
    deny_message: str  # template with {privilege}, {user}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    server_version: str
    length_unit: Literal["chars", "bytes"]
    username_max_length: int
    username_extra_chars: str  # allowed after the first letter besides [A-Za-z0-9_]
    username_trim_for_validation: bool
    password_min_length: int
    password_max_length: int
    password_hash_limit_bytes: int | None  # bcrypt-style cap checked after validation
    user_limit: int | None  # includes root
    root_user: str
    rbac: Rbac
    auth_messages: Mapping[str, str]
    errors: Mapping[str, ErrorSpec]

    def error(self, kind: str) -> ErrorSpec:
        return self.errors[kind]


# Located relative to this file (not via importlib.resources) so it also works when the
# package is installed as an editable namespace package.
PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    if name not in available_profiles():
        raise ProfileError(
            f"unknown profile {name!r}; available: {', '.join(available_profiles())}"
        )
    text = (PROFILES_DIR / f"{name}.yaml").read_text("utf-8")
    return parse_profile(text, name)


def parse_profile(text: str, name: str) -> Profile:
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ProfileError(f"profile {name}: top level must be a mapping")
    try:
        return _build(data, name)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"profile {name}: {exc!r}") from exc


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _build(data: dict[str, Any], name: str) -> Profile:
    errors = {
        kind: ErrorSpec(int(spec["code"]), str(spec["error_code"]), str(spec["message"]))
        for kind, spec in data["errors"].items()
    }
    for kind, allowed in REQUIRED_ERRORS.items():
        if kind not in errors:
            if kind in _CONDITIONAL_ERRORS and not _CONDITIONAL_ERRORS[kind](data):
                continue
            raise ValueError(f"missing error {kind}")
        unknown = _placeholders(errors[kind].message) - allowed
        if unknown:
            raise ValueError(f"error {kind} uses unknown placeholders {sorted(unknown)}")
    auth = {key: str(data["auth_messages"][key]) for key in REQUIRED_AUTH_MESSAGES}
    rbac_data = data["rbac"]
    rbac = Rbac(
        enabled=bool(rbac_data["enabled"]),
        superuser=str(rbac_data.get("superuser", "root")),
        privileges={op: str(rbac_data["privileges"][op]) for op in PRIVILEGES}
        if rbac_data["enabled"]
        else {},
        deny_message=str(rbac_data.get("deny_message", "")),
    )
    unit = data["length_unit"]
    if unit not in ("chars", "bytes"):
        raise ValueError("length_unit must be chars or bytes")
    username = data["username"]
    password = data["password"]
    limit = data.get("user_limit")
    hash_limit = password.get("hash_limit_bytes")
    return Profile(
        name=name,
        description=str(data.get("description", "")),
        server_version=str(data["server_version"]),
        length_unit=unit,
        username_max_length=int(username["max_length"]),
        username_extra_chars=str(username.get("extra_chars", "")),
        username_trim_for_validation=bool(username["trim_for_validation"]),
        password_min_length=int(password["min_length"]),
        password_max_length=int(password["max_length"]),
        password_hash_limit_bytes=None if hash_limit is None else int(hash_limit),
        user_limit=None if limit is None else int(limit),
        root_user=str(data.get("root_user", "root")),
        rbac=rbac,
        auth_messages=auth,
        errors=errors,
    )
