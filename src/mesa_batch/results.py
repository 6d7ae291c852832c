"""``Results``: a sweep's tidy tables, joinable on ``run_id``.

==============  =====================================================================
table           one row per
==============  =====================================================================
``runs``        run: ids, key, seed, parameters, status, steps, wall time, failure
``model``       run x collected step: the model-level values
``agents``      run x collected step x agent: the agent-level values (never model values)
``agents.T``    the same for agent type ``T``, when the model reports by type
``table.N``     a row of the model's own table ``N`` (DataCollector tables, recorder tables)
==============  =====================================================================

Tables arrive from the workers as columns (numpy arrays) and become pandas DataFrames on first
access. ``to_records()`` gives the flat list of dicts of the original proposal (and of Mesa's
``batch_run``), ``to_parquet()`` writes one Parquet file per table.
"""

from __future__ import annotations

import dataclasses
import pathlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.columns import arrow_table, concat_columns
from mesa_batch.config import RunConfiguration
from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.execute import FAILED, SUCCEEDED, Failure, RunStatus

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.store import StoreState

__all__ = ["Results", "RunFailure"]

PENDING = "pending"
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
FAILURE_COLUMNS = ("failure_stage", "failure_type", "failure_message")


@dataclasses.dataclass(frozen=True, slots=True)
class RunFailure:
    """A failed run: what it ran with and why it failed.

    Attributes:
        run_id: The run's id.
        parameters: The run's parameters.
        seed: The run's seed.
        failure: The stage, exception type, message and traceback.
        configuration: The run's configuration, when the results know it (rerun the run alone
            with ``BatchRunner([configuration]).run()``); None for results read from a store
            without their configurations.
    """

    run_id: int
    parameters: Mapping[str, Any]
    seed: int
    failure: Failure
    configuration: RunConfiguration | None = None

    @property
    def stage(self) -> str:
        """Where it failed: ``instantiate``, ``run``, ``collect``, ``worker`` or ``transport``."""
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


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedRun:
    """What ``Results`` knows of every run, finished or not."""

    run_id: int
    iteration: int
    key: str
    seed: int
    parameters: Mapping[str, Any]

    @classmethod
    def of(cls, config: RunConfiguration) -> PlannedRun:
        """The planned run of a configuration."""
        assert config.seed is not None
        return cls(config.run_id, config.iteration, config.key, config.seed, config.parameters)


class _MemoryTables:
    """Tables held as the workers' columnar chunks; a table's chunks are consumed when built."""

    def __init__(self, chunks: Mapping[str, Sequence[dict[str, np.ndarray]]]):
        self._chunks = {name: list(parts) for name, parts in chunks.items()}

    def names(self) -> list[str]:
        return list(self._chunks)

    def load(self, table: str) -> pd.DataFrame:
        import pandas as pd  # noqa: PLC0415

        chunks = sorted(self._chunks.get(table) or [], key=lambda c: int(c["run_id"][0]))
        if not chunks:
            return _empty()
        columns = concat_columns(chunks, consume=True)
        self._chunks[table] = []
        frame = pd.DataFrame(columns, copy=False)
        if not frame["run_id"].is_monotonic_increasing:
            frame = frame.sort_values("run_id", kind="stable", ignore_index=True)
        return frame


class _StoreTables:
    """A store's runs, read lazily: data tables from its Parquet parts, the plan on demand.

    Args:
        state: The store's state.
        run_ids: The store run ids of these results' runs, sorted.
    """

    def __init__(self, state: StoreState, run_ids: np.ndarray):
        self._state = state
        self._run_ids = run_ids
        mine = state.runs["run_id"].isin(run_ids)
        #: The outcome rows of these runs (columnar: counts and overhead without a Python
        #: object per run).
        self.outcomes: pd.DataFrame = state.runs if mine.all() else state.runs[mine]

    @property
    def planned_count(self) -> int:
        """How many runs these results have, finished or not."""
        return len(self._run_ids)

    def names(self) -> list[str]:
        return [name for name, parts in self._state.batches.items() if parts]

    def load(self, table: str) -> pd.DataFrame:
        frame = self._state.read_table(table, self._run_ids)
        return frame if len(frame) else _empty()

    def plan(self) -> pd.DataFrame:
        """The plan rows of these runs, with every column (read from disk now)."""
        full = self._state.full_plan()
        return full[full["run_id"].isin(self._run_ids)]

    def runs(self) -> tuple[list[PlannedRun], dict[int, RunStatus]]:
        """A :class:`PlannedRun` per run and a :class:`RunStatus` per finished run."""
        from mesa_batch.store import plan_parameters, run_statuses  # noqa: PLC0415

        plan = self.plan()
        planned = [
            PlannedRun(int(run_id), int(iteration), str(key), int(seed), parameters)
            for run_id, iteration, key, seed, parameters in zip(
                plan["run_id"],
                plan["iteration"],
                plan["key"],
                plan["seed"],
                plan_parameters(plan),
                strict=True,
            )
        ]
        return planned, {s.run_id: s for s in run_statuses(self.outcomes)}


def _empty() -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "step": []})


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
    ):
        self._setup(
            [PlannedRun.of(c) for c in configurations],
            statuses,
            _MemoryTables(chunks),
            configurations,
        )

    def _setup(
        self,
        planned: Sequence[PlannedRun],
        statuses: Mapping[int, RunStatus],
        tables: _MemoryTables | _StoreTables,
        configurations: Iterable[RunConfiguration],
    ) -> None:
        self._planned: list[PlannedRun] | None = list(planned)
        self._statuses: dict[int, RunStatus] | None = dict(statuses)
        self._tables = tables
        self._configurations = {c.run_id: c for c in configurations}
        self._frames: dict[str, pd.DataFrame] = {}

    @classmethod
    def open(
        cls,
        store: str | pathlib.Path,
        *,
        configurations: Iterable[RunConfiguration] | None = None,
    ) -> Results:
        """Read the results in a store directory (lazily: a table is read when first used).

        Args:
            store: The store directory (``BatchRunner(..., store=...)``).
            configurations: Only the runs of these configurations (all runs by default); they
                also become the failures' ``configuration``.

        Returns:
            The results, with the same tables an in-memory run gives.

        Raises:
            ConfigurationError: The directory is not a mesa_batch store.
        """
        return cls._from_store(store, configurations)

    @classmethod
    def _from_store(
        cls,
        store: str | pathlib.Path,
        configurations: Iterable[RunConfiguration] | None,
        *,
        store_run_ids: bool = False,
    ) -> Results:
        """:meth:`open`; with ``store_run_ids``, the configurations carry the store's run ids.

        The runner's configurations do (the store renumbered them), and then the plan need not
        be read to find their runs.
        """
        from mesa_batch.store import (  # noqa: PLC0415
            read_state,
            release_arrow_memory,
            string_isin,
        )

        state = read_state(store)
        if not state.meta:
            raise ConfigurationError(
                problem("store", "must be a mesa_batch store directory", str(store))
            )
        configs = list(configurations) if configurations is not None else []
        if configurations is None:
            run_ids = state.planned_run_ids()
        elif store_run_ids:
            run_ids = np.unique(np.fromiter((c.run_id for c in configs), np.int64, len(configs)))
        else:
            plan = state.plan
            wanted = string_isin(plan["key"], {c.key for c in configs})
            run_ids = np.sort(plan.loc[wanted, "run_id"].to_numpy(dtype=np.int64))
        results = cls.__new__(cls)
        results._setup([], {}, _StoreTables(state, run_ids), configs)
        # a store may hold 100,000s of runs: a Python object per run is made on first use
        results._planned = results._statuses = None
        release_arrow_memory()
        return results

    @property
    def planned(self) -> list[PlannedRun]:
        """Every run of these results, finished or not."""
        if self._planned is None:
            self._load_runs()
        assert self._planned is not None
        return self._planned

    @property
    def statuses(self) -> dict[int, RunStatus]:
        """The outcome of every run that finished, by run id."""
        if self._statuses is None:
            self._load_runs()
        assert self._statuses is not None
        return self._statuses

    def _load_runs(self) -> None:
        assert isinstance(self._tables, _StoreTables)
        self._planned, self._statuses = self._tables.runs()

    def _columnar(self) -> _StoreTables | None:
        """The store's runs while no Python object per run was made: read them by column."""
        if self._statuses is None and isinstance(self._tables, _StoreTables):
            return self._tables
        return None

    @property
    def configurations(self) -> list[RunConfiguration]:
        """The configurations these results know (all of them, unless read from a store)."""
        return list(self._configurations.values())

    # -- the tables ----------------------------------------------------------------------

    @property
    def tables(self) -> list[str]:
        """The names of the tables: ``runs``, then ``model``, ``agents`` and others present."""
        order = {"model": 0, "agents": 1}
        return ["runs", *sorted(self._tables.names(), key=lambda n: (order.get(n, 2), n))]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: ids, key, seed, status, steps, wall time, failure, parameters."""
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
            if table not in self._tables.names() and table not in ("model", "agents"):
                raise ConfigurationError(problem("table", f"must be one of {self.tables}", table))
            self._frames[table] = self._tables.load(table)
        frame = self._frames[table]
        if not with_parameters:
            return frame
        parameters = self.runs[["run_id", "iteration", "seed", *self.parameter_names]]
        return parameters.merge(frame, on="run_id", how="right", suffixes=(" (parameter)", ""))

    @property
    def parameter_names(self) -> list[str]:
        """The parameter names of the sweep, in order of first appearance."""
        names = dict.fromkeys(n for run in self.planned for n in run.parameters)
        return list(names)

    def _runs_frame(self) -> pd.DataFrame:
        import pandas as pd  # noqa: PLC0415

        store = self._columnar()
        if store is not None:
            return _store_runs_frame(store)
        columns: dict[str, list[Any]] = {name: [] for name in (*RUN_COLUMNS, *FAILURE_COLUMNS)}
        for config in self.planned:
            status = self.statuses.get(config.run_id)
            failure = status.failure if status is not None else None
            row = {
                "run_id": config.run_id,
                "iteration": config.iteration,
                "key": config.key,
                "seed": config.seed,
                "status": status.status if status is not None else PENDING,
                "steps": status.steps if status is not None else None,
                "wall_time": status.wall_time if status is not None else None,
                "model_time": status.model_time if status is not None else None,
                "worker_time": status.worker_time if status is not None else None,
                "failure_stage": failure.stage if failure else None,
                "failure_type": failure.exception_type if failure else None,
                "failure_message": failure.message if failure else None,
            }
            for name, value in row.items():
                columns[name].append(value)
        data: dict[str, Any] = dict(columns)
        data["seed"] = pd.array(columns["seed"], dtype="UInt64")
        data["steps"] = pd.array(columns["steps"], dtype="Int64")
        for name in ("wall_time", "model_time", "worker_time"):
            data[name] = pd.array(columns[name], dtype="Float64")
        _add_parameter_columns(data, [run.parameters for run in self.planned])
        return pd.DataFrame(data)

    # -- failures and summary -------------------------------------------------------------

    @property
    def failures(self) -> list[RunFailure]:
        """The failed runs, by run id, with their configurations and failures."""
        by_id = {run.run_id: run for run in self.planned}
        return [
            RunFailure(
                run_id,
                by_id[run_id].parameters,
                by_id[run_id].seed,
                status.failure,
                self._configurations.get(run_id),
            )
            for run_id, status in sorted(self.statuses.items())
            if status.status == FAILED and status.failure is not None and run_id in by_id
        ]

    @property
    def runner_overhead(self) -> float | None:
        """The share of the workers' time not spent inside model code (None before any run).

        Worker time is each run's share of its batch's time in its worker (building, stepping,
        collecting, joining tables, writing parts); model time is the time inside the model's
        ``__init__`` and ``step()``. Reading the model's data counts as overhead.
        """
        store = self._columnar()
        if store is not None:
            outcomes = store.outcomes
            if "worker_time" not in outcomes:  # written before worker times were recorded
                return None
            timed = outcomes[outcomes["worker_time"].fillna(0.0) > 0]
            worker, model = float(timed["worker_time"].sum()), float(timed["model_time"].sum())
        else:
            statuses = [s for s in self.statuses.values() if s.worker_time > 0]
            worker = sum(s.worker_time for s in statuses)
            model = sum(s.model_time for s in statuses)
        if not worker:
            return None
        return max(0.0, 1 - model / worker)

    def counts(self) -> dict[str, int]:
        """How many runs succeeded, failed and are pending."""
        store = self._columnar()
        if store is not None:
            statuses = store.outcomes["status"]
            done, failed = int((statuses == SUCCEEDED).sum()), int((statuses == FAILED).sum())
            pending = store.planned_count - done - failed
            return {"succeeded": done, "failed": failed, "pending": pending}
        counts = {"succeeded": 0, "failed": 0, "pending": 0}
        for run in self.planned:
            status = self.statuses.get(run.run_id)
            counts[status.status if status is not None else PENDING] += 1
        return counts

    def summary(self) -> str:
        """A short text summary: run counts, tables with their row counts, failures."""
        counts = self.counts()
        head = f"{len(self.planned)} runs: {counts['succeeded']} succeeded, "
        lines = [head + f"{counts['failed']} failed, {counts['pending']} pending"]
        for table in self.tables[1:]:
            frame = self.dataframe(table)
            values = [c for c in frame.columns if c not in ("run_id", "step", "agent_id")]
            lines.append(f"  {table}: {len(frame)} rows; columns {', '.join(map(str, values))}")
        overhead = self.runner_overhead
        if overhead is not None:
            lines.append(f"  runner overhead: {overhead:.1%} of worker time outside model code")
        lines.extend(f"  failed: {failure!r}" for failure in self.failures[:5])
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = self.counts()
        return (
            f"<Results: {len(self.planned)} runs ({counts['succeeded']} succeeded, "
            f"{counts['failed']} failed, {counts['pending']} pending); tables {self.tables}>"
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
        for run in sorted(self.planned, key=lambda r: r.run_id):
            at_model = model.get(run.run_id, {})
            at_agents = [table.get(run.run_id, {}) for table in agents]
            parameters = {
                name if name not in reserved else f"{name} (parameter)": value
                for name, value in run.parameters.items()
            }
            for step in sorted({*at_model, *(s for table in at_agents for s in table)}):
                lead = {"run_id": run.run_id, "iteration": run.iteration, "step": step}
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


def _store_runs_frame(store: _StoreTables) -> pd.DataFrame:
    """:meth:`Results.runs` from a store's plan and outcome tables, column by column."""
    import pandas as pd  # noqa: PLC0415

    from mesa_batch.store import plan_parameters  # noqa: PLC0415

    plan = store.plan()
    run_ids = plan["run_id"].to_numpy()
    outcomes = store.outcomes.drop_duplicates("run_id").set_index("run_id").reindex(run_ids)
    missing = outcomes["status"].isna().to_numpy()

    def column(name: str, *, number: bool = False) -> list[Any]:
        values = outcomes[name] if name in outcomes else pd.Series(None, index=outcomes.index)
        if number:  # a run's unknown count or time is 0, as in its RunStatus
            values = values.astype(float).fillna(0.0)
        return [None if gone else v for v, gone in zip(values.tolist(), missing, strict=True)]

    data: dict[str, Any] = {
        "run_id": run_ids.tolist(),
        "iteration": plan["iteration"].tolist(),
        "key": plan["key"].tolist(),
        "seed": pd.array(plan["seed"].tolist(), dtype="UInt64"),
        "status": [PENDING if s is None else s for s in column("status")],
        "steps": pd.array(column("steps", number=True), dtype="Int64"),
    }
    for name in ("wall_time", "model_time", "worker_time"):
        data[name] = pd.array(column(name, number=True), dtype="Float64")
    for name in FAILURE_COLUMNS:
        data[name] = [v if isinstance(v, str) else None for v in column(name)]
    _add_parameter_columns(data, plan_parameters(plan))
    return pd.DataFrame(data)


def _add_parameter_columns(data: dict[str, Any], parameters: Sequence[Mapping[str, Any]]) -> None:
    """Add a column per parameter name (in order of first appearance) to a runs table.

    A parameter named like a runs column gets the suffix `` (parameter)``.
    """
    for name in dict.fromkeys(n for point in parameters for n in point):
        values = [point.get(name) for point in parameters]
        data[name if name not in data else f"{name} (parameter)"] = _column(values)


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
