"""`/v2/vectordb/collections/*` and `/v2/vectordb/indexes/*` -> VectorService."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reference.domain.authn import Principal
from reference.domain.vector import errors
from reference.domain.vector.schema import DataType, FieldSpec, build_field
from reference.domain.vector.service import VectorService
from reference.rest.body import missing

if TYPE_CHECKING:
    from reference.app import Application

TYPE_NAMES: dict[str, DataType] = {
    "Bool": DataType.BOOL,
    "Int8": DataType.INT8,
    "Int16": DataType.INT16,
    "Int32": DataType.INT32,
    "Int64": DataType.INT64,
    "Float": DataType.FLOAT,
    "Double": DataType.DOUBLE,
    "VarChar": DataType.VARCHAR,
    "JSON": DataType.JSON,
    "FloatVector": DataType.FLOAT_VECTOR,
}
NAME_OF_TYPE = {dtype: name for name, dtype in TYPE_NAMES.items()}
_CONSISTENCY = ("Strong", "Session", "Bounded", "Eventually", "Customized")
DEFAULT_METRIC = "COSINE"
_DEFAULT_VARCHAR_LENGTH = "65535"


def _text(value: Any) -> str:
    """A type parameter as the string gRPC would carry (JSON numbers arrive as ints)."""
    return value if isinstance(value, str) else json.dumps(value)


def _fields(schema: dict[str, Any], collection: str) -> list[FieldSpec]:
    collection_auto_id = bool(schema.get("autoID"))
    fields = []
    for raw in schema["fields"]:
        params = {k: _text(v) for k, v in (raw.get("elementTypeParams") or {}).items()}
        is_primary = bool(raw.get("isPrimary"))
        fields.append(
            build_field(
                name=raw["fieldName"],
                dtype=int(TYPE_NAMES[raw["dataType"]]),
                type_params=params,
                description=raw.get("description") or "",
                is_primary=is_primary,
                auto_id=bool(raw.get("autoID")) or (is_primary and collection_auto_id),
                collection=collection,
            )
        )
    return fields


def _quick_setup_fields(body: dict[str, Any]) -> list[FieldSpec]:
    """Milvus's quick setup: a primary key `id` and a vector field `vector` of `dimension`."""
    if not body.get("dimension"):
        raise missing("body.dimension (needed when no schema is given)")
    id_type = body.get("idType") or "Int64"
    id_params = {"max_length": _DEFAULT_VARCHAR_LENGTH} if id_type == "VarChar" else {}
    params = body.get("params") or {}
    if id_type == "VarChar" and "max_length" in params:
        id_params["max_length"] = _text(params["max_length"])
    return [
        build_field(
            name=body.get("primaryFieldName") or "id",
            dtype=int(TYPE_NAMES[id_type]),
            type_params=id_params,
            is_primary=True,
            auto_id=bool(body.get("autoID")),
            collection=body["collectionName"],
        ),
        build_field(
            name=body.get("vectorFieldName") or "vector",
            dtype=int(DataType.FLOAT_VECTOR),
            type_params={"dim": str(body["dimension"])},
        ),
    ]


def _index_params(raw: dict[str, Any]) -> dict[str, str]:
    """A REST indexParams entry as the key/value pairs CreateIndex receives over gRPC."""
    nested = dict(raw.get("params") or {})
    index_type = raw.get("indexType") or nested.pop("index_type", "")
    nested.pop("metric_type", None)
    return {
        "index_type": _text(index_type),
        "metric_type": raw["metricType"],
        "params": json.dumps(nested),
    }


def _create_indexes(vectors: VectorService, name: str, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        vectors.create_index(
            name, entry["fieldName"], entry.get("indexName") or "", _index_params(entry)
        )


def create(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    vectors: VectorService = app.vectors
    name = body["collectionName"]
    schema = body.get("schema")
    params = body.get("params") or {}
    consistency = params.get("consistencyLevel", "Bounded")
    level = _CONSISTENCY.index(consistency) if consistency in _CONSISTENCY else 2
    if schema is not None:
        fields = _fields(schema, name)
        dynamic = bool(schema.get("enableDynamicField"))
        index_entries = body.get("indexParams") or []
    else:
        fields = _quick_setup_fields(body)
        dynamic = True
        index_entries = [
            {
                "fieldName": fields[1].name,
                "metricType": body.get("metricType") or DEFAULT_METRIC,
                "indexType": "AUTOINDEX",
            }
        ]
    vectors.create_collection(
        name,
        "",
        fields,
        description=body.get("description") or "",
        enable_dynamic_field=dynamic,
        consistency_level=level,
    )
    # Milvus creates the indexes and loads the collection when it knows how to index it.
    _create_indexes(vectors, name, index_entries)
    if index_entries:
        vectors.load(name)
    return {}


def describe(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    fields = []
    for spec in c.schema.user_fields:
        params = [{"key": k, "value": v} for k, v in spec.extra_params]
        if spec.dim is not None:
            params.insert(0, {"key": "dim", "value": str(spec.dim)})
        if spec.max_length is not None:
            params.insert(0, {"key": "max_length", "value": str(spec.max_length)})
        fields.append(
            {
                "name": spec.name,
                "id": spec.field_id,
                "type": NAME_OF_TYPE[spec.dtype],
                "primaryKey": spec.is_primary,
                "autoId": spec.auto_id,
                "description": spec.description,
                "params": params,
            }
        )
    return {
        "collectionName": c.name,
        "collectionID": c.collection_id,
        "description": c.schema.description,
        "autoId": c.schema.auto_id,
        "enableDynamicField": c.schema.enable_dynamic_field,
        "shardsNum": c.shards_num,
        "consistencyLevel": _CONSISTENCY[c.consistency_level]
        if 0 <= c.consistency_level < len(_CONSISTENCY)
        else "Bounded",
        "partitionsNum": len(c.partitions),
        "load": "LoadStateLoaded" if c.loaded else "LoadStateNotLoad",
        "fields": fields,
        "indexes": [
            {"fieldName": ix.field_name, "indexName": ix.index_name, "metricType": ix.metric_type}
            for ix in c.indexes.values()
        ],
        "properties": [{"key": k, "value": v} for k, v in c.properties.items()],
    }


def list_collections(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    return app.vectors.names()


def has(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    return {"has": app.vectors.has(body["collectionName"])}


def drop(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.vectors.drop_collection(body["collectionName"])
    return {}


def load(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.vectors.load(body["collectionName"])
    return {}


def release(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    app.vectors.release(body["collectionName"])
    return {}


def get_load_state(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    for partition in body.get("partitionNames") or ():
        c.partition_id(partition)
    if c.loaded:
        return {"loadState": "LoadStateLoaded", "loadProgress": 100}
    return {"loadState": "LoadStateNotLoad"}


# ---- indexes -----------------------------------------------------------------------------------
def create_index(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    name = body["collectionName"]
    app.vectors.get(name)
    if not body["indexParams"]:
        raise missing("body.indexParams (at least one entry)")
    _create_indexes(app.vectors, name, body["indexParams"])
    return {}


def describe_index(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    found = app.vectors.describe_indexes(c.name, body["indexName"])
    rows = c.alive_count
    return [
        {
            "fieldName": ix.field_name,
            "indexName": ix.index_name,
            "indexType": ix.index_type,
            "metricType": ix.metric_type,
            "indexState": "Finished",
            "indexedRows": rows,
            "totalRows": rows,
            "pendingRows": 0,
            "failReason": "",
            "params": ix.params,
        }
        for ix in found
    ]


def list_indexes(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    return [ix.index_name for ix in c.indexes.values()]


def drop_index(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    name = body["collectionName"]
    app.vectors.get(name)
    if not body["indexName"]:
        raise errors.invalid_parameter("index name must not be empty")
    app.vectors.drop_index(name, "", body["indexName"])
    return {}


HANDLERS = {
    "/collections/create": create,
    "/collections/describe": describe,
    "/collections/list": list_collections,
    "/collections/has": has,
    "/collections/drop": drop,
    "/collections/load": load,
    "/collections/release": release,
    "/collections/get_load_state": get_load_state,
    "/indexes/create": create_index,
    "/indexes/describe": describe_index,
    "/indexes/list": list_indexes,
    "/indexes/drop": drop_index,
}
