"""Collection schemas: field types, validation as Milvus does it at CreateCollection."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from typing import Any

from reference.domain.vector import errors

MIN_DIM = 1  # 2.3.5 accepts dim 1 ("should be in range 1 ~ 32768")
MAX_DIM = 32768
MAX_VARCHAR_LENGTH = 65535
MAX_FIELDS = 64
MAX_NAME_LENGTH = 255
DYNAMIC_FIELD_NAME = "$meta"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataType(enum.IntEnum):
    """Milvus field types; the values are those of `schema.DataType`."""

    BOOL = 1
    INT8 = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    FLOAT = 10
    DOUBLE = 11
    VARCHAR = 21
    JSON = 23
    FLOAT_VECTOR = 101


INTEGER_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64})
NUMERIC_TYPES = INTEGER_TYPES | {DataType.FLOAT, DataType.DOUBLE}
_INT_RANGES = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
}


def int_range(dtype: DataType) -> tuple[int, int]:
    return _INT_RANGES[dtype]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    dtype: DataType
    field_id: int = 0
    description: str = ""
    is_primary: bool = False
    auto_id: bool = False
    is_dynamic: bool = False
    dim: int | None = None
    max_length: int | None = None
    # type_params we do not interpret but echo back through DescribeCollection
    extra_params: tuple[tuple[str, str], ...] = ()

    @property
    def is_vector(self) -> bool:
        return self.dtype is DataType.FLOAT_VECTOR

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": int(self.dtype),
            "field_id": self.field_id,
            "description": self.description,
            "is_primary": self.is_primary,
            "auto_id": self.auto_id,
            "is_dynamic": self.is_dynamic,
            "dim": self.dim,
            "max_length": self.max_length,
            "extra_params": [list(p) for p in self.extra_params],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldSpec:
        return cls(
            name=data["name"],
            dtype=DataType(data["dtype"]),
            field_id=data["field_id"],
            description=data["description"],
            is_primary=data["is_primary"],
            auto_id=data["auto_id"],
            is_dynamic=data["is_dynamic"],
            dim=data["dim"],
            max_length=data["max_length"],
            extra_params=tuple((k, v) for k, v in data["extra_params"]),
        )


@dataclass(frozen=True)
class CollectionSchema:
    name: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    enable_dynamic_field: bool = False
    auto_id: bool = False
    field_index: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.field_index.update({f.name: f for f in self.fields})

    @property
    def primary(self) -> FieldSpec:
        return next(f for f in self.fields if f.is_primary)

    @property
    def vector_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.is_vector]

    @property
    def user_fields(self) -> list[FieldSpec]:
        """Fields a client sees in DescribeCollection (Milvus hides the dynamic `$meta`)."""
        return [f for f in self.fields if not f.is_dynamic]

    def get(self, name: str) -> FieldSpec | None:
        return self.field_index.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "enable_dynamic_field": self.enable_dynamic_field,
            "auto_id": self.auto_id,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionSchema:
        return cls(
            name=data["name"],
            description=data["description"],
            enable_dynamic_field=data["enable_dynamic_field"],
            auto_id=data["auto_id"],
            fields=tuple(FieldSpec.from_dict(f) for f in data["fields"]),
        )


def validate_name(kind: str, name: str) -> None:
    """Milvus' rule for collection, partition and index names (fields: validate_field_name)."""
    if not name:
        raise errors.invalid_parameter(f"the length of a {kind} name must be greater than 0")
    if len(name) > MAX_NAME_LENGTH:
        raise errors.invalid_parameter(
            f"Invalid {kind} name: {name}. the length of a {kind} name must be less than "
            f"{MAX_NAME_LENGTH} characters"
        )
    if not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        raise errors.invalid_parameter(
            f"Invalid {kind} name: {name}. the first character of a {kind} name must be an "
            "underscore or letter"
        )
    if not _NAME_RE.match(name):
        raise errors.invalid_parameter(
            f"Invalid {kind} name: {name}. {kind} name can only contain numbers, letters and "
            "underscores"
        )


def validate_field_name(name: str) -> None:
    """The same rule for field names, worded as 2.3.5 words it (merr code 1701).

    The last text really says "cannot only contain": 2.3.5's own wording, kept for parity.
    """
    if not name:
        raise errors.field_name_invalid(name, "field name should not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise errors.field_name_invalid(
            name,
            f"Invalid field name: {name}. The length of a field name must be less than "
            f"{MAX_NAME_LENGTH} characters.",
        )
    if not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        raise errors.field_name_invalid(
            name,
            f"Invalid field name: {name}. The first character of a field name must be an "
            "underscore or letter.",
        )
    if not _NAME_RE.match(name):
        raise errors.field_name_invalid(
            name,
            f"Invalid field name: {name}. Field name cannot only contain numbers, letters, "
            "and underscores.",
        )


def _parse_positive_int(field_name: str, key: str, raw: str) -> int:
    # 2.3.5 answers 65535 with Go's strconv text here; the reference keeps the code, not the
    # runtime's wording (vector-probes.yaml cc-dim-not-a-number).
    try:
        return int(raw)
    except ValueError:
        raise errors.unexpected(
            f"the value of {key} of field {field_name} must be an integer, got {raw!r}"
        ) from None


def build_field(
    *,
    name: str,
    dtype: int,
    type_params: dict[str, str],
    description: str = "",
    is_primary: bool = False,
    auto_id: bool = False,
    is_dynamic: bool = False,
    collection: str = "",
) -> FieldSpec:
    """Builds one field from wire values, applying Milvus' per-type checks.

    `collection` only appears in the missing-max_length message, as in 2.3.5.
    """
    validate_field_name(name)
    try:
        data_type = DataType(dtype)
    except ValueError:
        raise errors.invalid_parameter(
            f"field data type {dtype} of field {name} is not supported by the reference server"
        ) from None
    dim = max_length = None
    extra = {k: v for k, v in type_params.items() if k not in ("dim", "max_length")}
    if data_type is DataType.FLOAT_VECTOR:
        if "dim" not in type_params:
            raise errors.unexpected(
                "dimension is not defined in field type params, check type param `dim` for "
                "vector field"
            )
        dim = _parse_positive_int(name, "dim", type_params["dim"])
        if not MIN_DIM <= dim <= MAX_DIM:
            raise errors.unexpected(
                f"invalid dimension: {dim}. should be in range {MIN_DIM} ~ {MAX_DIM}"
            )
    if data_type is DataType.VARCHAR:
        if "max_length" not in type_params:
            raise errors.unexpected(
                "type param(max_length) should be specified for varChar field of collection "
                f"{collection}"
            )
        max_length = _parse_positive_int(name, "max_length", type_params["max_length"])
        if not 0 < max_length <= MAX_VARCHAR_LENGTH:
            raise errors.invalid_parameter(
                f"the maximum length specified for a VarChar should be in (0, {MAX_VARCHAR_LENGTH}]"
            )
    return FieldSpec(
        name=name,
        dtype=data_type,
        description=description,
        is_primary=is_primary,
        auto_id=auto_id,
        is_dynamic=is_dynamic,
        dim=dim,
        max_length=max_length,
        extra_params=tuple(sorted(extra.items())),
    )


def build_schema(
    collection_name: str,
    schema_name: str,
    fields: list[FieldSpec],
    *,
    description: str = "",
    enable_dynamic_field: bool = False,
) -> CollectionSchema:
    """Checks the whole schema as Milvus' CreateCollection task does and assigns field ids."""
    validate_name("collection", collection_name)
    if schema_name and schema_name != collection_name:
        raise errors.invalid_parameter_got(
            f"collection name = {collection_name}, schema.Name={schema_name}",
            "collection name matches schema name",
            "don't match",
        )
    user_fields = [f for f in fields if not f.is_dynamic]
    if len(user_fields) > MAX_FIELDS:
        raise errors.invalid_parameter(f"maximum field's number should be limited to {MAX_FIELDS}")
    seen: set[str] = set()
    for f in user_fields:
        if f.name in seen:
            raise errors.unexpected("duplicated field name")
        seen.add(f.name)
    primaries = [f for f in user_fields if f.is_primary]
    if not primaries:
        raise errors.unexpected("primary key is not specified")
    if len(primaries) > 1:
        names = ", ".join(f.name for f in primaries)
        raise errors.unexpected(f"there are more than one primary key, field name = {names}")
    primary = primaries[0]
    if primary.dtype not in (DataType.INT64, DataType.VARCHAR):
        raise errors.unexpected("the data type of primary key should be Int64 or VarChar")
    for f in user_fields:
        if f.auto_id and not f.is_primary:
            # "speficy" is 2.3.5's own spelling, kept for parity
            raise errors.unexpected(
                f"only primary field can speficy AutoID with true, field name = {f.name}"
            )
    # 2.3.5 accepts a schema without a vector field (probe cc-no-vector-field, excluded); such
    # a collection can never be indexed or loaded, so the reference keeps rejecting it.
    if not any(f.is_vector for f in user_fields):
        raise errors.invalid_parameter("schema does not contain vector field")
    numbered = [replace(f, field_id=100 + i) for i, f in enumerate(user_fields)]
    if enable_dynamic_field:
        numbered.append(
            FieldSpec(
                name=DYNAMIC_FIELD_NAME,
                dtype=DataType.JSON,
                field_id=100 + len(numbered),
                description="dynamic schema",
                is_dynamic=True,
            )
        )
    return CollectionSchema(
        name=collection_name,
        fields=tuple(numbered),
        description=description,
        enable_dynamic_field=enable_dynamic_field,
        auto_id=primary.auto_id,
    )
