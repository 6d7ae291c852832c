"""Compacting a store: a session's batch parts rewritten as one runs part and one part per table.

A sweep of 100,000 small runs commits hundreds of batches, each a runs part and a data part
per table, and reading such a store is mostly opening files. When a writing session has run
everything it was given (while it still holds the store's lock), every session of the store
recorded in ``store.json`` that left at least :data:`MIN_PARTS` batch runs parts, of at most
:data:`MAX_BYTES` of data, is compacted:

1. each table's batch parts are read, each checked against its batch's record (rows, bytes and
   blake2b digest: damage is never copied into a part with a fresh digest), and written as
   ``data/<table>/<session>.parquet`` (row groups of whole batches, about
   :data:`ROW_GROUP_ROWS` rows each), atomically;
2. then the batches' runs rows as ``runs/<session>.parquet`` (atomically), their ``batch`` the
   session id, their ``parts`` and ``checks`` those of the new data parts: this commits it;
3. then the batch parts are deleted, runs parts first.

A session is left as it is when one of its parts is missing, damaged or unverifiable (written
before parts had checks), when the parts of a table disagree on column types (reading unifies
those, :mod:`mesa_batch.store.unify`; a single file cannot), or when a compacted part cannot be
written (a full disk): its batch parts are read as before. A run that succeeded in
two batches of the session keeps the rows of the first (the one readers take).

A crash at any point leaves a store that reads the same: before step 2 the new data parts
belong to no runs part and are ignored (and overwritten by the next compaction); after it,
batch parts left beside the compacted ones are read as a run executed twice, where the
compacted part wins (a session id sorts before its batch ids) and the batch parts are used
only where it is not sound. The next compaction deletes such leftovers.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from mesa_batch.outcomes import Status
from mesa_batch.store.files import (
    atomic_write,
    digest,
    file_digest,
    fsync_directory,
    read_bytes,
    read_json,
    table_directory,
    write_parquet,
)
from mesa_batch.store.writer import joined_parts, part_names

__all__ = ["MAX_BYTES", "MIN_PARTS", "ROW_GROUP_ROWS", "compact_store"]

#: A session that left fewer batch runs parts than this is not compacted.
MIN_PARTS: Final = 16
#: A session whose data parts hold more bytes than this is not compacted: its parts are big
#: enough that opening them costs little beside reading them, and rewriting them would not.
MAX_BYTES: Final = 1 << 30
#: About how many rows a row group of a compacted data part holds (whole batches).
ROW_GROUP_ROWS: Final = 1_000_000
#: The compacted runs part's schema metadata key listing the batch ids it absorbed.
ABSORBED: Final = "mesa_batch.absorbed_batches"


class _UnfitError(Exception):
    """A session cannot be compacted (a part missing, damaged, or of other column types)."""


def compact_store(root: pathlib.Path, *, min_parts: int | None = None) -> list[str]:
    """Compact every session of a store that left at least ``min_parts`` batch runs parts.

    The caller holds the store's lock (a writing session). Sessions that cannot be compacted
    are left as they are; leftovers of an interrupted compaction are deleted.

    Args:
        root: The store directory.
        min_parts: The fewest batch runs parts a session must have left to be compacted
            (:data:`MIN_PARTS` by default).

    Returns:
        The ids of the sessions compacted.
    """
    from mesa_batch.store.reader import session_of  # noqa: PLC0415

    sessions = _recorded_sessions(root)
    batches: dict[str, list[pathlib.Path]] = {}
    for path in _runs_parts(root):
        session = session_of(path.stem)
        if path.stem != session and session in sessions:
            batches.setdefault(session, []).append(path)
    fewest = MIN_PARTS if min_parts is None else min_parts
    compacted = []
    for session, paths in sorted(batches.items()):
        if (root / "runs" / f"{session}.parquet").exists():
            _remove_leftovers(root, session, paths)
        elif len(paths) >= fewest and _compact_session(root, session, paths):
            compacted.append(session)
    return compacted


def _recorded_sessions(root: pathlib.Path) -> set[str]:
    """The sessions ``store.json`` records: only their parts are ever compacted."""
    entries = read_json(root / "store.json").get("sessions")
    if not isinstance(entries, list):
        return set()
    return {str(e["id"]) for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)}


def _runs_parts(root: pathlib.Path) -> list[pathlib.Path]:
    from mesa_batch.store.reader import _parts  # noqa: PLC0415

    return _parts(root / "runs")


@contextlib.contextmanager
def _unfit_on_errors() -> Any:
    import pyarrow as pa  # noqa: PLC0415

    try:
        yield
    except (OSError, pa.ArrowException, ValueError, TypeError, KeyError) as error:
        raise _UnfitError(f"{type(error).__name__}: {error}") from error


def _compact_session(root: pathlib.Path, session: str, paths: Sequence[pathlib.Path]) -> bool:
    """Compact one session's batch parts (see the module docstring); whether it was done."""
    written: list[pathlib.Path] = []
    try:
        runs, records = _batch_records(paths)
        if sum(c[1] for _, _, checks in records for c in checks.values()) > MAX_BYTES:
            return False
        runs, dropped = _first_successes(runs)
        tables = sorted({name for _, parts, _ in records for name in parts})
        folders = [root / "runs", root / "data"]
        for folder in [*folders, *(root / "data" / table_directory(n) for n in tables)]:
            if folder.is_symlink() or not folder.is_dir():  # never read or write through a link
                raise _UnfitError(f"{folder} is not a folder of the store")
        checks = {}
        for name in tables:
            target = root / "data" / table_directory(name) / f"{session}.parquet"
            written.append(target)
            checks[name] = _compact_table(root, name, records, dropped, target)
        absorbed = [batch for batch, _, _ in records]
        path = root / "runs" / f"{session}.parquet"
        _write_runs(runs, path, session, tables, checks, absorbed=absorbed)
    except _UnfitError:
        for path in written:  # data parts no runs part names: unused, but not left behind
            with contextlib.suppress(OSError):
                path.unlink()
        return False
    _remove_leftovers(root, session, paths)
    return True


def _batch_records(
    paths: Sequence[pathlib.Path],
) -> tuple[Any, list[tuple[str, list[str], dict[str, Any]]]]:
    """The session's runs rows (one Arrow table, by batch id), and each batch's parts, checks."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    pieces, records = [], []
    for path in sorted(paths):
        with _unfit_on_errors():
            table = pq.ParquetFile(pa.BufferReader(read_bytes(path, 1 << 30))).read()
        if not {"run_id", "key", "status", "batch", "parts", "checks"} <= set(table.column_names):
            raise _UnfitError(f"{path.name} has no checks")
        if not table.num_rows:
            raise _UnfitError(f"{path.name} is empty")
        batch = pc.unique(table.column("batch")).to_pylist()
        checks = _checks(table.column("checks")[0].as_py())
        parts = part_names(table.column("parts")[0].as_py())
        if batch != [path.stem] or checks is None or set(parts) - set(checks):
            raise _UnfitError(f"{path.name} does not record its batch's parts")
        records.append((path.stem, parts, checks))
        pieces.append(table.drop_columns(["parts", "checks"]))
    with _unfit_on_errors():
        runs = pa.concat_tables(pieces, promote_options="permissive")
    return runs, records


def _checks(text: object) -> dict[str, Any] | None:
    try:
        checks = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(checks, dict):
        return None
    valid = all(
        isinstance(c, list)
        and len(c) == 3
        and all(isinstance(v, int) for v in c[:2])
        and isinstance(c[2], str)
        for c in checks.values()
    )
    return checks if valid else None


def _first_successes(runs: Any) -> tuple[Any, dict[str, Any]]:
    """Drop the later successes of a key that succeeded in two batches (rows in batch order).

    Returns:
        The runs rows kept, and per batch the run ids whose rows are left out of its data.
    """
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    ok = pc.equal(runs.column("status"), str(Status.SUCCEEDED)).fill_null(False)
    index = pa.array(np.arange(runs.num_rows, dtype=np.int64))
    succeeded = pa.table({"key": runs.column("key"), "i": index}).filter(ok)
    if pc.count_distinct(succeeded.column("key")).as_py() == succeeded.num_rows:
        return runs, {}
    first = succeeded.group_by("key", use_threads=False).aggregate([("i", "min")])
    later = pc.invert(pc.is_in(succeeded.column("i"), value_set=first.column("i_min")))
    extra = succeeded.filter(later).column("i").to_numpy()
    dropped: dict[str, Any] = {}
    for batch, run_id in zip(
        runs.column("batch").take(extra).to_pylist(),
        runs.column("run_id").take(extra).to_pylist(),
        strict=True,
    ):
        dropped.setdefault(str(batch), set()).add(int(run_id))
    keep = np.ones(runs.num_rows, dtype=bool)
    keep[extra] = False
    return runs.filter(pa.array(keep)), {
        b: pa.array(sorted(r), pa.int64()) for b, r in dropped.items()
    }


def _compact_table(
    root: pathlib.Path,
    name: str,
    records: Sequence[tuple[str, list[str], Mapping[str, Any]]],
    dropped: Mapping[str, Any],
    target: pathlib.Path,
) -> list[Any]:
    """Write one table's compacted part; its check ``[rows, bytes, digest]``.

    Raises:
        _UnfitError: A batch part is missing, does not match its record, or has other column types.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415

    directory = root / "data" / table_directory(name)
    rows = 0

    def write(file: Any) -> None:
        nonlocal rows
        writer: Any = None
        pending: list[Any] = []
        try:
            for batch, parts, checks in records:
                if name not in parts:
                    continue
                table = _verified(directory / f"{batch}.parquet", checks[name])
                if batch in dropped:
                    table = _without(table, dropped[batch])
                if writer is None:
                    writer = pq.ParquetWriter(file, table.schema)
                elif not table.schema.equals(writer.schema, check_metadata=True):
                    raise _UnfitError(f"the parts of {name!r} differ in column types")
                pending.append(table)
                rows += table.num_rows
                if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
                    _flush(writer, pending)
            if writer is not None:
                _flush(writer, pending)
        finally:
            if writer is not None:
                writer.close()

    with _unfit_on_errors():
        atomic_write(target, write)
        size = target.stat().st_size
        checksum = file_digest(target)
    return [rows, size, checksum]


def _verified(path: pathlib.Path, check: Sequence[Any]) -> Any:
    """A batch's data part, read only if its rows, bytes and digest are what its batch recorded."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    rows, size, expected = check
    with _unfit_on_errors():
        data = read_bytes(path, int(size))
        if len(data) != size or digest(data) != expected:
            raise _UnfitError(f"{path.name} does not match its batch's checks")
        table = pq.ParquetFile(pa.BufferReader(data)).read()
    if table.num_rows != rows:
        raise _UnfitError(f"{path.name} has {table.num_rows} rows; its batch recorded {rows}")
    return table


def _without(table: Any, run_ids: Any) -> Any:
    import pyarrow.compute as pc  # noqa: PLC0415

    return table.filter(pc.invert(pc.is_in(table.column("run_id"), value_set=run_ids)))


def _flush(writer: Any, pending: list[Any]) -> None:
    import pyarrow as pa  # noqa: PLC0415

    if pending:
        table = pa.concat_tables(pending)
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        pending.clear()


def _write_runs(
    runs: Any,
    path: pathlib.Path,
    session: str,
    tables: Sequence[str],
    checks: Mapping[str, list[Any]],
    *,
    absorbed: Sequence[str],
) -> None:
    """Write the compacted runs part: the batches' rows by run id, named by the session.

    Its schema metadata lists the batches it absorbed (:data:`ABSORBED`): only their parts
    are ever deleted for it, never a batch part written after it.
    """
    import pyarrow.compute as pc  # noqa: PLC0415

    order = pc.sort_indices(runs, sort_keys=[("run_id", "ascending")])  # stable
    runs = runs.take(order)
    n = runs.num_rows
    constant = {
        "batch": session,
        "parts": joined_parts(tables),
        "checks": json.dumps(dict(checks), separators=(",", ":")),
    }
    index = runs.column_names.index("batch")
    runs = runs.remove_column(index).add_column(index, "batch", _repeated(session, n))
    for name in ("parts", "checks"):
        runs = runs.append_column(name, _repeated(constant[name], n))
    metadata = {**(runs.schema.metadata or {}), ABSORBED: json.dumps(sorted(absorbed)).encode()}
    with _unfit_on_errors():
        write_parquet(runs.replace_schema_metadata(metadata), path)


def _repeated(value: str, n: int) -> Any:
    """A string column of one value, dictionary-encoded (a few bytes however many rows)."""
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    indices = pa.array(np.zeros(n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


def _remove_leftovers(root: pathlib.Path, session: str, paths: Sequence[pathlib.Path]) -> None:
    """Delete batch parts the session's compacted parts replace (runs parts first).

    Only when the compacted runs part reads and every data part it names matches its checks;
    otherwise the batch parts are what readers fall back on, and are kept.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from mesa_batch.store.reader import _check_part  # noqa: PLC0415

    compacted = root / "runs" / f"{session}.parquet"
    try:
        file = pq.ParquetFile(pa.BufferReader(read_bytes(compacted, 1 << 30)))
        first = file.read_row_group(0, columns=["parts", "checks"]).slice(0, 1)
        parts = part_names(first.column("parts")[0].as_py())
        checks = _checks(first.column("checks")[0].as_py()) or {}
        absorbed = json.loads((file.schema_arrow.metadata or {}).get(ABSORBED.encode(), b"[]"))
    except (OSError, pa.ArrowException, IndexError, KeyError, ValueError):  # keep them
        return
    if not isinstance(absorbed, list):
        return
    paths = [p for p in paths if p.stem in set(map(str, absorbed))]  # never a later batch
    for name in parts:
        part = root / "data" / table_directory(name) / f"{session}.parquet"
        if _check_part(part, checks.get(name), verify=True) is not None or name not in checks:
            return
    directories = {p.parent for p in paths}
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
    data = []
    with contextlib.suppress(OSError):
        data = [d for d in (root / "data").iterdir() if d.is_dir() and not d.is_symlink()]
    for directory in data:
        for path in paths:
            part = directory / path.name
            if part.is_file() and not part.is_symlink():
                with contextlib.suppress(OSError):
                    part.unlink()
        directories.add(directory)
    for directory in directories:
        fsync_directory(directory)
