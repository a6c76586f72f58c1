"""One collection: its metadata and its rows (insert, delete, search, query)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference.domain.vector import errors, kernel
from reference.domain.vector.columns import GrowableColumn, VectorColumn
from reference.domain.vector.expr.evaluator import evaluate
from reference.domain.vector.index import IndexSpec
from reference.domain.vector.schema import (
    DYNAMIC_FIELD_NAME,
    INTEGER_TYPES,
    CollectionSchema,
    DataType,
    FieldSpec,
    int_range,
)

MAX_TOPK = 16384
MAX_QUERY_WINDOW = 16384
DEFAULT_PARTITION = "_default"
COUNT_STAR = "count(*)"
_NUMPY_DTYPES: dict[DataType, Any] = {
    DataType.BOOL: np.bool_,
    DataType.INT8: np.int8,
    DataType.INT16: np.int16,
    DataType.INT32: np.int32,
    DataType.INT64: np.int64,
    DataType.FLOAT: np.float32,
    DataType.DOUBLE: np.float64,
}


def numpy_dtype(dtype: DataType) -> Any:
    return _NUMPY_DTYPES.get(dtype, object)


@dataclass
class Batch:
    """Validated column data of one insert, ready to append and to persist."""

    num_rows: int
    columns: dict[str, np.ndarray]  # field name -> values (object arrays for VarChar/JSON)
    partition_id: int


@dataclass
class Hits:
    """Search answer for one request: per query, row positions and distances."""

    rows: list[np.ndarray]
    distances: list[np.ndarray]


@dataclass
class Collection:
    collection_id: int
    schema: CollectionSchema
    created_ts: int
    consistency_level: int = 0
    shards_num: int = 1
    properties: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    partition_created: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, IndexSpec] = field(default_factory=dict)
    loaded: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self._columns: dict[str, GrowableColumn] = {}
        self._vectors: dict[str, VectorColumn] = {}
        for spec in self.schema.fields:
            if spec.is_vector:
                assert spec.dim is not None
                self._vectors[spec.name] = VectorColumn(spec.dim)
            else:
                self._columns[spec.name] = GrowableColumn(numpy_dtype(spec.dtype))
        self._partition = GrowableColumn(np.int64)
        self._alive = GrowableColumn(np.bool_)
        self._alive_count = 0

    # ---- metadata ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def num_rows(self) -> int:
        return len(self._alive)

    @property
    def alive_count(self) -> int:
        return self._alive_count

    def column(self, name: str) -> np.ndarray:
        return self._columns[name].view()

    def partition_id(self, name: str) -> int:
        if name not in self.partitions:
            raise errors.partition_not_found(name)
        return self.partitions[name]

    def to_meta(self) -> dict[str, Any]:
        return {
            "collection_id": self.collection_id,
            "schema": self.schema.to_dict(),
            "created_ts": self.created_ts,
            "consistency_level": self.consistency_level,
            "shards_num": self.shards_num,
            "properties": self.properties,
            "partitions": self.partitions,
            "partition_created": self.partition_created,
            "indexes": {k: v.to_dict() for k, v in self.indexes.items()},
            "loaded": self.loaded,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Collection:
        return cls(
            collection_id=meta["collection_id"],
            schema=CollectionSchema.from_dict(meta["schema"]),
            created_ts=meta["created_ts"],
            consistency_level=meta["consistency_level"],
            shards_num=meta["shards_num"],
            properties=dict(meta["properties"]),
            partitions=dict(meta["partitions"]),
            partition_created=dict(meta["partition_created"]),
            indexes={k: IndexSpec.from_dict(v) for k, v in meta["indexes"].items()},
            loaded=meta["loaded"],
        )

    # ---- writes ------------------------------------------------------------------------
    def prepare_batch(
        self,
        data: dict[str, Any],
        num_rows: int,
        partition_name: str,
        auto_ids: np.ndarray | None,
        upsert: bool = False,
    ) -> Batch:
        """Checks client column data against the schema (Milvus' insert validation)."""
        schema = self.schema
        partition_id = self.partition_id(partition_name or DEFAULT_PARTITION)
        primary = schema.primary
        for name in data:
            spec = schema.get(name)
            if spec is None:
                raise errors.invalid_parameter(
                    f"the field {name} does not exist in collection {self.name}"
                )
            if spec.is_primary and spec.auto_id and not upsert:
                raise errors.invalid_parameter(
                    f"the value of primary key field {name} should be empty when autoID is true"
                )
        columns: dict[str, np.ndarray] = {}
        for spec in schema.fields:
            if spec.is_primary and spec.auto_id and not upsert:
                assert auto_ids is not None
                columns[spec.name] = auto_ids
                continue
            if spec.name not in data:
                if spec.is_dynamic:
                    columns[spec.name] = np.array([{}] * num_rows + [None], dtype=object)[:-1]
                    continue
                raise _missing_field(spec)
            columns[spec.name] = self._check_column(spec, data[spec.name], num_rows)
        if primary.dtype is DataType.VARCHAR and auto_ids is not None and not upsert:
            columns[primary.name] = auto_ids.astype(str).astype(object)
        return Batch(num_rows, columns, partition_id)

    def _check_column(self, spec: FieldSpec, values: Any, num_rows: int) -> np.ndarray:
        if spec.is_vector:
            matrix = np.asarray(values, dtype=np.float32)
            assert spec.dim is not None
            if matrix.size % spec.dim != 0 or (matrix.ndim == 2 and matrix.shape[1] != spec.dim):
                if matrix.size % spec.dim:
                    raise float_data_not_divisible(matrix.size, spec.dim)
                raise _dim_mismatch(spec, matrix.shape[1])
            matrix = matrix.reshape(-1, spec.dim)
            _check_rows(spec, len(matrix), num_rows)
            return matrix
        if spec.dtype is DataType.VARCHAR:
            arr = np.empty(len(values), dtype=object)
            arr[:] = list(values)
            _check_rows(spec, len(arr), num_rows)
            assert spec.max_length is not None
            for i, s in enumerate(arr):
                if len(s) > spec.max_length:
                    raise errors.invalid_parameter_got(
                        f"the length ({len(s)}) of {i}th string exceeds max length "
                        f"({spec.max_length})",
                        "valid length string",
                        "string length exceeds max length",
                    )
            return arr
        if spec.dtype is DataType.JSON:
            docs = np.empty(len(values), dtype=object)
            for i, raw in enumerate(values):
                try:
                    docs[i] = json.loads(raw)
                except (ValueError, TypeError):
                    raise errors.invalid_parameter(
                        f"invalid JSON in field {spec.name}, row {i}"
                    ) from None
                if spec.is_dynamic and not isinstance(docs[i], dict):
                    raise errors.invalid_parameter(
                        "The value of the dynamic field must be a JSON object"
                    )
            _check_rows(spec, len(docs), num_rows)
            return docs
        arr = np.asarray(values)
        _check_rows(spec, len(arr), num_rows)
        if spec.dtype in INTEGER_TYPES and len(arr):
            low, high = int_range(spec.dtype)
            if arr.min() < low or arr.max() > high:
                raise errors.invalid_parameter(
                    f"the value of field {spec.name} is out of range of {spec.dtype.name}"
                )
        return arr.astype(numpy_dtype(spec.dtype), copy=False)

    def append(self, batch: Batch) -> None:
        """Adds validated rows (also used when replaying persisted segments)."""
        for name, values in batch.columns.items():
            if name in self._vectors:
                self._vectors[name].append(values)
            else:
                self._columns[name].append(values)
        self._partition.append(np.full(batch.num_rows, batch.partition_id, np.int64))
        self._alive.append(np.ones(batch.num_rows, np.bool_))
        self._alive_count += batch.num_rows

    def mark_deleted(self, rows: np.ndarray) -> None:
        alive = self._alive.view()
        self._alive_count -= int(np.count_nonzero(alive[rows]))
        alive[rows] = False

    def rows_matching(self, expression: str, partition_name: str = "") -> np.ndarray:
        """Positions of live rows selected by `expression` (a delete's target)."""
        mask = self._live_mask([partition_name] if partition_name else [])
        if expression.strip():
            mask &= evaluate(expression, self)
        return np.flatnonzero(mask)

    def rows_with_primary_keys(self, keys: np.ndarray) -> np.ndarray:
        pk = self.column(self.schema.primary.name)
        return np.flatnonzero(self._alive.view() & np.isin(pk, keys))

    def primary_keys(self, rows: np.ndarray) -> np.ndarray:
        return self.column(self.schema.primary.name)[rows]

    def _live_mask(self, partition_names: list[str]) -> np.ndarray:
        mask = self._alive.view().copy()
        if partition_names:
            ids = [self.partition_id(p) for p in partition_names]
            mask &= np.isin(self._partition.view(), ids)
        return mask

    def drop_partition_rows(self, partition_id: int) -> np.ndarray:
        rows = np.flatnonzero(self._alive.view() & (self._partition.view() == partition_id))
        self.mark_deleted(rows)
        return rows

    # ---- reads -------------------------------------------------------------------------
    def require_loaded(self) -> None:
        if not self.loaded:
            raise errors.collection_not_loaded(self.collection_id)

    def search(
        self,
        vectors: np.ndarray,
        anns_field: str,
        metric: str,
        topk: int,
        offset: int,
        expression: str,
        partition_names: list[str],
    ) -> Hits:
        self.require_loaded()
        spec = self.anns_field(anns_field)
        index = self.indexes.get(spec.name)
        index_metric = index.metric_type if index else "L2"
        metric = (metric or index_metric).upper()
        if metric != index_metric:
            # 2.3.5 puts this behind the query node, delegator and channel that found it
            # (probe search-metric-mismatch); the reference keeps code and the core text.
            raise errors.unexpected(
                f"metric type not match: invalid parameter[expected={index_metric}]"
                f"[actual={metric}]"
            )
        if not 1 <= topk <= MAX_TOPK:
            raise errors.unexpected(
                f"topk [{topk}] is invalid, top k should be in range [1, {MAX_TOPK}], but got "
                f"{topk}"
            )
        if offset < 0 or topk + offset > MAX_TOPK:
            raise errors.invalid_parameter(
                f"(offset+limit) should be in range [1, {MAX_TOPK}], but got {topk + offset}"
            )
        assert spec.dim is not None
        if vectors.ndim != 2 or vectors.shape[1] != spec.dim:
            got = vectors.shape[1] if vectors.ndim == 2 else 0
            raise errors.invalid_parameter(
                f"vector dimension mismatch, expected vector size(byte) {spec.dim * 4}, "
                f"actual {got * 4}"
            )
        mask = self._live_mask(partition_names)
        if expression.strip():
            mask &= evaluate(expression, self)
        column = self._vectors[spec.name]
        valid = None if mask.all() else mask
        top = kernel.search(
            column.chunks(), vectors, metric, topk + offset, valid, fetch=column.rows
        )
        rows, dists = [], []
        for q in range(len(vectors)):
            count = int(top.counts[q])
            rows.append(top.rows[q, offset:count])
            dists.append(top.distances[q, offset:count])
        return Hits(rows, dists)

    def anns_field(self, name: str) -> FieldSpec:
        vector_fields = self.schema.vector_fields
        if not name:
            if len(vector_fields) > 1:
                raise errors.invalid_parameter(
                    "multiple anns_fields exist, please specify a anns_field in search_params"
                )
            return vector_fields[0]
        spec = self.schema.get(name)
        if spec is None or not spec.is_vector:
            raise errors.unexpected(
                "failed to create query plan: failed to get field schema by name: "
                f"fieldName({name}) not found"
            )
        return spec

    def query_rows(
        self, expression: str, partition_names: list[str], limit: int | None, offset: int
    ) -> np.ndarray:
        self.require_loaded()
        if not expression.strip() and limit is None:
            raise errors.unexpected("empty expression should be used with limit")
        if limit is not None and not 1 <= limit + offset <= MAX_QUERY_WINDOW:
            raise errors.unexpected(
                "invalid max query result window, (offset+limit) should be in range "
                f"[1, {MAX_QUERY_WINDOW}], but got {limit + offset}"
            )
        rows = (
            self.rows_matching(expression, "")
            if not partition_names
            else np.flatnonzero(
                self._live_mask(partition_names)
                & (evaluate(expression, self) if expression.strip() else True)
            )
        )
        end = None if limit is None else offset + limit
        return rows[offset:end]

    def count(self, expression: str, partition_names: list[str]) -> int:
        self.require_loaded()
        mask = self._live_mask(partition_names)
        if expression.strip():
            mask &= evaluate(expression, self)
        return int(np.count_nonzero(mask))

    def resolve_output_fields(
        self, requested: list[str], *, include_primary: bool
    ) -> tuple[list[FieldSpec], list[str] | None, list[str]]:
        """Fields to return, dynamic keys to pick from `$meta` (None: all), echoed names."""
        schema = self.schema
        chosen: list[FieldSpec] = []
        dynamic_keys: list[str] | None = []
        whole_meta = False
        names: list[str] = []

        def add(spec: FieldSpec) -> None:
            if spec not in chosen:
                chosen.append(spec)

        if include_primary:
            add(schema.primary)
        for name in requested:
            name = name.strip()
            if name == "*":
                for spec in schema.fields:
                    if not spec.is_dynamic:
                        add(spec)
                whole_meta = schema.enable_dynamic_field
                continue
            spec = schema.get(name)
            if spec is not None:
                if spec.is_dynamic:
                    whole_meta = True
                else:
                    add(spec)
                continue
            if schema.enable_dynamic_field:
                assert dynamic_keys is not None
                dynamic_keys.append(name)
                names.append(name)
                continue
            raise errors.unexpected(f"field {name} not exist")
        meta = schema.get(DYNAMIC_FIELD_NAME)
        if meta is not None and (whole_meta or dynamic_keys):
            add(meta)
            if whole_meta:
                dynamic_keys = None
        names = [s.name for s in chosen if not s.is_dynamic] + names
        return chosen, dynamic_keys, names

    def values(self, spec: FieldSpec, rows: np.ndarray, dynamic_keys: list[str] | None) -> Any:
        if spec.is_vector:
            return self._vectors[spec.name].rows(rows)
        data = self.column(spec.name)[rows]
        if spec.is_dynamic and dynamic_keys is not None:
            return np.array(
                [{k: d[k] for k in dynamic_keys if k in d} for d in data] + [None], dtype=object
            )[:-1]
        return data


def _check_rows(spec: FieldSpec, got: int, expected: int) -> None:
    if got != expected:
        # 2.3.5 prints the passed num_rows as "actual" too (a message bug, probe
        # insert-num-rows-mismatch); the reference reports the column's real row count.
        raise errors.invalid_parameter_got(
            f"the num_rows ({got}) of field ({spec.name}) is not equal to passed num_rows "
            f"({expected})",
            expected,
            got,
        )


def _missing_field(spec: FieldSpec) -> errors.StatusError:
    if spec.dtype is DataType.VARCHAR:  # 2.3.5's wording, recorded for VarChar
        return errors.invalid_parameter_got(
            f"varchar field '{spec.name}' is illegal, array type mismatch",
            "need string array",
            "got nil",
        )
    return errors.invalid_parameter(
        f"insert missed an field `{spec.name}` to collection without set nullable==true or "
        "set default_value"
    )


def float_data_not_divisible(size: int, dim: int) -> errors.StatusError:
    return errors.unexpected(f"the length({size}) of float data should divide the dim({dim})")


def _dim_mismatch(spec: FieldSpec, got: int) -> errors.StatusError:
    """Row-shaped data (REST) whose width is not the dim; the wire sends flat floats."""
    return errors.invalid_parameter(
        f"the dim ({got}) of field data({spec.name}) is not equal to schema dim ({spec.dim})"
    )
