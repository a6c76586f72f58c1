"""Readiness for credential writes on real Milvus, after a start or a restart.

Why a read is not enough: Milvus 2.3.5 does not revoke its proxy session in etcd when it stops,
so after a restart rootcoord keeps pushing credential-cache updates to the dead proxy (same
address, old node id) until that session's lease expires (`common.session.ttl`, 30 s). Until
then CreateCredential and UpdateCredential block for up to ~30 s while ListCredUsers already
answers. A suite started in that window sees DEADLINE_EXCEEDED on
unrelated clauses, which is a harness artefact, not a deviation.

The probe creates a throw-away user and deletes it again: CreateCredential pushes the new
hash to every proxy synchronously, so its success means writes work. (DeleteCredential alone
is no probe: it returns at once after a restart, its cache invalidation being asynchronous,
compare observed §12.)
"""

from __future__ import annotations

import base64
import time

import grpc

PROBE_USER = "cfReadyProbe"
PROBE_PASSWORD = "Probe_pw_1"  # 6..72 bytes: valid in every Milvus version


def credential_writes_settle(address: str, token: str, deadline: float) -> str:
    """Wait (until `deadline`, a time.monotonic() value) for a credential write to succeed.

    Returns "" on success, else the last problem seen. Leaves no probe user behind.
    """
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    metadata = [("authorization", token)] if token else []
    password = base64.b64encode(PROBE_PASSWORD.encode()).decode("ascii")
    last = "no answer yet"
    with grpc.insecure_channel(address) as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                created = stub.CreateCredential(
                    milvus_pb2.CreateCredentialRequest(username=PROBE_USER, password=password),
                    metadata=metadata,
                    timeout=max(1.0, remaining),
                )
                # A create that timed out earlier may have landed: delete and try again.
                deleted = stub.DeleteCredential(
                    milvus_pb2.DeleteCredentialRequest(username=PROBE_USER),
                    metadata=metadata,
                    timeout=max(1.0, deadline - time.monotonic()),
                )
            except grpc.RpcError as exc:
                last = f"{exc.code().name}: {exc.details()}"
            else:
                if created.code == 0 and created.error_code == 0 and deleted.code == 0:
                    return ""
                last = f"status {created.code}: {created.reason}; delete: {deleted.reason}"
            time.sleep(0.2)
    return last
