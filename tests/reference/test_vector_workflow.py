"""End to end: the standard pymilvus workflows against a spawned reference server.

The ORM workflow and the MilvusClient quick-setup flow run unmodified, as a user would write
them; results are checked against numpy. Persistence is checked across a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT_USER, ROOT_PASSWORD = "root", "Milvus"
# the ORM calls are the point of the standard workflow, deprecated or not
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, log: Path) -> Server:
    ready = data_dir.parent / f"ready-{data_dir.name}-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "reference", "serve", "--port", "0"]
    command += ["--ready-file", str(ready), "--data-dir", str(data_dir)]
    with open(log, "ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return Server(process, int(ready.read_text().strip()), data_dir)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"reference server did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("vector-e2e")
    srv = start_server(base / "data", base / "server.log")
    yield srv
    srv.stop()


def _l2_topk(data: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    dist = ((data.astype(np.float64) - query.astype(np.float64)) ** 2).sum(axis=1)
    order = np.lexsort((np.arange(len(dist)), dist))[:k]
    return order, dist[order]


def test_standard_orm_workflow(server: Server) -> None:
    from pymilvus import (
        Collection,
        CollectionSchema,
        DataType,
        FieldSchema,
        connections,
        utility,
    )

    alias = f"orm{os.getpid()}"
    connections.connect(
        alias=alias, host="127.0.0.1", port=str(server.port), user=ROOT_USER, password=ROOT_PASSWORD
    )
    try:
        fields = [
            FieldSchema(name="pk", dtype=DataType.INT64, is_primary=True, auto_id=False),
            FieldSchema(name="embeddings", dtype=DataType.FLOAT_VECTOR, dim=8),
            FieldSchema(name="title", dtype=DataType.VARCHAR, max_length=64),
            FieldSchema(name="meta", dtype=DataType.JSON),
        ]
        schema = CollectionSchema(fields, "hello_milvus is the simplest demo")
        name = "hello_milvus"
        if utility.has_collection(name, using=alias):
            utility.drop_collection(name, using=alias)
        coll = Collection(name, schema, using=alias, consistency_level="Strong")
        assert utility.has_collection(name, using=alias)

        rng = np.random.default_rng(7)
        n = 300
        vectors = rng.random((n, 8), dtype=np.float32)
        pks = list(range(n))
        titles = [f"title-{i}" for i in range(n)]
        metas = [{"group": i % 3, "tag": "even" if i % 2 == 0 else "odd"} for i in range(n)]
        result = coll.insert([pks, vectors.tolist(), titles, metas])
        assert result.insert_count == n
        assert list(result.primary_keys) == pks
        coll.flush()
        assert coll.num_entities == n

        coll.create_index(
            "embeddings", {"index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 16}}
        )
        assert coll.has_index()
        coll.load()
        assert utility.load_state(name, using=alias).name == "Loaded"

        query = vectors[:2] + 0.01
        res = coll.search(
            query.tolist(),
            "embeddings",
            {"metric_type": "L2", "params": {"nprobe": 8}},
            limit=5,
            expr="pk >= 100",
            output_fields=["title", "meta"],
        )
        allowed = np.arange(n) >= 100
        for q, hits in enumerate(res):
            want_rows, want_dist = _l2_topk(vectors[allowed], query[q], 5)
            want_ids = np.flatnonzero(allowed)[want_rows]
            assert list(hits.ids) == want_ids.tolist()
            np.testing.assert_allclose(hits.distances, want_dist, rtol=1e-4, atol=1e-5)
            for hit in hits:
                assert hit.entity.get("title") == f"title-{hit.id}"
                assert hit.entity.get("meta") == metas[hit.id]

        rows = coll.query(expr='meta["group"] == 1 and pk < 10', output_fields=["title"])
        assert sorted(r["pk"] for r in rows) == [1, 4, 7]
        assert {r["title"] for r in rows} == {"title-1", "title-4", "title-7"}

        coll.delete("pk in [1, 4]")
        rows = coll.query(expr='meta["group"] == 1 and pk < 10', output_fields=["pk"])
        assert sorted(r["pk"] for r in rows) == [7]
        res = coll.search(vectors[1:2].tolist(), "embeddings", {"metric_type": "L2"}, limit=3)
        assert 1 not in list(res[0].ids)

        coll.release()
        utility.drop_collection(name, using=alias)
        assert not utility.has_collection(name, using=alias)
    finally:
        connections.disconnect(alias)


def test_milvus_client_quick_setup(server: Server) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=server.uri, token=f"{ROOT_USER}:{ROOT_PASSWORD}")
    try:
        name = "quick_setup"
        if client.has_collection(name):
            client.drop_collection(name)
        client.create_collection(name, dimension=5)
        desc = client.describe_collection(name)
        assert [f["name"] for f in desc["fields"]] == ["id", "vector"]
        assert desc["enable_dynamic_field"]
        index = client.describe_index(name, "vector")
        assert index["index_type"] == "AUTOINDEX"
        assert index["metric_type"] == "COSINE"
        assert str(client.get_load_state(name)["state"]) == "Loaded"

        rng = np.random.default_rng(1)
        vectors = rng.normal(size=(50, 5)).astype(np.float32)
        rows = [
            {"id": i, "vector": vectors[i].tolist(), "color": ["red", "blue"][i % 2], "n": i}
            for i in range(50)
        ]
        assert client.insert(name, rows)["insert_count"] == 50

        query = rng.normal(size=5).astype(np.float32)
        res = client.search(
            name, [query.tolist()], limit=4, filter='color == "red"', output_fields=["color"]
        )
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        sims = unit @ (query / np.linalg.norm(query))
        red = np.arange(50) % 2 == 0
        want = np.flatnonzero(red)[np.argsort(-sims[red], kind="stable")[:4]]
        assert [h["id"] for h in res[0]] == want.tolist()
        np.testing.assert_allclose([h["distance"] for h in res[0]], sims[want], atol=1e-5)
        assert all(h["entity"]["color"] == "red" for h in res[0])

        got = client.query(name, filter="n > 45", output_fields=["n", "color"])
        assert sorted(r["n"] for r in got) == [46, 47, 48, 49]
        assert client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 50
        client.delete(name, ids=[46, 47])
        assert client.query(name, filter="n > 45", output_fields=["count(*)"])[0]["count(*)"] == 2
        page = client.query(name, filter="id >= 0", limit=3, offset=2, output_fields=["id"])
        assert [r["id"] for r in page] == [2, 3, 4]

        client.release_collection(name)
        with pytest.raises(Exception, match="not loaded"):
            client.search(name, [query.tolist()], limit=1)
        client.drop_collection(name)
        assert not client.has_collection(name)
    finally:
        client.close()


def test_collection_survives_restart(tmp_path: Path) -> None:
    from pymilvus import MilvusClient

    data_dir = tmp_path / "data"
    srv = start_server(data_dir, tmp_path / "log1")
    vectors = np.random.default_rng(3).random((40, 4), dtype=np.float32)
    try:
        client = MilvusClient(uri=srv.uri, token=f"{ROOT_USER}:{ROOT_PASSWORD}")
        client.create_collection("durable", dimension=4, metric_type="L2")
        client.insert("durable", [{"id": i, "vector": vectors[i].tolist()} for i in range(40)])
        client.delete("durable", ids=[0, 1])
        client.close()
    finally:
        srv.stop()
    srv = start_server(data_dir, tmp_path / "log2")
    try:
        client = MilvusClient(uri=srv.uri, token=f"{ROOT_USER}:{ROOT_PASSWORD}")
        assert client.has_collection("durable")
        assert str(client.get_load_state("durable")["state"]) == "Loaded"
        count = client.query("durable", filter="", output_fields=["count(*)"])
        assert count[0]["count(*)"] == 38
        res = client.search("durable", [vectors[5].tolist()], limit=1)
        assert res[0][0]["id"] == 5
        assert res[0][0]["distance"] == pytest.approx(0.0, abs=1e-6)
        client.close()
    finally:
        srv.stop()
