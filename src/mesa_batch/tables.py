"""Where ``Results`` reads from: one small interface, over memory or over a store.

:class:`Tables` is everything :class:`~mesa_batch.results.Results` needs: the plan (one row per
run: ids, point, design, seed), the parameters, the outcomes (one row per finished run), the
designs, and the data tables, whole or column by column. :class:`MemoryTables` serves a sweep
kept in memory, :class:`StoreTables` a Parquet store (through
:class:`~mesa_batch.store.reader.StoreState`, which does all reading of a store). ``Results``
has one code path over both.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.columns import concat_columns
from mesa_batch.config import DesignInfo, RunConfiguration
from mesa_batch.outcomes import FAILURE_FIELDS, RunStatus

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.store.reader import StoreState

__all__ = ["MemoryTables", "StoreTables", "Tables", "plan_frame"]

#: The plan columns ``Results`` uses, in order.
PLAN_FIELDS: Final = (
    "run_id",
    "iteration",
    "key",
    "seed",
    "point",
    "point_key",
    "design",
    "max_steps",
    "data_collection_period",
)
#: The outcome columns ``Results`` uses, in order.
OUTCOME_FIELDS: Final = (
    "run_id",
    "key",
    "status",
    "steps",
    "wall_time",
    "model_time",
    "worker_time",
    *FAILURE_FIELDS,
)


class Tables(ABC):
    """A sweep's runs and data, as ``Results`` reads them."""

    @abstractmethod
    def plan(self) -> pd.DataFrame:
        """One row per run, finished or not (:data:`PLAN_FIELDS`), ordered by ``run_id``."""

    @abstractmethod
    def parameters(self) -> list[dict[str, Any] | None]:
        """Each plan row's parameters (None where the store does not know them)."""

    def parameter_codes(self) -> tuple[np.ndarray, list[dict[str, Any] | None]]:
        """The plan rows' parameters as distinct points and each row's point (``-1``: unknown).

        Replicas share one point: building columns from the points, then taking them by the
        codes, costs a Python object per point instead of per run.
        """
        points = self.parameters()
        return np.arange(len(points), dtype=np.int64), points

    def parameter_columns(self) -> dict[str, Any]:
        """One column per parameter name (in order of first appearance), a value per plan row.

        A column is numeric (an array) when every value is a number (or every value a bool),
        else Python objects (None where a run lacks the parameter or its parameters are
        unknown).
        """
        from mesa_batch.results import parameter_columns  # noqa: PLC0415

        return parameter_columns(*self.parameter_codes())

    def count(self) -> int:
        """The number of runs (planned, whatever their status)."""
        return len(self.plan())

    @abstractmethod
    def outcomes(self) -> pd.DataFrame:
        """One row per finished run (:data:`OUTCOME_FIELDS`)."""

    @abstractmethod
    def names(self) -> list[str]:
        """The data tables that have rows."""

    @abstractmethod
    def load(self, table: str, run_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """A data table (or the rows of some runs), ordered by ``run_id``."""

    @abstractmethod
    def scan(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        run_ids: Iterable[int] | None = None,
    ) -> Iterator[Any]:
        """A data table's rows as ``pyarrow.Table`` pieces, only the columns asked for."""

    def columns(self, table: str) -> list[str]:
        """A data table's column names (of every part, in order of first appearance)."""
        return [str(c) for c in self.load(table, []).columns]

    @abstractmethod
    def designs(self) -> dict[str, DesignInfo]:
        """The designs that made these runs, by id."""

    @abstractmethod
    def configurations(self) -> list[RunConfiguration]:
        """The configurations of these runs, as far as they can be re-created."""

    def configuration(self, run_id: int) -> RunConfiguration | None:
        """The configuration of one run (None if it cannot be re-created)."""
        for config in self.configurations():
            if config.run_id == run_id:
                return config
        return None

    @property
    def meta(self) -> dict[str, Any]:
        """What a store records about the sweep (``store.json``); empty in memory."""
        return {}

    @property
    def notes(self) -> list[str]:
        """What was found wrong while reading, one sentence each."""
        return []


def plan_frame(configs: Sequence[RunConfiguration]) -> pd.DataFrame:
    """The plan rows of configurations, built column by column."""
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame(
        {
            "run_id": np.fromiter((c.run_id for c in configs), np.int64, len(configs)),
            "iteration": np.fromiter((c.iteration for c in configs), np.int64, len(configs)),
            "key": [c.key for c in configs],
            "seed": pd.array([c.seed for c in configs], dtype="UInt64"),
            "point": np.fromiter((c.point for c in configs), np.int64, len(configs)),
            "point_key": [c.point_key for c in configs],
            "design": [c.design.id if c.design is not None else None for c in configs],
            "max_steps": np.fromiter((c.max_steps for c in configs), np.int64, len(configs)),
            "data_collection_period": np.fromiter(
                (c.data_collection_period for c in configs), np.int64, len(configs)
            ),
        }
    )


def outcome_frame(statuses: Iterable[RunStatus]) -> pd.DataFrame:
    """The outcome rows of run statuses."""
    import pandas as pd  # noqa: PLC0415

    columns: dict[str, list[Any]] = {name: [] for name in OUTCOME_FIELDS}
    for status in statuses:
        for name, value in status.row().items():
            columns[name].append(value)
    frame = pd.DataFrame(columns)
    frame["run_id"] = frame["run_id"].astype("int64")
    return frame


def _empty() -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "step": []})


def _arrow_pieces(
    frame: pd.DataFrame, columns: Sequence[str] | None, run_ids: Iterable[int] | None
) -> Iterator[Any]:
    import pyarrow as pa  # noqa: PLC0415

    if run_ids is not None:
        frame = frame[frame["run_id"].isin(np.fromiter(run_ids, np.int64))]
    if columns is not None:
        chosen = ["run_id", *(c for c in columns if c != "run_id")]
        frame = frame.reindex(columns=chosen)
    if len(frame):
        yield pa.Table.from_pandas(frame, preserve_index=False)


class MemoryTables(Tables):
    """A sweep kept in memory: configurations, statuses and the workers' columnar chunks.

    A table's chunks are consumed when it is first built, so its data is held once.
    """

    def __init__(
        self,
        configurations: Sequence[RunConfiguration],
        statuses: Mapping[int, RunStatus],
        chunks: Mapping[str, Sequence[dict[str, np.ndarray]]],
    ):
        self._configs = list(configurations)
        self._statuses = dict(statuses)
        self._chunks = {name: list(parts) for name, parts in chunks.items()}
        self._names = [name for name, parts in self._chunks.items() if parts]
        self._frames: dict[str, pd.DataFrame] = {}
        self._plan: pd.DataFrame | None = None
        self._outcomes: pd.DataFrame | None = None

    def plan(self) -> pd.DataFrame:  # noqa: D102
        if self._plan is None:
            self._plan = plan_frame(self._configs)
        return self._plan

    def parameters(self) -> list[dict[str, Any] | None]:  # noqa: D102
        return [dict(c.parameters) for c in self._configs]

    def outcomes(self) -> pd.DataFrame:  # noqa: D102
        if self._outcomes is None:
            self._outcomes = outcome_frame(self._statuses[k] for k in sorted(self._statuses))
        return self._outcomes

    def names(self) -> list[str]:  # noqa: D102
        return list(self._names)

    def load(self, table: str, run_ids: Iterable[int] | None = None) -> pd.DataFrame:  # noqa: D102
        frame = self._frames.get(table)
        if frame is None:
            frame = self._frames[table] = self._build(table)
        if run_ids is None:
            return frame
        return frame[frame["run_id"].isin(np.fromiter(run_ids, np.int64))].reset_index(drop=True)

    def _build(self, table: str) -> pd.DataFrame:
        import pandas as pd  # noqa: PLC0415

        chunks = sorted(self._chunks.pop(table, []), key=lambda c: int(c["run_id"][0]))
        if not chunks:
            return _empty()
        frame = pd.DataFrame(concat_columns(chunks, consume=True), copy=False)
        if not frame["run_id"].is_monotonic_increasing:
            frame = frame.sort_values("run_id", kind="stable", ignore_index=True)
        return frame

    def scan(  # noqa: D102
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        run_ids: Iterable[int] | None = None,
    ) -> Iterator[Any]:
        yield from _arrow_pieces(self.load(table), columns, run_ids)

    def designs(self) -> dict[str, DesignInfo]:  # noqa: D102
        return {c.design.id: c.design for c in self._configs if c.design is not None}

    def configurations(self) -> list[RunConfiguration]:  # noqa: D102
        return list(self._configs)

    def configuration(self, run_id: int) -> RunConfiguration | None:  # noqa: D102
        return next((c for c in self._configs if c.run_id == run_id), None)


class StoreTables(Tables):
    """A store's runs, read lazily: data tables from its Parquet parts, the plan on demand.

    Args:
        state: The store's state.
        run_ids: The store run ids of these results' runs (all planned runs by default).
        configurations: The configurations of these runs with the store's run ids, when the
            caller has them (the runner does): then the plan is not read from disk.
    """

    def __init__(
        self,
        state: StoreState,
        run_ids: np.ndarray | None = None,
        configurations: Sequence[RunConfiguration] | None = None,
    ):
        self._state = state
        self._configs = None if configurations is None else list(configurations)
        if run_ids is None and self._configs is not None:
            run_ids = np.unique(np.fromiter((c.run_id for c in self._configs), np.int64))
        self._run_ids = run_ids
        self._plan: pd.DataFrame | None = None
        self._outcomes: pd.DataFrame | None = None
        self._decoded: list[RunConfiguration] | None = None

    @property
    def state(self) -> StoreState:
        """The store's state."""
        return self._state

    @property
    def meta(self) -> dict[str, Any]:  # noqa: D102
        return self._state.meta

    @property
    def notes(self) -> list[str]:  # noqa: D102
        if self._configs is None:  # checking the plan against the runs parts makes notes
            self._state.plan_columns(["run_id"])
        return self._state.notes

    def _store_plan(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The store's plan rows of these runs (all columns, or only ``columns``)."""
        plan = self._state.plan if columns is None else self._state.plan_columns(columns)
        if self._run_ids is not None:
            plan = plan[plan["run_id"].isin(self._run_ids)]
        return plan

    def parameter_columns(self) -> dict[str, Any]:  # noqa: D102
        from mesa_batch.store.reader import plain_parameter_columns  # noqa: PLC0415

        if self._configs is None:
            found = plain_parameter_columns(self._store_plan(["parameters"]))
            if found is not None:
                return found
        return super().parameter_columns()

    def count(self) -> int:  # noqa: D102
        if self._plan is not None or self._configs is not None:
            return len(self.plan())
        return len(self._store_plan(["run_id"]))

    def plan(self) -> pd.DataFrame:  # noqa: D102
        import pandas as pd  # noqa: PLC0415

        if self._plan is None:
            if self._configs is not None:
                self._plan = plan_frame(sorted(self._configs, key=lambda c: c.run_id))
            else:
                plan = self._store_plan(PLAN_FIELDS)
                frame = plan.reindex(columns=list(PLAN_FIELDS)).reset_index(drop=True)
                if not isinstance(frame["seed"].dtype, pd.UInt64Dtype):  # not as read_plan reads
                    frame["seed"] = pd.array(
                        [None if pd.isna(s) else int(s) for s in frame["seed"].tolist()],
                        dtype="UInt64",
                    )
                frame["run_id"] = frame["run_id"].astype("int64")
                self._plan = frame
        return self._plan

    def parameters(self) -> list[dict[str, Any] | None]:  # noqa: D102
        if self._configs is not None:
            return [dict(c.parameters) for c in sorted(self._configs, key=lambda c: c.run_id)]
        return self._state.parameters(self._store_plan())

    def parameter_codes(self) -> tuple[np.ndarray, list[dict[str, Any] | None]]:  # noqa: D102
        from mesa_batch.store.reader import parameter_codes  # noqa: PLC0415

        if self._configs is not None:
            return super().parameter_codes()
        return parameter_codes(self._store_plan(["parameters"]))

    def outcomes(self) -> pd.DataFrame:  # noqa: D102
        if self._outcomes is None:
            runs = self._state.runs
            if self._run_ids is not None and len(runs):
                mine = runs["run_id"].isin(self._run_ids)
                runs = runs if mine.all() else runs[mine]
            self._outcomes = runs
        return self._outcomes

    def names(self) -> list[str]:  # noqa: D102
        return [name for name, parts in self._state.batches.items() if parts]

    def load(self, table: str, run_ids: Iterable[int] | None = None) -> pd.DataFrame:  # noqa: D102
        wanted = self._run_ids if run_ids is None else np.fromiter(run_ids, np.int64)
        frame = self._state.read_table(table, wanted)
        return frame if len(frame) else _empty()

    def scan(  # noqa: D102
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        run_ids: Iterable[int] | None = None,
    ) -> Iterator[Any]:
        wanted = self._run_ids if run_ids is None else np.fromiter(run_ids, np.int64)
        yield from self._state.scan(table, columns=columns, run_ids=wanted)

    def columns(self, table: str) -> list[str]:  # noqa: D102
        return self._state.column_names(table)

    def designs(self) -> dict[str, DesignInfo]:  # noqa: D102
        designs = dict(self._state.designs)
        if self._configs is not None:
            designs |= {c.design.id: c.design for c in self._configs if c.design is not None}
        return designs

    def configurations(self) -> list[RunConfiguration]:
        """The configurations re-created from the store (their model imported by its path).

        Runs whose parameters the store holds only as text, or whose model, scenario class or
        function reporters cannot be imported, are left out, with one warning saying how many.
        """
        if self._configs is not None:
            return list(self._configs)
        if self._decoded is None:
            self._decoded = self._decode(self._store_plan())
        return list(self._decoded)

    def configuration(self, run_id: int) -> RunConfiguration | None:  # noqa: D102
        if self._configs is not None or self._decoded is not None:
            return super().configuration(run_id)
        plan = self._store_plan()
        found = self._decode(plan[plan["run_id"] == run_id])
        return found[0] if found else None

    def _decode(self, plan: pd.DataFrame) -> list[RunConfiguration]:
        from mesa_batch.errors import MesaBatchError  # noqa: PLC0415
        from mesa_batch.store import records  # noqa: PLC0415

        if not len(plan):
            return []
        model_cls, reason = _model_class(self._state.meta.get("model"))
        designs = self._state.designs
        found: list[RunConfiguration] = []
        skipped: dict[str, int] = {}
        rows: list[dict[str, Any]] = plan.to_dict("records")  # type: ignore[assignment]
        for row, parameters in zip(rows, self._state.parameters(plan), strict=True):
            why = reason
            if why is None and (parameters is None or row.get("parameters_exact") is not True):
                why = "its parameters are kept only as text"
            if why is None and records.has_opaque(parameters):
                why = "its parameters are kept only as text"
            if why is None:
                try:
                    config = records.configuration(row, parameters or {}, model_cls, designs)
                except (MesaBatchError, ImportError, KeyError, TypeError, ValueError) as error:
                    why = f"{type(error).__name__}: {error}"
                else:
                    if config.key == row["key"]:
                        found.append(config)
                        continue
                    why = "its recorded parameters do not give its recorded key"
            skipped[why] = skipped.get(why, 0) + 1
        if skipped:
            reasons = "; ".join(f"{n} because {why}" for why, n in skipped.items())
            warnings.warn(
                f"{sum(skipped.values())} of {len(plan)} runs of the store "
                f"{self._state.root} cannot be re-created from it ({reasons}). Re-create them "
                "from your design: Results.open(store, configurations=design(...)).",
                UserWarning,
                stacklevel=4,
            )
        return found


def _model_class(path: object) -> tuple[Any, str | None]:
    """The model class a store names, imported (or None and why it cannot be)."""
    from mesa import Model  # noqa: PLC0415

    from mesa_batch.store.records import import_path  # noqa: PLC0415

    try:
        found = import_path(str(path))
    except ImportError as error:
        return None, f"its model cannot be imported ({error})"
    if not isinstance(found, type) or not issubclass(found, Model):
        return None, f"{path!r} is not a Mesa model class"
    return found, None
