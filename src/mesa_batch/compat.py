"""A drop-in ``batch_run``: Mesa 3.5.1's signature and output, on Mesa 3 and Mesa 4.

``from mesa_batch import batch_run`` is the only change existing code needs. The rows have
Mesa's keys (``RunId``, ``iteration``, ``Step``, the parameters, the seed under the name the
model takes it — ``rng`` or ``seed`` —, the model reporters, ``AgentID`` and the agent reporters)
and Mesa's order. It differs only where Mesa 3.5.1 loses data, hangs or returns nothing; each
difference is listed in ``docs/migration.md``.
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import cross
from mesa_batch.keys import master_seed, run_seed
from mesa_batch.models import check_model_class
from mesa_batch.runner import BatchRunner

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
            (strings, dicts and bytes are single values).
        number_processes: ``1`` runs in this process, ``None`` uses all CPUs.
        iterations: Deprecated, as in Mesa: ``iterations=n`` is ``rng=[None] * n``.
        data_collection_period: ``-1``: the last collection; ``1``: every collection; ``N``:
            every Nth collection, and the last one.
        max_steps: The most steps a run takes.
        display_progress: Show a progress bar.
        rng: A seed, or an iterable of seeds: one iteration per seed, every parameter
            combination of an iteration runs with that iteration's seed.

    Returns:
        One dict per (run, collected step, agent), or per (run, collected step) without agent
        data, in run order.

    Raises:
        ValueError: Both ``iterations`` and ``rng`` are given, or a parameter sweeps an empty
            iterable.

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
    seed_name = _seed_name(model_cls)
    combinations = make_model_kwargs(parameters)
    configs, shown = _configurations(model_cls, combinations, seeds, max_steps=max_steps)
    runner = BatchRunner(configs, number_processes, display_progress)
    return _rows(runner.run(), configs, shown, seed_name, data_collection_period)


def _seed_name(model_cls: type) -> str:
    """The key of the seed in the rows: ``seed`` for models that declare it, else ``rng``."""
    return "seed" if "seed" in inspect.signature(model_cls).parameters else "rng"


def make_model_kwargs(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of parameter values, in Mesa's order (last name fastest).

    A string, bytes or a dict is one value; any other iterable is swept; anything else is
    one value. An empty iterable is an error.

    Args:
        parameters: Names mapped to a value or an iterable of values.

    Returns:
        One dict of keyword arguments per combination.

    Raises:
        ValueError: A parameter sweeps an empty iterable.

    Examples:
        >>> make_model_kwargs({"a": range(2), "b": "xy", "c": {"k": 1}})
        [{'a': 0, 'b': 'xy', 'c': {'k': 1}}, {'a': 1, 'b': 'xy', 'c': {'k': 1}}]
    """
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
    (SeedSequence, lists of ints) are reduced to an int seed.
    """
    seeds_of = [_int_seed(seed) for seed in seeds]
    configs = cross(
        model_cls,
        combinations,
        len(seeds),
        lambda iteration, key: seeds_of[iteration],
        max_steps=max_steps,
        data_collection_period=1,
    )
    shown = [seed for seed in seeds for _ in combinations]
    return configs, shown


def _int_seed(seed: Any) -> int:
    if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**64:
        return seed
    if seed is None:
        return run_seed(master_seed(None), "0" * 32, 0)
    import numpy as np  # noqa: PLC0415

    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])


def _rows(
    results: Results,
    configs: Sequence[RunConfiguration],
    shown_seeds: Sequence[Any],
    seed_name: str,
    period: int,
) -> list[dict[str, Any]]:
    model = _by_run(results.model)
    agent_tables = [_by_run(results.dataframe(t)) for t in results.tables if t.startswith("agents")]
    rows: list[dict[str, Any]] = []
    for config, seed in zip(configs, shown_seeds, strict=True):
        status = results.statuses.get(config.run_id)
        if status is None or status.status != "succeeded":
            continue
        head = {"RunId": config.run_id, "iteration": config.iteration}
        kwargs = {**config.parameters, seed_name: seed}
        model_rows = model.get(config.run_id)
        agent_rows = [table.get(config.run_id) for table in agent_tables]
        for step in _selected(model_rows, agent_rows, period):
            model_data = _model_values(model_rows, step)
            agents = list(_agent_values(agent_rows, step))
            base = {**head, "Step": step, **kwargs, **model_data}
            rows.extend([{**base, **agent} for agent in agents] if agents else [base])
    return rows


def _by_run(frame: pd.DataFrame) -> dict[int, pd.DataFrame]:
    return {int(str(run_id)): group for run_id, group in frame.groupby("run_id", sort=False)}


def _selected(
    model_rows: pd.DataFrame | None, agent_rows: list[pd.DataFrame | None], period: int
) -> list[int]:
    """Mesa's choice of collections: the last, all, or every Nth — plus the last one."""
    if model_rows is not None:
        collected = [int(s) for s in model_rows["step"]]
    else:  # a collector with agent reporters only
        steps = (int(s) for rows in agent_rows if rows is not None for s in rows["step"])
        collected = list(dict.fromkeys(steps))
    if not collected:
        return []
    if period == -1:
        return [collected[-1]]
    chosen = collected[::period]
    if chosen[-1] != collected[-1]:  # Mesa 3.5.1 drops the final state here; we keep it
        chosen.append(collected[-1])
    return chosen


def _model_values(model_rows: pd.DataFrame | None, step: int) -> dict[str, Any]:
    """The model values of the last collection at ``step``."""
    if model_rows is None:
        return {}
    at = model_rows[model_rows["step"] == step]
    values = at.drop(columns=["run_id", "step"]).iloc[-1].to_dict()
    return {str(name): _plain(value) for name, value in values.items()}


def _agent_values(agent_rows: list[pd.DataFrame | None], step: int) -> Iterator[dict[str, Any]]:
    for rows in agent_rows:
        if rows is None:
            continue
        at = rows[rows["step"] == step].drop(columns=["run_id", "step"])
        for record in at.to_dict("records"):
            agent = {"AgentID": _plain(record.pop("agent_id"))}
            agent.update((str(name), _plain(value)) for name, value in record.items())
            yield agent


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, list | dict) else value
