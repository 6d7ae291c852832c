"""Tables as columns: the form data takes from a model to a worker's batch to ``Results``.

A table is a dict of column name to values (a list or a 1-D numpy array), every column the same
length. Workers concatenate the tables of a batch's runs column by column, and the parent does
the same across batches, never building one dict per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Columns", "arrow_table", "as_array", "concat_columns"]

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
    kinds = {p.dtype.kind for p in pieces if len(p)}
    if len(kinds) > 1 and not kinds <= {"i", "u", "f"}:
        pieces = [p.astype(object) for p in pieces]
    return np.concatenate(pieces)


def as_array(values: Any) -> np.ndarray:
    """Turn a column into a 1-D numpy array, keeping nested values (lists, dicts) as objects."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values
    values = list(values)
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        array = None
    if array is None or array.ndim != 1 or array.dtype.kind in "US":
        array = np.empty(len(values), dtype=object)
        array[:] = values
    return array


def arrow_table(columns: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """Columns as a ``pyarrow.Table``; values Arrow cannot type become their ``repr`` strings.

    Args:
        columns: Column name -> values (numpy arrays, lists or pandas Series).

    Returns:
        The table, and the names of the columns that were written as text.
    """
    import pyarrow as pa  # noqa: PLC0415 - only the Parquet paths need Arrow

    arrays, as_text = {}, []
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays[name] = pa.array([repr(v) for v in values], type=pa.string())
            as_text.append(name)
    return pa.table(arrays), as_text
