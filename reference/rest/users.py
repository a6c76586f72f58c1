"""`/v2/vectordb/users/*` -> CredentialService (doc §Create an authenticated user, §Reset
password, §Delete a user, §List all users).

Like Milvus's handler_v2, the plain-text JSON passwords are base64-encoded and passed to the same
credential operations the gRPC RPCs use, so every rule and status code is shared (observed §8.2).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from reference.domain.authn import Principal

if TYPE_CHECKING:
    from reference.app import Application


def _wire_password(password: str) -> str:
    return base64.b64encode(password.encode("utf-8")).decode("ascii")


def list_users(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    return app.credentials.list_usernames(caller)


def describe_user(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    # Roles are not modelled (2.1 had none), so an existing user, like a missing one, has none.
    app.credentials.select(caller, body["userName"])
    return []


def create_user(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.credentials.create(caller, body["userName"], _wire_password(body["password"]))
    return {}


def update_password(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.credentials.update(
        caller,
        body["userName"],
        _wire_password(body["password"]),
        _wire_password(body["newPassword"]),
    )
    return {}


def drop_user(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.credentials.delete(caller, body["userName"])
    return {}


HANDLERS = {
    "/users/list": list_users,
    "/users/describe": describe_user,
    "/users/create": create_user,
    "/users/update_password": update_password,
    "/users/drop": drop_user,
}
