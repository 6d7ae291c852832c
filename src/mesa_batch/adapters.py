"""One way to build, run and read any Mesa model, on Mesa 3.0 through Mesa 4.

The adapter decides, per model class and per model, three things:

**How to seed.** From :func:`mesa_batch.models.inspect_model`: the run's seed goes to the model
as ``rng=`` (Mesa >= 3.1), as ``seed=`` for models that declare it, or through the model's
``Scenario`` for models that take ``scenario=`` (built from the run's parameters and seed).

**How to step and stop.** ``model.step()`` until ``model.running`` is False or ``max_steps``
steps have run. Steps are counted here (Mesa 4 has no ``model.steps``), and every table's
``step`` column is that count: 0 is the state after ``__init__``.

**Where the data comes from**, in this order:

1. reporters given in the run configuration (collected here, at the steps asked for);
2. the model's Mesa ``DataCollector`` (model, agent and agent-type reporters, and tables);
3. the model's ``DataRecorder`` (``mesa.experimental.data_collection``, Mesa 3.5 and 4).

``data_collection_period`` then keeps, of the steps the source collected, ``-1``: the last one
(the final state); ``N``: every Nth step and the last one; ``1``: all. No row is ever made up
for a step that was not collected.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mesa_batch.columns import Columns
from mesa_batch.config import Reporter, RunConfiguration
from mesa_batch.errors import DataNotFoundError, problem
from mesa_batch.models import SeedArgument, inspect_model

__all__ = [
    "DataNotFoundError",
    "DataSource",
    "instantiate",
    "open_source",
    "selected_steps",
]

#: Columns mesa_batch adds to every table; a reported column with one of these names is renamed.
ID_COLUMNS = ("run_id", "step", "agent_id")


def instantiate(config: RunConfiguration) -> Any:
    """Build the model of a run, passing its parameters and its seed the model's way.

    Args:
        config: The run configuration.

    Returns:
        The new model.
    """
    signature = inspect_model(config.model_cls, config.scenario_cls)
    parameters = dict(config.parameters)
    if signature.seed_argument is SeedArgument.SCENARIO:
        assert signature.scenario_cls is not None
        kwargs = {k: v for k, v in parameters.items() if k in signature.init_names}
        fields = {
            k: v
            for k, v in parameters.items()
            if k in signature.scenario_fields or k not in signature.init_names
        }
        kwargs["scenario"] = signature.scenario_cls(rng=config.seed, **fields)
        return config.model_cls(**kwargs)
    assert signature.seed_argument is not None
    parameters[signature.seed_argument.value] = config.seed
    return config.model_cls(**parameters)


def selected_steps(collected: Sequence[int], period: int) -> set[int]:
    """The collected steps a ``data_collection_period`` keeps.

    Args:
        collected: The steps at which the source collected data.
        period: ``-1`` (the last collected step), ``N`` (every Nth step and the last collected
            one), or ``1`` (all).

    Returns:
        The steps to keep.

    Examples:
        >>> sorted(selected_steps([0, 1, 2, 3, 4, 5, 6, 7], 3))
        [0, 3, 6, 7]
        >>> sorted(selected_steps([5, 10, 15, 20], -1))
        [20]
    """
    if not collected:
        return set()
    last = max(collected)
    if period == -1:
        return {last}
    return {s for s in collected if s % period == 0} | {last}


class DataSource(ABC):
    """Where one model's data comes from; see :func:`open_source`.

    The runner calls :meth:`before_step` before each ``model.step()``, :meth:`after_step` after
    it (and once with step 0 after ``__init__``), then :meth:`tables` once at the end.
    """

    def __init__(self, period: int):
        self.period = period
        self.step = 0
        #: The model's clock after each step: (model.time, model.steps), for mapping keys.
        self.clock: dict[Any, int] = {}

    def before_step(self, step: int) -> None:
        """The model is about to make step number ``step`` (1-based)."""
        self.step = step

    def after_step(self, model: Any, step: int) -> None:
        """The model has made ``step`` steps (0: it was just built)."""
        self.step = step
        for clock in (getattr(model, "time", None), getattr(model, "steps", None)):
            if clock is not None:
                self.clock[clock] = step

    @abstractmethod
    def tables(self, model: Any, steps: int) -> dict[str, Columns]:
        """Read the run's tables after its last step (``steps`` steps were made)."""

    def steps_of(self, keys: Iterable[Any]) -> list[Any]:
        """Map a source's own time keys (``model.time`` or ``model.steps``) to step counts."""
        clock = self.clock
        return [clock.get(key, key) for key in keys]


def _select(columns: Columns, period: int, *, step: str = "step") -> Columns:
    """Keep the rows of the steps a period selects."""
    if period == 1:
        return columns
    steps = np.asarray(columns[step])
    keep = selected_steps(np.unique(steps).tolist(), period)
    mask = np.isin(steps, list(keep))
    if mask.all():
        return columns
    return {name: _take(values, mask) for name, values in columns.items()}


def _take(values: Any, mask: np.ndarray) -> Any:
    if isinstance(values, np.ndarray):
        return values[mask]
    return [v for v, keep in zip(values, mask, strict=True) if keep]


def _renamed(name: str) -> str:
    return f"{name} (reported)" if name in ID_COLUMNS else name


class ReporterSource(DataSource):
    """Collects the reporters of the run configuration, at the steps the period asks for."""

    def __init__(self, config: RunConfiguration):
        super().__init__(config.data_collection_period)
        self.model_reporters = _bind(config.model_reporters or {}, call_attributes=True)
        self.agent_reporters = _bind(config.agent_reporters or {}, call_attributes=False)
        self.model_rows: dict[str, list[Any]] = {"step": []}
        self.model_rows |= {_renamed(name): [] for name in self.model_reporters}
        self.agent_rows: dict[str, list[Any]] = {"step": [], "agent_id": []}
        self.agent_rows |= {_renamed(name): [] for name in self.agent_reporters}
        self.last_collected = -1

    def after_step(self, model: Any, step: int) -> None:
        super().after_step(model, step)
        if self.period != -1 and step % self.period == 0:
            self._collect(model, step)

    def _collect(self, model: Any, step: int) -> None:
        self.last_collected = step
        if self.model_reporters:
            self.model_rows["step"].append(step)
            for name, reporter in self.model_reporters.items():
                self.model_rows[_renamed(name)].append(reporter(model))
        if self.agent_reporters:
            agents = list(model.agents)
            self.agent_rows["step"].extend([step] * len(agents))
            self.agent_rows["agent_id"].extend(a.unique_id for a in agents)
            for name, reporter in self.agent_reporters.items():
                self.agent_rows[_renamed(name)].extend(map(reporter, agents))

    def tables(self, model: Any, steps: int) -> dict[str, Columns]:
        if self.last_collected != steps:
            self._collect(model, steps)
        tables = {}
        if self.model_reporters:
            tables["model"] = self.model_rows
        if self.agent_reporters:
            tables["agents"] = self.agent_rows
        return tables


def _bind(reporters: Mapping[str, Reporter], *, call_attributes: bool) -> dict[str, Callable]:
    bound: dict[str, Callable[[Any], Any]] = {}
    for name, reporter in reporters.items():
        if callable(reporter):
            bound[name] = reporter
        elif call_attributes:
            bound[name] = _model_attribute(reporter)
        else:
            bound[name] = operator.attrgetter(reporter)
    return bound


def _model_attribute(name: str) -> Callable[[Any], Any]:
    def report(model: Any) -> Any:
        value = getattr(model, name)
        return value() if callable(value) else value

    return report


class DataCollectorSource(DataSource):
    """Reads a Mesa ``DataCollector``: its public ``model_vars`` and ``tables``, and its agents.

    The collector's ``collect`` is wrapped on this one instance to note the step of every
    collection (model values carry no time of their own); collections made in ``__init__``
    belong to step 0.

    Agent rows are read from the collector's ``_agent_records`` when it has the layout Mesa 3.0
    to 4.0 give it (one list of ``(time, agent id, *values)`` tuples per collection time):
    building the public ``get_agent_vars_dataframe()`` costs a pandas frame with a MultiIndex
    per run, several times what the rows themselves cost, and the benchmarks showed it as the
    largest overhead of a run. Any other layout falls back to the public method;
    ``tests/test_adapters.py`` checks on every Mesa version that both paths give the same rows.
    """

    def __init__(self, collector: Any, period: int):
        super().__init__(period)
        self.collector = collector
        done = len(next(iter(collector.model_vars.values()), []))
        self.calls: list[int] = [0] * done
        original = collector.collect

        def collect(model: Any) -> Any:
            self.calls.append(self.step)
            return original(model)

        collector.collect = collect

    def tables(self, model: Any, steps: int) -> dict[str, Columns]:
        dc = self.collector
        tables: dict[str, Columns] = {}
        if dc.model_reporters:
            columns: Columns = {"step": self.calls[: len(next(iter(dc.model_vars.values())))]}
            columns |= {_renamed(name): list(values) for name, values in dc.model_vars.items()}
            tables["model"] = _select(columns, self.period)
        if dc.agent_reporters:
            tables["agents"] = self._agent_columns()
        for agent_type in dc.agenttype_reporters:
            frame = dc.get_agenttype_vars_dataframe(agent_type)
            tables[f"agents.{agent_type.__name__}"] = _select(self._agent_table(frame), self.period)
        for name, table in dc.tables.items():
            tables[f"table.{name}"] = {_renamed(col): list(values) for col, values in table.items()}
        return tables

    def _agent_columns(self) -> Columns:
        """The agent rows of the collected steps the period keeps, as Python sequences.

        Tuples (and the steps as an array), not an array per column: a batch joins its runs'
        values and makes one array per column, which costs less than an array per run when
        runs are small.
        """
        dc = self.collector
        names = [_renamed(name) for name in dc.agent_reporters]
        records = getattr(dc, "_agent_records", None)
        if not isinstance(records, dict):
            return _select(self._agent_table(dc.get_agent_vars_dataframe()), self.period)
        steps = dict(zip(records, self.steps_of(records), strict=True))
        keep = selected_steps(list(steps.values()), self.period)
        kept = [(steps[key], rows) for key, rows in records.items() if steps[key] in keep]
        rows = [row for _, rows in kept for row in rows]
        if not rows:
            return {"step": [], "agent_id": [], **{name: [] for name in names}}
        if not isinstance(rows[0], tuple) or len(rows[0]) != 2 + len(names):
            return _select(self._agent_table(dc.get_agent_vars_dataframe()), self.period)
        _, ids, *values = zip(*rows, strict=True)
        # one step per collection, not one lookup per row
        at = [step for step, _ in kept]
        counts = [len(rows_at) for _, rows_at in kept]
        step_column: Any
        if all(type(s) is int for s in at):  # the usual case: an array, joined with one copy
            step_column = np.repeat(np.asarray(at, dtype=np.int64), counts)
        else:
            step_column = [s for s, n in zip(at, counts, strict=True) for _ in range(n)]
        # the tuples zip made, as they are: a batch joins them (no copy per run)
        columns: Columns = {"step": step_column, "agent_id": ids}
        columns |= dict(zip(names, values, strict=True))
        return columns

    def _agent_table(self, frame: Any) -> Columns:
        frame = frame.reset_index()
        columns: Columns = {
            "step": self.steps_of(frame["Step"].tolist()),
            "agent_id": frame["AgentID"].to_numpy(),
        }
        for name in frame.columns[2:]:
            columns[_renamed(str(name))] = frame[name].to_numpy()
        return columns


class DataRecorderSource(DataSource):
    """Reads Mesa's ``DataRecorder`` datasets (``mesa.experimental.data_collection``).

    Model datasets become the ``model`` table, agent datasets the ``agents`` table (named
    ``model.<dataset>`` / ``agents.<dataset>`` when there are several), table datasets
    ``table.<dataset>``. The final state is captured with ``recorder.collect()``.
    """

    def __init__(self, recorder: Any, period: int):
        super().__init__(period)
        self.recorder = recorder

    def tables(self, model: Any, steps: int) -> dict[str, Columns]:
        self.recorder.collect()  # the final state (Mesa 3.5 never records it by itself)
        datasets = model.data_registry.datasets
        frames = {name: f for name, f in self.recorder.get_all_dataframes().items() if len(f)}
        kinds = {name: _kind(type(datasets.get(name)).__name__) for name in frames}
        counts = Counter(kinds.values())
        tables: dict[str, Columns] = {}
        for name, frame in frames.items():
            kind = kinds[name]
            table = kind if kind != "table" and counts[kind] == 1 else f"{kind}.{name}"
            tables[table] = self._columns(frame, agent=kind == "agents")
        return tables

    def _columns(self, frame: Any, *, agent: bool) -> Columns:
        ids = [c for c in ("unique_id", "agent_id") if agent and c in frame.columns][:1]
        keys = ["time", *ids]
        frame = frame.drop_duplicates(subset=keys, keep="last")
        columns: Columns = {"step": self.steps_of(frame["time"].tolist())}
        if ids:
            columns["agent_id"] = frame[ids[0]].to_numpy()
        for name in frame.columns:
            if name not in keys:
                columns[_renamed(str(name))] = frame[name].to_numpy()
        return _select(columns, self.period)


def _kind(dataset_type: str) -> str:
    if dataset_type == "ModelDataSet":
        return "model"
    if "Agent" in dataset_type:
        return "agents"
    return "table"


def open_source(model: Any, config: RunConfiguration) -> DataSource:
    """Choose where a model's data comes from (see the module docstring for the order).

    Args:
        model: The freshly built model.
        config: Its run configuration.

    Returns:
        The data source, ready to follow the run.

    Raises:
        DataNotFoundError: The model has no source of data; the message names what was looked
            for.
    """
    if config.model_reporters or config.agent_reporters:
        return ReporterSource(config)
    from mesa import DataCollector  # noqa: PLC0415

    attributes = vars(model)
    collectors = [v for v in attributes.values() if isinstance(v, DataCollector)]
    preferred = attributes.get("datacollector")
    if isinstance(preferred, DataCollector):
        collectors = [preferred]
    if collectors:
        return DataCollectorSource(collectors[0], config.data_collection_period)
    recorders = [v for v in attributes.values() if _is_recorder(v)]
    if recorders:
        return DataRecorderSource(recorders[0], config.data_collection_period)
    raise DataNotFoundError(
        problem(
            f"the data of {type(model).__qualname__}",
            "could not be found: looked for model_reporters/agent_reporters in the run "
            "configuration, a mesa.DataCollector attribute (such as self.datacollector) and a "
            "mesa.experimental.data_collection DataRecorder attribute on the model",
            type(model).__qualname__,
            "Give the design model_reporters={...} or agent_reporters={...}, or add a "
            "DataCollector to the model.",
        )
    )


def _is_recorder(value: object) -> bool:
    try:
        from mesa.experimental.data_collection import BaseDataRecorder  # noqa: PLC0415
    except ImportError:  # Mesa < 3.5
        return False
    return isinstance(value, BaseDataRecorder)
