"""Milvus-shaped errors of the vector core, as real Milvus 2.3.5 answers them.

Codes follow Milvus' `merr` package: 100 collection not found, 101 not loaded, 200 partition
not found, 700 index not found, 1100 invalid parameter, 1701 field name invalid, 65535 generic.
The legacy `error_code` names are those of `common.ErrorCode`. The texts are checked one by one
against a recording of 2.3.5 (fixtures/snapshots/milvus-2.3.5-vector.json); the doc says nothing
about vector errors, so every profile uses them.
"""

from __future__ import annotations

from reference.domain.errors import StatusError


def collection_not_found(name: str) -> StatusError:
    return StatusError(
        100, "CollectionNotExists", f"collection not found[database=default][collection={name}]"
    )


def collection_not_loaded(ref: str | int) -> StatusError:
    """2.3.5 names the collection by id on the read paths, by name in ShowCollections."""
    return StatusError(101, "UnexpectedError", f"collection not loaded[collection={ref}]")


def partition_not_found(name: str) -> StatusError:
    return StatusError(200, "MetaFailed", f"partition not found[partition={name}]")


def index_not_found(collection: str) -> StatusError:
    return StatusError(700, "IndexNotExist", f"index not found[collection={collection}]")


def field_name_invalid(name: str, detail: str) -> StatusError:
    return StatusError(1701, "UnexpectedError", f"{detail}: field name invalid[field={name}]")


def invalid_parameter(detail: str) -> StatusError:
    return StatusError(1100, "IllegalArgument", f"{detail}: invalid parameter")


def invalid_parameter_got(detail: str, expected: object, actual: object) -> StatusError:
    """merr's WrapErrParameterInvalid form: the detail, then what was expected and what came."""
    return StatusError(
        1100,
        "IllegalArgument",
        f"{detail}: invalid parameter[expected={expected}][actual={actual}]",
    )


class ExpressionError(StatusError):
    """A filter the parser or the type checker rejects; each RPC words it its own way."""

    def __init__(self, expression: str, detail: str) -> None:
        super().__init__(
            65535, "UnexpectedError", f"cannot parse expression: {expression}, error: {detail}"
        )
        self.expression = expression


def invalid_expression(expr: str, detail: str) -> ExpressionError:
    return ExpressionError(expr, detail)


def with_prefix(error: StatusError, prefix: str) -> StatusError:
    """The same error with the context 2.3.5 puts in front (e.g. "failed to search: ")."""
    return StatusError(error.code, error.error_code, prefix + error.reason)


def unexpected(detail: str) -> StatusError:
    return StatusError(65535, "UnexpectedError", detail)
