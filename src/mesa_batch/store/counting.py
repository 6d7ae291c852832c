"""Counting a store's runs without building its run state (``mesa-batch status`` of millions).

:func:`count_runs` gives the counts :func:`~mesa_batch.store.reader.read_state` and the plan
give (the authoritative outcome of each run, against the runs the plan lists), reading only
the runs parts' ``run_id``, ``key``, ``status`` and ``batch`` one part at a time, and the plan's
``run_id`` and ``key``, in numpy: no pandas, no Python object per run.

It is the reading of a store whose plan and runs parts agree, which every store a session
wrote does: each outcome's key is the plan's key at its run id, and the plan's keys and ids
are unique. A run is then the same run by id as by key, so outcomes are deduplicated by id.
When anything else is found (an outcome the plan does not list, or lists under another key, a
key planned twice, a version-1 part, keys that are not 32-character text), it gives up and
returns None: the caller then reads the store the whole way, which repairs what it can
(:func:`~mesa_batch.store.reader.reconcile`), so both always give the same counts.

:func:`resolve_runs` is that reading itself: each planned run's outcome and the batch it is
read from, the data parts each batch contributes, and (when asked) other plan columns read on
the way. ``aggregate`` and ``final`` of a store path read the store with it
(:mod:`mesa_batch.analysis._lean`).
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from mesa_batch.outcomes import Status
from mesa_batch.store.reader import (
    COUNTED,
    _data_parts,
    _Found,
    _parts,
    _sessions,
    read_log,
    runs_part_tables,
    session_of,
)
from mesa_batch.store.records import plan_version_2

__all__ = ["Resolved", "count_runs", "resolve_runs"]

#: The length of a run key (a 16-byte digest in hex): keys are compared as fixed-width bytes.
KEY_WIDTH: Final = 32


def count_runs(
    root: pathlib.Path, meta: Mapping[str, Any], *, session: str | None = None
) -> tuple[int, dict[str, int]] | None:
    """A store's number of runs and its counts (as ``Results.counts``), or None.

    Args:
        root: The store directory.
        meta: Its ``store.json``, read and its format checked.
        session: A session id: the counts then also hold, as ``session``, how many runs have
            an outcome written by that session's batches.

    Returns:
        The planned runs and ``{"succeeded", "failed", "pending"}`` (and ``"session"``), or
        None when the plan and the runs parts disagree (see the module's description).
    """
    resolved = resolve_runs(root, meta)
    if resolved is None:
        return None
    counts = {
        "succeeded": len(resolved.succeeded),
        "failed": len(resolved.failed),
        "pending": len(resolved.ids) - len(resolved.succeeded) - len(resolved.failed),
    }
    if session is not None:
        ours = np.array([session_of(name) == session for name in resolved.names], bool)
        found = ours[resolved.succeeded_from].sum() + ours[resolved.failed_from].sum()
        counts["session"] = int(found)
    return len(resolved.ids), counts


@dataclasses.dataclass(frozen=True, slots=True)
class Resolved:
    """Each planned run's outcome, decided as ``read_state`` decides it, in numpy.

    See :func:`resolve_runs`.

    Attributes:
        ids: Every planned run id, sorted.
        succeeded: The runs that succeeded in a committed batch, sorted.
        succeeded_from: The index into ``names`` of the batch each success is read from.
        failed: The runs whose latest record is a failure (and that never succeeded), sorted.
        failed_from: The index into ``names`` of the batch (or log entry) of each failure.
        names: The batch id of each index (runs parts in the order read, then logged failures).
        batches: Per data table, its committed, sound parts and the batch of each.
        recorded: How many succeeded rows each batch's runs part has.
        checks: The checks each batch recorded of its parts (empty for a batch without).
        plan: The plan columns asked for, one row per run of ``ids`` (an Arrow table).
    """

    ids: np.ndarray
    succeeded: np.ndarray
    succeeded_from: np.ndarray
    failed: np.ndarray
    failed_from: np.ndarray
    names: list[str]
    batches: dict[str, dict[pathlib.Path, str]]
    recorded: dict[str, int]
    checks: dict[str, dict[str, Any]]
    plan: Any = None

    def contributions(self) -> dict[str, np.ndarray]:
        """The runs each batch is the outcome of (the rows its data parts give), by batch id."""
        order = np.argsort(self.succeeded_from, kind="stable")
        ids, sources = self.succeeded[order], self.succeeded_from[order]
        starts = np.flatnonzero(np.r_[True, sources[1:] != sources[:-1]]) if len(ids) else ids
        ends = [*starts[1:].tolist(), len(ids)]
        return {
            self.names[int(sources[a])]: ids[a:b]
            for a, b in zip(starts.tolist(), ends, strict=True)
        }


def resolve_runs(
    root: pathlib.Path, meta: Mapping[str, Any], *, plan_columns: Sequence[str] = ()
) -> Resolved | None:
    """Each planned run's outcome, reading only the plan's and the runs parts' ids and keys.

    Args:
        root: The store directory.
        meta: Its ``store.json``, read and its format checked.
        plan_columns: Other plan columns to read on the way (:attr:`Resolved.plan`).

    Returns:
        The outcomes, or None when the plan and the runs parts disagree (see the module's
        description): the whole reading then decides.
    """
    import pyarrow as pa  # noqa: PLC0415

    plan = _plan(root, plan_columns)
    if plan is None:
        return None
    ids, keys, columns = plan
    found = _Found([], [], sessions=_sessions(meta))
    batch_parts: dict[str, list[str]] = {}
    read: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for batch, table in runs_part_tables(root, found, batch_parts, COUNTED):
        rows = _rows(table, ids, keys)
        if rows is None:
            return None
        read.append((batch, *rows))
        del table
        pa.default_memory_pool().release_unused()  # the part's pages, decoded and dropped
    batches, complete = _data_parts(root, batch_parts, found, verify=False)
    logged = _logged_failures(root, ids, keys)
    if logged is None:
        return None
    resolved = _resolve(ids, read, complete, logged, batches=batches, checks=found.checks)
    return dataclasses.replace(resolved, plan=columns)


def _plan_parts(
    root: pathlib.Path, columns: Sequence[str] = ("run_id", "key")
) -> list[tuple[pathlib.Path, int]] | None:
    """The plan parts and their row counts; None if one is not version 2 or lacks a column."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    parts = []
    for path in _parts(root / "plan"):
        try:
            metadata = pq.read_metadata(path)
            schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException):
            continue  # unreadable: the whole reading skips it too
        if not plan_version_2(schema):
            return None  # version 1: its rows are upgraded by the whole reading
        if not set(columns) <= set(schema.names):
            return None
        parts.append((path, metadata.num_rows))
    return parts


def _plan(
    root: pathlib.Path, extra: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray, Any] | None:
    """The plan's run ids (sorted) and keys (fixed-width bytes), if both are unique.

    Args:
        root: The store directory.
        extra: Other plan columns to read with them (text of :data:`DICTIONARY` as
            dictionaries).

    Returns:
        The ids, the keys, and the ``extra`` columns in the ids' order (an Arrow table, None
        without ``extra``); None where a part is version 1, lacks a column or changed.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    files = _plan_parts(root, ("run_id", "key", *extra))
    if files is None:
        return None
    # filled part by part: one copy of the keys (not the parts' and then their join)
    total = sum(rows for _, rows in files)
    ids = np.empty(total, np.int64)
    keys = np.empty(total, f"S{KEY_WIDTH}")
    others = []
    filled = 0
    dictionary = [c for c in DICTIONARY if c in extra] or None
    for path, rows in files:
        try:
            file = pq.ParquetFile(path, pre_buffer=False, read_dictionary=dictionary)
            table = file.read(columns=["run_id", "key", *extra])
        except (OSError, pa.ArrowException):
            continue
        if table.num_rows != rows or filled + rows > total:
            return None  # changed since its footer was read
        part_keys = _fixed_keys(table.column("key"))
        run_ids = _integers(table.column("run_id"))
        if part_keys is None or run_ids is None:
            return None
        ids[filled : filled + len(run_ids)] = run_ids
        keys[filled : filled + len(run_ids)] = part_keys
        filled += len(run_ids)
        if extra:
            others.append(table.select(list(extra)).replace_schema_metadata(None))
        del table, part_keys, run_ids
        pa.default_memory_pool().release_unused()
    joined = _joined(others) if extra else None
    if extra and (joined is None or joined.num_rows != filled):
        return None
    return _ordered(ids[:filled], keys[:filled], joined)


def _ordered(ids: np.ndarray, keys: np.ndarray, columns: Any) -> tuple[Any, ...] | None:
    """Plan rows sorted by run id; None if an id or a key is planned twice."""
    import pyarrow as pa  # noqa: PLC0415

    if len(ids) and not (ids[1:] > ids[:-1]).all():
        order = np.argsort(ids, kind="stable")
        ids, keys = ids[order], keys[order]
        if not (ids[1:] > ids[:-1]).all():
            return None  # an id planned twice
        if columns is not None:
            columns = columns.take(pa.array(order))
    if not _unique(keys):
        return None  # a key planned twice: the whole reading keeps its first planning
    return ids, keys, columns


#: Plan columns read as dictionaries when asked for: the same text on many runs.
DICTIONARY: Final = ("design", "parameters")


def _joined(tables: Sequence[Any]) -> Any:
    """Plan parts' columns as one table (dictionaries unified), or None if no type holds them."""
    import pyarrow as pa  # noqa: PLC0415

    if not tables:
        return None
    try:
        return pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
    except pa.ArrowException:
        return None


def _fixed_keys(column: Any) -> np.ndarray | None:
    """A text column's values as fixed-width bytes, or None unless all are KEY_WIDTH long."""
    import pyarrow as pa  # noqa: PLC0415

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if array.null_count:
        return None
    if n == 0:
        return np.empty(0, f"S{KEY_WIDTH}")
    if pa.types.is_string(array.type):
        width: type[np.signedinteger[Any]] = np.int32
    elif pa.types.is_large_string(array.type):
        width = np.int64
    else:
        return None
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset : array.offset + n + 1]
    if not (np.diff(offsets) == KEY_WIDTH).all():
        return None
    return np.frombuffer(data, dtype=f"S{KEY_WIDTH}", count=n, offset=int(offsets[0]))


def _integers(column: Any) -> np.ndarray | None:
    """An integer column without nulls as int64 (None for any other column)."""
    import pyarrow as pa  # noqa: PLC0415

    if not pa.types.is_integer(column.type) or column.null_count:
        return None
    values = _numpy(column)
    if values.dtype == np.uint64 and len(values) and values.max() > np.iinfo(np.int64).max:
        return None
    return values.astype(np.int64, copy=False)


def _unique(keys: np.ndarray) -> bool:
    """Whether fixed-width keys are all different (by a 64-bit fold; equal folds: not known)."""
    if len(keys) < 2:
        return True
    words = keys.view(np.uint64).reshape(len(keys), KEY_WIDTH // 8)
    folded = words[:, 0].copy()
    for column in range(1, words.shape[1]):
        folded *= np.uint64(0x9E3779B97F4A7C15)
        folded ^= words[:, column]
    folded.sort()
    return bool((folded[1:] != folded[:-1]).all())


def _rows(
    table: Any, ids: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A runs part's run ids, succeeded and failed flags; None unless the plan lists its runs."""
    import pyarrow.compute as pc  # noqa: PLC0415

    run_ids = _integers(table.column("run_id"))
    found = _fixed_keys(table.column("key"))
    if found is None or run_ids is None:
        return None
    if not _planned(run_ids, found, ids, keys):
        return None
    # by their dictionary: comparing with a Python str would import pandas (Arrow's conversion)
    status = pc.dictionary_encode(table.column("status")).combine_chunks()
    names = status.dictionary.to_pylist()
    codes = _numpy(status.indices) if len(status) else np.empty(0, np.int32)
    if status.null_count:
        codes = np.where(_numpy(status.is_valid().cast("int8")).view(bool), codes, -1)

    def code(value: str) -> int:
        return names.index(value) if value in names else -2

    # a copy: the part's buffers are freed once it is counted
    return run_ids.copy(), codes == code(Status.SUCCEEDED), codes == code(Status.FAILED)


def _numpy(column: Any) -> np.ndarray:
    """A column of fixed-width numbers without nulls as a numpy array (a view of its buffer).

    Arrow's own ``to_numpy`` imports pandas, which alone costs more memory than counting a
    million runs.
    """
    import pyarrow as pa  # noqa: PLC0415

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dtype = np.dtype(column.type.to_pandas_dtype())
    return np.frombuffer(
        column.buffers()[1], dtype=dtype, count=len(column), offset=column.offset * dtype.itemsize
    )


def _planned(run_ids: np.ndarray, found: np.ndarray, ids: np.ndarray, keys: np.ndarray) -> bool:
    """Whether the plan lists every one of these runs, under the same id and key."""
    if not len(run_ids):
        return True
    at = np.searchsorted(ids, run_ids)
    if (at >= len(ids)).any():
        return False
    return bool((ids[at] == run_ids).all() and (keys[at] == found).all())


def _logged_failures(
    root: pathlib.Path, ids: np.ndarray, keys: np.ndarray
) -> list[tuple[int, str]] | None:
    """The failures only the status log holds (run id, batch), or None if one is not planned."""
    logged = []
    for entry in read_log(root, events=[Status.FAILED]):
        run_id, key = entry.get("run_id"), entry.get("key")
        if not isinstance(run_id, int) or isinstance(run_id, bool) or not isinstance(key, str):
            return None
        encoded = key.encode()
        if len(encoded) != KEY_WIDTH:
            return None
        if not _planned(np.array([run_id]), np.array([encoded]), ids, keys):
            return None
        logged.append((run_id, str(entry.get("batch"))))
    return logged


def _resolve(
    ids: np.ndarray,
    read: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    complete: set[str],
    logged: Sequence[tuple[int, str]],
    *,
    batches: dict[str, dict[pathlib.Path, str]],
    checks: dict[str, dict[str, Any]],
) -> Resolved:
    """The outcomes :func:`~mesa_batch.store.reader.read_state` decides, deduplicated by id.

    A run succeeded when a committed batch (in ``complete``) recorded its success (the first
    such batch by id is its outcome); else it failed when a batch or the log recorded its
    failure (the last such record is its outcome).
    """
    no_ids, no_batches = np.empty(0, np.int64), np.empty(0, np.int32)
    good_ids, good_batch, bad_ids, bad_batch = [no_ids], [no_batches], [no_ids], [no_batches]
    names = [batch for batch, *_ in read] + [batch for _, batch in logged]
    recorded: dict[str, int] = {}
    for index, (batch, run_ids, succeeded, failed) in enumerate(read):
        recorded[batch] = recorded.get(batch, 0) + int(succeeded.sum())
        if batch in complete:
            good_ids.append(run_ids[succeeded])
            good_batch.append(np.full(int(succeeded.sum()), index, np.int32))
        bad_ids.append(run_ids[failed])
        bad_batch.append(np.full(int(failed.sum()), index, np.int32))
    if logged:
        bad_ids.append(np.array([run_id for run_id, _ in logged], np.int64))
        bad_batch.append(np.arange(len(read), len(read) + len(logged), dtype=np.int32))
    good, good_from = _first_by_id(np.concatenate(good_ids), np.concatenate(good_batch), names)
    bad, bad_from = _last_by_id(np.concatenate(bad_ids), np.concatenate(bad_batch))
    keep = ~np.isin(bad, good, assume_unique=True)
    order = np.argsort(good, kind="stable")
    return Resolved(
        ids=ids,
        succeeded=good[order],
        succeeded_from=good_from[order],
        failed=bad[keep],
        failed_from=bad_from[keep],
        names=names,
        batches=batches,
        recorded=recorded,
        checks=checks,
    )


def _first_by_id(
    run_ids: np.ndarray, batches: np.ndarray, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each run id once, from the batch whose id sorts first (as the whole reading keeps it)."""
    if not len(run_ids) or (np.diff(np.sort(run_ids)) > 0).all():
        return run_ids, batches
    rank = np.argsort(np.argsort(np.array(names, dtype=object)))[batches]
    order = np.lexsort((rank, run_ids))
    run_ids, batches = run_ids[order], batches[order]
    first = np.concatenate([[True], run_ids[1:] != run_ids[:-1]])
    return run_ids[first], batches[first]


def _last_by_id(run_ids: np.ndarray, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each run id once, from its last record (parts in the order read, then the log)."""
    if not len(run_ids):
        return run_ids, batches
    order = np.lexsort((np.arange(len(run_ids)), run_ids))
    run_ids, batches = run_ids[order], batches[order]
    last = np.concatenate([run_ids[1:] != run_ids[:-1], [True]])
    return run_ids[last], batches[last]
