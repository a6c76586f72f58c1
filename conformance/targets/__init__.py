"""Target registry: `make_target(spec, options)` picks a launcher module by spec.

Adding a target = one module defining a `Target` subclass + one line in `_REGISTRY` below.
Each line maps a spec prefix to "module:factory"; the factory is called as
`factory(spec, options)` if it accepts two arguments, else `factory(options)`. Modules are
imported lazily so an unused launcher costs nothing. Exact specs match before prefixes.
"""

from __future__ import annotations

import importlib
import inspect

from conformance.targets.base import (
    HarnessError,
    NotSupported,
    Target,
    TargetError,
    TargetOptions,
)

__all__ = [
    "HarnessError",
    "NotSupported",
    "Target",
    "TargetError",
    "TargetOptions",
    "known_specs",
    "make_target",
]

# spec (exact) or prefix ending in ":" / "://"  ->  "module:factory"
_REGISTRY: dict[str, str] = {
    "reference": "conformance.targets.reference:ReferenceTarget",
    "grpc://": "conformance.targets.grpc_address:GrpcAddressTarget",
    "milvus-lite": "conformance.targets.milvus_lite:MilvusLiteTarget",
    "milvus-embedded": "conformance.targets.milvus_embedded:MilvusEmbeddedTarget",
    "docker:": "conformance.targets.docker_target:DockerTarget",
}


def known_specs() -> list[str]:
    return [
        key + ("IMAGE" if key.endswith(":") else "HOST:PORT" if key.endswith("//") else "")
        for key in _REGISTRY
    ]


def make_target(spec: str, options: TargetOptions) -> Target:
    """Build (but do not start) the target named by `spec`."""
    entry = _REGISTRY.get(spec) or next(
        (
            value
            for key, value in _REGISTRY.items()
            if key.endswith(":") or key.endswith("//")
            if spec.startswith(key)
        ),
        None,
    )
    if entry is None:
        raise TargetError(f"unknown target {spec!r}; known: {', '.join(known_specs())}")
    module_name, factory_name = entry.split(":")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"target {spec!r} is not available: {exc}") from exc
    params = inspect.signature(factory).parameters
    takes_spec = len([p for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD]) >= 2
    return factory(spec, options) if takes_spec else factory(options)
