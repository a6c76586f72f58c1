"""`/v2/vectordb/entities/*` -> VectorService: JSON rows <-> the catalog's columns."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from reference.domain.authn import Principal
from reference.domain.vector import errors
from reference.domain.vector.collection import COUNT_STAR, Collection
from reference.domain.vector.schema import DataType, FieldSpec, int_range
from reference.rest.collections import NAME_OF_TYPE

if TYPE_CHECKING:
    from reference.app import Application

INVALID_INSERT_DATA = 1804  # merr.ErrInvalidInsertData
DEFAULT_SEARCH_LIMIT = 100  # handler_v2 default
_FLOAT_TYPES = (DataType.FLOAT, DataType.DOUBLE)


def _bad_row(detail: str) -> errors.StatusError:
    return errors.StatusError(
        INVALID_INSERT_DATA, "UnexpectedError", f"fail to deal the insert data, error: {detail}"
    )


def _scalar(spec: FieldSpec, value: Any, row: int) -> Any:
    """One JSON value for a scalar field, checked as Milvus's REST row decoder does."""
    dtype = spec.dtype
    if dtype is DataType.BOOL:
        ok = isinstance(value, bool)
    elif dtype in (DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64):
        low, high = int_range(dtype)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif dtype in _FLOAT_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        try:
            value = float(value) if ok else value
        except OverflowError:  # an integer beyond any double
            ok = False
    elif dtype is DataType.VARCHAR:
        ok = isinstance(value, str)
    else:  # JSON
        return json.dumps(value)
    if not ok:
        raise _bad_row(f"row {row}: {value!r} is not a valid {NAME_OF_TYPE[dtype]} for {spec.name}")
    return value


def _vector(spec: FieldSpec, value: Any, row: int) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != spec.dim
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    ):
        raise _bad_row(f"row {row}: {spec.name} must be a list of {spec.dim} numbers")
    return _finite_vector(value, f"row {row}: {spec.name}")


def _finite_vector(value: list[Any], where: str) -> list[float]:
    # float32 overflow would make distances infinite; Milvus rejects NaN/Inf in float vectors.
    try:
        finite = bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64).astype(np.float32))))
    except (OverflowError, ValueError, TypeError):
        finite = False
    if not finite:
        raise errors.invalid_parameter(f"{where}: float vector has NaN or Inf values")
    return value


def _columns(c: Collection, rows: list[dict[str, Any]], upsert: bool) -> tuple[dict[str, Any], int]:
    if not rows:
        raise _bad_row("no rows to insert")
    schema = c.schema
    dynamic = next((f for f in schema.fields if f.is_dynamic), None)
    data: dict[str, list[Any]] = {}
    extras: list[dict[str, Any]] = []
    for number, row in enumerate(rows):
        extra = {}
        for key, value in row.items():
            spec = schema.get(key)
            if spec is None or spec.is_dynamic:
                if dynamic is None:
                    raise _bad_row(f"row {number}: field {key} does not exist in {c.name}")
                extra[key] = value
        extras.append(extra)
        for spec in schema.fields:
            if spec.is_dynamic:
                continue
            if spec.is_primary and spec.auto_id and not upsert:
                if spec.name in row:  # the key is generated; Milvus refuses a given one
                    data.setdefault(spec.name, []).append(row[spec.name])
                continue
            if spec.name not in row:
                raise _bad_row(f"row {number}: missing field {spec.name}")
            value = row[spec.name]
            converted = (
                _vector(spec, value, number) if spec.is_vector else _scalar(spec, value, number)
            )
            data.setdefault(spec.name, []).append(converted)
    if dynamic is not None:
        data[dynamic.name] = [json.dumps(extra) for extra in extras]
    return data, len(rows)


def _write(app: Application, body: dict[str, Any], upsert: bool) -> dict[str, Any]:
    c = app.vectors.get(body["collectionName"])
    data, count = _columns(c, body["data"], upsert)
    result = app.vectors.insert(c.name, data, count, body.get("partitionName") or "", upsert=upsert)
    keys = jsonable(np.asarray(result.primary_keys).tolist())
    if upsert:
        return {"upsertCount": count, "upsertIds": keys}
    return {"insertCount": count, "insertIds": keys}


def insert(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    return _write(app, body, upsert=False)


def upsert(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    return _write(app, body, upsert=True)


def delete(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    result = app.vectors.delete(c.name, body["filter"], body.get("partitionName") or "")
    return {"deleteCount": len(result.primary_keys)}


def _records(
    c: Collection, rows: np.ndarray, requested: list[str], extra: dict[str, list[Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows as JSON objects; dynamic-field keys are flattened into the row, as Milvus does."""
    chosen, dynamic_keys, _ = c.resolve_output_fields(requested, include_primary=True)
    records: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    for key, values in (extra or {}).items():
        for record, value in zip(records, values, strict=True):
            record[key] = value
    for spec in chosen:
        values = c.values(spec, rows, dynamic_keys)
        listed = values.tolist() if isinstance(values, np.ndarray) else list(values)
        for record, value in zip(records, listed, strict=True):
            if spec.is_dynamic:
                record.update(value or {})
            else:
                record[spec.name] = value
    return [jsonable(r) for r in records]


def _positive_offset(body: dict[str, Any]) -> int:
    offset = body.get("offset") or 0
    if offset < 0:
        raise errors.invalid_parameter(f"offset [{offset}] is invalid, it should be >= 0")
    return offset


def query(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    c.require_loaded()
    requested = [f.strip() for f in body.get("outputFields") or []]
    partitions = list(body.get("partitionNames") or [])
    expression = body.get("filter") or ""
    if any(f.lower() == COUNT_STAR for f in requested):
        if len(requested) > 1:
            raise errors.invalid_parameter("count entities with pagination is not allowed")
        with c.lock:
            return [{COUNT_STAR: c.count(expression, partitions)}]
    limit = body.get("limit") or None
    offset = _positive_offset(body)
    with c.lock:
        rows = c.query_rows(expression, partitions, limit, offset)
        return _records(c, rows, requested)


def search(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    c.require_loaded()
    spec = c.anns_field(body.get("annsField") or "")
    queries = body["data"]
    if not queries:
        raise errors.invalid_parameter("nq (number of search vector per search request) is 0")
    for number, vector in enumerate(queries):
        if len(vector) != spec.dim:
            raise errors.invalid_parameter(
                f"vector dimension mismatch, expected vector size(byte) {(spec.dim or 0) * 4}, "
                f"actual {len(vector) * 4}"
            )
        _finite_vector(vector, f"query vector {number}")
    search_params = body.get("searchParams") or {}
    metric = search_params.get("metricType") or ""
    limit = body.get("limit") or DEFAULT_SEARCH_LIMIT
    _, hits = app.vectors.search(
        c.name,
        vectors=np.asarray(queries, dtype=np.float32),
        anns_field=spec.name,
        metric=metric if isinstance(metric, str) else "",
        topk=limit,
        offset=_positive_offset(body),
        expression=body.get("filter") or "",
        partition_names=list(body.get("partitionNames") or []),
    )
    requested = [f.strip() for f in body.get("outputFields") or []]
    results: list[dict[str, Any]] = []
    with c.lock:
        for rows, distances in zip(hits.rows, hits.distances, strict=True):
            results += _records(c, rows, requested, {"distance": distances.tolist()})
    return results


def get(app: Application, caller: Principal, body: dict[str, Any]) -> Any:
    c = app.vectors.get(body["collectionName"])
    c.require_loaded()
    ids = body["id"] if isinstance(body["id"], list) else [body["id"]]
    primary = c.schema.primary
    want_int = primary.dtype is DataType.INT64
    if not all(isinstance(i, int) == want_int and not isinstance(i, bool) for i in ids):
        raise errors.invalid_parameter(
            f"the primary key {primary.name} is {NAME_OF_TYPE[primary.dtype]}; got ids {ids!r}"
        )
    requested = [f.strip() for f in body.get("outputFields") or []]
    with c.lock:
        if want_int:
            low, high = int_range(DataType.INT64)
            ids = [i for i in ids if low <= i <= high]
        keys = np.array(ids, dtype=np.int64 if want_int else object)
        rows = c.rows_with_primary_keys(keys) if len(keys) else np.empty(0, np.int64)
        partitions = body.get("partitionNames") or []
        if partitions:
            allowed = np.concatenate([c.rows_matching("", p) for p in partitions])
            rows = rows[np.isin(rows, allowed)]
        return _records(c, rows, requested)


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped; NaN and infinities (not JSON) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


HANDLERS = {
    "/entities/insert": insert,
    "/entities/upsert": upsert,
    "/entities/delete": delete,
    "/entities/query": query,
    "/entities/search": search,
    "/entities/get": get,
}
