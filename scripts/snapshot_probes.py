"""Snapshot probes: load `fixtures/snapshots/probes.yaml`, run it against a server, normalise.

One implementation shared by `scripts/record-snapshots` (records real Milvus 2.3.5) and
`tests/test_snapshot_parity.py` (replays against the reference in profile milvus-2.3), so the two
sides can only differ in what the servers answer.

Determinism: every probe gets its own user-name prefix of fixed length (`{u}` in the probe file),
made of a per-run tag and the probe's index. Results are normalised back to `{u}`, list payloads
keep only root and the probe's own names, and payloads that are version- or time-dependent
(GetVersion, Connect) are not recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pymilvus.grpc_gen import common_pb2, milvus_pb2

from conformance.drivers.wire import Outcome, WireClient

REPO = Path(__file__).resolve().parent.parent
PROBE_FILE = REPO / "fixtures" / "snapshots" / "probes.yaml"
DEFAULT_SNAPSHOT = REPO / "fixtures" / "snapshots" / "milvus-2.3.5.json"
PLACEHOLDER = "{u}"
PREFIX_LEN = 8  # "p" + 4-char run tag + 3-digit probe index: fixed, so length probes are exact
RPCS = {
    "Connect",
    "GetVersion",
    "CheckHealth",
    "HealthCheck",
    "CreateCredential",
    "UpdateCredential",
    "DeleteCredential",
    "ListCredUsers",
    "SelectUser",
    "ManagementGet",
}
_STEP_KEYS = {"rpc", "auth", "metadata", "request", "repeat", "note", "sleep_ms"}


class ProbeFileError(ValueError):
    """probes.yaml is malformed (bad key, unknown RPC, duplicate id...)."""


@dataclass(frozen=True)
class Probe:
    id: str
    description: str
    steps: list[dict[str, Any]]
    parity_excluded: str | None = None  # reason, when the reference must NOT reproduce this
    cleanup_users: list[str] = field(default_factory=list)


def probe_file_digest(path: Path = PROBE_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_probes(path: Path = PROBE_FILE) -> list[Probe]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    probes: list[Probe] = []
    seen: set[str] = set()
    for entry in data["probes"]:
        pid = entry.get("id")
        if not pid or pid in seen:
            raise ProbeFileError(f"probe id missing or duplicated: {pid!r}")
        seen.add(pid)
        if not entry.get("description"):
            raise ProbeFileError(f"probe {pid}: description is required")
        steps = entry.get("steps") or []
        if not steps:
            raise ProbeFileError(f"probe {pid}: no steps")
        for step in steps:
            unknown = set(step) - _STEP_KEYS
            if unknown or step.get("rpc") not in RPCS:
                raise ProbeFileError(f"probe {pid}: bad step {step!r}")
        excluded = entry.get("parity_excluded")
        if excluded is not None and not str(excluded).strip():
            raise ProbeFileError(f"probe {pid}: parity_excluded needs a reason")
        probes.append(
            Probe(pid, entry["description"], steps, excluded, entry.get("cleanup_users", []))
        )
    return probes


# -- value expansion ------------------------------------------------------------------------------
def expand_text(value: Any, prefix: str, index: int | None = None) -> str:
    """A probe string: `{u}` -> the probe prefix, `{i}` -> the repeat index."""
    if not isinstance(value, str):
        raise ProbeFileError(f"expected a string, got {value!r}")
    text = value.replace(PLACEHOLDER, prefix)
    return text.replace("{i}", f"{index:02d}") if index is not None else text


def secret_bytes(spec: Any, prefix: str) -> bytes:
    """A password (or header) as bytes: "text", {repeat: X, count: N}, or {hex: "..."}."""
    if isinstance(spec, str):
        return expand_text(spec, prefix).encode("utf-8")
    if isinstance(spec, dict) and "repeat" in spec:
        return (str(spec["repeat"]) * int(spec["count"])).encode("utf-8")
    if isinstance(spec, dict) and "hex" in spec:
        return bytes.fromhex(spec["hex"])
    raise ProbeFileError(f"bad password/secret spec {spec!r}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def build_metadata(
    step: dict[str, Any], prefix: str, root: tuple[str, str]
) -> list[tuple[str, str]]:
    """`auth`: absent -> root; "none"; {user, password}; {token: "u:p" | {hex}}; {header: raw}."""
    auth = step.get("auth", "root")
    metadata: list[tuple[str, str]] = []
    if auth == "root":
        metadata.append(("authorization", _b64(f"{root[0]}:{root[1]}".encode())))
    elif auth == "none":
        pass
    elif isinstance(auth, dict) and "user" in auth:
        user = expand_text(auth["user"], prefix).encode("utf-8")
        metadata.append(
            ("authorization", _b64(user + b":" + secret_bytes(auth["password"], prefix)))
        )
    elif isinstance(auth, dict) and "token" in auth:
        metadata.append(("authorization", _b64(secret_bytes(auth["token"], prefix))))
    elif isinstance(auth, dict) and "header" in auth:
        metadata.append(("authorization", expand_text(auth["header"], prefix)))
    else:
        raise ProbeFileError(f"bad auth spec {auth!r}")
    for key, value in step.get("metadata", []):
        # Extra headers: a plain string, or {b64: text} for a base64-encoded value.
        if isinstance(value, dict):
            value = _b64(secret_bytes(value["b64"], prefix))
        metadata.append((str(key), expand_text(value, prefix)))
    return metadata


def _password_field(request: dict[str, Any], name: str, prefix: str) -> str:
    """Create/Update password fields travel base64-encoded; `<name>_b64` sends a raw string."""
    if f"{name}_b64" in request:
        return str(request[f"{name}_b64"])
    return _b64(secret_bytes(request[name], prefix))


def build_request(rpc: str, request: dict[str, Any], prefix: str, index: int | None) -> Any:
    def name(key: str) -> str:
        return expand_text(request[key], prefix, index)

    if rpc == "Connect":
        return milvus_pb2.ConnectRequest(client_info=common_pb2.ClientInfo(sdk_type="snapshot"))
    if rpc == "GetVersion":
        return milvus_pb2.GetVersionRequest()
    if rpc == "CheckHealth":
        return milvus_pb2.CheckHealthRequest()
    if rpc == "ListCredUsers":
        return milvus_pb2.ListCredUsersRequest()
    if rpc == "CreateCredential":
        return milvus_pb2.CreateCredentialRequest(
            username=name("username"), password=_password_field(request, "password", prefix)
        )
    if rpc == "UpdateCredential":
        return milvus_pb2.UpdateCredentialRequest(
            username=name("username"),
            oldPassword=_password_field(request, "old", prefix),
            newPassword=_password_field(request, "new", prefix),
        )
    if rpc == "DeleteCredential":
        return milvus_pb2.DeleteCredentialRequest(username=name("username"))
    if rpc == "SelectUser":
        if request.get("user") is None:
            return milvus_pb2.SelectUserRequest(include_role_info=False)
        return milvus_pb2.SelectUserRequest(user=milvus_pb2.UserEntity(name=name("user")))
    raise ProbeFileError(f"no request builder for {rpc}")


# -- normalisation --------------------------------------------------------------------------------
def normalise_text(text: str, prefix: str) -> str:
    return text.replace(prefix, PLACEHOLDER)


def status_fields(outcome: Outcome, reason: str) -> dict[str, Any]:
    """What every recorded step keeps: gRPC code, Milvus status code, error_code, reason."""
    return {
        "grpc_code": outcome.grpc_code,
        "status_code": outcome.status_code,
        "error_code": (
            common_pb2.ErrorCode.Name(outcome.error_code)
            if outcome.error_code is not None
            else None
        ),
        "reason": reason,
    }


def normalise_outcome(rpc: str, outcome: Outcome, prefix: str) -> dict[str, Any]:
    result = status_fields(outcome, normalise_text(outcome.reason, prefix))
    if outcome.kind == "ok" and rpc in ("ListCredUsers", "SelectUser"):
        names = outcome.payload or []
        # Only root and this probe's own users: other probes' leftovers must not leak in.
        result["users"] = [normalise_text(n, prefix) for n in names if n == "root" or prefix in n]
    if outcome.kind == "ok" and rpc == "CheckHealth":
        result["is_healthy"] = bool(getattr(outcome.payload, "isHealthy", False))
    if outcome.kind == "ok" and rpc == "HealthCheck":
        result["serving_status"] = int(outcome.payload)
    return result


def _management_get(base_url: str | None, path: str, prefix: str) -> dict[str, Any]:
    if not base_url:
        return {"skipped": "target has no management port"}
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=10) as resp:
            status, body = resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode("utf-8", "replace")
    result: dict[str, Any] = {"http_status": status}
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        result["body"] = normalise_text(body[:200], prefix)
        return result
    names = payload.get("usernames") if isinstance(payload, dict) else None
    if isinstance(names, list):
        result["users"] = [normalise_text(n, prefix) for n in names if n == "root" or prefix in n]
    return result


# -- running --------------------------------------------------------------------------------------
def new_run_tag() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(4))


def probe_prefix(run_tag: str, index: int) -> str:
    prefix = f"p{run_tag}{index:03d}"
    if len(prefix) != PREFIX_LEN:
        raise ProbeFileError(f"prefix {prefix!r} must be {PREFIX_LEN} characters")
    return prefix


class ProbeRunner:
    """Runs probes against one server address; `root` authenticates setup and cleanup."""

    def __init__(
        self,
        address: str,
        *,
        root: tuple[str, str] = ("root", "Milvus"),
        management_url: str | None = None,
        run_tag: str | None = None,
    ) -> None:
        self.address = address
        self.root = root
        self.management_url = management_url
        self.run_tag = run_tag or new_run_tag()

    def run(self, probe: Probe, index: int) -> dict[str, Any]:
        prefix = probe_prefix(self.run_tag, index)
        steps = []
        try:
            for step in probe.steps:
                steps.append({"request": step, "result": self._run_step(step, prefix)})
        finally:
            self._cleanup(probe, prefix)
        return {"id": probe.id, "steps": steps}

    def run_all(self, probes: list[Probe]) -> Iterator[dict[str, Any]]:
        for index, probe in enumerate(probes):
            yield self.run(probe, index)

    def _run_step(self, step: dict[str, Any], prefix: str) -> Any:
        if step.get("sleep_ms"):
            time.sleep(int(step["sleep_ms"]) / 1000)
        rpc = step["rpc"]
        if rpc == "ManagementGet":
            return _management_get(self.management_url, step["request"]["path"], prefix)
        metadata = build_metadata(step, prefix, self.root)
        repeat = step.get("repeat")
        with WireClient(self.address, metadata=metadata) as client:
            if repeat is None:
                return self._call(client, rpc, step.get("request") or {}, prefix, None)
            # Aggregate repeated calls: each distinct result with how often it happened.
            counts: Counter[str] = Counter()
            for i in range(int(repeat)):
                result = self._call(client, rpc, step.get("request") or {}, prefix, i)
                counts[json.dumps(result, sort_keys=True, ensure_ascii=False)] += 1
            return {
                "repeat": int(repeat),
                "distinct": [
                    {"count": n, "result": json.loads(r)} for r, n in sorted(counts.items())
                ],
            }

    @staticmethod
    def _call(
        client: WireClient, rpc: str, request: dict[str, Any], prefix: str, index: int | None
    ) -> dict[str, Any]:
        if rpc == "HealthCheck":
            outcome = client.health_check()
        else:
            outcome = client.call(rpc, build_request(rpc, request, prefix, index))
        return normalise_outcome(rpc, outcome, prefix)

    def _cleanup(self, probe: Probe, prefix: str) -> None:
        """Delete every user this probe may have created (found by prefix in the list)."""
        token = _b64(f"{self.root[0]}:{self.root[1]}".encode())
        with WireClient(self.address, metadata=[("authorization", token)]) as client:
            listed = client.list_cred_users()
            names = set(listed.payload or []) if listed.ok else set()
            names |= {expand_text(n, prefix) for n in probe.cleanup_users}
            for name in sorted(n for n in names if prefix in n):
                client.delete_credential(name)


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable differences between a recorded probe and a replayed one."""
    diffs = []
    for n, (want, got) in enumerate(zip(expected["steps"], actual["steps"], strict=False)):
        if want["result"] != got["result"]:
            rpc = want["request"]["rpc"]
            diffs.append(
                f"{expected['id']} step {n} {rpc}: expected {json.dumps(want['result'])} "
                f"got {json.dumps(got['result'])}"
            )
    if len(expected["steps"]) != len(actual["steps"]):
        diffs.append(
            f"{expected['id']}: step count {len(expected['steps'])} vs {len(actual['steps'])}"
        )
    return diffs


@contextmanager
def reference_server(home: Path, profile: str) -> Iterator[str]:
    """A `python -m reference serve` in `home` for replaying probes; yields HOST:PORT."""
    ready = home / "ready"
    argv = [sys.executable, "-m", "reference", "serve", "--port", "0", "--ready-file", str(ready)]
    argv += ["--data-dir", str(home / "data"), "--profile", profile]
    log_path = home / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("reference did not start:\n" + log_path.read_text())
            time.sleep(0.05)
        text = ready.read_text().splitlines()[0].strip()
        yield text if ":" in text else f"127.0.0.1:{text}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
