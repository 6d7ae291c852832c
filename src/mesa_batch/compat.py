"""A drop-in ``batch_run``: Mesa 3.5.1's signature and output, on Mesa 3 and Mesa 4.

``from mesa_batch import batch_run`` is the only change existing code needs. The rows have
Mesa's keys (``RunId``, ``iteration``, ``Step``, the parameters, the seed under the name the
model takes it — ``rng`` or ``seed`` —, the model reporters, ``AgentID`` and the agent reporters)
and Mesa's order. It differs only where Mesa 3.5.1 loses data, hangs or returns nothing; each
difference is listed in ``docs/migration.md``.

The runs go through :class:`~mesa_batch.BatchRunner`; the rows are then built from its tables
without pandas: each table is split by run once, its columns become Python lists, and a row is
one copy of the run's leading values updated with an agent's values.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.adapters import ID_COLUMNS, instantiate
from mesa_batch.config import RunConfiguration, with_settings
from mesa_batch.designs._core import cross
from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.keys import master_seed, run_seed
from mesa_batch.models import check_model_class
from mesa_batch.runner import BatchRunner
from mesa_batch.space import refuse_file_object

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["batch_run"]


def batch_run(  # noqa: PLR0917 - Mesa's signature, positional arguments included
    model_cls: type,
    parameters: Mapping[str, Any],
    number_processes: int | None = 1,
    iterations: int | None = None,
    data_collection_period: int = -1,
    max_steps: int = 1000,
    display_progress: bool = True,
    rng: Any = None,
) -> list[dict[str, Any]]:
    """Batch run a Mesa model over every combination of parameter values, like Mesa's.

    Args:
        model_cls: The model class.
        parameters: Parameter names mapped to a value or an iterable of values to sweep
            (strings, dicts and bytes are single values; file objects are refused).
        number_processes: ``1`` runs in this process, ``None`` uses all CPUs.
        iterations: Deprecated, as in Mesa: ``iterations=n`` is ``rng=[None] * n``.
        data_collection_period: ``-1``: the last collection; ``1``: every collection; ``N``:
            every Nth collection, and the last one.
        max_steps: The most steps a run takes; ``0`` gives the state after ``__init__``.
        display_progress: Show a progress bar.
        rng: A seed, or an iterable of seeds: one iteration per seed, every parameter
            combination of an iteration runs with that iteration's seed. No seeds (``[]``, or
            ``iterations=0``) give no rows.

    Returns:
        One dict per (run, collected step, agent), or per (run, collected step) without agent
        data, in run order.

    Raises:
        ValueError: Both ``iterations`` and ``rng`` are given, a parameter sweeps an empty
            iterable or is a file object, or ``max_steps`` is negative.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> rows = batch_run(BoltzmannWealth, {"n": [5, 10]}, max_steps=3, rng=42,
        ...                  display_progress=False)
        >>> len(rows), rows[0]["RunId"], rows[0]["Step"], rows[0]["n"], rows[0]["AgentID"]
        (15, 0, 3, 5, 1)
        >>> {"Gini", "Wealth"} <= set(rows[0])
        True
    """
    if iterations is not None and rng is not None:
        raise ValueError(
            "you cannot use both iterations and rng at the same time. Please only use rng."
        )
    if iterations is not None:
        warnings.warn(
            "The `iterations` keyword argument is deprecated. Use `rng` instead (e.g. "
            "`iterations=5` is equivalent to `rng=[None] * 5`).",
            DeprecationWarning,
            stacklevel=2,
        )
        rng = [None] * iterations
    seeds = list(rng) if isinstance(rng, Iterable) else [rng]
    check_model_class(model_cls)
    _check_max_steps(max_steps)
    combinations = make_model_kwargs(parameters)
    if not seeds:
        return []
    configs, shown = _configurations(model_cls, combinations, seeds, max_steps=max_steps)
    legacy = _legacy_collector(configs[0])
    if data_collection_period == -1 and not legacy:
        # the workers keep the final collection only, as Mesa does: far less data to move
        configs = with_settings(configs, data_collection_period=-1)
    # as Mesa's, each run runs once: no reproducibility check (BatchRunner's default runs ~2%
    # of a sweep again), which on many small runs would cost more than it says in rows
    runner = BatchRunner(configs, number_processes, display_progress, reproducibility_checks=0)
    rows = _Rows(runner.run(), _seed_name(model_cls), data_collection_period, legacy=legacy)
    return rows.build(configs, shown)


def _check_max_steps(max_steps: object) -> None:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise ConfigurationError(
            problem(
                "max_steps",
                "must be an int >= 0",
                max_steps,
                "Pass the number of steps a run may take at most, e.g. 100 (0: the state "
                "after __init__ only).",
            )
        )


def _seed_name(model_cls: type) -> str:
    """The key of the seed in the rows: ``seed`` for models that declare it, else ``rng``."""
    return "seed" if "seed" in inspect.signature(model_cls).parameters else "rng"


def make_model_kwargs(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of parameter values, in Mesa's order (last name fastest).

    A string, bytes or a dict is one value; any other iterable is swept; anything else is
    one value. An empty iterable is an error, and so is a file object (it would be swept over
    its lines).

    Args:
        parameters: Names mapped to a value or an iterable of values.

    Returns:
        One dict of keyword arguments per combination.

    Raises:
        ValueError: A parameter sweeps an empty iterable, or is a file object
            (:class:`~mesa_batch.ParameterError`).

    Examples:
        >>> make_model_kwargs({"a": range(2), "b": "xy", "c": {"k": 1}})
        [{'a': 0, 'b': 'xy', 'c': {'k': 1}}, {'a': 1, 'b': 'xy', 'c': {'k': 1}}]
    """
    for name, values in parameters.items():
        refuse_file_object(values, what=f"parameters[{name!r}]")
    columns = []
    for name, values in parameters.items():
        swept = _sweep(values)
        if swept is not None and not swept:
            raise ValueError(
                f"Parameter '{name}' contains an empty iterable, which is not allowed."
            )
        columns.append([(name, v) for v in swept] if swept is not None else [(name, values)])
    return [dict(combination) for combination in itertools.product(*columns)]


def _sweep(values: Any) -> list[Any] | None:
    if isinstance(values, str | bytes | bytearray | Mapping):
        return None
    if isinstance(values, Iterable):
        return list(values)
    return None


def _configurations(
    model_cls: type,
    combinations: Sequence[dict[str, Any]],
    seeds: Sequence[Any],
    *,
    max_steps: int,
) -> tuple[list[RunConfiguration], list[Any]]:
    """One configuration per (seed, combination), seed outer; and the seed each row shows.

    Every combination of an iteration runs with that iteration's seed, as in Mesa. An int seed
    is passed to the model unchanged; None draws a recorded seed; other seed-likes
    (SeedSequence, lists of ints) are reduced to an int seed. Every run collects every
    collection (Mesa's periods count collections, not steps); ``batch_run`` may narrow that.
    """
    seeds_of = [_int_seed(seed) for seed in seeds]
    configs = cross(
        model_cls,
        combinations,
        len(seeds),
        lambda keys: lambda iteration: np.full(len(keys) // 16, seeds_of[iteration], np.uint64),
        max_steps=max(max_steps, 1),
        data_collection_period=1,
    )
    if max_steps == 0:
        # RunConfiguration asks for at least one step (the designs' rule); Mesa's max_steps=0
        # is the state after __init__, which the runner gives for a copy with 0 steps
        configs = with_settings(configs, max_steps=0)
    shown = [seed for seed in seeds for _ in combinations]
    return configs, shown


def _int_seed(seed: Any) -> int:
    if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**64:
        return seed
    if seed is None:
        return run_seed(master_seed(None), "0" * 32, 0)
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])


def _legacy_collector(config: RunConfiguration) -> bool:
    """Whether Mesa 3.5.1 would read this model's DataCollector with its legacy rule.

    It does for a collector without ``_collection_steps`` (which Mesa 3.5's collectors have).
    That is a property of the model's instance, so the first run's model is built here, once;
    a model that cannot be built is not legacy (its runs fail, and are reported, as usual).
    """
    from mesa import DataCollector  # noqa: PLC0415

    if not hasattr(DataCollector(), "_collection_steps"):
        return False  # an older Mesa: 3.5.1's collectors would have it
    try:
        model = instantiate(config)
    except Exception:  # the run itself records the failure
        return False
    collector = getattr(model, "datacollector", None)
    return isinstance(collector, DataCollector) and not hasattr(collector, "_collection_steps")


def _mesa_name(name: str) -> str:
    """A reported column's own name (mesa_batch renames ``agent_id`` to ``agent_id (reported)``).

    Mesa's rows have no such clash: its id keys are ``AgentID``, ``Step`` and ``RunId``.
    """
    stem = name.removesuffix(" (reported)")
    return stem if stem != name and stem in ID_COLUMNS else name


class _Table:
    """One table split by run and step once; its columns as Python lists.

    ``.tolist()`` turns a column into Python values of its own type (ints stay ints). A column
    that a run did not report is None on all of that run's rows (the runs' tables are joined
    column-wise, missing columns filled with None): such a column is left out of the run's rows.
    """

    def __init__(self, frame: pd.DataFrame, *, agents: bool):
        run_ids = frame["run_id"].to_numpy()
        steps = frame["step"].to_numpy()
        # the rows of each run and step (a group) are contiguous: per group, its first row and
        # step; per run, the range of its groups (each run's rows together, as results are)
        self._groups: dict[int, tuple[int, int]] = {}
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._group_steps: list[int] = []
        #: per run, its rows' range and, per step, its rows' range: for runs split apart
        self._split: tuple[dict[int, tuple[int, int]], dict[int, dict[int, tuple[int, int]]]]
        self._split = ({}, {})
        if len(frame):
            new = np.r_[True, (run_ids[1:] != run_ids[:-1]) | (steps[1:] != steps[:-1])]
            starts = np.flatnonzero(new)
            runs = run_ids[starts]
            firsts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
            if len(np.unique(runs[firsts])) == len(firsts):
                lasts = [*firsts[1:].tolist(), len(starts)]
                pairs = zip(firsts.tolist(), lasts, strict=True)
                self._groups = dict(zip(runs[firsts].tolist(), pairs, strict=True))
                self._starts = starts.tolist()
                self._ends = [*self._starts[1:], len(frame)]
                self._group_steps = steps[starts].tolist()
            else:
                self._split = _split_runs(run_ids, steps, starts.tolist())
        self.steps: list[int] = steps.tolist()
        ids = ["agent_id"] if agents else []
        values = [c for c in frame.columns if c not in ("run_id", "step", *ids)]
        self.names = ["AgentID" if c == "agent_id" else _mesa_name(str(c)) for c in ids + values]
        self.columns = [frame[c].tolist() for c in ids + values]
        # per column, how many rows up to each row are None (None: the column has no None)
        self.nones = [
            _none_counts(column) if frame[c].dtype == object else None
            for c, column in zip(ids + values, self.columns, strict=True)
        ]

    def segments(self, run_id: int) -> dict[int, tuple[int, int]]:
        """A run's rows per step: the range of the step's (last) rows."""
        groups = self._groups.get(run_id)
        if groups is None:
            return self._split[1].get(run_id, {})
        a, b = groups
        ranges = zip(self._starts[a:b], self._ends[a:b], strict=True)
        return dict(zip(self._group_steps[a:b], ranges, strict=True))

    def range(self, run_id: int) -> tuple[int, int]:
        """The range of a run's rows ((0, 0) for a run without rows)."""
        groups = self._groups.get(run_id)
        if groups is None:
            return self._split[0].get(run_id, (0, 0))
        return self._starts[groups[0]], self._ends[groups[1] - 1]

    def present(self, run_id: int) -> list[int]:
        """The columns a run reported."""
        start, end = self.range(run_id)
        kept = []
        for i, counts in enumerate(self.nones):
            if counts is not None:
                before = counts[start - 1] if start else 0
                if counts[end - 1] - before == end - start:
                    continue
            kept.append(i)
        return kept


def _split_runs(
    run_ids: np.ndarray, steps: np.ndarray, starts: list[int]
) -> tuple[dict[int, tuple[int, int]], dict[int, dict[int, tuple[int, int]]]]:
    """Per run, its rows' range and its steps' ranges, for tables whose runs are split apart."""
    ranges: dict[int, tuple[int, int]] = {}
    segments: dict[int, dict[int, tuple[int, int]]] = {}
    ends = [*starts[1:], len(run_ids)]
    for start, end in zip(starts, ends, strict=True):
        run_id, step = int(run_ids[start]), int(steps[start])
        first = ranges.get(run_id, (start, end))[0]
        ranges[run_id] = (first, end)
        segments.setdefault(run_id, {})[step] = (start, end)
    return ranges, segments


def _none_counts(values: list[Any]) -> np.ndarray | None:
    missing = np.fromiter((v is None for v in values), bool, len(values))
    return np.cumsum(missing) if missing.any() else None


@functools.cache
def _row_maker(names: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """``make(base, *values)``: a copy of ``base`` with ``names`` set to ``values``.

    Generated like ``dataclasses`` and ``namedtuple`` generate their methods (the names are
    bound as variables, never pasted into the code): one dict display per row, which is what
    makes a row cost what Mesa's costs.
    """
    keys: dict[str, Any] = {f"_k{i}": name for i, name in enumerate(names)}
    arguments = ", ".join(f"_v{i}" for i in range(len(names)))
    items = ", ".join(f"_k{i}: _v{i}" for i in range(len(names)))
    code = f"def make(base, {arguments}):\n    return {{**base, {items}}}\n"
    exec(code, keys)  # the code holds indices only; the names are its variables
    make: Callable[..., dict[str, Any]] = keys["make"]
    return make


class _Run:
    """One run's rows of one table: its reported columns, and its rows' range per step."""

    def __init__(self, table: _Table, run_id: int):
        self.segments = table.segments(run_id)
        kept = table.present(run_id) if self.segments else []
        self.names = tuple(table.names[i] for i in kept)
        self.columns = [table.columns[i] for i in kept]
        self.range = table.range(run_id)
        self.steps = table.steps

    def values(self, row: int) -> dict[str, Any]:
        """One row's values by name."""
        return {name: column[row] for name, column in zip(self.names, self.columns, strict=True)}

    def last(self, step: int) -> dict[str, Any]:
        """The values of the last row at ``step`` (Mesa looks model values up with bisect)."""
        segment = self.segments.get(step)
        return self.values(segment[1] - 1) if segment else {}

    def collected(self) -> list[int]:
        """The step of every row, in order."""
        start, end = self.range
        return self.steps[start:end]

    def rows(self, base: dict[str, Any], step: int) -> list[dict[str, Any]]:
        """``base`` updated with each row's values at ``step``."""
        segment = self.segments.get(step)
        if segment is None:
            return []
        start, end = segment
        make = _row_maker(self.names)
        return list(
            map(make, itertools.repeat(base, end - start), *(c[start:end] for c in self.columns))
        )


class _Rows:
    """Mesa's rows from a sweep's results."""

    def __init__(self, results: Results, seed_name: str, period: int, *, legacy: bool):
        self.results = results
        self.seed_name = seed_name
        self.period = period
        self.legacy = legacy
        self.model = _Table(results.model, agents=False)
        names = [t for t in results.tables if t.startswith("agents")]
        self.agents = [_Table(results.dataframe(t), agents=True) for t in names]
        #: where Mesa's legacy rule finds the collected steps: the agent_reporters' records
        self.records = names.index("agents") if "agents" in names else None

    def build(
        self, configs: Sequence[RunConfiguration], shown: Sequence[Any]
    ) -> list[dict[str, Any]]:
        """The rows of every succeeded run, in run order."""
        rows: list[dict[str, Any]] = []
        statuses = self.results.statuses
        for config, seed in zip(configs, shown, strict=True):
            status = statuses.get(config.run_id)
            if status is None or status.status != "succeeded":
                continue
            kwargs = {**config.parameters, self.seed_name: seed}
            head = (config.run_id, config.iteration, kwargs)
            self._run(rows, head, status.steps)
        return rows

    def _run(self, rows: list[dict[str, Any]], head: tuple[int, int, dict], steps: int) -> None:
        run_id, iteration, kwargs = head
        model = _Run(self.model, run_id)
        agents = [_Run(table, run_id) for table in self.agents]
        if self.legacy:
            records = agents[self.records].segments if self.records is not None else {}
            chosen = _legacy_steps(steps, self.period, model, records)
        else:
            collected = model.collected() or sorted({s for a in agents for s in a.segments})
            chosen = [(s, s, model.last(s)) for s in _selected(collected, self.period)]
        for step, at, values in chosen:
            base = {"RunId": run_id, "iteration": iteration, "Step": step, **kwargs, **values}
            before = len(rows)
            for agent in agents:
                rows.extend(agent.rows(base, at))
            if len(rows) == before:
                rows.append(base)


def _selected(collected: list[int], period: int) -> list[int]:
    """Mesa's choice of collections: the last, all, or every Nth — plus the last one."""
    if not collected:
        return []
    if period == -1:
        return [collected[-1]]
    chosen = collected[::period]
    if chosen[-1] != collected[-1]:  # Mesa 3.5.1 drops the final state here; we keep it
        chosen.append(collected[-1])
    return chosen


def _legacy_steps(
    steps: int, period: int, model: _Run, records: Mapping[int, Any]
) -> list[tuple[int, int, dict[str, Any]]]:
    """Mesa 3.5.1's rule for a DataCollector without ``_collection_steps``, as it is.

    It asks for steps ``range(0, model.steps, period)`` and ``model.steps - 1``; each is read
    at the nearest earlier step with agent records (0 when there is none), whose position among
    those steps indexes the model values. Returns (row step, read step, model values).
    """
    requested = list(range(0, steps, period))
    if not requested or requested[-1] != steps - 1:
        requested.append(steps - 1)
    available = sorted(records)
    start, end = model.range
    chosen = []
    for step in requested:
        at = step if step in records else max((s for s in available if s <= step), default=0)
        index = available.index(at) if at in records else 0
        values = model.values(start + index) if start + index < end else {}
        chosen.append((step, at, values))
    return chosen
