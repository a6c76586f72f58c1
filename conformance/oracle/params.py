"""Suite-side profile parameters (conformance/profiles/*.yaml) as typed, immutable data.

Loading reads a packaged YAML file; everything else in `conformance.oracle` is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
PROFILE_NAMES = ("docs-2.1", "milvus-2.3", "milvus-2.6")
CHAR_CLASSES = ("ascii_letter", "ascii_digit", "underscore", "dot", "hyphen")
CREDENTIAL_RPCS = (
    "ListCredUsers",
    "CreateCredential",
    "DeleteCredential",
    "UpdateCredential",
    "SelectUser",
)


class ProfileError(ValueError):
    """A profile file is missing or malformed."""


@dataclass(frozen=True)
class UsernameRules:
    max_length: int
    length_unit: Literal["chars", "bytes"]
    first_char: tuple[str, ...]
    later_chars: tuple[str, ...]
    trim_before_validation: bool
    stored_as_given: bool


@dataclass(frozen=True)
class PasswordRules:
    min_length: int
    max_length: int
    length_unit: Literal["chars", "bytes"]
    bcrypt_max_bytes: int | None


@dataclass(frozen=True)
class Message:
    """An exact answer a version sends: a Status (code/error_code) or a gRPC error."""

    reason: str
    code: int | None = None
    error_code: int | None = None
    grpc: str | None = None


@dataclass(frozen=True)
class CallerPermissions:
    """Who may call which credential RPC (clause AUTH-CALLER-PERMISSIONS).

    `rpcs`: the RPCs the clause covers in this profile. `privileges`: RPC -> privilege name in
    the denial message (RBAC profiles only). `self_allowed`: RPCs a non-root caller may aim
    at itself without grants."""

    rpcs: tuple[str, ...]
    privileges: dict[str, str] = field(default_factory=dict)
    self_allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProfileParams:
    name: str
    compare: Literal["outcome", "exact"]
    rbac: bool
    root_user: str
    root_default_password: str
    username: UsernameRules
    password: PasswordRules
    outcomes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    permissions: CallerPermissions | None = None
    # AUTH-USER-LIMIT: most users that may exist at once, root included; None = no cap.
    max_users: int | None = None

    @property
    def exact(self) -> bool:
        return self.compare == "exact"


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ProfileError(f"profile {where}: missing key {key!r}")
    return mapping[key]


def _unit(value: Any, where: str) -> Literal["chars", "bytes"]:
    if value not in ("chars", "bytes"):
        raise ProfileError(f"profile {where}: length_unit must be chars|bytes, got {value!r}")
    return value


def _classes(value: Any, where: str) -> tuple[str, ...]:
    classes = tuple(value)
    unknown = [c for c in classes if c not in CHAR_CLASSES]
    if unknown:
        raise ProfileError(f"profile {where}: unknown character classes {unknown}")
    return classes


def _permissions(data: Any, rbac: bool, where: str) -> CallerPermissions | None:
    if data is None:
        return None
    rpcs = tuple(_require(data, "rpcs", where))
    privileges = dict(data.get("privileges") or {})
    self_allowed = tuple(data.get("self_allowed") or ())
    unknown = [r for r in (*rpcs, *privileges, *self_allowed) if r not in CREDENTIAL_RPCS]
    if unknown:
        raise ProfileError(f"profile {where}: unknown credential RPCs {unknown}")
    if rbac and set(privileges) != set(rpcs):
        raise ProfileError(f"profile {where}: an RBAC profile needs a privilege for every RPC")
    return CallerPermissions(rpcs=rpcs, privileges=privileges, self_allowed=self_allowed)


def _max_users(data: Any, where: str) -> int | None:
    """`users.max`: a positive count, or null/absent where the profile knows no cap."""
    value = (data or {}).get("max")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProfileError(f"profile {where}: users.max must be a positive integer or null")
    return value


def params_from_mapping(data: dict[str, Any]) -> ProfileParams:
    name = str(_require(data, "name", "?"))
    user = _require(data, "username", name)
    pw = _require(data, "password", name)
    root = _require(data, "root", name)
    compare = _require(data, "compare", name)
    if compare not in ("outcome", "exact"):
        raise ProfileError(f"profile {name}: compare must be outcome|exact")
    messages = {
        key: Message(
            reason=str(_require(m, "reason", f"{name}.messages.{key}")),
            code=m.get("code"),
            error_code=m.get("error_code"),
            grpc=m.get("grpc"),
        )
        for key, m in (data.get("messages") or {}).items()
    }
    if compare == "exact" and not messages:
        raise ProfileError(f"profile {name}: exact comparison needs a messages table")
    rbac = bool(_require(data, "rbac", name))
    return ProfileParams(
        name=name,
        compare=compare,
        rbac=rbac,
        root_user=str(_require(root, "user", name)),
        root_default_password=str(_require(root, "default_password", name)),
        username=UsernameRules(
            max_length=int(_require(user, "max_length", name)),
            length_unit=_unit(_require(user, "length_unit", name), name),
            first_char=_classes(_require(user, "first_char", name), name),
            later_chars=_classes(_require(user, "later_chars", name), name),
            trim_before_validation=bool(_require(user, "trim_before_validation", name)),
            stored_as_given=bool(_require(user, "stored_as_given", name)),
        ),
        password=PasswordRules(
            min_length=int(_require(pw, "min_length", name)),
            max_length=int(_require(pw, "max_length", name)),
            length_unit=_unit(_require(pw, "length_unit", name), name),
            bcrypt_max_bytes=pw.get("bcrypt_max_bytes"),
        ),
        outcomes=dict(data.get("outcomes") or {}),
        messages=messages,
        permissions=_permissions(data.get("permissions"), rbac, name),
        max_users=_max_users(data.get("users"), name),
    )


def load_params(name: str) -> ProfileParams:
    """Load the suite's parameters for profile `name` (docs-2.1, milvus-2.3, milvus-2.6)."""
    path = PROFILE_DIR / f"{name}.yaml"
    if name not in PROFILE_NAMES or not path.is_file():
        raise ProfileError(f"unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ProfileError(f"profile file {path} is not a mapping")
    return params_from_mapping(data)
