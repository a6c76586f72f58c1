"""Fixtures and SDK helpers for the vector clauses (pymilvus MilvusClient, as users call it).

Import the fixtures into a test module with
`from conformance.suite.vector_support import collections_fixture, milvus_fixture`
(their pytest names are `collections` and `milvus`). `datasets` is registered once in
conftest.py: a session fixture imported into several modules would exist once per module.
Every collection carries the per-run prefix and is dropped when its block ends, even on
failure; the `collections` fixture drops whatever is left at teardown as a backstop.

Read-only clauses search and query a small fixed pool of datasets (`datasets`), each built,
indexed and loaded once per session: loading costs seconds per collection on real Milvus, so
Hypothesis varies queries, k, nq and filters, never the stored data, and shrinking never
creates a collection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from conformance.drivers.errors import HarnessError
from conformance.suite.vector_strategies import VectorSpec

PK = "id"
VECTOR = "vector"
# Scalar fields of the filter collection: name -> (DataType name, extra params)
FILTER_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "a": ("INT64", {}),
    "f": ("DOUBLE", {}),
    "s": ("VARCHAR", {"max_length": 16}),
    "flag": ("BOOL", {}),
    "meta": ("JSON", {}),
}
ANN_PARAMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # index type -> (build params, search params); see clause VEC-ANN-RECALL
    "FLAT": ({}, {}),
    "IVF_FLAT": ({"nlist": 32}, {"nprobe": 16}),
    "HNSW": ({"M": 16, "efConstruction": 128}, {"ef": 64}),
}


def connect(address: str, user: str, password: str) -> Any:
    """A MilvusClient on `address` (HOST:PORT), the way the pymilvus docs show it."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    try:
        return MilvusClient(uri=f"http://{address}", user=user, password=password)
    except MilvusException as exc:
        raise HarnessError(f"cannot open a MilvusClient on {address} as {user}: {exc}") from exc


@pytest.fixture(scope="session", name="milvus")
def milvus_fixture(target: Any, conformance_config: Any) -> Iterator[Any]:
    """A root MilvusClient on the target (session scope: connecting costs a few RPCs)."""
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # rejections are expected
    client = connect(target.address, conformance_config.root_user, conformance_config.root_password)
    yield client
    client.close()


class TargetError(AssertionError):
    """The target refused or failed an SDK call the clause expects to work (a deviation)."""


def sdk_call(what: str, action: Callable[[], Any]) -> Any:
    """Run one SDK call; a pymilvus error becomes a short TargetError.

    Short on purpose: Hypothesis formats the traceback of every failing example while
    shrinking, and pymilvus tracebacks are deep enough to dominate the run time.
    """
    from pymilvus.exceptions import MilvusException

    try:
        return action()
    except MilvusException as exc:
        raise TargetError(f"{what}: {exc}") from None


class Collections:
    """Names collections `cf<run>_<tag><n>` and drops them again.

    `cached` keeps a few read-only collections alive across Hypothesis examples (and shrink
    steps that keep the same data), so only changed data costs a new collection.
    """

    CACHE_SIZE = 3

    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.prefix = f"cf{run_id}_"
        self._counter = itertools.count()
        self.created: set[str] = set()
        self._cache: OrderedDict[Any, str] = OrderedDict()

    def cached(self, key: Any, tag: str, build: Callable[[str], None]) -> str:
        """A collection built once per `key` by `build(name)`; never mutate it."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        while len(self._cache) >= self.CACHE_SIZE:
            _, old = self._cache.popitem(last=False)
            self.drop(old)
        name = self.new_name(tag)
        self.created.add(name)
        try:
            build(name)
        except BaseException:
            self.drop(name)
            raise
        self._cache[key] = name
        return name

    def new_name(self, tag: str) -> str:
        return f"{self.prefix}{tag}{next(self._counter)}"

    @contextlib.contextmanager
    def temporary(self, tag: str) -> Iterator[str]:
        """A fresh collection name, dropped at the end of the block whatever happens."""
        name = self.new_name(tag)
        self.created.add(name)
        try:
            yield name
        finally:
            self.drop(name)

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):  # best effort; leftovers are checked at teardown
            self.client.drop_collection(name)
        if not self.client.has_collection(name):
            self.created.discard(name)

    def leftovers(self) -> list[str]:
        self._cache.clear()
        for name in sorted(self.created):
            self.drop(name)
        return sorted(self.created)


@pytest.fixture(name="collections")
def collections_fixture(milvus: Any, conformance_config: Any) -> Iterator[Collections]:
    pool = Collections(milvus, conformance_config.run_id)
    yield pool
    leftovers = pool.leftovers()
    if leftovers:
        raise HarnessError(f"could not drop suite collections {leftovers}")


# ---- schema, data, index -------------------------------------------------------------------


def data_type(name: str) -> Any:
    from pymilvus import DataType

    return getattr(DataType, name)


def vector_schema(dim: int, *, scalars: bool = False) -> Any:
    from pymilvus import MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(PK, data_type("INT64"), is_primary=True)
    schema.add_field(VECTOR, data_type("FLOAT_VECTOR"), dim=dim)
    if scalars:
        for field, (type_name, params) in FILTER_FIELDS.items():
            schema.add_field(field, data_type(type_name), **params)
    return schema


def rows_for(
    vectors: np.ndarray, scalars: Sequence[dict[str, Any]] | None = None, *, first_id: int = 0
) -> list[dict]:
    rows = []
    for i, vector in enumerate(vectors):
        row: dict[str, Any] = {PK: first_id + i, VECTOR: vector.tolist()}
        if scalars is not None:
            row.update(scalars[i])
        rows.append(row)
    return rows


def create_loaded(
    client: Any,
    name: str,
    dim: int,
    rows: list[dict],
    *,
    metric: str = "L2",
    index_type: str = "FLAT",
    scalars: bool = False,
    flush: bool = False,
) -> None:
    """Create (Strong consistency), insert, optionally flush, index and load."""
    schema = vector_schema(dim, scalars=scalars)
    sdk_call(
        "create_collection",
        lambda: client.create_collection(name, schema=schema, consistency_level="Strong"),
    )
    for start in range(0, len(rows), 5000):
        sdk_call("insert", lambda start=start: client.insert(name, rows[start : start + 5000]))
    if flush:
        sdk_call("flush", lambda: client.flush(name))
    create_index(client, name, metric, index_type)
    sdk_call("load_collection", lambda: client.load_collection(name))


def create_index(client: Any, name: str, metric: str, index_type: str) -> None:
    params = client.prepare_index_params()
    build, _ = ANN_PARAMS[index_type]
    params.add_index(field_name=VECTOR, index_type=index_type, metric_type=metric, params=build)
    # sync=False: pymilvus otherwise sleeps 0.5 s before its first progress poll;
    # LoadCollection waits for the index on real Milvus anyway.
    sdk_call("create_index", lambda: client.create_index(name, params, sync=False))


@dataclass(frozen=True)
class Hits:
    ids: list[Any]
    distances: list[float]
    entities: list[dict[str, Any]]


def search(
    client: Any,
    name: str,
    queries: np.ndarray,
    k: int,
    metric: str,
    *,
    index_type: str = "FLAT",
    expr: str = "",
    output_fields: list[str] | None = None,
    consistency: str | None = None,
) -> list[Hits]:
    _, search_params = ANN_PARAMS[index_type]
    extra = {"consistency_level": consistency} if consistency else {}
    result = sdk_call(
        f"search (filter {expr!r})" if expr else "search",
        lambda: client.search(
            name,
            data=[q.tolist() for q in queries],
            limit=k,
            filter=expr,
            output_fields=output_fields or [],
            search_params={"metric_type": metric, "params": search_params},
            anns_field=VECTOR,
            **extra,
        ),
    )
    return [
        Hits(
            [hit["id"] for hit in per_query],
            [float(hit["distance"]) for hit in per_query],
            [dict(hit.get("entity") or {}) for hit in per_query],
        )
        for per_query in result
    ]


def query(
    client: Any,
    name: str,
    expr: str,
    fields: Sequence[str] = (PK,),
    consistency: str | None = None,
) -> list[dict]:
    extra = {"consistency_level": consistency} if consistency else {}
    return sdk_call(
        f"query (filter {expr!r})",
        lambda: list(client.query(name, filter=expr, output_fields=list(fields), **extra)),
    )


def query_ids(client: Any, name: str, expr: str) -> list[Any]:
    return [row[PK] for row in query(client, name, expr)]


def count(client: Any, name: str, expr: str = f"{PK} >= 0", consistency: str | None = None) -> int:
    rows = query(client, name, expr, ["count(*)"], consistency)
    return int(rows[0]["count(*)"])


# ---- the session's fixed dataset pool ----------------------------------------------------------

# Two shapes on purpose: `grid` (low dim, small integers: many exact distance ties) and
# `gaussian` (higher dim, generic floats). Every dataset carries the filter scalars.
DATASET_SPECS: dict[str, VectorSpec] = {
    "grid": VectorSpec(n=90, dim=4, kind="grid", seed=20231),
    "gaussian": VectorSpec(n=120, dim=24, kind="gaussian", seed=20232),
}
DATASET_KINDS = tuple(DATASET_SPECS)


@dataclass(frozen=True)
class Dataset:
    """A loaded, read-only collection and the exact data the oracle compares it with."""

    name: str
    spec: VectorSpec
    metric: str
    vectors: np.ndarray
    rows: list[dict[str, Any]]
    # Never written after the Strong check at build time, so reads need not wait for the
    # target's consistency tick (Strong costs ~0.2 s per read on real Milvus, and shrinking
    # repeats reads hundreds of times).
    consistency: str = "Eventually"

    def queries(self, nq: int, seed: int) -> np.ndarray:
        """`nq` query vectors of the dataset's kind and dim, reproducible from `seed`."""
        return VectorSpec(nq, self.spec.dim, self.spec.kind, seed).queries(nq)


class DatasetPool:
    """Builds each (kind, metric) dataset on first use and keeps it loaded for the session."""

    def __init__(self, client: Any, collections: Collections) -> None:
        self.client = client
        self.collections = collections
        self._built: dict[tuple[str, str], Dataset] = {}

    def get(self, kind: str, metric: str) -> Dataset:
        key = (kind, metric)
        if key not in self._built:
            spec = DATASET_SPECS[kind]
            vectors = spec.vectors()
            rows = rows_for(vectors, spec.scalars())
            name = self.collections.new_name(f"ds{kind[0]}{metric.lower()}")
            self.collections.created.add(name)
            create_loaded(self.client, name, spec.dim, rows, metric=metric, scalars=True)
            seen = count(self.client, name, consistency="Strong")
            if seen != spec.n:  # after this, every later read sees all rows
                raise HarnessError(f"dataset {name}: {seen} of {spec.n} rows visible after load")
            self._built[key] = Dataset(name, spec, metric, vectors, rows)
        return self._built[key]


@pytest.fixture(scope="session", name="datasets")
def datasets_fixture(milvus: Any, conformance_config: Any) -> Iterator[DatasetPool]:
    pool = Collections(milvus, conformance_config.run_id)
    yield DatasetPool(milvus, pool)
    leftovers = pool.leftovers()
    if leftovers:
        raise HarnessError(f"could not drop the dataset collections {leftovers}")
