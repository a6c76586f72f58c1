#!/usr/bin/env python3
"""Vector section of the benchmark (issue 5, Deliver 7): 100k x 128 float32 through pymilvus.

    python scripts/bench_vector.py [--rows 100000] [--dim 128]   # spawns milvus-reference

Importable by scripts/bench-reference: `run_vector_section(address, pid) -> dict` measures
one running server (root/Milvus credentials) and a plain-numpy peer on the same data:
insert vectors/s by two standard pymilvus paths, L2 top-10 search p50 at nq=1 and nq=100,
and the RSS of the server's process tree (idle, after load, and the 2x-raw-bytes budget).
Not a timed test.

Insert paths (both in 10k batches, data built before the clock starts):
* rows: `MilvusClient.insert` with row dicts holding numpy vectors; pymilvus converts each
  row to protobuf in Python, which on a 2-core machine costs several times the server's work.
* columnar: ORM `Collection.insert([ids, vectors])` with the vectors as lists of floats, the
  form pymilvus documents; one `extend` per batch instead of per-row conversion.
* wire: `MilvusService.Insert` with InsertRequest messages built before the clock starts, so
  the figure is the server's ingest rate (transport and serialisation included) rather than
  pymilvus's Python-side conversion, which caps the two paths above on a 2-core machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc, schema_pb2

from conformance.targets.milvus_embedded import tree_rss_bytes

ROOT = ("root", "Milvus")
ROWS, DIM, TOPK = 100_000, 128, 10
INSERT_BATCH = 10_000
REPEATS = {1: 50, 100: 15}  # nq -> timed searches (after warm-up)
FLOOR_ROWS = 10  # collection size for the per-request floor of a search


def _p50_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first-call caches, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def dataset(rows: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((rows, dim), dtype=np.float32), rng.random((100, dim), dtype=np.float32)


def numpy_peer(data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """The plain-numpy baseline: squared L2 by BLAS, then argpartition + sort for the top 10."""
    norms = np.einsum("ij,ij->i", data, data)

    def topk(q: np.ndarray) -> np.ndarray:
        scores = norms[None, :] - 2.0 * (q @ data.T)  # + |q|^2, constant per query
        part = np.argpartition(scores, TOPK, axis=1)[:, :TOPK]
        order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)
        return np.take_along_axis(part, order, axis=1)

    products = np.empty(len(data), np.float32)
    return {
        "search_p50_ms_nq1": _p50_ms(lambda: topk(queries[:1]), REPEATS[1]),
        "search_p50_ms_nq100": _p50_ms(lambda: topk(queries), REPEATS[100]),
        # One BLAS pass over every vector and nothing else: what any exact scan must read.
        "scan_p50_ms_nq1": _p50_ms(lambda: np.dot(data, queries[0], out=products), REPEATS[1]),
    }


def run_vector_section(
    address: str,
    pid: int,
    *,
    rows: int = ROWS,
    dim: int = DIM,
    user: str = ROOT[0],
    password: str = ROOT[1],
) -> dict[str, Any]:
    """Measure the server at `address` (PID `pid`, for RSS) and the numpy peer."""
    from pymilvus import DataType, MilvusClient

    data, queries = dataset(rows, dim)
    client = MilvusClient(uri=f"http://{address}", user=user, password=password)
    name = f"bench_vector_{int(time.time())}"
    result: dict[str, Any] = {"rows": rows, "dim": dim}
    try:
        time.sleep(0.5)
        idle = tree_rss_bytes(pid)
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        client.create_collection(name, schema=schema, consistency_level="Strong")
        # Rows are built before the clock starts: the figure is the server's ingest rate
        # plus pymilvus's serialisation, not Python dict construction.
        batches = [
            [{"id": i, "vector": data[i]} for i in range(start, min(rows, start + INSERT_BATCH))]
            for start in range(0, rows, INSERT_BATCH)
        ]
        start = time.perf_counter()
        for batch in batches:
            client.insert(name, batch)
        result["insert_vectors_per_s"] = rows / (time.perf_counter() - start)
        del batches
        result["insert_columnar_vectors_per_s"] = _columnar_insert_rate(
            address, user, password, f"{name}_columnar", schema, data
        )
        wire_name = f"{name}_wire"
        client.create_collection(wire_name, schema=schema, consistency_level="Strong")
        try:
            result["insert_wire_vectors_per_s"] = _wire_insert_rate(
                address, user, password, wire_name, data
            )
        finally:
            client.drop_collection(wire_name)  # keeps the RSS figures about one collection
        client.flush(name)
        params = client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        client.create_index(name, params)
        client.load_collection(name)

        def search(nq: int) -> Callable[[], object]:
            vectors = queries[:nq].tolist()
            # Bounded, as Milvus's own benchmarks run: under the collection's Strong level 2.3.5
            # waits for a time tick (~200 ms) on every search, which measures the wait, not search.
            return lambda: client.search(
                name,
                data=vectors,
                limit=TOPK,
                search_params={"metric_type": "L2"},
                consistency_level="Bounded",
            )

        result["search_p50_ms_nq1"] = _p50_ms(search(1), REPEATS[1])
        result["search_p50_ms_nq100"] = _p50_ms(search(100), REPEATS[100])
        result["search_p50_ms_nq1_floor"] = _search_floor_ms(client, f"{name}_floor", schema, data)
        loaded = tree_rss_bytes(pid)
        raw = data.nbytes
        result.update(
            idle_rss_mb=idle / 2**20,
            loaded_rss_mb=loaded / 2**20,
            raw_vector_mb=raw / 2**20,
            rss_budget_mb=(2 * raw + idle) / 2**20,  # issue 5: at most 2x raw + idle
            rss_within_budget=loaded <= 2 * raw + idle,
        )
    finally:
        if client.has_collection(name):
            client.drop_collection(name)
        client.close()
    result["numpy"] = numpy_peer(data, queries)
    return result


def _search_floor_ms(client: Any, name: str, schema: Any, data: np.ndarray) -> float:
    """p50 of the same nq=1 search on a FLOOR_ROWS-row collection: client, transport and the
    server's per-request work, with almost no scan. Dropped before the RSS is read."""
    client.create_collection(name, schema=schema, consistency_level="Strong")
    try:
        client.insert(name, [{"id": i, "vector": data[i]} for i in range(FLOOR_ROWS)])
        client.flush(name)
        params = client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        client.create_index(name, params)
        client.load_collection(name)
        query = data[-1:].tolist()
        return _p50_ms(
            lambda: client.search(
                name,
                data=query,
                limit=TOPK,
                search_params={"metric_type": "L2"},
                consistency_level="Bounded",
            ),
            REPEATS[1],
        )
    finally:
        client.drop_collection(name)


def _columnar_insert_rate(
    address: str, user: str, password: str, name: str, schema: Any, data: np.ndarray
) -> float:
    """Vectors/s of ORM `Collection.insert` with column lists into a scratch collection."""
    alias = f"bench-columnar-{id(data)}"
    with warnings.catch_warnings():
        # pymilvus 3.0 flags the ORM as deprecated (FutureWarning); it is still the standard API
        warnings.simplefilter("ignore", FutureWarning)
        return _timed_columnar_insert(address, user, password, name, schema, data, alias)


def _timed_columnar_insert(
    address: str, user: str, password: str, name: str, schema: Any, data: np.ndarray, alias: str
) -> float:
    from pymilvus import Collection, connections

    connections.connect(alias, uri=f"http://{address}", user=user, password=password)
    try:
        collection = Collection(name, schema=schema, using=alias, consistency_level="Strong")
        rows = len(data)
        batches = [
            [
                list(range(start, min(rows, start + INSERT_BATCH))),
                data[start : start + INSERT_BATCH].tolist(),
            ]
            for start in range(0, rows, INSERT_BATCH)
        ]
        start = time.perf_counter()
        for batch in batches:
            collection.insert(batch)
        rate = rows / (time.perf_counter() - start)
        del batches
        collection.drop()  # keeps the RSS figures about the one loaded collection
        return rate
    finally:
        connections.disconnect(alias)


def _insert_requests(name: str, data: np.ndarray) -> list[Any]:
    """InsertRequests of INSERT_BATCH rows (primary key `id`, vectors `vector`)."""
    requests = []
    for start in range(0, len(data), INSERT_BATCH):
        chunk = data[start : start + INSERT_BATCH]
        ids = schema_pb2.LongArray(data=range(start, start + len(chunk)))
        vectors = schema_pb2.VectorField(
            dim=data.shape[1], float_vector=schema_pb2.FloatArray(data=chunk.ravel().tolist())
        )
        fields = [
            schema_pb2.FieldData(
                type=schema_pb2.DataType.Int64,
                field_name="id",
                scalars=schema_pb2.ScalarField(long_data=ids),
            ),
            schema_pb2.FieldData(
                type=schema_pb2.DataType.FloatVector, field_name="vector", vectors=vectors
            ),
        ]
        requests.append(
            milvus_pb2.InsertRequest(collection_name=name, num_rows=len(chunk), fields_data=fields)
        )
    return requests


def _wire_insert_rate(address: str, user: str, password: str, name: str, data: np.ndarray) -> float:
    """Vectors/s of raw Insert RPCs whose requests were built beforehand."""
    requests = _insert_requests(name, data)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    options = [("grpc.max_send_message_length", 256 << 20)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        metadata = [("authorization", token)]
        start = time.perf_counter()
        for request in requests:
            reply = stub.Insert(request, metadata=metadata)
            if reply.status.code != 0 or reply.insert_cnt != request.num_rows:
                raise RuntimeError(f"wire insert failed: {reply.status.reason!r}")
        return len(data) / (time.perf_counter() - start)


def spawn_reference(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = work / "ready"
    log = (work / "server.log").open("ab")
    argv = ["milvus-reference", "serve", "--port", "0", "--ready-file", str(ready)]
    process = subprocess.Popen([*argv, "--data-dir", str(work / "data")], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if ready.exists() and ready.read_text().strip():
            return process, f"127.0.0.1:{int(ready.read_text().strip())}"
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"milvus-reference did not start; see {work / 'server.log'}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--dim", type=int, default=DIM)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-vector-") as tmp:
        process, address = spawn_reference(Path(tmp))
        try:
            result = run_vector_section(address, process.pid, rows=args.rows, dim=args.dim)
        finally:
            stop(process)
    json.dump({"reference": result}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
