"""Tables as columns: the form data takes from a model to a worker's batch to ``Results``.

A table is a dict of column name to values (a list or a 1-D numpy array), every column the same
length. Workers concatenate the tables of a batch's runs column by column, and the parent does
the same across batches, never building one dict per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

__all__ = ["Columns", "arrow_table", "as_array", "concat_columns", "unify"]

#: Ints up to this size (either sign) are held exactly by a float64.
EXACT_FLOAT: Final = 2**53
INT64: Final = (-(2**63), 2**63 - 1)
UINT64_MAX: Final = 2**64 - 1

#: One table: column name -> values, every column the same length.
Columns = dict[str, Any]


def concat_columns(parts: Sequence[Columns], *, consume: bool = False) -> dict[str, np.ndarray]:
    """Concatenate tables column by column; a column missing from a part is filled with None.

    Args:
        parts: Tables (column name -> sequence of values).
        consume: Remove each column from its part once it is copied, so that the data is never
            held twice (the parts are left empty).

    Returns:
        One table of numpy arrays (object arrays where values are not all of one numeric type).
    """
    names = list(dict.fromkeys(name for part in parts for name in part))
    lengths = [len(next(iter(part.values()), [])) for part in parts]
    result = {}
    for name in names:
        pieces = [part.pop(name, None) if consume else part.get(name) for part in parts]
        if all(isinstance(p, list | tuple) for p in pieces if p is not None):
            # small runs come as lists: join them, and make one array per column
            joined: list[Any] = []
            for piece, n in zip(pieces, lengths, strict=True):
                joined.extend([None] * n if piece is None else piece)
            result[name] = as_array(joined)
        else:
            arrays = [
                np.full(n, None, dtype=object) if piece is None else as_array(piece)
                for piece, n in zip(pieces, lengths, strict=True)
            ]
            result[name] = _concatenate(arrays)
        del pieces
    return result


def _concatenate(pieces: list[np.ndarray]) -> np.ndarray:
    if len(pieces) == 1:
        return pieces[0]
    dtypes = {p.dtype for p in pieces if len(p)}
    if len(dtypes) <= 1:
        return np.concatenate(pieces)
    kinds = {d.kind for d in dtypes}
    if kinds <= {"i", "u", "f"}:
        numeric = _numeric_type(pieces)
        if numeric is not None:
            return np.concatenate([p.astype(numeric) for p in pieces])
    joined = np.concatenate([p.astype(object) for p in pieces])
    return unify(joined.tolist() if "O" not in kinds else list(joined))


def _numeric_type(pieces: list[np.ndarray]) -> np.dtype[Any] | None:
    """The numeric type that holds every value of numeric pieces exactly (None if none does)."""
    ints = [p for p in pieces if p.dtype.kind in "iu" and len(p)]
    low = min((int(p.min()) for p in ints), default=0)
    high = max((int(p.max()) for p in ints), default=0)
    if any(p.dtype.kind == "f" for p in pieces):
        fits = low >= -EXACT_FLOAT and high <= EXACT_FLOAT
        return np.dtype(np.float64) if fits else None
    return _int_type(low, high)


def _int_type(low: int, high: int) -> np.dtype[Any] | None:
    if INT64[0] <= low and high <= INT64[1]:
        return np.dtype(np.int64)
    if low >= 0 and high <= UINT64_MAX:
        return np.dtype(np.uint64)
    return None


def value_kind(value: object) -> str:  # noqa: PLR0911 - one return per kind
    """The kind a value counts as when a column's values are unified (see :func:`unify`)."""
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "null" if np.isnan(value) else "float"  # NaN counts as missing, as in pandas
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes):
        return "bytes"
    return type(value).__qualname__


def unify(values: list[Any]) -> np.ndarray:
    """A column's values as one array, of the one type that holds every value exactly.

    The rule (the same for results in memory and read from a store):

    * ints: int64, or uint64 when some are past int64 and none is negative; beside floats:
      float64 when no int is past 2**53; beside missing values only: the ints themselves and
      None (an int stays an int);
    * floats (and missing values): float64; bools alone: bool;
    * anything else, or ints no 64-bit type or float holds exactly: an object array of the
      values themselves (None for missing values).
    """
    types = set(map(type, values))
    if types == {float}:
        return np.asarray(values, dtype=np.float64)
    if types == {int} and (exact := _ints(values)) is not None:
        return exact
    kinds = {value_kind(v) for v in values} if types != {int} else {"big int"}
    numeric = kinds - {"null"}
    if numeric and numeric <= {"int", "float"}:
        ints = [int(v) for v in values if value_kind(v) == "int"]
        low, high = min(ints, default=0), max(ints, default=0)
        if kinds == {"int"}:
            int_type = _int_type(low, high)
            if int_type is not None:
                return np.asarray(values, dtype=int_type)
        elif "float" in kinds and low >= -EXACT_FLOAT and high <= EXACT_FLOAT:
            return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    elif kinds == {"bool"}:
        return np.asarray(values, dtype=bool)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _ints(values: list[int]) -> np.ndarray | None:
    """Python ints as int64, else uint64 (some past int64, none negative), else None."""
    try:  # the common case, in one pass: every int fits int64
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        int_type = _int_type(min(values), max(values))
        return None if int_type is None else np.asarray(values, dtype=int_type)


def as_array(values: Any) -> np.ndarray:
    """Turn a column into a 1-D numpy array, by the rule of :func:`unify` for Python values."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values
    return unify(list(values))


def arrow_table(columns: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """Columns as a ``pyarrow.Table``, every value kept.

    A column of one type Arrow holds exactly is written as that type (the rule of
    :func:`unify`); any other column (values of several types, ints past 64 bits) is written
    as text in the store's safe encoding (:mod:`mesa_batch.store.encoding`), its field marked
    with :data:`ENCODED` and the kinds of values found, and read back as the values.

    Args:
        columns: Column name -> values (numpy arrays, lists or pandas Series).

    Returns:
        The table, and the names of the columns that were written as encoded text.

    Raises:
        ValueError, RecursionError: A value cannot be encoded (e.g. a list that holds itself).
    """
    import pyarrow as pa  # noqa: PLC0415 - only the Parquet paths need Arrow

    fields, arrays, as_text = [], [], []
    for name, values in columns.items():
        array, kinds = _arrow_column(values)
        metadata = None
        if kinds is not None:
            metadata = {ENCODED: b"json", KINDS: ",".join(kinds).encode()}
            as_text.append(name)
        fields.append(pa.field(name, array.type, metadata=metadata))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), as_text


#: The field metadata key (and value ``json``) of a column written in the safe encoding.
ENCODED: Final = b"mesa_batch.encoding"
#: The field metadata key listing the kinds of values an encoded column holds.
KINDS: Final = b"mesa_batch.kinds"


def _arrow_column(values: Any) -> tuple[Any, list[str] | None]:
    """One column as an Arrow array, and the kinds of its values when it had to be encoded."""
    import pyarrow as pa  # noqa: PLC0415

    if getattr(values, "dtype", None) is not None and values.dtype != object:
        return pa.array(values, from_pandas=True), None  # numeric, bool, datetime, extension
    array = as_array(values if isinstance(values, np.ndarray) else list(values))
    if array.dtype != object:
        return pa.array(array), None
    items = array.tolist()
    kinds = sorted({value_kind(v) for v in items} - {"null"})
    if len(kinds) <= 1 and kinds != ["int"]:
        try:
            return pa.array(items, from_pandas=True), None
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            pass
    return encoded_array(items), kinds or ["null"]


def encoded_array(values: Sequence[Any]) -> Any:
    """Values as an Arrow string array in the store's safe encoding (None stays null)."""
    import pyarrow as pa  # noqa: PLC0415

    from mesa_batch.store.encoding import dumps, encode  # noqa: PLC0415

    return pa.array([None if v is None else dumps(encode(v)[0]) for v in values], pa.string())
