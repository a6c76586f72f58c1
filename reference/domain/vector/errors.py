"""Milvus-shaped errors of the vector core (merr codes of Milvus 2.3/2.4).

Codes follow Milvus' `merr` package: 100 collection not found, 101 not loaded, 200 partition
not found, 700 index not found, 1100 invalid parameter, 65535 generic. The legacy
`error_code` names are those of `common.ErrorCode`.
"""

from __future__ import annotations

from reference.domain.errors import StatusError


def collection_not_found(name: str) -> StatusError:
    return StatusError(100, "CollectionNotExists", f"collection not found[collection={name}]")


def collection_not_loaded(name: str) -> StatusError:
    return StatusError(101, "UnexpectedError", f"collection not loaded[collection={name}]")


def partition_not_found(name: str) -> StatusError:
    return StatusError(200, "UnexpectedError", f"partition not found[partition={name}]")


def index_not_found(collection: str) -> StatusError:
    return StatusError(700, "IndexNotExist", f"index not found[collection={collection}]")


def invalid_parameter(detail: str) -> StatusError:
    return StatusError(1100, "IllegalArgument", f"{detail}: invalid parameter")


def invalid_expression(expr: str, detail: str) -> StatusError:
    return invalid_parameter(
        f"failed to create query plan: cannot parse expression: {expr}, error: {detail}"
    )


def unexpected(detail: str) -> StatusError:
    return StatusError(65535, "UnexpectedError", detail)
