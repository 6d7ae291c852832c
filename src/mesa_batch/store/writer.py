"""The worker side of the store: commit a batch's parts, data first, its runs part last."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from mesa_batch.columns import arrow_table
from mesa_batch.errors import StoreWriteError, problem
from mesa_batch.execute import with_worker_time
from mesa_batch.outcomes import FAILURE_FIELDS, Failure, RunStatus, Stage, Status
from mesa_batch.store.files import atomic_write, digest, table_directory, write_parquet

__all__ = ["RUN_FIELDS", "PartWriter", "storable"]

#: Columns of a runs part, in order.
RUN_FIELDS: Final = (
    "run_id",
    "key",
    "status",
    "steps",
    "wall_time",
    "model_time",
    "worker_time",
    *FAILURE_FIELDS,
    "batch",
    "parts",
    "checks",
)


@dataclasses.dataclass(frozen=True, slots=True)
class PartWriter:
    """What a worker needs to commit a batch to the store (picklable, small).

    Attributes:
        root: The store directory.
        session: The writing session's id (prefix of every batch id).
    """

    root: str
    session: str

    def commit(
        self,
        tables: Mapping[str, Mapping[str, np.ndarray]],
        statuses: list[RunStatus],
        batch: str,
        *,
        started: float,
    ) -> list[RunStatus]:
        """Commit a batch: its data parts, then its runs part.

        Args:
            tables: The batch's rows by table (columns with ``run_id``).
            statuses: The batch's run statuses.
            batch: The batch's task id; the parts are named ``<session>-<batch>``, so a task
                executed twice replaces its own files with the same content.
            started: When the batch started (``time.perf_counter()``): the worker times of
                its runs include writing its data parts.

        Returns:
            The statuses as committed, with their worker times.

        Raises:
            StoreWriteError: A part could not be written; nothing of the batch is committed.
        """
        batch = f"{self.session}-{batch}"
        root = pathlib.Path(self.root)
        arrow, statuses = storable(tables, statuses)
        written = list(arrow)
        checks = {}
        try:
            for name in written:
                path = root / "data" / table_directory(name) / f"{batch}.parquet"
                checks[name] = write_checked(arrow[name], path)
            statuses = with_worker_time(statuses, started)
            runs, _ = arrow_table(runs_columns(statuses, batch, written, checks))
            write_parquet(runs, root / "runs" / f"{batch}.parquet")
        except OSError as error:
            raise StoreWriteError(
                problem(
                    f"the store {self.root}",
                    "could not be written",
                    f"{type(error).__name__}: {error}",
                    "Free disk space (or raise the file size limit), then run the same "
                    "sweep again: it resumes with the runs not yet committed.",
                )
            ) from error
        return statuses


def storable(
    tables: Mapping[str, Mapping[str, np.ndarray]], statuses: list[RunStatus]
) -> tuple[dict[str, Any], list[RunStatus]]:
    """The batch's tables as Arrow tables; a run with a value no column can hold fails alone.

    Every value a column can hold is kept (see :func:`mesa_batch.columns.arrow_table`); a value
    that cannot even be encoded (a list that contains itself, a string with a lone surrogate)
    makes its run fail at stage ``collect``, its rows left out of every table, and the other
    runs of the batch are stored.

    Returns:
        The Arrow tables by name (tables without rows left out), and the statuses.
    """
    arrow: dict[str, Any] = {}
    bad: dict[int, Failure] = {}
    for name, columns in tables.items():
        if not columns:
            continue
        try:
            arrow[name], _ = arrow_table(columns)
        except Exception as error:  # any value error fails its run only
            bad |= _unstorable_runs(name, columns, error)
    if not bad:
        return arrow, statuses
    statuses = [
        _failed_to_store(status, bad[status.run_id]) if status.run_id in bad else status
        for status in statuses
    ]
    arrow = {}
    for name, columns in tables.items():
        if not columns:
            continue
        keep = ~np.isin(np.asarray(columns["run_id"]), list(bad))
        table, _ = arrow_table({c: np.asarray(v)[keep] for c, v in columns.items()})
        if table.num_rows:
            arrow[name] = table
    return arrow, statuses


def _unstorable_runs(
    name: str, columns: Mapping[str, Any], error: BaseException
) -> dict[int, Failure]:
    """The runs whose rows of a table cannot be stored, each with why."""
    run_ids = np.asarray(columns["run_id"])
    bad = {}
    for run_id in np.unique(run_ids).tolist():
        rows = run_ids == run_id
        for column, values in columns.items():
            try:
                arrow_table({column: np.asarray(values)[rows]})
            except Exception as found:  # any value error fails its run only
                bad[int(run_id)] = _column_failure(name, column, found)
                break
    whole = _column_failure(name, "?", error)
    return bad or {int(r): whole for r in np.unique(run_ids).tolist()}


def _column_failure(table: str, column: str, error: BaseException) -> Failure:
    message = problem(
        f"the column {column!r} of the table {table!r}",
        "must hold values the store can keep (what its safe encoding writes)",
        f"{type(error).__name__}: {error}",
        "Make the reporter return plain data (numbers, text, lists, dicts).",
    )
    found = Failure.from_exception(Stage.COLLECT, error)
    return dataclasses.replace(found, message=message)


def _failed_to_store(status: RunStatus, failure: Failure) -> RunStatus:
    return dataclasses.replace(status, status=Status.FAILED, failure=failure)


def write_checked(table: Any, path: pathlib.Path) -> list[Any]:
    """Write a data part atomically; its check: ``[rows, bytes, blake2b-128 hex digest]``."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue()
    atomic_write(path, lambda file: file.write(data))
    return [table.num_rows, data.size, digest(data)]


def joined_parts(tables: Sequence[str]) -> str:
    """A runs part's ``parts`` value: the tables its batch has a data part of."""
    return ",".join(tables)


def part_names(value: object) -> list[str]:
    """The tables of a runs part's ``parts`` value (:func:`joined_parts` read back)."""
    return [name for name in str(value or "").split(",") if name]


def runs_columns(
    statuses: Sequence[RunStatus],
    batch: str,
    parts: Sequence[str],
    checks: Mapping[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """The columns of a runs part for a batch's statuses."""
    columns: dict[str, list[Any]] = {name: [] for name in RUN_FIELDS}
    for status in statuses:
        row = {
            **status.row(),
            "batch": batch,
            "parts": joined_parts(parts),
            "checks": json.dumps(dict(checks or {}), separators=(",", ":")),
        }
        for name, value in row.items():
            columns[name].append(value)
    return {
        name: np.asarray(values, dtype=np.int64) if name in ("run_id", "steps") else values
        for name, values in columns.items()
    }
