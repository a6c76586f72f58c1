"""Collection clauses: schema round-trip, released collections, authenticated data RPCs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from conformance.drivers.wire import Outcome, WireClient, minimal_search_request
from conformance.suite.support import scaled
from conformance.suite.vector_strategies import VectorSpec
from conformance.suite.vector_support import (
    PK,
    VECTOR,
    Collections,
    TargetError,
    collections_fixture,  # noqa: F401  (fixture `collections`)
    count,
    create_loaded,
    data_type,
    milvus_fixture,  # noqa: F401  (fixture `milvus`)
    rows_for,
    sdk_call,
    search,
)

# ---- VEC-SCHEMA-ROUNDTRIP ------------------------------------------------------------------

SCALAR_TYPES = ("BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR", "JSON")
_descriptions = st.text(alphabet="abcdefghij XYZ_0123", max_size=30)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type_name: str
    description: str
    dim: int | None = None
    max_length: int | None = None
    is_primary: bool = False


@dataclass(frozen=True)
class SchemaSpec:
    fields: tuple[FieldSpec, ...]
    auto_id: bool
    description: str


@st.composite
def schema_specs(draw: st.DrawFn) -> SchemaSpec:
    pk_type = draw(st.sampled_from(["INT64", "VARCHAR"]), label="pk type")
    pk = FieldSpec(
        "pk",
        pk_type,
        draw(_descriptions),
        max_length=draw(st.integers(1, 512)) if pk_type == "VARCHAR" else None,
        is_primary=True,
    )
    dim = draw(st.sampled_from([2, 3, 16, 128, 1024, 32768]), label="dim")
    vector = FieldSpec("embedding", "FLOAT_VECTOR", draw(_descriptions), dim=dim)
    scalar_types = draw(st.lists(st.sampled_from(SCALAR_TYPES), max_size=6), label="scalars")
    scalars = [
        FieldSpec(
            f"f{i}_{t.lower()}",
            t,
            draw(_descriptions),
            max_length=draw(st.integers(1, 65535)) if t == "VARCHAR" else None,
        )
        for i, t in enumerate(scalar_types)
    ]
    fields = [pk, *scalars]
    fields.insert(draw(st.integers(1, len(fields)), label="vector position"), vector)
    auto_id = pk_type == "INT64" and draw(st.booleans(), label="auto_id")
    return SchemaSpec(tuple(fields), auto_id, draw(_descriptions))


def _build_schema(spec: SchemaSpec) -> Any:
    from pymilvus import MilvusClient

    schema = MilvusClient.create_schema(auto_id=spec.auto_id, description=spec.description)
    for field in spec.fields:
        params: dict[str, Any] = {}
        if field.dim is not None:
            params["dim"] = field.dim
        if field.max_length is not None:
            params["max_length"] = field.max_length
        schema.add_field(
            field.name,
            data_type(field.type_name),
            is_primary=field.is_primary,
            description=field.description,
            **params,
        )
    return schema


def _int_param(params: dict[str, Any], key: str) -> int | None:
    return int(params[key]) if key in params else None


@pytest.mark.clause("VEC-SCHEMA-ROUNDTRIP", driver="sdk")
@scaled(0.4, minimum=4)
@given(spec=schema_specs())
def test_schema_round_trips_through_describe_collection(
    milvus: Any, collections: Collections, spec: SchemaSpec
) -> None:
    with collections.temporary("schema") as name:
        schema = _build_schema(spec)
        sdk_call("create_collection", lambda: milvus.create_collection(name, schema=schema))
        described = sdk_call("describe_collection", lambda: milvus.describe_collection(name))
        note(f"described: {described}")
        got = described["fields"]
        assert [f["name"] for f in got] == [f.name for f in spec.fields], "field names/order"
        for want, have in zip(spec.fields, got, strict=True):
            params = have.get("params") or {}
            assert have["type"] == data_type(want.type_name), f"{want.name}: type"
            assert bool(have.get("is_primary")) == want.is_primary, f"{want.name}: is_primary"
            assert _int_param(params, "dim") == want.dim, f"{want.name}: dim {params}"
            assert _int_param(params, "max_length") == want.max_length, f"{want.name}: max_length"
            assert have.get("description", "") == want.description, f"{want.name}: description"
        assert bool(described.get("auto_id")) == spec.auto_id, "auto_id"
        assert described.get("description", "") == spec.description, "collection description"


# ---- VEC-RELEASED-SEARCH-FAILS -------------------------------------------------------------


def _fails(action: Any) -> str | None:
    """The error text if `action` raised a pymilvus error, None if it succeeded."""
    from pymilvus.exceptions import MilvusException

    try:
        action()
    except (MilvusException, TargetError) as exc:
        return str(exc)
    return None


@pytest.mark.clause("VEC-RELEASED-SEARCH-FAILS", driver="sdk")
@pytest.mark.parametrize("metric", ["L2", "COSINE"])
def test_search_on_released_collection_fails(
    milvus: Any, collections: Collections, metric: str
) -> None:
    spec = VectorSpec(20, 4, "gaussian", 7)
    vectors = spec.vectors()
    with collections.temporary("released") as name:
        create_loaded(milvus, name, spec.dim, rows_for(vectors), metric=metric)
        assert len(search(milvus, name, spec.queries(1), 3, metric)[0].ids) == 3, "loaded search"
        sdk_call("release_collection", lambda: milvus.release_collection(name))
        searched = _fails(lambda: search(milvus, name, spec.queries(1), 3, metric))
        assert searched is not None, "search on a released collection succeeded"
        queried = _fails(lambda: milvus.query(name, filter=f"{PK} >= 0", output_fields=[PK]))
        assert queried is not None, "query on a released collection succeeded"
        sdk_call("load_collection", lambda: milvus.load_collection(name))
        assert len(search(milvus, name, spec.queries(1), 3, metric)[0].ids) == 3, "re-loaded"


# ---- VEC-DATA-AUTH --------------------------------------------------------------------------

AUTH_DIM = 4


def _insert_request(collection: str, first_id: int, rows: int) -> milvus_pb2.InsertRequest:
    ids = schema_pb2.FieldData(
        type=schema_pb2.DataType.Int64,
        field_name=PK,
        scalars=schema_pb2.ScalarField(
            long_data=schema_pb2.LongArray(data=list(range(first_id, first_id + rows)))
        ),
    )
    values = np.full(rows * AUTH_DIM, 0.25, dtype=np.float32).tolist()
    vectors = schema_pb2.FieldData(
        type=schema_pb2.DataType.FloatVector,
        field_name=VECTOR,
        vectors=schema_pb2.VectorField(
            dim=AUTH_DIM, float_vector=schema_pb2.FloatArray(data=values)
        ),
    )
    return milvus_pb2.InsertRequest(
        collection_name=collection, fields_data=[ids, vectors], num_rows=rows
    )


def _query_request(collection: str) -> milvus_pb2.QueryRequest:
    return milvus_pb2.QueryRequest(
        collection_name=collection,
        expr=f"{PK} >= 0",
        output_fields=[PK],
        consistency_level=common_pb2.ConsistencyLevel.Strong,
    )


def _data_calls(client: WireClient, collection: str, first_id: int) -> dict[str, Outcome]:
    return {
        "Insert": client.call("Insert", _insert_request(collection, first_id, 2)),
        "Search": client.call("Search", minimal_search_request(collection, AUTH_DIM)),
        "Query": client.call("Query", _query_request(collection)),
    }


def _bad_identities(root_user: str, root_password: str) -> dict[str, dict[str, Any]]:
    return {
        "no header": {"metadata": []},
        "wrong password": {"user": root_user, "password": root_password + "x"},
        "unknown user": {"user": "cf_nobody_at_all", "password": root_password},
    }


@pytest.mark.clause("VEC-DATA-AUTH", driver="wire")
def test_data_rpcs_require_authentication(
    milvus: Any, collections: Collections, target: Any, conformance_config: Any
) -> None:
    user, password = conformance_config.root_user, conformance_config.root_password
    spec = VectorSpec(5, AUTH_DIM, "grid", 3)
    with collections.temporary("auth") as name:
        create_loaded(milvus, name, AUTH_DIM, rows_for(spec.vectors()))
        for label, identity in _bad_identities(user, password).items():
            with WireClient(target.address, **identity) as client:
                accepted = {rpc: o for rpc, o in _data_calls(client, name, 100).items() if o.ok}
            assert not accepted, f"{label}: {sorted(accepted)} accepted without valid credentials"
            assert count(milvus, name) == spec.n, f"{label}: a rejected Insert changed the data"
        # positive control: the same requests pass with root's credentials
        with WireClient(target.address, user, password) as client:
            outcomes = _data_calls(client, name, 200)
        refused = {rpc: o.describe() for rpc, o in outcomes.items() if not o.ok}
        assert not refused, f"root's data RPCs were refused: {refused}"
        assert count(milvus, name) == spec.n + 2, "root's Insert did not add its rows"
