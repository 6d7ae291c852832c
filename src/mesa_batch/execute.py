"""The worker side: run one configuration, or a batch of them, and never raise for a run.

A run goes through three stages, and a failure in any of them is recorded as data
(:class:`Failure`), never raised: the batch goes on with its next run. That holds for any
exception, ``SystemExit`` (a model calling ``sys.exit()``) included; only ``KeyboardInterrupt``
(Ctrl-C) goes through.

=============  ================================================================
stage          what runs
=============  ================================================================
instantiate    building the model (``__init__``)
run            ``model.step()`` until it stops or ``max_steps`` is reached (a
               DataCollector the model calls in ``step`` fails here)
collect        finding the model's data source, collecting the configuration's
               reporters, reading the model's data into columnar tables
=============  ================================================================

A batch returns one :class:`RunStatus` per run and, per table, the rows of all its runs as
columns (numpy arrays), tagged with ``run_id``: data never travels as one dict per row. With a
store, the worker commits the batch's rows to it (:class:`Writer`) and returns only the
statuses.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from mesa_batch.adapters import instantiate, open_source
from mesa_batch.columns import Columns, concat_columns
from mesa_batch.config import RunConfiguration
from mesa_batch.outcomes import Failure, RunStatus, Stage, Status

__all__ = ["BatchResult", "execute_batch", "execute_run"]


def execute_run(config: RunConfiguration) -> tuple[RunStatus, dict[str, Columns]]:
    """Run one configuration; failures are returned, not raised.

    Args:
        config: The run configuration.

    Returns:
        The run's status and its tables (empty when it failed).
    """
    start = time.perf_counter()
    stage, steps, model_time = Stage.INSTANTIATE, 0, 0.0
    try:
        model = instantiate(config)
        model_time = time.perf_counter() - start
        stage = Stage.COLLECT
        source = open_source(model, config)
        source.after_step(model, 0)
        while steps < config.max_steps and model.running:
            source.before_step(steps + 1)
            stage = Stage.RUN
            tick = time.perf_counter()
            model.step()
            model_time += time.perf_counter() - tick
            steps += 1
            stage = Stage.COLLECT
            source.after_step(model, steps)
        tables = source.tables(model, steps)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too: a model's sys.exit() fails its run only
        failure = Failure.from_exception(stage, error)
        return _status(
            config,
            status=Status.FAILED,
            steps=steps,
            start=start,
            model_time=model_time,
            failure=failure,
        ), {}
    return _status(
        config, status=Status.SUCCEEDED, steps=steps, start=start, model_time=model_time
    ), tables


def _status(
    config: RunConfiguration,
    *,
    status: str,
    steps: int,
    start: float,
    model_time: float,
    failure: Failure | None = None,
) -> RunStatus:
    return RunStatus(
        run_id=config.run_id,
        key=config.key,
        status=status,
        steps=steps,
        wall_time=time.perf_counter() - start,
        model_time=model_time,
        failure=failure,
    )


@dataclasses.dataclass(slots=True, kw_only=True)
class BatchResult:
    """What a batch returns: a status per run and the rows of all its runs, by table.

    Attributes:
        statuses: One status per run that finished (succeeded or failed), in order.
        tables: Table name -> column name -> numpy array; every table has a ``run_id`` column.
        interrupted: Whether the batch stopped early on KeyboardInterrupt (in-process only);
            runs without a status did not run.
        storage_error: Why the batch could not be committed to the store (then ``statuses``
            is empty: none of its runs counts as done).
    """

    statuses: list[RunStatus]
    tables: dict[str, dict[str, np.ndarray]]
    interrupted: bool = False
    storage_error: str | None = None


class Writer(Protocol):
    """Commits a batch's rows and statuses to a store (see :class:`mesa_batch.store.PartWriter`)."""

    def commit(
        self,
        tables: dict[str, dict[str, np.ndarray]],
        statuses: list[RunStatus],
        batch: str,
        *,
        started: float,
    ) -> list[RunStatus]:
        """Commit a batch atomically under the id ``batch``; raise ``OSError`` if it cannot.

        Returns the statuses as committed: with their worker time (see
        :func:`with_worker_time`), measured from ``started`` once the batch's data is written.
        """
        ...


def execute_batch(
    configs: Sequence[RunConfiguration],
    *,
    task: str = "",
    writer: Writer | None = None,
    stop_on_interrupt: bool = False,
) -> BatchResult:
    """Run a batch of configurations one after the other.

    Args:
        configs: The runs.
        task: The batch's id, unique per submitted batch. It names the batch's parts in a
            store, so that an engine that runs a task twice writes the same files twice, and it
            keeps executors that merge identical tasks (Dask's ``pure=True``) from merging two
            batches.
        writer: Commit the batch to a store; the result then carries only the statuses.
        stop_on_interrupt: Return what finished when KeyboardInterrupt arrives, instead of
            raising it (used when the batch runs in the calling process).

    Returns:
        The batch's statuses and columnar tables.
    """
    start = time.perf_counter()
    statuses: list[RunStatus] = []
    chunks: dict[str, list[Columns]] = {}
    interrupted = False
    for config in configs:
        try:
            status, tables = execute_run(config)
        except KeyboardInterrupt:
            if not stop_on_interrupt:
                raise
            interrupted = True
            break
        statuses.append(status)
        for name, columns in tables.items():
            chunks.setdefault(name, []).append(_with_run_id(columns, config.run_id))
    tables = {name: concat_columns(parts) for name, parts in chunks.items()}
    if writer is not None:
        try:
            committed = writer.commit(tables, statuses, task or _fresh_task(), started=start)
        except OSError as error:
            return BatchResult(
                statuses=[], tables={}, interrupted=interrupted, storage_error=str(error)
            )
        return BatchResult(statuses=committed, tables={}, interrupted=interrupted)
    return BatchResult(
        statuses=with_worker_time(statuses, start), tables=tables, interrupted=interrupted
    )


def _fresh_task() -> str:
    import uuid  # noqa: PLC0415

    return uuid.uuid4().hex[:12]


def with_worker_time(statuses: list[RunStatus], start: float) -> list[RunStatus]:
    """Give each run an equal share of its batch's time (since ``start``) spent outside runs.

    That time is the batch's own work: joining the runs' tables, writing its parts.
    """
    if not statuses:
        return statuses
    elapsed = time.perf_counter() - start
    extra = max(elapsed - sum(s.wall_time for s in statuses), 0.0) / len(statuses)
    return [dataclasses.replace(s, worker_time=s.wall_time + extra) for s in statuses]


def _with_run_id(columns: Columns, run_id: int) -> Columns:
    n = len(next(iter(columns.values()), []))
    # an array, not a list: a batch joins arrays with one copy, and checks no value's type
    return {"run_id": np.full(n, run_id, dtype=np.int64), **columns}
