"""VectorHandlers: collections, partitions, data, indexes, load state, search and query.

Loaded on the first vector RPC (see vector_rpcs.py), so start-up never pays for numpy/lark.

Protobuf in, a call on `self.app.vectors` (reference.domain.vector.service.VectorService),
protobuf out. Authentication already happened in the auth gate; in profile docs-2.1 any
authenticated user may use these RPCs (doc §Enable authentication).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import numpy as np

from reference.domain.errors import StatusError
from reference.domain.vector import errors
from reference.domain.vector.collection import COUNT_STAR, Collection, float_data_not_divisible
from reference.domain.vector.schema import DataType, FieldSpec, build_field
from reference.domain.vector.service import VectorService
from reference.wire import status
from reference.wire.proto import common_pb2, milvus_pb2, schema_pb2

if TYPE_CHECKING:
    from reference.app import Application

_log = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Any])
_FLOAT_VECTOR_PLACEHOLDER = 101  # common.PlaceholderType.FloatVector
_IN_MEMORY = 1  # milvus.ShowType.InMemory
_SCALAR_ATTR = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
    DataType.JSON: "json_data",
}


def _rpc(response_type: Any) -> Callable[[Handler], Handler]:
    """Domain errors become the response's Status; unexpected failures a 65535 status."""

    def wrap(value: common_pb2.Status) -> Any:
        if response_type is common_pb2.Status:
            return value
        return response_type(status=value)

    def decorate(method: Handler) -> Handler:
        @functools.wraps(method)
        def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            if getattr(self.app, "vectors", None) is None:
                context.abort(grpc.StatusCode.UNIMPLEMENTED, "vector core is not enabled")
            try:
                return method(self, request, context)
            except StatusError as error:
                return wrap(status.from_error(error))
            except Exception:
                _log.exception("internal error in %s", method.__name__)
                return wrap(status.internal_error("internal error"))

        return handler  # type: ignore[return-value]

    return decorate


def _kv(pairs: Any) -> dict[str, str]:
    return {p.key: p.value for p in pairs}


# ---- schema <-> protobuf -----------------------------------------------------------------
def _field_from_proto(fs: Any, collection: str) -> FieldSpec:
    return build_field(
        collection=collection,
        name=fs.name,
        dtype=fs.data_type,
        type_params=_kv(fs.type_params),
        description=fs.description,
        is_primary=fs.is_primary_key,
        auto_id=fs.autoID,
        is_dynamic=fs.is_dynamic,
    )


def _field_to_proto(spec: FieldSpec) -> Any:
    params = [common_pb2.KeyValuePair(key=k, value=v) for k, v in spec.extra_params]
    if spec.dim is not None:
        params.insert(0, common_pb2.KeyValuePair(key="dim", value=str(spec.dim)))
    if spec.max_length is not None:
        params.insert(0, common_pb2.KeyValuePair(key="max_length", value=str(spec.max_length)))
    return schema_pb2.FieldSchema(
        fieldID=spec.field_id,
        name=spec.name,
        is_primary_key=spec.is_primary,
        description=spec.description,
        data_type=int(spec.dtype),
        type_params=params,
        autoID=spec.auto_id,
        is_dynamic=spec.is_dynamic,
    )


# ---- field data <-> numpy -----------------------------------------------------------------
def _decode_field(spec: FieldSpec, fd: Any) -> Any:
    if spec.is_vector:
        if fd.type != int(DataType.FLOAT_VECTOR) or not fd.vectors.HasField("float_vector"):
            raise errors.invalid_parameter(f"field {spec.name} expects float vectors")
        # 2.3.5 ignores the dim the client declares and checks the float count against the
        # schema's dim.
        dim = spec.dim
        assert dim is not None
        flat = np.array(fd.vectors.float_vector.data, dtype=np.float32)
        if flat.size % dim:
            raise float_data_not_divisible(flat.size, dim)
        return flat.reshape(-1, dim)
    if fd.type != int(spec.dtype) and not (spec.is_dynamic and fd.is_dynamic):
        raise errors.invalid_parameter(
            f"the data type of field {spec.name} mismatches: expected {spec.dtype.name}, "
            f"got {fd.type}"
        )
    values = getattr(fd.scalars, _SCALAR_ATTR[spec.dtype]).data
    if spec.dtype is DataType.VARCHAR or spec.dtype is DataType.JSON:
        return list(values)
    return np.array(values)


def _encode_field(spec: FieldSpec, values: Any, output_name: str | None = None) -> Any:
    fd = schema_pb2.FieldData(
        type=int(spec.dtype),
        field_name=output_name or spec.name,
        field_id=spec.field_id,
        is_dynamic=spec.is_dynamic,
    )
    if spec.is_vector:
        fd.vectors.dim = spec.dim or 0
        fd.vectors.float_vector.data.extend(np.asarray(values, np.float32).ravel().tolist())
        return fd
    target = getattr(fd.scalars, _SCALAR_ATTR[spec.dtype]).data
    if spec.dtype is DataType.JSON:
        target.extend(json.dumps(v, ensure_ascii=False).encode() for v in values)
    else:
        target.extend(np.asarray(values).tolist())
    return fd


def _ids(spec: FieldSpec, keys: np.ndarray) -> Any:
    if spec.dtype is DataType.INT64:
        return schema_pb2.IDs(int_id=schema_pb2.LongArray(data=np.asarray(keys).tolist()))
    return schema_pb2.IDs(str_id=schema_pb2.StringArray(data=[str(k) for k in keys]))


def _decode_queries(placeholder_group: bytes, dim: int) -> np.ndarray:
    group = common_pb2.PlaceholderGroup.FromString(placeholder_group)
    if len(group.placeholders) != 1:
        raise errors.invalid_parameter("search needs exactly one placeholder of query vectors")
    holder = group.placeholders[0]
    if holder.type != _FLOAT_VECTOR_PLACEHOLDER:
        raise errors.invalid_parameter(
            f"the search vectors must be float vectors, got placeholder type {holder.type}"
        )
    if not holder.values:
        raise errors.invalid_parameter("nq (number of search vector per search request) is 0")
    for value in holder.values:
        if len(value) != dim * 4:
            raise errors.invalid_parameter(
                f"vector dimension mismatch, expected vector size(byte) {dim * 4}, actual "
                f"{len(value)}"
            )
    return np.frombuffer(b"".join(holder.values), dtype="<f4").reshape(len(holder.values), dim)


def _int_param(params: dict[str, Any], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise errors.invalid_parameter(
            f"{key} [{raw}] is invalid, it should be an integer"
        ) from None


def _check_field_count(c: Collection, fields_data: Any, upsert: bool) -> None:
    """2.3.5 rejects more columns than the schema needs before looking at any of them (its
    text says "less" whichever way the count is off)."""
    needed = [f for f in c.schema.user_fields if upsert or not (f.is_primary and f.auto_id)]
    sent = [fd for fd in fields_data if not fd.is_dynamic]
    if len(sent) > len(needed):
        raise errors.invalid_parameter_got(
            "the number of fields is less than needed", len(needed), len(sent)
        )


def _require_loaded(c: Collection, action: str) -> None:
    """Collection.require_loaded (a seam the selftest deviations replace), worded as 2.3.5."""
    try:
        c.require_loaded()
    except StatusError as error:
        raise errors.with_prefix(error, f"failed to {action}: ") from None


class VectorHandlers:
    def __init__(self, app: Application) -> None:
        self.app = app

    @property
    def _vectors(self) -> VectorService:
        return self.app.vectors  # type: ignore[no-any-return]

    # ---- collections -------------------------------------------------------------------
    @_rpc(common_pb2.Status)
    def CreateCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        schema = schema_pb2.CollectionSchema()
        try:
            schema.ParseFromString(request.schema)
        except Exception:
            raise errors.invalid_parameter("the collection schema is not valid protobuf") from None
        fields = [
            _field_from_proto(fs, request.collection_name)
            for fs in schema.fields
            if not fs.is_dynamic
        ]
        if schema.autoID and not any(f.auto_id for f in fields):
            # the legacy collection-level autoID flag applies to the primary key
            fields = [dataclasses.replace(f, auto_id=True) if f.is_primary else f for f in fields]
        self._vectors.create_collection(
            request.collection_name,
            schema.name,
            fields,
            description=schema.description,
            enable_dynamic_field=schema.enable_dynamic_field,
            consistency_level=request.consistency_level,
            shards_num=request.shards_num,
            properties=_kv(request.properties),
        )
        return status.success()

    @_rpc(common_pb2.Status)
    def DropCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.drop_collection(request.collection_name)
        return status.success()

    @_rpc(milvus_pb2.BoolResponse)
    def HasCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        return milvus_pb2.BoolResponse(
            status=status.success(), value=self._vectors.has(request.collection_name)
        )

    @_rpc(milvus_pb2.DescribeCollectionResponse)
    def DescribeCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            c = self._vectors.get(request.collection_name)
        except StatusError as error:
            # 2.3.5's wording; its legacy error_code is the generic one here
            raise StatusError(
                error.code, "UnexpectedError", "can't find collection " + error.reason
            ) from None
        schema = schema_pb2.CollectionSchema(
            name=c.name,
            description=c.schema.description,
            autoID=c.schema.auto_id,
            enable_dynamic_field=c.schema.enable_dynamic_field,
            fields=[_field_to_proto(f) for f in c.schema.user_fields],
        )
        return milvus_pb2.DescribeCollectionResponse(
            status=status.success(),
            schema=schema,
            collectionID=c.collection_id,
            created_timestamp=c.created_ts,
            created_utc_timestamp=c.created_ts >> 18,
            shards_num=c.shards_num,
            consistency_level=c.consistency_level,
            collection_name=c.name,
            properties=[common_pb2.KeyValuePair(key=k, value=v) for k, v in c.properties.items()],
            db_name="default",
            num_partitions=len(c.partitions),
            virtual_channel_names=[f"by-dev-rootcoord-dml_0_{c.collection_id}v0"],
            physical_channel_names=["by-dev-rootcoord-dml_0"],
        )

    @_rpc(milvus_pb2.ShowCollectionsResponse)
    def ShowCollections(self, request: Any, context: grpc.ServicerContext) -> Any:
        # 2.3.5 only looks at collection_names when asked for loaded (InMemory) collections.
        collections = [self._vectors.get(n) for n in self._vectors.names()]
        if request.type == _IN_MEMORY:
            if request.collection_names:
                collections = [self._vectors.get(n) for n in request.collection_names]
                for c in collections:
                    if not c.loaded:
                        raise errors.unexpected(f"collection not loaded[collection={c.name}]")
            collections = [c for c in collections if c.loaded]
        return milvus_pb2.ShowCollectionsResponse(
            status=status.success(),
            collection_names=[c.name for c in collections],
            collection_ids=[c.collection_id for c in collections],
            created_timestamps=[c.created_ts for c in collections],
            created_utc_timestamps=[c.created_ts >> 18 for c in collections],
            inMemory_percentages=[100 if c.loaded else 0 for c in collections],
            query_service_available=[c.loaded for c in collections],
        )

    @_rpc(milvus_pb2.GetCollectionStatisticsResponse)
    def GetCollectionStatistics(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        return milvus_pb2.GetCollectionStatisticsResponse(
            status=status.success(),
            stats=[common_pb2.KeyValuePair(key="row_count", value=str(c.alive_count))],
        )

    # ---- partitions --------------------------------------------------------------------
    @_rpc(common_pb2.Status)
    def CreatePartition(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.create_partition(request.collection_name, request.partition_name)
        return status.success()

    @_rpc(common_pb2.Status)
    def DropPartition(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.drop_partition(request.collection_name, request.partition_name)
        return status.success()

    @_rpc(milvus_pb2.BoolResponse)
    def HasPartition(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        return milvus_pb2.BoolResponse(
            status=status.success(), value=request.partition_name in c.partitions
        )

    @_rpc(milvus_pb2.ShowPartitionsResponse)
    def ShowPartitions(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        # As ShowCollections: named partitions matter only for InMemory (2.3.5).
        names = list(c.partitions)
        if request.type == _IN_MEMORY and request.partition_names:
            names = list(request.partition_names)
            for name in names:
                c.partition_id(name)
        return milvus_pb2.ShowPartitionsResponse(
            status=status.success(),
            partition_names=names,
            partitionIDs=[c.partitions[n] for n in names],
            created_timestamps=[c.partition_created.get(n, c.created_ts) for n in names],
            created_utc_timestamps=[c.partition_created.get(n, c.created_ts) >> 18 for n in names],
            inMemory_percentages=[100 if c.loaded else 0 for _ in names],
        )

    # ---- data --------------------------------------------------------------------------
    def _write(self, request: Any, upsert: bool) -> Any:
        c = self._vectors.get(request.collection_name)
        _check_field_count(c, request.fields_data, upsert)
        data: dict[str, Any] = {}
        for fd in request.fields_data:
            spec = c.schema.get(fd.field_name)
            if spec is None and fd.is_dynamic:
                spec = next((f for f in c.schema.fields if f.is_dynamic), None)
                if spec is None:
                    raise errors.invalid_parameter(
                        "dynamic field data was sent but the collection has no dynamic field"
                    )
            if spec is None:
                raise errors.invalid_parameter(
                    f"the field {fd.field_name} does not exist in collection {c.name}"
                )
            data[spec.name] = _decode_field(spec, fd)
        num_rows = request.num_rows or (len(next(iter(data.values()))) if data else 0)
        if num_rows <= 0:
            raise errors.invalid_parameter("the number of rows to insert must be positive")
        result = self._vectors.insert(c.name, data, num_rows, request.partition_name, upsert=upsert)
        response = milvus_pb2.MutationResult(
            status=status.success(),
            IDs=_ids(c.schema.primary, result.primary_keys),
            succ_index=range(num_rows),
            timestamp=result.timestamp,
        )
        if upsert:
            response.upsert_cnt = num_rows
        else:
            response.insert_cnt = num_rows
        return response

    @_rpc(milvus_pb2.MutationResult)
    def Insert(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._write(request, upsert=False)

    @_rpc(milvus_pb2.MutationResult)
    def Upsert(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._write(request, upsert=True)

    @_rpc(milvus_pb2.MutationResult)
    def Delete(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            c = self._vectors.get(request.collection_name)
        except StatusError as error:
            raise errors.with_prefix(error, "Failed to get collection id: ") from None
        result = self._vectors.delete(c.name, request.expr, request.partition_name)
        return milvus_pb2.MutationResult(
            status=status.success(),
            IDs=_ids(c.schema.primary, result.primary_keys),
            delete_cnt=len(result.primary_keys),
            timestamp=result.timestamp,
        )

    @_rpc(milvus_pb2.FlushResponse)
    def Flush(self, request: Any, context: grpc.ServicerContext) -> Any:
        # Every acknowledged write is already durable; flushing only reports a timestamp.
        ts = self._vectors.timestamp()
        response = milvus_pb2.FlushResponse(status=status.success(), db_name="default")
        for name in request.collection_names:
            self._vectors.get(name)
            response.coll_segIDs[name].data.extend([])
            response.flush_coll_segIDs[name].data.extend([])
            response.coll_seal_times[name] = (ts >> 18) // 1000
            response.coll_flush_ts[name] = ts
        return response

    @_rpc(milvus_pb2.GetFlushStateResponse)
    def GetFlushState(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.collection_name:
            self._vectors.get(request.collection_name)
        return milvus_pb2.GetFlushStateResponse(status=status.success(), flushed=True)

    @_rpc(milvus_pb2.AllocTimestampResponse)
    def AllocTimestamp(self, request: Any, context: grpc.ServicerContext) -> Any:
        return milvus_pb2.AllocTimestampResponse(
            status=status.success(), timestamp=self._vectors.timestamp()
        )

    # ---- indexes -----------------------------------------------------------------------
    @_rpc(common_pb2.Status)
    def CreateIndex(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.create_index(
            request.collection_name,
            request.field_name,
            request.index_name,
            _kv(request.extra_params),
        )
        return status.success()

    @_rpc(milvus_pb2.DescribeIndexResponse)
    def DescribeIndex(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        found = self._vectors.describe_indexes(c.name, request.index_name, request.field_name)
        rows = c.alive_count
        descriptions = []
        for ix in found:
            params = [common_pb2.KeyValuePair(key="index_type", value=ix.index_type)]
            if ix.metric_type:
                params.append(common_pb2.KeyValuePair(key="metric_type", value=ix.metric_type))
            params.append(common_pb2.KeyValuePair(key="params", value=json.dumps(ix.params)))
            descriptions.append(
                milvus_pb2.IndexDescription(
                    index_name=ix.index_name,
                    indexID=ix.index_id,
                    params=params,
                    field_name=ix.field_name,
                    indexed_rows=rows,
                    total_rows=rows,
                    pending_index_rows=0,
                    state=common_pb2.IndexState.Value("Finished"),
                )
            )
        return milvus_pb2.DescribeIndexResponse(
            status=status.success(), index_descriptions=descriptions
        )

    @_rpc(common_pb2.Status)
    def DropIndex(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.drop_index(request.collection_name, request.field_name, request.index_name)
        return status.success()

    # ---- load state --------------------------------------------------------------------
    @_rpc(common_pb2.Status)
    def LoadCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.load(request.collection_name)
        return status.success()

    @_rpc(common_pb2.Status)
    def ReleaseCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._vectors.release(request.collection_name)
        return status.success()

    @_rpc(milvus_pb2.GetLoadStateResponse)
    def GetLoadState(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        for name in request.partition_names:
            c.partition_id(name)
        state = "LoadStateLoaded" if c.loaded else "LoadStateNotLoad"
        return milvus_pb2.GetLoadStateResponse(
            status=status.success(), state=common_pb2.LoadState.Value(state)
        )

    @_rpc(milvus_pb2.GetLoadingProgressResponse)
    def GetLoadingProgress(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        c.require_loaded()
        return milvus_pb2.GetLoadingProgressResponse(
            status=status.success(), progress=100, refresh_progress=100
        )

    # ---- search and query --------------------------------------------------------------
    @_rpc(milvus_pb2.SearchResults)
    def Search(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        params = _kv(request.search_params)
        anns_field = params.get("anns_field", "")
        _require_loaded(c, "search")
        spec = c.anns_field(anns_field)
        assert spec.dim is not None
        extra: dict[str, Any] = {}
        if params.get("params"):
            try:
                extra = json.loads(params["params"])
            except json.JSONDecodeError:
                raise errors.invalid_parameter("search params is not valid JSON") from None
        topk = _int_param(params, "topk", 0)
        offset = _int_param(params, "offset", _int_param(extra, "offset", 0))
        round_decimal = _int_param(params, "round_decimal", -1)
        if not -1 <= round_decimal <= 6:
            raise errors.invalid_parameter(
                f"round_decimal {round_decimal} is invalid, it should be in range [-1, 6]"
            )
        queries = _decode_queries(request.placeholder_group, spec.dim)
        metric = params.get("metric_type", "") or str(extra.get("metric_type", ""))
        chosen, dynamic_keys, names = c.resolve_output_fields(
            list(request.output_fields), include_primary=False
        )
        try:
            _, hits = self._vectors.search(
                c.name,
                vectors=queries,
                anns_field=spec.name,
                metric=metric,
                topk=topk,
                offset=offset,
                expression=request.dsl,
                partition_names=list(request.partition_names),
            )
        except errors.ExpressionError as error:
            raise errors.with_prefix(error, "failed to create query plan: ") from None
        all_rows = np.concatenate(hits.rows) if hits.rows else np.empty(0, np.int64)
        scores = np.concatenate(hits.distances) if hits.distances else np.empty(0, np.float32)
        if round_decimal >= 0:
            scores = np.round(scores.astype(np.float64), round_decimal)
        primary = c.schema.primary
        result = schema_pb2.SearchResultData(
            num_queries=len(queries),
            top_k=topk,
            scores=scores.tolist(),
            ids=_ids(primary, c.primary_keys(all_rows)),
            topks=[len(r) for r in hits.rows],
            output_fields=names,
            primary_field_name=primary.name,
        )
        with c.lock:
            result.fields_data.extend(
                _encode_field(f, c.values(f, all_rows, dynamic_keys)) for f in chosen
            )
        reply_status = status.success()
        if not len(all_rows):
            reply_status.reason = "search result is empty"  # 2.3.5 says so in a success status
        return milvus_pb2.SearchResults(status=reply_status, results=result, collection_name=c.name)

    @_rpc(milvus_pb2.QueryResults)
    def Query(self, request: Any, context: grpc.ServicerContext) -> Any:
        c = self._vectors.get(request.collection_name)
        _require_loaded(c, "query")
        params = _kv(request.query_params)
        requested = [f.strip() for f in request.output_fields]
        partitions = list(request.partition_names)
        if any(f.lower() == COUNT_STAR for f in requested):
            if len(requested) > 1:
                raise errors.invalid_parameter("count entities with pagination is not allowed")
            with c.lock:
                total = c.count(request.expr, partitions)
            fd = schema_pb2.FieldData(type=int(DataType.INT64), field_name=COUNT_STAR)
            fd.scalars.long_data.data.append(total)
            return milvus_pb2.QueryResults(
                status=status.success(),
                fields_data=[fd],
                collection_name=c.name,
                output_fields=[COUNT_STAR],
            )
        limit = _int_param(params, "limit", -1)
        offset = _int_param(params, "offset", 0)
        chosen, dynamic_keys, names = c.resolve_output_fields(requested, include_primary=True)
        with c.lock:
            rows = c.query_rows(
                request.expr, partitions, None if limit < 0 else limit, max(offset, 0)
            )
            fields = [_encode_field(f, c.values(f, rows, dynamic_keys)) for f in chosen]
        return milvus_pb2.QueryResults(
            status=status.success(),
            fields_data=fields,
            collection_name=c.name,
            output_fields=names,
            primary_field_name=c.schema.primary.name,
        )
