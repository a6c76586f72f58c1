"""The OpenAPI 3 document of the REST v2 surface, built from spec.py.

`python -m reference.rest.openapi` prints it; the committed copy is
fixtures/openapi/milvus-rest-v2.json, and a test keeps the two identical.
"""

from __future__ import annotations

import json
from typing import Any

from reference.rest.spec import ENDPOINTS, Endpoint, Schema

TITLE = "Milvus RESTful API v2: users, collections, entities, indexes"
VERSION = "2.4"
_ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"


def _answer(data: Schema | None) -> Schema:
    """HTTP 200 carries both successes (code 0 with data) and Milvus errors (code, message)."""
    properties: dict[str, Schema] = {"code": {"type": "integer"}, "message": {"type": "string"}}
    if data is not None:
        properties["data"] = data
    return {"type": "object", "required": ["code"], "properties": properties}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    ok = _json(_answer(endpoint.data), "code 0 with data, or a Milvus error code and message")
    if endpoint.links:
        ok["links"] = {
            link.name: {"operationId": link.operation, "requestBody": dict(link.body)}
            for link in endpoint.links
        }
    return {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.path.split("/")[1]],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": endpoint.request_schema}},
        },
        "responses": {
            "200": ok,
            "401": {"$ref": "#/components/responses/Unauthenticated"},
            "403": {"$ref": "#/components/responses/PermissionDenied"},
        },
    }


def build_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Every operation is POST with a JSON body and needs credentials: "
                "`Authorization: Bearer user:password` (plain text, split on the first colon) "
                "or HTTP Basic. Failures answer HTTP 401 with code 1800. Other outcomes are "
                "HTTP 200 with `code` 0 and `data`, or Milvus's code and message (1801: body "
                "is not JSON or has a wrong type, 1802: a required field is missing)."
            ),
        },
        "security": [{"bearerUserPassword": []}, {"basic": []}],
        "paths": {endpoint.url: {"post": _operation(endpoint)} for endpoint in ENDPOINTS},
        "components": {
            "securitySchemes": {
                "bearerUserPassword": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "user:password",
                },
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "ErrorEnvelope": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                    },
                }
            },
            "responses": {
                "Unauthenticated": _json(
                    {"$ref": _ENVELOPE_REF}, "no or wrong credentials: code 1800"
                ),
                "PermissionDenied": _json(
                    {"$ref": _ENVELOPE_REF}, "the caller lacks the privilege (RBAC profiles)"
                ),
            },
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
