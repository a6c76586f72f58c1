"""Vector snapshot probes: `fixtures/snapshots/vector-probes.yaml` against a server, normalised.

The vector counterpart of `snapshot_probes.py` (credential probes), sharing its machinery: the
`Probe` record, per-probe name prefix `{u}`, metadata building, the repeat/aggregate step runner
and `compare`. This module only adds what vector RPCs need: request builders from compact YAML,
named setup sequences (`use:`), waiting for an asynchronous load on real Milvus, collection
cleanup, and normalisation of volatile numbers (collection ids, timestamps).

Used by `scripts/record-snapshots --set vector` (records real Milvus 2.3.5) and
`tests/test_vector_snapshot_parity.py` (replays against the reference).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import snapshot_probes as sp
import yaml
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from conformance.drivers.wire import Outcome, WireClient

PROBE_FILE = sp.REPO / "fixtures" / "snapshots" / "vector-probes.yaml"
DEFAULT_SNAPSHOT = sp.REPO / "fixtures" / "snapshots" / "milvus-2.3.5-vector.json"
CALL_TIMEOUT_S = 60.0  # CreateIndex / Load on a busy 2-core machine can take seconds
LOAD_WAIT_S = 90.0
# Collection ids, partition ids and hybrid timestamps: 13+ digit numbers that change every run.
_VOLATILE_NUMBER = re.compile(r"(?<![\d.])\d{13,}(?![\d.])")
_STEP_KEYS = {"rpc", "auth", "metadata", "request", "repeat", "note", "sleep_ms"}
RPCS = {
    "CreateCollection",
    "DropCollection",
    "HasCollection",
    "DescribeCollection",
    "LoadCollection",
    "ReleaseCollection",
    "ShowCollections",
    "GetCollectionStatistics",
    "CreatePartition",
    "DropPartition",
    "HasPartition",
    "ShowPartitions",
    "Insert",
    "Upsert",
    "Delete",
    "Flush",
    "CreateIndex",
    "DescribeIndex",
    "DropIndex",
    "Search",
    "Query",
}
_DATA_TYPES = {name: value for name, value in schema_pb2.DataType.items()}
_SCALAR_ATTR = {
    "Bool": "bool_data",
    "Int8": "int_data",
    "Int16": "int_data",
    "Int32": "int_data",
    "Int64": "long_data",
    "Float": "float_data",
    "Double": "double_data",
    "VarChar": "string_data",
    "JSON": "json_data",
}
# Defaults a pymilvus 2.3 search sends; a probe overrides a key, or drops it with null.
_SEARCH_DEFAULTS = {
    "anns_field": "vec",
    "topk": "3",
    "metric_type": "L2",
    "params": "{}",
    "round_decimal": "-1",
}


def load_probes(path: Path = PROBE_FILE) -> list[sp.Probe]:
    """Probes with `use: <setup>` steps expanded from the file's `setups` section."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    setups: dict[str, list[dict[str, Any]]] = data.get("setups") or {}
    probes: list[sp.Probe] = []
    seen: set[str] = set()
    for entry in data["probes"]:
        pid = entry.get("id")
        if not pid or pid in seen:
            raise sp.ProbeFileError(f"probe id missing or duplicated: {pid!r}")
        seen.add(pid)
        if not entry.get("description"):
            raise sp.ProbeFileError(f"probe {pid}: description is required")
        steps = _expand_steps(pid, entry.get("steps") or [], setups)
        if not steps:
            raise sp.ProbeFileError(f"probe {pid}: no steps")
        for key in ("parity_excluded", "reason_excluded"):
            if key in entry and not str(entry[key] or "").strip():
                raise sp.ProbeFileError(f"probe {pid}: {key} needs a reason")
        probe = sp.Probe(pid, entry["description"], steps, entry.get("parity_excluded"))
        if entry.get("reason_excluded"):
            REASON_EXCLUDED[pid] = str(entry["reason_excluded"])
        probes.append(probe)
    return probes


# Probes whose final step's status must match but whose reason text cannot (e.g. a parser's
# own syntax-error wording): probe id -> why. Filled by load_probes.
REASON_EXCLUDED: dict[str, str] = {}


def compare(probe: sp.Probe, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """`snapshot_probes.compare`, minus the last step's reason for `reason_excluded` probes."""
    if probe.id in REASON_EXCLUDED and expected["steps"] and actual["steps"]:
        expected = _without_last_reason(expected)
        actual = _without_last_reason(actual)
    return sp.compare(expected, actual)


def _without_last_reason(entry: dict[str, Any]) -> dict[str, Any]:
    steps = [dict(step) for step in entry["steps"]]
    steps[-1]["result"] = {k: v for k, v in steps[-1]["result"].items() if k != "reason"}
    return {**entry, "steps": steps}


def _expand_steps(
    pid: str, raw: list[dict[str, Any]], setups: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for step in raw:
        if "use" in step:
            if step["use"] not in setups or len(step) != 1:
                raise sp.ProbeFileError(f"probe {pid}: unknown setup {step!r}")
            steps.extend(_expand_steps(pid, setups[step["use"]], setups))
            continue
        unknown = set(step) - _STEP_KEYS
        if unknown or step.get("rpc") not in RPCS:
            raise sp.ProbeFileError(f"probe {pid}: bad step {step!r}")
        steps.append(step)
    return steps


# -- request builders -----------------------------------------------------------------------------
def _kv_pairs(values: dict[str, Any]) -> list[common_pb2.KeyValuePair]:
    return [
        common_pb2.KeyValuePair(key=str(k), value=v if isinstance(v, str) else json.dumps(v))
        for k, v in values.items()
    ]


def _data_type(name: str) -> int:
    if name not in _DATA_TYPES:
        raise sp.ProbeFileError(f"unknown data type {name!r}")
    return _DATA_TYPES[name]


def build_schema(request: dict[str, Any], prefix: str) -> bytes:
    fields = [
        schema_pb2.FieldSchema(
            name=sp.expand_text(f["name"], prefix),
            data_type=_data_type(f["type"]),
            is_primary_key=bool(f.get("pk", False)),
            autoID=bool(f.get("auto_id", False)),
            type_params=_kv_pairs(f.get("params") or {}),
        )
        for f in request["fields"]
    ]
    schema = schema_pb2.CollectionSchema(
        name=sp.expand_text(request.get("schema_name", request["name"]), prefix),
        autoID=bool(request.get("auto_id", False)),
        enable_dynamic_field=bool(request.get("dynamic", False)),
        fields=fields,
    )
    return schema.SerializeToString()


def _vectors(spec: Any, dim: int) -> list[list[float]]:
    """Explicit vectors, or {count: N}: N deterministic vectors of `dim` floats."""
    if isinstance(spec, dict):
        return [[(i + 1) / (j + 2) for j in range(dim)] for i in range(int(spec["count"]))]
    return [list(map(float, v)) for v in spec]


def _scalars(spec: Any, prefix: str) -> list[Any]:
    """Explicit values, {count: N} (0..N-1), or {text: S, count: N} (one string S*N)."""
    if isinstance(spec, dict) and "text" in spec:
        return [str(spec["text"]) * int(spec.get("count", 1))]
    if isinstance(spec, dict):
        return list(range(int(spec["count"])))
    return [sp.expand_text(v, prefix) if isinstance(v, str) else v for v in spec]


def build_field_data(column: dict[str, Any], prefix: str) -> schema_pb2.FieldData:
    type_name = column["type"]
    fd = schema_pb2.FieldData(type=_data_type(type_name), field_name=column["name"])
    if type_name == "FloatVector":
        dim = int(column["dim"])
        fd.vectors.dim = dim
        for vector in _vectors(column["values"], dim):
            fd.vectors.float_vector.data.extend(vector)
        return fd
    values = _scalars(column["values"], prefix)
    target = getattr(fd.scalars, _SCALAR_ATTR[type_name]).data
    if type_name == "JSON":
        target.extend(json.dumps(v).encode() for v in values)
    else:
        target.extend(values)
    return fd


def _placeholder_group(spec: Any, dim: int) -> bytes:
    import struct

    values = [struct.pack(f"<{len(v)}f", *v) for v in _vectors(spec, dim)]
    group = common_pb2.PlaceholderGroup(
        placeholders=[
            common_pb2.PlaceholderValue(
                tag="$0", type=common_pb2.PlaceholderType.FloatVector, values=values
            )
        ]
    )
    return group.SerializeToString()


def build_request(rpc: str, request: dict[str, Any], prefix: str) -> Any:
    def text(key: str, default: str = "") -> str:
        return sp.expand_text(request.get(key, default), prefix)

    name = text("name")
    if rpc == "CreateCollection":
        return milvus_pb2.CreateCollectionRequest(
            collection_name=name, schema=build_schema(request, prefix), shards_num=1
        )
    if rpc in ("DropCollection", "HasCollection", "DescribeCollection", "ReleaseCollection"):
        return getattr(milvus_pb2, f"{rpc}Request")(collection_name=name)
    if rpc == "LoadCollection":
        return milvus_pb2.LoadCollectionRequest(collection_name=name, replica_number=1)
    if rpc == "GetCollectionStatistics":
        return milvus_pb2.GetCollectionStatisticsRequest(collection_name=name)
    if rpc == "ShowCollections":
        names = [sp.expand_text(n, prefix) for n in request.get("names", [])]
        show_type = milvus_pb2.ShowType.Value(request.get("type", "All"))
        return milvus_pb2.ShowCollectionsRequest(collection_names=names, type=show_type)
    if rpc in ("CreatePartition", "DropPartition", "HasPartition"):
        return getattr(milvus_pb2, f"{rpc}Request")(
            collection_name=name, partition_name=text("partition")
        )
    if rpc == "ShowPartitions":
        names = [sp.expand_text(n, prefix) for n in request.get("partitions", [])]
        return milvus_pb2.ShowPartitionsRequest(collection_name=name, partition_names=names)
    if rpc in ("Insert", "Upsert"):
        columns = [build_field_data(c, prefix) for c in request["columns"]]
        return getattr(milvus_pb2, f"{rpc}Request")(
            collection_name=name,
            partition_name=text("partition"),
            fields_data=columns,
            num_rows=int(request["num_rows"]),
        )
    if rpc == "Delete":
        return milvus_pb2.DeleteRequest(
            collection_name=name, expr=text("expr"), partition_name=text("partition")
        )
    if rpc == "Flush":
        return milvus_pb2.FlushRequest(collection_names=[name])
    if rpc == "CreateIndex":
        return milvus_pb2.CreateIndexRequest(
            collection_name=name,
            field_name=text("field", "vec"),
            index_name=text("index_name"),
            extra_params=_kv_pairs(request.get("params") or {}),
        )
    if rpc in ("DescribeIndex", "DropIndex"):
        return getattr(milvus_pb2, f"{rpc}Request")(
            collection_name=name, field_name=text("field"), index_name=text("index_name")
        )
    if rpc == "Search":
        params = dict(_SEARCH_DEFAULTS)
        params.update(request.get("search_params") or {})
        vectors = request.get("vectors", {"count": 1})
        return milvus_pb2.SearchRequest(
            collection_name=name,
            dsl=text("expr"),
            dsl_type=common_pb2.DslType.BoolExprV1,
            placeholder_group=_placeholder_group(vectors, int(request.get("dim", 4))),
            search_params=_kv_pairs({k: v for k, v in params.items() if v is not None}),
            output_fields=request.get("output_fields", []),
            nq=int(request.get("nq", len(_vectors(vectors, 1)))),
        )
    if rpc == "Query":
        return milvus_pb2.QueryRequest(
            collection_name=name,
            expr=text("expr"),
            output_fields=request.get("output_fields", []),
            query_params=_kv_pairs(request.get("query_params") or {}),
        )
    raise sp.ProbeFileError(f"no request builder for {rpc}")


# -- normalisation --------------------------------------------------------------------------------
def normalise_text(text: str, prefix: str) -> str:
    return _VOLATILE_NUMBER.sub("{n}", sp.normalise_text(text, prefix))


def normalise_outcome(rpc: str, outcome: Outcome, prefix: str) -> dict[str, Any]:
    """Status fields like the credential runner, plus a small deterministic success payload."""
    result = sp.status_fields(outcome, normalise_text(outcome.reason, prefix))
    if outcome.kind == "ok":
        payload = _success_payload(rpc, outcome.payload, prefix)
        if payload is not None:
            result["payload"] = payload
    return result


def _success_payload(rpc: str, payload: Any, prefix: str) -> Any:
    if rpc in ("HasCollection", "HasPartition"):
        return bool(payload)
    if rpc == "ShowCollections":
        return sorted(sp.normalise_text(n, prefix) for n in payload if prefix in n)
    if rpc == "ShowPartitions":
        return sorted(payload.partition_names)
    if rpc in ("Insert", "Upsert", "Delete"):
        return {"insert": payload.insert_cnt, "delete": payload.delete_cnt}
    if rpc == "DescribeCollection":
        return [
            {
                "name": f.name,
                "type": schema_pb2.DataType.Name(f.data_type),
                "pk": f.is_primary_key,
                "auto_id": f.autoID,
                "params": {p.key: p.value for p in f.type_params},
            }
            for f in payload.schema.fields
        ]
    if rpc == "Search":
        return {"nq": payload.results.num_queries, "topks": list(payload.results.topks)}
    if rpc == "Query":
        return sorted(f.field_name for f in payload.fields_data)
    return None


# -- running --------------------------------------------------------------------------------------
class VectorProbeRunner(sp.ProbeRunner):
    """Runs vector probes; cleanup drops every collection named with the probe's prefix."""

    def _call(  # type: ignore[override]
        self, client: WireClient, rpc: str, request: dict[str, Any], prefix: str, index: Any
    ) -> dict[str, Any]:
        client.timeout = CALL_TIMEOUT_S
        outcome = client.call(rpc, build_request(rpc, request, prefix))
        if rpc == "LoadCollection" and outcome.ok:
            self._wait_loaded(client, sp.expand_text(request["name"], prefix))
        return normalise_outcome(rpc, outcome, prefix)

    @staticmethod
    def _wait_loaded(client: WireClient, name: str) -> None:
        """Real Milvus loads asynchronously; the reference is loaded when LoadCollection returns."""
        loaded = common_pb2.LoadState.Value("LoadStateLoaded")
        deadline = time.monotonic() + LOAD_WAIT_S
        while time.monotonic() < deadline:
            state = client.call(
                "GetLoadState", milvus_pb2.GetLoadStateRequest(collection_name=name)
            )
            if state.ok and state.payload.state == loaded:
                return
            time.sleep(0.2)
        raise TimeoutError(f"collection {name} did not load within {LOAD_WAIT_S:.0f} s")

    def _cleanup(self, probe: sp.Probe, prefix: str) -> None:
        token = sp._b64(f"{self.root[0]}:{self.root[1]}".encode())
        with WireClient(self.address, metadata=[("authorization", token)]) as client:
            client.timeout = CALL_TIMEOUT_S
            listed = client.show_collections()
            for name in sorted(n for n in (listed.payload or []) if prefix in n):
                client.call(
                    "DropCollection", milvus_pb2.DropCollectionRequest(collection_name=name)
                )
