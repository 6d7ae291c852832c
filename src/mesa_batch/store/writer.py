"""The worker side of the store: commit a batch's parts, data first, its runs part last."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from mesa_batch.columns import arrow_table
from mesa_batch.errors import StoreWriteError, problem
from mesa_batch.execute import with_worker_time
from mesa_batch.outcomes import FAILURE_FIELDS, RunStatus
from mesa_batch.store.files import table_directory, write_parquet

__all__ = ["RUN_FIELDS", "PartWriter"]

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
        written = [name for name, columns in tables.items() if columns]
        try:
            for name in written:
                table, _ = arrow_table(tables[name])
                write_parquet(table, root / "data" / table_directory(name) / f"{batch}.parquet")
            statuses = with_worker_time(statuses, started)
            runs, _ = arrow_table(runs_columns(statuses, batch, written))
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


def runs_columns(statuses: Sequence[RunStatus], batch: str, parts: Sequence[str]) -> dict[str, Any]:
    """The columns of a runs part for a batch's statuses."""
    columns: dict[str, list[Any]] = {name: [] for name in RUN_FIELDS}
    for status in statuses:
        row = {
            "run_id": status.run_id,
            "key": status.key,
            "status": str(status.status),
            "steps": status.steps,
            "wall_time": status.wall_time,
            "model_time": status.model_time,
            "worker_time": status.worker_time,
            **status.failure_row(),
            "batch": batch,
            "parts": ",".join(parts),
        }
        for name, value in row.items():
            columns[name].append(value)
    return {
        name: np.asarray(values, dtype=np.int64) if name in ("run_id", "steps") else values
        for name, values in columns.items()
    }
