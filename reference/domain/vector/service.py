"""The vector catalog: collections by name, id allocation and write-through persistence."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from reference.domain.vector import errors
from reference.domain.vector.allocator import tune_allocator
from reference.domain.vector.collection import (
    DEFAULT_PARTITION,
    Batch,
    Collection,
    Hits,
)
from reference.domain.vector.expr import ast
from reference.domain.vector.expr.parser import parse
from reference.domain.vector.index import IndexSpec, build_index
from reference.domain.vector.schema import (
    CollectionSchema,
    FieldSpec,
    build_schema,
    validate_name,
)

MAX_PARTITIONS = 4096


class Persistence(Protocol):
    """What the catalog needs from storage (reference.storage.vectors.VectorStorage)."""

    def write_meta(self, collection_id: int, meta: dict[str, Any]) -> None: ...
    def append_insert(
        self, collection_id: int, seq: int, partition_id: int, columns: dict[str, np.ndarray]
    ) -> None: ...
    def append_delete(self, collection_id: int, seq: int, rows: np.ndarray) -> None: ...
    def drop(self, collection_id: int) -> None: ...
    def collections(self) -> Any: ...


def hybrid_timestamp() -> int:
    """Milvus' hybrid timestamp: physical milliseconds shifted left by 18 logical bits."""
    return int(time.time() * 1000) << 18


def is_primary_key_filter(node: ast.Node, schema: CollectionSchema) -> bool:
    """`pk in [...]` or `pk == value`: the filters 2.3.5 deletes without a query."""
    primary = ast.FieldRef(schema.primary.name)
    if isinstance(node, ast.In):
        return node.target == primary and not node.negated
    if isinstance(node, ast.Compare) and node.ops == ("==",):
        return primary in node.operands and any(isinstance(o, ast.Literal) for o in node.operands)
    return False


@dataclass(frozen=True)
class WriteResult:
    primary_keys: np.ndarray
    timestamp: int


class VectorService:
    def __init__(self, storage: Persistence | None = None) -> None:
        tune_allocator()  # large vector buffers go back to the OS when freed (allocator.py)
        self._storage = storage
        self._lock = threading.RLock()
        self._collections: dict[str, Collection] = {}
        self._sequence: dict[int, int] = {}
        self._last_id = 0
        self._last_ts = 0
        if storage is not None:
            self._recover(storage)

    # ---- ids and timestamps -------------------------------------------------------------
    def allocate_ids(self, count: int) -> int:
        """First of `count` fresh ids, unique across restarts (time based, monotonic)."""
        with self._lock:
            first = max(self._last_id + 1, hybrid_timestamp())
            self._last_id = first + count - 1
            return first

    def timestamp(self) -> int:
        with self._lock:
            self._last_ts = max(self._last_ts + 1, hybrid_timestamp())
            return self._last_ts

    # ---- recovery -----------------------------------------------------------------------
    def _recover(self, storage: Persistence) -> None:
        for meta, entries in storage.collections():
            collection = Collection.from_meta(meta)
            last_seq = 0
            for entry in entries:  # in sequence order, read one at a time
                if entry.kind == "ins":
                    partition_id, num_rows, columns = entry.payload
                    collection.append(Batch(num_rows, columns, partition_id))
                else:
                    collection.mark_deleted(entry.payload)
                last_seq = max(last_seq, entry.seq)
            self._collections[collection.name] = collection
            self._sequence[collection.collection_id] = last_seq
            self._last_id = max(
                self._last_id, collection.collection_id, *collection.partitions.values()
            )
            primary = collection.schema.primary
            if primary.auto_id and collection.num_rows and primary.dtype.name == "INT64":
                self._last_id = max(self._last_id, int(collection.column(primary.name).max()))

    def _save_meta(self, collection: Collection) -> None:
        if self._storage is not None:
            self._storage.write_meta(collection.collection_id, collection.to_meta())

    def _next_seq(self, collection: Collection) -> int:
        seq = self._sequence.get(collection.collection_id, 0) + 1
        self._sequence[collection.collection_id] = seq
        return seq

    # ---- collections --------------------------------------------------------------------
    def get(self, name: str) -> Collection:
        with self._lock:
            collection = self._collections.get(name)
        if collection is None:
            raise errors.collection_not_found(name)
        return collection

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._collections

    def names(self) -> list[str]:
        with self._lock:
            return list(self._collections)

    def create_collection(
        self,
        name: str,
        schema_name: str,
        fields: list[FieldSpec],
        *,
        description: str = "",
        enable_dynamic_field: bool = False,
        consistency_level: int = 0,
        shards_num: int = 1,
        properties: dict[str, str] | None = None,
    ) -> None:
        schema = build_schema(
            name,
            schema_name,
            fields,
            description=description,
            enable_dynamic_field=enable_dynamic_field,
        )
        with self._lock:
            existing = self._collections.get(name)
            if existing is not None:
                if existing.schema == schema:
                    return  # Milvus treats an identical re-create as success
                raise errors.unexpected(
                    f"create duplicate collection with different parameters, collection: {name}"
                )
            collection_id = self.allocate_ids(2)
            now = self.timestamp()
            collection = Collection(
                collection_id=collection_id,
                schema=schema,
                created_ts=now,
                consistency_level=consistency_level,
                shards_num=shards_num or 1,
                properties=dict(properties or {}),
                partitions={DEFAULT_PARTITION: collection_id + 1},
                partition_created={DEFAULT_PARTITION: now},
            )
            self._save_meta(collection)
            self._collections[name] = collection

    def drop_collection(self, name: str) -> None:
        with self._lock:
            collection = self._collections.pop(name, None)
            if collection is None:
                return  # dropping a missing collection succeeds in Milvus 2.3+
            if self._storage is not None:
                self._storage.drop(collection.collection_id)

    # ---- partitions ---------------------------------------------------------------------
    def create_partition(self, name: str, partition: str) -> None:
        collection = self.get(name)
        validate_name("partition", partition)
        with collection.lock:
            if partition in collection.partitions:
                return  # Milvus 2.3 treats a duplicate CreatePartition as success
            if len(collection.partitions) >= MAX_PARTITIONS:
                raise errors.invalid_parameter(
                    f"partition number ({len(collection.partitions)}) exceeds max "
                    f"configuration ({MAX_PARTITIONS})"
                )
            collection.partitions[partition] = self.allocate_ids(1)
            collection.partition_created[partition] = self.timestamp()
            self._save_meta(collection)

    def drop_partition(self, name: str, partition: str) -> None:
        collection = self.get(name)
        with collection.lock:
            if partition == DEFAULT_PARTITION:
                raise errors.unexpected("default partition cannot be deleted")
            if partition not in collection.partitions:
                return
            if collection.loaded:
                raise errors.unexpected(
                    "partition cannot be dropped, partition is loaded, please release it first"
                )
            rows = collection.drop_partition_rows(collection.partitions[partition])
            if len(rows) and self._storage is not None:
                self._storage.append_delete(
                    collection.collection_id, self._next_seq(collection), rows
                )
            del collection.partitions[partition]
            collection.partition_created.pop(partition, None)
            self._save_meta(collection)

    # ---- data ---------------------------------------------------------------------------
    def insert(
        self,
        name: str,
        data: dict[str, Any],
        num_rows: int,
        partition: str = "",
        *,
        upsert: bool = False,
    ) -> WriteResult:
        collection = self.get(name)
        primary = collection.schema.primary
        with collection.lock:
            auto_ids = None
            if primary.auto_id and not upsert:
                first = self.allocate_ids(num_rows)
                auto_ids = np.arange(first, first + num_rows, dtype=np.int64)
            batch = collection.prepare_batch(data, num_rows, partition, auto_ids, upsert=upsert)
            keys = batch.columns[primary.name]
            if upsert:
                self._delete_rows(collection, collection.rows_with_primary_keys(keys))
            if self._storage is not None:
                self._storage.append_insert(
                    collection.collection_id,
                    self._next_seq(collection),
                    batch.partition_id,
                    batch.columns,
                )
            collection.append(batch)
            return WriteResult(keys, self.timestamp())

    def delete(self, name: str, expression: str, partition: str = "") -> WriteResult:
        collection = self.get(name)
        if not expression.strip():
            # 2.3.5 turns an empty expression into a delete-everything query (probe
            # delete-empty-expression, excluded); later Milvus and the reference refuse it.
            raise errors.invalid_parameter("delete plan can't be empty or always true")
        try:
            by_primary_key = is_primary_key_filter(parse(expression), collection.schema)
        except errors.ExpressionError:
            raise errors.unexpected(f"failed to create expr plan, expr = {expression}") from None
        with collection.lock:
            try:  # evaluating also type-checks the filter, as 2.3.5's plan does
                rows = collection.rows_matching(expression, partition)
            except errors.ExpressionError:
                raise errors.unexpected(
                    f"failed to create expr plan, expr = {expression}"
                ) from None
            if not by_primary_key and not collection.loaded:
                # 2.3.5 deletes by primary-key lists directly; any other filter runs as a
                # query first, which needs the collection loaded.
                raise errors.collection_not_loaded(collection.collection_id)
            keys = collection.primary_keys(rows)
            self._delete_rows(collection, rows)
            return WriteResult(keys, self.timestamp())

    def _delete_rows(self, collection: Collection, rows: np.ndarray) -> None:
        if not len(rows):
            return
        if self._storage is not None:
            self._storage.append_delete(collection.collection_id, self._next_seq(collection), rows)
        collection.mark_deleted(rows)

    # ---- indexes ------------------------------------------------------------------------
    def create_index(
        self, name: str, field_name: str, index_name: str, params: dict[str, str]
    ) -> None:
        collection = self.get(name)
        spec = collection.schema.get(field_name)
        if spec is None or spec.is_dynamic:
            raise errors.unexpected(f"cannot create index on non-exist field: {field_name}")
        index = build_index(spec, index_name, params)
        with collection.lock:
            current = collection.indexes.get(field_name)
            if current is not None:
                if current.same_definition(index) and (
                    not index_name or index_name == current.index_name
                ):
                    return
                raise errors.unexpected(
                    "CreateIndex failed: at most one distinct index is allowed per field"
                )
            for other in collection.indexes.values():
                if other.index_name == index.index_name:
                    raise errors.unexpected(
                        f"index already exists, collection: {name}, index: {index.index_name}"
                    )
            collection.indexes[field_name] = IndexSpec(
                index.index_name,
                index.field_name,
                index.index_type,
                index.metric_type,
                index.params,
                self.allocate_ids(1),
            )
            self._save_meta(collection)

    def describe_indexes(
        self, name: str, index_name: str = "", field_name: str = ""
    ) -> list[IndexSpec]:
        collection = self.get(name)
        found = [
            ix
            for ix in collection.indexes.values()
            if (not index_name or ix.index_name == index_name)
            and (not field_name or ix.field_name == field_name)
        ]
        if not found:
            raise errors.index_not_found(name)
        return found

    def drop_index(self, name: str, field_name: str, index_name: str) -> None:
        collection = self.get(name)
        with collection.lock:
            targets = [
                ix
                for ix in collection.indexes.values()
                if (not index_name or ix.index_name == index_name)
                and (not field_name or ix.field_name == field_name)
            ]
            if len(targets) > 1:
                raise errors.invalid_parameter(
                    "there are multiple indexes, please specify the index_name"
                )
            if not targets:
                return  # Milvus answers success when there is nothing to drop
            spec = collection.schema.get(targets[0].field_name)
            if collection.loaded and spec is not None and spec.is_vector:
                raise errors.unexpected(
                    "index cannot be dropped, collection is loaded, please release it first"
                )
            del collection.indexes[targets[0].field_name]
            self._save_meta(collection)

    # ---- load state ---------------------------------------------------------------------
    def load(self, name: str) -> None:
        collection = self.get(name)
        with collection.lock:
            for spec in collection.schema.vector_fields:
                if spec.name not in collection.indexes:
                    raise errors.index_not_found(name)
            if not collection.loaded:
                collection.loaded = True
                self._save_meta(collection)

    def release(self, name: str) -> None:
        collection = self.get(name)
        with collection.lock:
            if collection.loaded:
                collection.loaded = False
                self._save_meta(collection)

    # ---- reads --------------------------------------------------------------------------
    def search(self, name: str, **kwargs: Any) -> tuple[Collection, Hits]:
        collection = self.get(name)
        with collection.lock:
            return collection, collection.search(**kwargs)
