"""One type per column across a table's parts, so that reading a store never fails on types.

Each batch writes its data parts with the types its own values have, so the parts of one table
can disagree (a reporter that returns an int in one run and a str in another). Reading unifies
them by the rule of :func:`mesa_batch.columns.unify`, the rule results in memory follow:

* types that agree (or a column that is all null in some parts) are read as they are;
* int64 beside float64 is read as float64 when no int is past 2**53; int64 beside uint64 as
  uint64 when no int is negative, or as int64 when no uint is past int64;
* lists and structs of compatible types are promoted by Arrow;
* anything else is read through the store's safe encoding (each part's values encoded as
  text, then decoded to the values themselves), with a :class:`ColumnTypesWarning` naming the
  table, the column and the types found.

A column a part wrote in the safe encoding (its values were of several kinds already) is read
the same way, with the same warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.columns import ENCODED, EXACT_FLOAT, INT64, KINDS, encoded_array, unify
from mesa_batch.store.encoding import decode, loads

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JSON", "ColumnTypesWarning", "conform", "decode_frame", "target_types"]

#: The target of a column read through the safe encoding.
JSON: Final = "json"


class ColumnTypesWarning(UserWarning):
    """A stored column holds values of several types; it is read as Python objects."""


def _is_encoded(field: Any) -> bool:
    return bool(field.metadata) and field.metadata.get(ENCODED) == b"json"


def _describe(field: Any) -> str:
    if _is_encoded(field):
        kinds = field.metadata.get(KINDS, b"").decode(errors="replace")
        return f"mixed ({kinds.replace(',', ', ')})" if kinds else "mixed"
    return str(field.type)


def target_types(table: str, schemas: Mapping[Any, Any], read_column: Any) -> dict[str, Any]:
    """The type each column of a table is read as (an Arrow type, or :data:`JSON`).

    Args:
        table: The table's name (for the warning).
        schemas: Each part's Arrow schema, by part.
        read_column: ``read_column(part, name)`` -> that column of the part (an Arrow array),
            called only where the values decide (int beside float or uint).

    Returns:
        Column name -> its type; a column missing here is read as it is.
    """
    import pyarrow as pa  # noqa: PLC0415

    fields: dict[str, dict[Any, Any]] = {}
    for part, schema in schemas.items():
        for field in schema:
            fields.setdefault(field.name, {})[part] = field
    targets: dict[str, Any] = {}
    for name, by_part in fields.items():
        typed = {p: f for p, f in by_part.items() if not pa.types.is_null(f.type)}
        found = {str(f.type) for f in typed.values() if not _is_encoded(f)}
        encoded = any(_is_encoded(f) for f in typed.values())
        if not encoded and len(found) <= 1:
            continue
        target = None if encoded else _common(typed, lambda p, n=name: read_column(p, n))
        if target is None:
            kinds = sorted({_describe(f) for f in typed.values()})
            warnings.warn(
                f"table {table!r}, column {name!r} holds values of several types "
                f"({', '.join(kinds)}): it is read as Python objects, every value kept",
                ColumnTypesWarning,
                stacklevel=4,
            )
            target = JSON
        targets[name] = target
    return targets


def _common(fields: Mapping[Any, Any], read: Any) -> Any:
    """The type that holds every value of a column typed differently by its parts, or None."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    types = {f.type for f in fields.values()}
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        low = high = 0
        for part, field in fields.items():
            if pa.types.is_integer(field.type):
                bounds = pc.min_max(read(part)).as_py()
                low = min(low, bounds["min"] if bounds["min"] is not None else 0)
                high = max(high, bounds["max"] if bounds["max"] is not None else 0)
        if any(pa.types.is_floating(t) for t in types):
            return pa.float64() if low >= -EXACT_FLOAT and high <= EXACT_FLOAT else None
        if INT64[0] <= low and high <= INT64[1]:
            return pa.int64()
        return pa.uint64() if low >= 0 else None
    nested = (pa.types.is_list, pa.types.is_large_list, pa.types.is_struct)
    if all(any(test(t) for test in nested) for t in types):
        try:
            schema = pa.unify_schemas(
                [pa.schema([pa.field("c", t)]) for t in types], promote_options="permissive"
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        return schema.field("c").type
    return None


def conform(piece: Any, targets: Mapping[str, Any]) -> Any:
    """A part's Arrow table with each column in its table's type (encoded where :data:`JSON`)."""
    import pyarrow as pa  # noqa: PLC0415

    for name, target in targets.items():
        if name not in piece.column_names:
            continue
        index = piece.column_names.index(name)
        field = piece.schema.field(index)
        column = piece.column(index)
        if target == JSON:
            if _is_encoded(field):
                continue
            array = encoded_array(column.to_pylist())
            field = pa.field(name, pa.string(), metadata={ENCODED: b"json"})
        else:
            array = column.cast(target)
            field = pa.field(name, target)
        piece = piece.set_column(index, field, array)
    return piece


def decode_frame(frame: pd.DataFrame, table: Any) -> pd.DataFrame:
    """A DataFrame of a read table with every value as results in memory hold it.

    Encoded columns are decoded to their values; an int column with nulls whose ints are past
    2**53 is kept as Python ints beside None (not as rounded floats).
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    for field in table.schema:
        column = table.column(field.name)
        if _is_encoded(field):
            values = [None if v is None else decode(loads(v)) for v in column.to_pylist()]
            frame[field.name] = unify(values)
        elif pa.types.is_integer(field.type) and column.null_count:
            bounds = pc.min_max(column).as_py()
            if max(abs(bounds["min"] or 0), abs(bounds["max"] or 0)) > EXACT_FLOAT:
                frame[field.name] = _objects(column.to_pylist())
    return frame


def _objects(values: Iterable[Any]) -> np.ndarray:
    items = list(values)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
