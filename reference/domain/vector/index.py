"""Index specifications: accepted types and Milvus' parameter checks.

The reference always searches exactly; an index only records the metric and the parameters
a client asked for, so that DescribeIndex and later searches answer as Milvus would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reference.domain.vector import errors
from reference.domain.vector.schema import DataType, FieldSpec

METRICS = ("L2", "IP", "COSINE")
VECTOR_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "AUTOINDEX")
SCALAR_INDEX_TYPES = ("", "INVERTED", "STL_SORT", "Trie", "AUTOINDEX")
DEFAULT_METRIC = "COSINE"
_INT32_MAX = 2**31 - 1
# (parameter, minimum, maximum), checked when present; `required` lists mandatory keys.
_RANGES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "IVF_FLAT": (("nlist", 1, 65536),),
    "IVF_SQ8": (("nlist", 1, 65536),),
    "HNSW": (("M", 1, 2048), ("efConstruction", 1, _INT32_MAX)),  # 2.3.5 accepts M 1
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "IVF_FLAT": ("nlist",),
    "IVF_SQ8": ("nlist",),
    "HNSW": ("M", "efConstruction"),
}


@dataclass(frozen=True)
class IndexSpec:
    index_name: str
    field_name: str
    index_type: str
    metric_type: str
    params: dict[str, Any]
    index_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_name": self.index_name,
            "field_name": self.field_name,
            "index_type": self.index_type,
            "metric_type": self.metric_type,
            "params": self.params,
            "index_id": self.index_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSpec:
        return cls(**data)

    def same_definition(self, other: IndexSpec) -> bool:
        return (
            self.field_name == other.field_name
            and self.index_type == other.index_type
            and self.metric_type == other.metric_type
            and self.params == other.params
        )


def _invalid_index(detail: str) -> errors.StatusError:
    return errors.invalid_parameter(f"invalid index params: {detail}")


def _flatten(raw: dict[str, str]) -> dict[str, str]:
    """Merges the JSON `params` blob pymilvus sends with the flat key/value pairs."""
    flat = {k: v for k, v in raw.items() if k != "params"}
    if raw.get("params"):
        try:
            nested = json.loads(raw["params"])
        except json.JSONDecodeError:
            raise _invalid_index(f"params is not valid JSON: {raw['params']!r}") from None
        if not isinstance(nested, dict):
            raise _invalid_index("params must be a JSON object")
        flat.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in nested.items()})
    return flat


def _out_of_range(key: str, low: int, high: int) -> errors.StatusError:
    # 2.3.5 gives this one answer for a missing, non-integer or out-of-range parameter.
    return errors.unexpected(f"{key} out of range: [{low}, {high}]")


def _in_range(key: str, low: int, high: int, value: str | None) -> int:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise _out_of_range(key, low, high)
    return number


def build_index(field: FieldSpec, index_name: str, raw_params: dict[str, str]) -> IndexSpec:
    """Validates CreateIndex parameters for `field` as Milvus 2.3/2.4 does."""
    flat = _flatten(raw_params)
    index_type = flat.pop("index_type", "")
    metric = flat.pop("metric_type", "")
    if not field.is_vector:
        if index_type not in SCALAR_INDEX_TYPES:
            raise _invalid_index(f"index {index_type} is not supported on field {field.name}")
        return IndexSpec(index_name or field.name, field.name, index_type or "INVERTED", "", flat)
    if index_type == "":
        index_type = "AUTOINDEX"
    if index_type not in VECTOR_INDEX_TYPES:
        raise errors.unexpected(f"invalid index type: {index_type}")
    metric = (metric or DEFAULT_METRIC).upper()
    if metric not in METRICS:
        raise errors.unexpected(
            f"metric type not found or not supported, supported: [{' '.join(METRICS)}]"
        )
    params: dict[str, Any] = dict(flat)
    for key, low, high in _RANGES.get(index_type, ()):
        if key in flat or key in _REQUIRED.get(index_type, ()):
            params[key] = _in_range(key, low, high, flat.get(key))
    if field.dtype is not DataType.FLOAT_VECTOR:
        raise _invalid_index(f"index {index_type} needs a float vector field")
    return IndexSpec(index_name or field.name, field.name, index_type, metric, params)
