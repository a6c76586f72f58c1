"""The Milvus gRPC service: credential and vector mixins over the generated base class.

Methods neither mixin defines fall through to MilvusServiceServicer, which answers
UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference.wire.credential_rpcs import CredentialRpcs
from reference.wire.proto import milvus_pb2_grpc
from reference.wire.vector_rpcs import VectorRpcs

if TYPE_CHECKING:
    from reference.app import Application


class ReferenceServicer(CredentialRpcs, VectorRpcs, milvus_pb2_grpc.MilvusServiceServicer):
    def __init__(self, app: Application) -> None:
        self.app = app
