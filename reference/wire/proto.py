"""The Milvus protocol stubs shipped in `pymilvus.grpc_gen`, loaded without pymilvus's __init__.

Why: importing any `pymilvus.*` submodule first runs `pymilvus/__init__`, which pulls in pandas
and the whole client (~0.45 s), far above the server's 0.3 s start-up budget. `grpc_gen` itself
only needs protobuf and grpc. If pymilvus is not imported yet, we register the real `pymilvus`
package module *before* executing its `__init__` (a PEP 562 lazy package): the submodule imports
below then skip the heavy `__init__`, and the first attribute access on `pymilvus` (e.g.
`from pymilvus import MilvusClient` later in the same process) runs that `__init__` in place, so
the package stays fully usable and the stub modules stay the very same objects.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType


def _register_lazy_pymilvus() -> None:
    if "pymilvus" in sys.modules:
        return
    spec = importlib.util.find_spec("pymilvus")
    if spec is None or spec.loader is None:
        raise ImportError("pymilvus is required for the Milvus protocol stubs")
    package: ModuleType = importlib.util.module_from_spec(spec)
    lock = threading.RLock()

    def complete_package_init(name: str) -> object:
        with lock:
            if "__getattr__" in package.__dict__:
                del package.__dict__["__getattr__"]
                spec.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, name)

    package.__getattr__ = complete_package_init  # type: ignore[method-assign]
    sys.modules["pymilvus"] = package


_register_lazy_pymilvus()

from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc, schema_pb2  # noqa: E402

__all__ = ["common_pb2", "milvus_pb2", "milvus_pb2_grpc", "schema_pb2"]
