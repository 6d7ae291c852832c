"""``Results``: a sweep's tidy tables, joinable on ``run_id``.

==============  =====================================================================
table           one row per
==============  =====================================================================
``runs``        run: ids, key, seed, status, steps, times, failure, point, design,
                parameters
``model``       run x collected step: the model-level values
``agents``      run x collected step x agent: the agent-level values (never model values)
``agents.T``    the same for agent type ``T``, when the model reports by type
``table.N``     a row of the model's own table ``N`` (DataCollector tables, recorder tables)
==============  =====================================================================

``Results`` reads through one interface (:class:`~mesa_batch.tables.Tables`), the same over
memory and over a store: a store's tables are read when first used, and :meth:`Results.scan`
reads only the columns and runs asked for. ``to_records()`` gives the flat list of dicts of the
original proposal (and of Mesa's ``batch_run``), ``to_parquet()`` writes one Parquet file per
table.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.columns import arrow_table
from mesa_batch.config import DesignInfo, RunConfiguration, renumber
from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.outcomes import FAILURE_FIELDS, Failure, RunStatus, Status
from mesa_batch.tables import MemoryTables, StoreTables, Tables

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.reproduce import RerunReport
    from mesa_batch.store.session import Session

__all__ = ["Results", "RunFailure"]

PENDING = Status.PENDING
#: The columns of ``runs`` that come before the parameters.
RUN_COLUMNS = (
    "run_id",
    "iteration",
    "key",
    "seed",
    "status",
    "steps",
    "wall_time",
    "model_time",
    "worker_time",
)
#: The failure columns of ``runs`` (the traceback is in ``failures``).
FAILURE_COLUMNS = FAILURE_FIELDS[:3]
#: The design columns of ``runs``, after the failure columns.
DESIGN_COLUMNS = ("point", "point_key", "design")


@dataclasses.dataclass(frozen=True, slots=True)
class _Planned:
    """A planned run, as ``to_records`` needs it."""

    run_id: int
    iteration: int
    seed: int | None
    parameters: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class RunFailure:
    """A failed run: what it ran with and why it failed.

    Attributes:
        run_id: The run's id.
        parameters: The run's parameters.
        seed: The run's seed.
        failure: The stage, exception type, message and traceback.
        configuration: The run's configuration, when the results know it (rerun the run alone
            with ``BatchRunner([configuration]).run()`` or ``results.rerun(run_id)``); None for
            results read from a store without their configurations.
        max_steps: The run's ``max_steps`` (None when unknown).
        data_collection_period: The run's ``data_collection_period`` (None when unknown).
    """

    run_id: int
    parameters: Mapping[str, Any]
    seed: int
    failure: Failure
    configuration: RunConfiguration | None = None
    max_steps: int | None = None
    data_collection_period: int | None = None

    @property
    def stage(self) -> str:
        """Where it failed: a :class:`~mesa_batch.outcomes.Stage` (``run``, ``timeout``, ...)."""
        return self.failure.stage

    @property
    def exception_type(self) -> str:
        """The exception's class name."""
        return self.failure.exception_type

    @property
    def message(self) -> str:
        """The exception's message."""
        return self.failure.message

    @property
    def traceback(self) -> str:
        """The formatted traceback."""
        return self.failure.traceback

    def __repr__(self) -> str:
        return (
            f"RunFailure(run_id={self.run_id}, parameters={dict(self.parameters)!r}, "
            f"seed={self.seed}, {self.failure.summary()!r})"
        )


class Results:
    """The results of a sweep: tidy tables as pandas DataFrames, records, Parquet.

    Built by :class:`~mesa_batch.BatchRunner`, or read from a store with :meth:`open`; every
    table is joinable on ``run_id``.

    Args:
        configurations: The sweep's configurations.
        statuses: The outcome of every run that finished.
        chunks: Per table, the columnar chunks the workers returned.
    """

    def __init__(
        self,
        configurations: Sequence[RunConfiguration],
        statuses: Mapping[int, RunStatus],
        chunks: Mapping[str, Sequence[dict[str, np.ndarray]]],
        *,
        reproducible: bool | None = None,
    ):
        self._use(MemoryTables(configurations, statuses, chunks), configurations)
        self._reproducible = reproducible
        # the runs' own statuses, in run id order (not rebuilt from the outcome table's rows)
        self._statuses: dict[int, RunStatus] | None = {k: statuses[k] for k in sorted(statuses)}

    def _use(self, tables: Tables, configurations: Iterable[RunConfiguration]) -> None:
        self._tables = tables
        self._configurations = {c.run_id: c for c in configurations}
        self._frames: dict[str, pd.DataFrame] = {}
        self._parameters: dict[str, Any] | None = None
        self._statuses = None
        self._store: pathlib.Path | None = None
        self._reproducible = None

    @classmethod
    def _of(
        cls,
        tables: StoreTables,
        configurations: Iterable[RunConfiguration],
        store: pathlib.Path,
    ) -> Results:
        results = object.__new__(cls)
        results._use(tables, configurations)
        results._store = store
        return results

    @classmethod
    def open(
        cls,
        store: str | pathlib.Path,
        *,
        configurations: Iterable[RunConfiguration] | None = None,
    ) -> Results:
        """Read the results in a store directory (lazily: a table is read when first used).

        Opening, listing and showing a store never runs code from it: nothing is unpickled,
        evaluated or imported (only :attr:`configurations` and :meth:`rerun` import the model,
        by its recorded path).

        Args:
            store: The store directory (``BatchRunner(..., store=...)``).
            configurations: Only the runs of these configurations (all runs by default); they
                also become the failures' ``configuration``.

        Returns:
            The results, with the same tables an in-memory run gives.

        Raises:
            ConfigurationError: The directory does not exist or is not a mesa_batch store.
        """
        from mesa_batch.store.reader import string_isin  # noqa: PLC0415
        from mesa_batch.store.session import release_arrow_memory  # noqa: PLC0415

        path = pathlib.Path(store)
        state = _store_state(path)
        configs = list(configurations) if configurations is not None else []
        run_ids = None
        if configurations is not None:
            plan = state.plan
            wanted = string_isin(plan["key"], {c.key for c in configs})
            run_ids = np.sort(plan.loc[wanted, "run_id"].to_numpy(dtype=np.int64))
            by_key = dict(zip(plan["key"], plan["run_id"], strict=True))
            configs = [c for c in configs if c.key in by_key]
            configs = renumber(configs, [int(by_key[c.key]) for c in configs])
        results = cls._of(StoreTables(state, run_ids), configs, path)
        release_arrow_memory()
        return results

    @classmethod
    def from_session(cls, session: Session) -> Results:
        """The results of a store's writing session (its configurations carry the store's ids).

        The plan is not read from disk: the session's configurations are the plan.
        """
        from mesa_batch.store.reader import read_state  # noqa: PLC0415

        state = read_state(session.root)
        tables = StoreTables(state, configurations=session.configurations)
        return cls._of(tables, session.configurations, session.root)

    # -- what the results are of ----------------------------------------------------------

    def __len__(self) -> int:
        return self._tables.count()  # from a store: its plan's run ids only

    @property
    def store(self) -> pathlib.Path | None:
        """The store these results are read from (None for results held in memory)."""
        return self._store

    @property
    def store_info(self) -> dict[str, Any]:
        """The store's metadata (``store.json``: model, versions, host, sessions); {} in memory."""
        return dict(self._tables.meta)

    @property
    def notes(self) -> list[str]:
        """What reading the store found wrong and how it was read (empty when all is well)."""
        return list(self._tables.notes)

    @property
    def designs(self) -> dict[str, DesignInfo]:
        """The designs that made these runs, by id (the ``design`` column of :attr:`runs`).

        Each :class:`~mesa_batch.DesignInfo` has the design's name, options, master seed,
        parameter space and, for designs that sample the unit cube, its sample matrix.
        """
        return self._tables.designs()

    @property
    def configurations(self) -> list[RunConfiguration]:
        """The configurations of these runs.

        In memory, and for results a runner returned, they are the sweep's own. For a store
        opened later they are re-created from it (the model is imported by its recorded path):
        equal in key, seed, parameters, point, iteration, settings and design to those that
        made the store, for every run whose parameters the store could encode exactly; the
        others are left out, with a warning.
        """
        if self._configurations:
            return list(self._configurations.values())
        return self._tables.configurations()

    @property
    def reproducible(self) -> bool | None:
        """Whether runs run again with their seeds gave the same data (None: not checked)."""
        if self._reproducible is not None:
            return self._reproducible
        check = self._tables.meta.get("reproducibility")
        if isinstance(check, dict) and isinstance(check.get("reproducible"), bool):
            return bool(check["reproducible"])
        return None

    @property
    def statuses(self) -> dict[int, RunStatus]:
        """The outcome of every run that finished, by run id."""
        if self._statuses is None:
            self._statuses = _statuses(self._tables.outcomes())
        return self._statuses

    # -- the tables ----------------------------------------------------------------------

    @property
    def tables(self) -> list[str]:
        """The names of the tables: ``runs``, then ``model``, ``agents`` and others present."""
        order = {"model": 0, "agents": 1}
        return ["runs", *sorted(self._tables.names(), key=lambda n: (order.get(n, 2), n))]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: ids, key, seed, status, steps, times, failure, point, parameters."""
        if "runs" not in self._frames:
            self._frames["runs"] = self._runs_frame()
        return self._frames["runs"]

    @property
    def model(self) -> pd.DataFrame:
        """Model-level values: one row per run and collected step."""
        return self.dataframe("model")

    @property
    def agents(self) -> pd.DataFrame:
        """Agent-level values: one row per run, collected step and agent."""
        return self.dataframe("agents")

    def dataframe(self, table: str, *, with_parameters: bool = False) -> pd.DataFrame:
        """One table as a pandas DataFrame, rows ordered by ``run_id`` (then as collected).

        Args:
            table: A name from :attr:`tables`.
            with_parameters: Add each run's ``iteration``, ``seed`` and parameters as columns.

        Returns:
            The table (empty, with ``run_id`` and ``step`` columns, if no run produced it).

        Raises:
            ConfigurationError: ``table`` is not one of this sweep's tables or a standard one.
        """
        if table == "runs":
            return self.runs
        if table not in self._frames:
            self._check_table(table)
            self._frames[table] = self._tables.load(table)
        frame = self._frames[table]
        if not with_parameters:
            return frame
        parameters = self.runs[["run_id", "iteration", "seed", *self.parameter_names]]
        return parameters.merge(frame, on="run_id", how="right", suffixes=(" (parameter)", ""))

    def _check_table(self, table: str) -> None:
        if table not in self._tables.names() and table not in ("model", "agents"):
            raise ConfigurationError(problem("table", f"must be one of {self.tables}", table))

    def scan(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        *,
        run_ids: Iterable[int] | None = None,
    ) -> Iterator[Any]:
        """Read a table piece by piece, only the columns and runs asked for (out of core).

        From a store, each piece is one Parquet part, read with only the requested columns and
        filtered to the runs it contributes; nothing else is loaded. Analyses of big stores
        are built on this.

        Args:
            table: A name from :attr:`tables` (not ``runs``).
            columns: The columns to read (``run_id`` always comes first); all by default.
            run_ids: Only these runs.

        Yields:
            ``pyarrow.Table`` pieces.

        Raises:
            ConfigurationError: ``table`` is not one of this sweep's tables.
        """
        self._check_table(table)
        if table in self._frames:
            from mesa_batch.tables import _arrow_pieces  # noqa: PLC0415

            yield from _arrow_pieces(self._frames[table], columns, run_ids)
            return
        yield from self._tables.scan(table, columns=columns, run_ids=run_ids)

    def columns(self, table: str) -> list[str]:
        """A table's column names, without reading its rows (from a store: the parts' footers).

        Raises:
            ConfigurationError: ``table`` is not one of this sweep's tables.
        """
        if table == "runs":
            return [str(c) for c in self.runs.columns]
        if table in self._frames:
            return [str(c) for c in self._frames[table].columns]
        self._check_table(table)
        return self._tables.columns(table)

    def rows(self, table: str, run_ids: Iterable[int]) -> pd.DataFrame:
        """The rows of some runs in one table (from a store, only theirs are read)."""
        if table in self._frames:
            frame = self._frames[table]
            return frame[frame["run_id"].isin(list(run_ids))].reset_index(drop=True)
        self._check_table(table)
        return self._tables.load(table, run_ids)

    @property
    def parameter_names(self) -> list[str]:
        """The parameter names of the sweep, in order of first appearance."""
        if "runs" in self._frames:
            runs = self.runs
            return [str(c) for c in runs.columns[len(_leading(runs)) :]]
        return list(self._parameter_columns())

    def _parameter_columns(self) -> dict[str, Any]:
        """The parameter columns of :attr:`runs`, by their names there (read once)."""
        if self._parameters is None:
            taken = set(_leading(None))
            self._parameters = {
                name if name not in taken else f"{name} (parameter)": column
                for name, column in self._tables.parameter_columns().items()
            }
        return self._parameters

    def _run_table(self) -> pd.DataFrame:
        """What analyses group runs by: the columns of :attr:`runs` they use.

        ``run_id``, ``iteration``, ``status``, ``steps``, ``point``, ``design`` and the
        parameters, without the seeds, keys, times and failures of :attr:`runs` (when it is
        built already, its columns): the analysis of a store reads only what it groups by.
        """
        import pandas as pd  # noqa: PLC0415

        columns = ["run_id", "iteration", "status", "steps", "point", "design"]
        if "runs" in self._frames:
            return self.runs[[*columns, *self.parameter_names]]
        plan = self._tables.plan()
        ids = plan["run_id"].to_numpy()
        indexed = _outcomes_of(self._tables.outcomes(), ids)
        missing = indexed["status"].isna().to_numpy() if len(indexed) else np.ones(0, bool)
        status: Any = indexed["status"].astype(object).to_numpy() if len(indexed) else []
        numbers = pd.to_numeric(indexed["steps"], errors="coerce").fillna(0).to_numpy()
        steps: Any = pd.Series(numbers).astype("Int64")
        if missing.any():
            steps[missing] = pd.NA
        data: dict[str, Any] = {
            "run_id": ids,
            "iteration": plan["iteration"].to_numpy(),
            "status": np.where(missing, str(PENDING), status).astype(object),
            "steps": steps.array,
            "point": plan["point"].astype("Int64").array,
            "design": plan["design"].to_numpy(),
        }
        return pd.DataFrame(data | self._parameter_columns())

    def _runs_frame(self) -> pd.DataFrame:
        import pandas as pd  # noqa: PLC0415

        plan = self._tables.plan()
        outcomes = self._tables.outcomes()
        if len(outcomes) and not outcomes["run_id"].is_unique:
            outcomes = outcomes.drop_duplicates("run_id")
        frame = plan[["run_id", "iteration", "key", "seed"]].copy()
        indexed = _outcomes_of(outcomes, frame["run_id"].to_numpy())
        missing = indexed["status"].isna().to_numpy() if len(indexed) else np.ones(0, bool)
        status: Any = indexed["status"].astype(object).to_numpy() if len(indexed) else []
        frame["status"] = np.where(missing, str(PENDING), status).astype(object)
        for name in ("steps", "wall_time", "model_time", "worker_time"):
            values = indexed[name] if name in indexed else pd.Series(np.nan, index=indexed.index)
            numbers = pd.to_numeric(values, errors="coerce").fillna(0.0).to_numpy(dtype=float)
            column: Any = pd.Series(numbers).astype("Int64" if name == "steps" else "Float64")
            if missing.any():
                column[missing] = pd.NA
            frame[name] = column.array
        for name in FAILURE_COLUMNS:
            values = indexed[name] if name in indexed else pd.Series(None, index=indexed.index)
            if not values.notna().any():  # no failure: no Python object per run to look at
                frame[name] = np.full(len(frame), None, dtype=object)
                continue
            frame[name] = [v if isinstance(v, str) else None for v in values.tolist()]
        for name in DESIGN_COLUMNS:
            frame[name] = plan[name].to_numpy()
        frame["point"] = frame["point"].astype("Int64")
        data: dict[str, Any] = {name: frame[name] for name in frame.columns}
        return pd.DataFrame(data | self._parameter_columns())

    # -- failures and summary -------------------------------------------------------------

    @property
    def failures(self) -> list[RunFailure]:
        """The failed runs, by run id, with their parameters, seeds and failures."""
        runs = self.runs
        failed = runs[runs["status"] == Status.FAILED]
        if not len(failed):
            return []
        outcomes = self._tables.outcomes()
        by_id = outcomes.drop_duplicates("run_id").set_index("run_id")
        plan = self._tables.plan().set_index("run_id")
        names = self.parameter_names
        found = []
        for row in failed.to_dict("records"):
            run_id = int(row["run_id"])
            outcome = by_id.loc[run_id].to_dict() if run_id in by_id.index else {}
            settings: Any = plan.loc[run_id] if run_id in plan.index else {}
            parameters = {n: row[n] for n in names if not _missing(row.get(n))}
            found.append(
                RunFailure(
                    run_id,
                    parameters,
                    int(row["seed"]) if not _missing(row["seed"]) else 0,
                    Failure.from_row({str(k): v for k, v in outcome.items()}),
                    self._configurations.get(run_id),
                    *(_int_or_none(settings, n) for n in ("max_steps", "data_collection_period")),
                )
            )
        return found

    @property
    def runner_overhead(self) -> float | None:
        """The share of the workers' time not spent inside model code (None before any run).

        Worker time is each run's share of its batch's time in its worker (building, stepping,
        collecting, joining tables, writing parts); model time is the time inside the model's
        ``__init__`` and ``step()``. Reading the model's data counts as overhead.
        """
        outcomes = self._tables.outcomes()
        if "worker_time" not in outcomes or not len(outcomes):
            return None
        worker_times = outcomes["worker_time"].astype(float).fillna(0.0)
        timed = outcomes[worker_times > 0]
        worker = float(timed["worker_time"].astype(float).sum())
        model = float(timed["model_time"].astype(float).sum())
        if not worker:
            return None
        return max(0.0, 1 - model / worker)

    def counts(self) -> dict[str, int]:
        """How many runs succeeded, failed and are pending."""
        statuses = self._tables.outcomes()["status"]
        done = int((statuses == Status.SUCCEEDED).sum())
        failed = int((statuses == Status.FAILED).sum())
        return {"succeeded": done, "failed": failed, "pending": len(self) - done - failed}

    def summary(self) -> str:
        """A short text summary: run counts, tables with their row counts, failures.

        For the runs of :func:`~mesa_batch.replicate_until` (or a store it wrote), it ends
        with :func:`~mesa_batch.replication_summary`: per point, the iterations run, the
        final CI of each outcome, whether the target was met and why it stopped.
        """
        from mesa_batch.replications.record import replication_summary  # noqa: PLC0415

        counts = self.counts()
        head = f"{len(self)} runs: {counts['succeeded']} succeeded, "
        lines = [head + f"{counts['failed']} failed, {counts['pending']} pending"]
        for table in self.tables[1:]:
            frame = self.dataframe(table)
            values = [c for c in frame.columns if c not in ("run_id", "step", "agent_id")]
            lines.append(f"  {table}: {len(frame)} rows; columns {', '.join(map(str, values))}")
        overhead = self.runner_overhead
        if overhead is not None:
            lines.append(f"  runner overhead: {overhead:.1%} of worker time outside model code")
        if self.reproducible is False:
            lines.append("  NOT REPRODUCIBLE: runs run again with their seeds gave other data")
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(f"  failed: {failure!r}" for failure in self.failures[:5])
        if replicated := replication_summary(self):
            lines.append(replicated)
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = self.counts()
        return (
            f"<Results: {len(self)} runs ({counts['succeeded']} succeeded, "
            f"{counts['failed']} failed, {counts['pending']} pending); tables {self.tables}>"
        )

    # -- running a run again ----------------------------------------------------------------

    def rerun(self, run_id: int) -> RerunReport:
        """Run one run again, in this process, and compare its tables with the recorded rows.

        The run's configuration is re-created (from a store: its model imported by its
        recorded path, its recorded parameters, seed and settings), the model is built, stepped
        and read here, and every table is compared with the rows these results hold for the
        run, value by value and bit for bit (floats included).

        Args:
            run_id: The run's id.

        Returns:
            The report: whether the run reproduced, and where its tables differ.

        Raises:
            ConfigurationError: There is no such run, or it cannot be re-created.
        """
        from mesa_batch.execute import execute_run  # noqa: PLC0415
        from mesa_batch.reproduce import RerunReport, compare  # noqa: PLC0415

        config = self._configurations.get(run_id) or self._tables.configuration(run_id)
        if config is None:
            raise ConfigurationError(
                problem(
                    "run_id",
                    "must name a run these results can re-create",
                    run_id,
                    "Pick one from results.runs; runs whose parameters the store keeps only "
                    "as text are re-created from your design instead.",
                )
            )
        status, tables = execute_run(config)
        recorded = self.statuses.get(run_id)
        expected = {name: self.rows(name, [run_id]) for name in self.tables[1:]}
        differences = compare(expected, tables) if status.status == Status.SUCCEEDED else {}
        return RerunReport(
            run_id=run_id,
            recorded=str(recorded.status) if recorded is not None else str(PENDING),
            status=status,
            differences=differences,
        )

    # -- conversions ----------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """The flat shape of the original proposal: one dict per row of collected data.

        One dict per (run, step, agent) where agent data was collected, else per (run, step),
        with keys ``run_id``, ``iteration``, ``step``, the parameters, ``seed``, the model
        values and, on agent rows, ``agent_id``, the agent values (and ``agent_type`` for
        per-type tables). Only succeeded runs have rows. Each row has its own run's keys only
        (a column another run reported is not added as None), and values keep their type:
        ints stay ints.

        Returns:
            The rows, ordered by run, step and agent.
        """
        model = _by_run_and_step(self.model)
        agents = [_by_run_and_step(self.agents)] + [
            _by_run_and_step(self.dataframe(table), agent_type=table.split(".", 1)[1])
            for table in self.tables
            if table.startswith("agents.")
        ]
        reserved = (*RUN_COLUMNS, *FAILURE_COLUMNS)
        rows: list[dict[str, Any]] = []
        for run in sorted(self._planned_runs(), key=lambda r: r.run_id):
            at_model = model.get(run.run_id, {})
            at_agents = [table.get(run.run_id, {}) for table in agents]
            parameters = {
                name if name not in reserved else f"{name} (parameter)": value
                for name, value in run.parameters.items()
            }
            for step in sorted({*at_model, *(s for table in at_agents for s in table)}):
                lead: dict[str, Any] = {
                    "run_id": run.run_id,
                    "iteration": run.iteration,
                    "step": step,
                }
                lead |= parameters
                lead["seed"] = run.seed
                collections = at_model.get(step, [])
                with_agents = [agent for table in at_agents for agent in table.get(step, ())]
                if with_agents:
                    values = {**lead, **(collections[-1] if collections else {})}
                    rows.extend([{**values, **agent} for agent in with_agents])
                else:
                    rows.extend([{**lead, **values} for values in collections])
        return rows

    def _planned_runs(self) -> list[_Planned]:
        """Every run's id, iteration, seed and parameters (from the one tables interface)."""
        plan = self._tables.plan()
        return [
            _Planned(int(run_id), int(iteration), None if _missing(seed) else int(seed), p or {})
            for run_id, iteration, seed, p in zip(
                plan["run_id"].tolist(),
                plan["iteration"].tolist(),
                plan["seed"].tolist(),
                self._tables.parameters(),
                strict=True,
            )
        ]

    def to_parquet(self, directory: str | pathlib.Path) -> list[pathlib.Path]:
        """Write every table to ``DIRECTORY/<table>.parquet``.

        Object columns that Arrow cannot type (mixed values, custom objects) are written as
        their ``repr`` strings, with a warning naming them.

        Args:
            directory: The directory; created if missing.

        Returns:
            The files written.
        """
        import pyarrow.parquet as pq  # noqa: PLC0415

        root = pathlib.Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        written = []
        for table in self.tables:
            path = root / f"{table}.parquet"
            pq.write_table(_arrow_table(self.dataframe(table), table), path)
            written.append(path)
        return written


def _store_state(path: pathlib.Path, *, counting: bool = False) -> Any:
    """A store's state, or the error :meth:`Results.open` raises for a path that is not one."""
    from mesa_batch.store.reader import check_format, read_state  # noqa: PLC0415

    if not path.is_dir():
        raise ConfigurationError(
            problem(
                "store",
                "must be an existing directory",
                str(path),
                "Check the path (it does not exist); a sweep with store=... creates it.",
            )
        )
    state = read_state(path, counting=counting)
    if not state.meta:
        raise ConfigurationError(
            problem(
                "store",
                "must be a mesa_batch store directory (it has no readable store.json)",
                str(path),
            )
        )
    check_format(path, state.meta)
    return state


def store_counts(
    store: str | pathlib.Path, *, session: str | None = None
) -> tuple[int, dict[str, int]]:
    """A store's number of runs and :meth:`Results.counts`, reading only what counting needs.

    The runs parts' run ids, keys, statuses and batches, one part at a time, and the plan's
    run ids and keys, counted in numpy (:func:`mesa_batch.store.counting.count_runs`): no
    times, failures or parameters, no pandas (``mesa-batch status`` of a million runs). A store
    whose plan and runs parts disagree is read the whole way instead (the same counts).

    Args:
        store: The store directory.
        session: A session id: the counts then also hold, as ``session``, how many runs have
            an outcome (succeeded or failed) written by that session's batches, e.g. how
            far a ``--retry-failed`` session is, whose runs still to do count as failed.

    Raises:
        ConfigurationError: As :meth:`Results.open`.
    """
    from mesa_batch.store.counting import count_runs  # noqa: PLC0415
    from mesa_batch.store.files import read_json  # noqa: PLC0415
    from mesa_batch.store.reader import check_format  # noqa: PLC0415

    path = pathlib.Path(store)
    meta = read_json(path / "store.json") if path.is_dir() else {}
    if meta:
        check_format(path, meta)
        counted = count_runs(path, meta, session=session)
        if counted is not None:
            return counted
    return state_counts(path, session=session)


def state_counts(path: pathlib.Path, *, session: str | None = None) -> tuple[int, dict[str, int]]:
    """:func:`store_counts` from the store's whole run state (outcomes and plan reconciled)."""
    state = _store_state(path, counting=True)
    statuses = state.runs["status"]
    done = int((statuses == Status.SUCCEEDED).sum())
    failed = int((statuses == Status.FAILED).sum())
    total = len(state.plan_columns(["run_id"]))
    counts = {"succeeded": done, "failed": failed, "pending": total - done - failed}
    if session is not None:
        counts["session"] = _of_session(state.runs["batch"], session)
    return total, counts


def _of_session(batches: pd.Series, session: str) -> int:
    """How many of ``batches`` (batch ids, maybe categorical) are batches of ``session``.

    A batch's session is read as the store names it (:func:`~mesa_batch.store.reader.session_of`:
    a batch id, or a compacted session's own id).
    """
    import pandas as pd  # noqa: PLC0415

    from mesa_batch.store.reader import session_of  # noqa: PLC0415

    def ours(names: Any) -> np.ndarray:
        return np.fromiter((session_of(str(n)) == session for n in names), bool, len(names))

    if isinstance(batches.dtype, pd.CategoricalDtype):  # one test per batch, not per run
        codes = batches.cat.codes.to_numpy()
        return int(ours(batches.cat.categories)[codes[codes >= 0]].sum())
    return int(ours(batches.dropna()).sum())


def _leading(runs: pd.DataFrame | None) -> list[str]:
    return [*RUN_COLUMNS, *FAILURE_COLUMNS, *DESIGN_COLUMNS]


def _outcomes_of(outcomes: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The outcome of each of the runs ``ids`` (in that order; missing where pending)."""
    if len(outcomes) and not outcomes["run_id"].is_unique:
        outcomes = outcomes.drop_duplicates("run_id")
    indexed = outcomes.set_index("run_id")
    if len(indexed) != len(ids) or not (indexed.index.to_numpy() == ids).all():
        indexed = indexed.reindex(ids)  # not every run finished: the others are pending
    return indexed


def _int_or_none(row: Any, name: str) -> int | None:
    try:
        value = row[name]
    except (KeyError, IndexError, TypeError):
        return None
    return None if _missing(value) else int(value)


def _missing(value: object) -> bool:
    import pandas as pd  # noqa: PLC0415

    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # array-like values
        return False


def _statuses(outcomes: pd.DataFrame) -> dict[int, RunStatus]:
    """A :class:`RunStatus` per outcome row."""
    found = {}
    for row in outcomes.to_dict("records"):
        failure = (
            Failure.from_row({str(k): v for k, v in row.items()})
            if row.get("status") == Status.FAILED
            else None
        )
        found[int(row["run_id"])] = RunStatus(
            run_id=int(row["run_id"]),
            key=str(row["key"]),
            status=str(row["status"]),
            steps=int(_number(row.get("steps"))),
            wall_time=_number(row.get("wall_time")),
            model_time=_number(row.get("model_time")),
            failure=failure,
            worker_time=_number(row.get("worker_time")),
        )
    return found


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


def parameter_columns(
    codes: np.ndarray, points: Sequence[Mapping[str, Any] | None]
) -> dict[str, Any]:
    """A column per parameter name (in order of first appearance) for the rows of a runs table.

    Row ``i`` has the parameters ``points[codes[i]]`` (none where the code is ``-1``): each
    column is built over the points, then taken by the codes. Runs whose parameters are
    unknown (a store that lost its plan) get None.
    """
    import pandas as pd  # noqa: PLC0415

    known = [p or {} for p in points]
    unknown = bool(len(codes)) and bool((codes < 0).any())
    rows = np.where(codes < 0, len(known), codes) if unknown else codes
    columns = {}
    for name in dict.fromkeys(n for point in known for n in point):
        values = [point.get(name) for point in known] + ([None] if unknown else [])
        column = _column(values)
        by_point = pd.Series(column, dtype=object if isinstance(column, pd.Series) else None)
        taken = by_point.to_numpy()[rows]
        columns[name] = pd.Series(taken, dtype=object) if isinstance(column, pd.Series) else taken
    return columns


def _column(values: list[Any]) -> Any:
    """Parameter values as a column: numeric when they all are, objects otherwise."""
    import pandas as pd  # noqa: PLC0415

    if all(isinstance(v, bool) for v in values) or all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        return values
    return pd.Series(values, dtype=object)


def _by_run_and_step(
    frame: pd.DataFrame, *, agent_type: str | None = None
) -> dict[int, dict[int, list[dict[str, Any]]]]:
    """A table's rows as dicts of plain Python values, by run and step (for ``to_records``).

    Values keep their column's type (numpy scalars unboxed, pandas' NA as None); a column that
    is None on every row of a run is one that run did not report, and is left out of its rows.
    """
    names = [str(c) for c in frame.columns if c not in ("run_id", "step")]
    columns = [_plain(frame[name]) for name in names]
    run_ids, steps = frame["run_id"].tolist(), frame["step"].tolist()
    grouped: dict[int, dict[int, list[dict[str, Any]]]] = {}
    start = 0
    while start < len(run_ids):
        end = start
        while end < len(run_ids) and run_ids[end] == run_ids[start]:
            end += 1
        kept = [
            (name, column)
            for name, column in zip(names, columns, strict=True)
            if any(value is not None for value in column[start:end])
        ]
        by_step = grouped.setdefault(int(run_ids[start]), {})
        for i in range(start, end):
            row = {name: column[i] for name, column in kept}
            if agent_type is not None:
                row["agent_type"] = agent_type
            by_step.setdefault(int(steps[i]), []).append(row)
        start = end
    return grouped


def _plain(column: pd.Series) -> list[Any]:
    """A column as Python values: ints stay ints, numpy scalars are unboxed, NA is None."""
    import pandas as pd  # noqa: PLC0415

    values = column.tolist()
    if column.dtype == object or isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        values = [
            v.item() if isinstance(v, np.generic) else None if v is pd.NA else v for v in values
        ]
    return values


def _arrow_table(frame: pd.DataFrame, table: str) -> Any:
    """A DataFrame as an Arrow table (pandas dtypes kept); untypable columns as repr text."""
    import pyarrow as pa  # noqa: PLC0415

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    _, as_text = arrow_table({name: frame[name] for name in frame.columns})
    converted = frame.assign(**{name: frame[name].map(repr) for name in as_text})
    warnings.warn(
        f"table {table!r}: columns {as_text} hold values Arrow cannot type; written as repr "
        "strings",
        UserWarning,
        stacklevel=3,
    )
    return pa.Table.from_pandas(converted, preserve_index=False)


def merge_chunks(
    target: dict[str, list[dict[str, np.ndarray]]], tables: Mapping[str, dict[str, np.ndarray]]
) -> None:
    """Add a batch's tables to the per-table chunk lists."""
    for name, columns in tables.items():
        if columns and len(next(iter(columns.values()))):
            target.setdefault(name, []).append(columns)
