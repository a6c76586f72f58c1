"""VectorRpcs: the vector-core RPCs on the servicer, bound lazily.

The handlers (vector_handlers.py) pull in numpy, lark and the vector domain: about 0.2 s that
a server answering only credential RPCs, or a CI job waiting for its first authenticated call,
should not pay. Each method below imports them on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference.app import Application
    from reference.wire.vector_handlers import VectorHandlers

VECTOR_RPCS = (
    "CreateCollection",
    "DropCollection",
    "HasCollection",
    "DescribeCollection",
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
    "GetFlushState",
    "AllocTimestamp",
    "CreateIndex",
    "DescribeIndex",
    "DropIndex",
    "LoadCollection",
    "ReleaseCollection",
    "GetLoadState",
    "GetLoadingProgress",
    "Search",
    "Query",
)
_build_lock = threading.Lock()


def _delegate(name: str) -> Callable[..., Any]:
    def handler(self: VectorRpcs, request: Any, context: Any) -> Any:
        return getattr(self.vector_handlers(), name)(request, context)

    handler.__name__ = handler.__qualname__ = name
    return handler


class VectorRpcs:
    app: Application
    _vector_handlers: VectorHandlers | None = None

    def vector_handlers(self) -> VectorHandlers:
        handlers = self._vector_handlers
        if handlers is None:
            with _build_lock:
                if self._vector_handlers is None:
                    from reference.wire.vector_handlers import VectorHandlers

                    self._vector_handlers = VectorHandlers(self.app)
                handlers = self._vector_handlers
        return handlers


for _name in VECTOR_RPCS:
    setattr(VectorRpcs, _name, _delegate(_name))
