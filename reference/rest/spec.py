"""The REST v2 surface as data: every endpoint's request and response schema (JSON Schema).

One table feeds both the request checks (missing required field -> 1802, wrong JSON type ->
1801, observed §8.2) and the OpenAPI document (reference.rest.openapi), so the two cannot drift.
Names follow Milvus 2.4's handler_v2 request structs (camelCase JSON keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PREFIX = "/v2/vectordb"
Schema = dict[str, Any]


def _string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


# Shapes a client can send without the request being malformed; values the domain rejects
# (a name with a bad character, a short password) still arrive and get Milvus's status code.
DB_NAME = _string(description="database name; only 'default' exists")
USER_NAME = _string(description="user name (doc §Limitations)")
PASSWORD = _string(description="plain-text password, sent as is (observed §8.2)")
COLLECTION_NAME = _string(description="collection name")
NAME_LIST = _array(_string())
PRIMARY_KEY = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
KEY_VALUES = {"type": "object", "additionalProperties": True}
INDEX_PARAM = _object(
    {
        "fieldName": _string(),
        "metricType": _string(enum=["L2", "IP", "COSINE"]),
        "indexName": _string(),
        "indexType": _string(),
        "params": KEY_VALUES,
    },
    ("fieldName", "metricType"),
)
FIELD_SCHEMA = _object(
    {
        "fieldName": _string(),
        "dataType": _string(
            enum=[
                "Bool",
                "Int8",
                "Int16",
                "Int32",
                "Int64",
                "Float",
                "Double",
                "VarChar",
                "JSON",
                "FloatVector",
            ]
        ),
        "isPrimary": {"type": "boolean"},
        "autoID": {"type": "boolean"},
        "description": _string(),
        "elementTypeParams": KEY_VALUES,
    },
    ("fieldName", "dataType"),
)
ROW = {"type": "object", "additionalProperties": True}
FLOAT_VECTOR = _array({"type": "number"})

# Response `data` shapes.
NAMES = _array(_string())
EMPTY = {"type": "object"}
ROWS = _array(ROW)
LOAD_STATE = _object(
    {
        "loadState": _string(
            enum=["LoadStateNotExist", "LoadStateNotLoad", "LoadStateLoading", "LoadStateLoaded"]
        ),
        "loadProgress": {"type": "integer"},
    },
    ("loadState",),
)
WRITE_RESULT = {
    "type": "object",
    "properties": {
        "insertCount": {"type": "integer"},
        "insertIds": _array(PRIMARY_KEY),
        "upsertCount": {"type": "integer"},
        "upsertIds": _array(PRIMARY_KEY),
        "deleteCount": {"type": "integer"},
    },
}
COLLECTION_DESCRIPTION = _object(
    {
        "collectionName": _string(),
        "collectionID": {"type": "integer"},
        "description": _string(),
        "autoId": {"type": "boolean"},
        "enableDynamicField": {"type": "boolean"},
        "shardsNum": {"type": "integer"},
        "consistencyLevel": _string(),
        "partitionsNum": {"type": "integer"},
        "load": _string(),
        "fields": _array(
            _object(
                {
                    "name": _string(),
                    "id": {"type": "integer"},
                    "type": _string(),
                    "primaryKey": {"type": "boolean"},
                    "autoId": {"type": "boolean"},
                    "description": _string(),
                    "params": _array(_object({"key": _string(), "value": _string()})),
                },
                ("name", "type"),
            )
        ),
        "indexes": _array(
            _object({"fieldName": _string(), "indexName": _string(), "metricType": _string()})
        ),
        "properties": _array(_object({"key": _string(), "value": _string()})),
    },
    ("collectionName", "fields"),
)
INDEX_DESCRIPTIONS = _array(
    _object(
        {
            "fieldName": _string(),
            "indexName": _string(),
            "indexType": _string(),
            "metricType": _string(),
            "indexState": _string(),
            "indexedRows": {"type": "integer"},
            "totalRows": {"type": "integer"},
            "pendingRows": {"type": "integer"},
            "failReason": _string(),
            "params": KEY_VALUES,
        },
        ("fieldName", "indexName"),
    )
)


@dataclass(frozen=True)
class Link:
    """OpenAPI link: after a success, `operation` can reuse fields of this request's body."""

    name: str
    operation: str
    body: dict[str, str]  # target body key -> "$request.body#/<key>"


@dataclass(frozen=True)
class Endpoint:
    path: str  # below PREFIX, e.g. "/users/create"
    summary: str
    properties: dict[str, Schema]
    required: tuple[str, ...]
    data: Schema | None  # schema of `data` on success; None: the answer carries no data
    links: tuple[Link, ...] = field(default=())

    @property
    def url(self) -> str:
        return PREFIX + self.path

    @property
    def operation_id(self) -> str:
        area, action = self.path.strip("/").split("/")
        words = [area, *action.split("_")]
        return words[0] + "".join(w.capitalize() for w in words[1:])

    @property
    def request_schema(self) -> Schema:
        return _object(self.properties, self.required)


def _same(*keys: str) -> dict[str, str]:
    return {key: f"$request.body#/{key}" for key in keys}


_COLLECTION_ONLY = {"dbName": DB_NAME, "collectionName": COLLECTION_NAME}
_USER_LINKS = (
    Link("DescribeCreatedUser", "usersDescribe", _same("userName")),
    Link(
        "UpdateCreatedUserPassword",
        "usersUpdatePassword",
        {**_same("userName", "password")},
    ),
    Link("DropCreatedUser", "usersDrop", _same("userName")),
)
_COLLECTION_LINKS = (
    Link("DescribeCreatedCollection", "collectionsDescribe", _same("collectionName")),
    Link("InsertIntoCreatedCollection", "entitiesInsert", _same("collectionName")),
    Link("QueryCreatedCollection", "entitiesQuery", _same("collectionName")),
    Link("SearchCreatedCollection", "entitiesSearch", _same("collectionName")),
    Link("ListIndexesOfCreatedCollection", "indexesList", _same("collectionName")),
    Link("LoadStateOfCreatedCollection", "collectionsGetLoadState", _same("collectionName")),
    Link("DropCreatedCollection", "collectionsDrop", _same("collectionName")),
)
_INSERT_LINKS = (
    Link("QueryAfterInsert", "entitiesQuery", _same("collectionName")),
    Link("DeleteAfterInsert", "entitiesDelete", _same("collectionName")),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    # ---- users (doc §Create an authenticated user ... §List all users) ----------------------
    Endpoint("/users/list", "List all user names", {"dbName": DB_NAME}, (), NAMES),
    Endpoint(
        "/users/describe",
        "Roles of one user (none: 2.1 has no roles)",
        {"userName": USER_NAME},
        ("userName",),
        NAMES,
    ),
    Endpoint(
        "/users/create",
        "Create a user",
        {"userName": USER_NAME, "password": PASSWORD},
        ("userName", "password"),
        EMPTY,
        _USER_LINKS,
    ),
    Endpoint(
        "/users/update_password",
        "Reset a password given the old one",
        {"userName": USER_NAME, "password": PASSWORD, "newPassword": PASSWORD},
        ("userName", "password", "newPassword"),
        EMPTY,
    ),
    Endpoint("/users/drop", "Delete a user", {"userName": USER_NAME}, ("userName",), EMPTY),
    # ---- collections -------------------------------------------------------------------------
    Endpoint(
        "/collections/create",
        "Create a collection (quick setup with `dimension`, or a full `schema`)",
        {
            **_COLLECTION_ONLY,
            "dimension": {"type": "integer"},
            "metricType": _string(enum=["L2", "IP", "COSINE"]),
            "idType": _string(enum=["Int64", "VarChar"]),
            "autoID": {"type": "boolean"},
            "primaryFieldName": _string(),
            "vectorFieldName": _string(),
            "description": _string(),
            "schema": _object(
                {
                    "autoID": {"type": "boolean"},
                    "enableDynamicField": {"type": "boolean"},
                    "fields": _array(FIELD_SCHEMA),
                },
                ("fields",),
            ),
            "indexParams": _array(INDEX_PARAM),
            "params": KEY_VALUES,
        },
        ("collectionName",),
        EMPTY,
        _COLLECTION_LINKS,
    ),
    Endpoint(
        "/collections/describe",
        "Describe a collection",
        _COLLECTION_ONLY,
        ("collectionName",),
        COLLECTION_DESCRIPTION,
    ),
    Endpoint("/collections/list", "List collection names", {"dbName": DB_NAME}, (), NAMES),
    Endpoint(
        "/collections/has",
        "Whether a collection exists",
        _COLLECTION_ONLY,
        ("collectionName",),
        _object({"has": {"type": "boolean"}}, ("has",)),
    ),
    Endpoint(
        "/collections/drop", "Drop a collection", _COLLECTION_ONLY, ("collectionName",), EMPTY
    ),
    Endpoint(
        "/collections/load", "Load a collection", _COLLECTION_ONLY, ("collectionName",), EMPTY
    ),
    Endpoint(
        "/collections/release", "Release a collection", _COLLECTION_ONLY, ("collectionName",), EMPTY
    ),
    Endpoint(
        "/collections/get_load_state",
        "Load state of a collection",
        {**_COLLECTION_ONLY, "partitionNames": NAME_LIST},
        ("collectionName",),
        LOAD_STATE,
    ),
    # ---- entities ----------------------------------------------------------------------------
    Endpoint(
        "/entities/insert",
        "Insert rows",
        {**_COLLECTION_ONLY, "data": _array(ROW), "partitionName": _string()},
        ("collectionName", "data"),
        WRITE_RESULT,
        _INSERT_LINKS,
    ),
    Endpoint(
        "/entities/upsert",
        "Insert or replace rows by primary key",
        {**_COLLECTION_ONLY, "data": _array(ROW), "partitionName": _string()},
        ("collectionName", "data"),
        WRITE_RESULT,
    ),
    Endpoint(
        "/entities/delete",
        "Delete the rows a filter selects",
        {**_COLLECTION_ONLY, "filter": _string(), "partitionName": _string()},
        ("collectionName", "filter"),
        WRITE_RESULT,
    ),
    Endpoint(
        "/entities/query",
        "Rows a filter selects",
        {
            **_COLLECTION_ONLY,
            "filter": _string(),
            "outputFields": NAME_LIST,
            "partitionNames": NAME_LIST,
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
        ("collectionName",),
        ROWS,
    ),
    Endpoint(
        "/entities/search",
        "Nearest neighbours of query vectors",
        {
            **_COLLECTION_ONLY,
            "data": _array(FLOAT_VECTOR),
            "annsField": _string(),
            "filter": _string(),
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "outputFields": NAME_LIST,
            "partitionNames": NAME_LIST,
            "searchParams": _object({"metricType": _string(), "params": KEY_VALUES}),
        },
        ("collectionName", "data"),
        ROWS,
    ),
    Endpoint(
        "/entities/get",
        "Rows by primary key",
        {
            **_COLLECTION_ONLY,
            "id": {"oneOf": [PRIMARY_KEY, _array(PRIMARY_KEY)]},
            "outputFields": NAME_LIST,
            "partitionNames": NAME_LIST,
        },
        ("collectionName", "id"),
        ROWS,
    ),
    # ---- indexes -----------------------------------------------------------------------------
    Endpoint(
        "/indexes/create",
        "Create indexes",
        {**_COLLECTION_ONLY, "indexParams": _array(INDEX_PARAM)},
        ("collectionName", "indexParams"),
        EMPTY,
    ),
    Endpoint(
        "/indexes/describe",
        "Describe an index",
        {**_COLLECTION_ONLY, "indexName": _string()},
        ("collectionName", "indexName"),
        INDEX_DESCRIPTIONS,
    ),
    Endpoint(
        "/indexes/list", "Index names of a collection", _COLLECTION_ONLY, ("collectionName",), NAMES
    ),
    Endpoint(
        "/indexes/drop",
        "Drop an index",
        {**_COLLECTION_ONLY, "indexName": _string()},
        ("collectionName", "indexName"),
        EMPTY,
    ),
)

BY_URL: dict[str, Endpoint] = {endpoint.url: endpoint for endpoint in ENDPOINTS}
