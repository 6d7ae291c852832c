"""The estimate from a fixed sweep: how many replications a precision needs (runs nothing)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mesa_batch.outcomes import Status
from mesa_batch.replications.plan import Point
from mesa_batch.replications.record import opened, point_rows, with_parameters
from mesa_batch.replications.rule import needed
from mesa_batch.replications.target import check_target
from mesa_batch.replications.values import Statistic, values_of

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["NEEDED_COLUMNS", "replications_needed"]


def replications_needed(
    results_or_store: Results | str | os.PathLike[str],
    outcome: str | Sequence[str],
    *,
    rel_precision: float | None = 0.05,
    abs_precision: float | None = None,
    confidence: float = 0.95,
    statistic: Statistic | None = None,
) -> pd.DataFrame:
    """Estimate, per design point, how many replications a precision needs (runs nothing).

    From the runs a sweep already has (e.g. a fixed ``iterations=10`` store), each point's
    sample standard deviation ``s`` gives the fewest ``n`` with ``t(n-1) s / sqrt(n)`` at most
    the target half-width (the larger of ``rel_precision * |mean|`` and ``abs_precision``).
    It is an estimate: ``s`` from few runs is itself uncertain, and :func:`replicate_until`
    adds its look-ahead on top.

    Args:
        results_or_store: Results, or a store directory.
        outcome: A column of the model table (its value at each run's final collected step),
            or several; or the names of ``statistic``'s values.
        rel_precision: The half-width as a fraction of |mean|.
        abs_precision: An absolute half-width (the fallback for means near zero).
        confidence: The CI's confidence level.
        statistic: A function of a run's model rows returning its value (or values by name).

    Returns:
        One row per point and outcome: ``point_key``, ``point``, the parameters, ``outcome``,
        ``iterations`` (runs that gave a value), ``mean``, ``std``, ``half_width``,
        ``relative_half_width``, ``needed`` (replications for the target; NaN with fewer
        than 2 values) and ``additional`` (needed beyond those run).

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import BatchRunner, full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [10, 20]}, iterations=5,
        ...                          max_steps=5, seed=1)
        >>> results = BatchRunner(configs, display_progress=False).run()
        >>> needed = replications_needed(results, "Gini", rel_precision=0.1)
        >>> list(needed.columns[-2:])
        ['needed', 'additional']
    """
    import pandas as pd  # noqa: PLC0415

    target = check_target(
        outcome,
        rel_precision=rel_precision,
        abs_precision=abs_precision,
        confidence=confidence,
        min_iterations=2,
        max_iterations=10**6,
        max_runs=None,
        look_ahead=0,
    )
    results = opened(results_or_store)
    runs = results.runs
    done = runs[runs["status"] == Status.SUCCEEDED]
    values = values_of(results, done["run_id"].astype(int).tolist(), target.outcomes, statistic)
    points: dict[str, Point] = {}
    columns = [done[c].tolist() for c in ("run_id", "point_key", "point", "iteration")]
    for run_id, point_key, number, iteration in zip(*columns, strict=True):
        key = str(point_key)
        point = points.setdefault(key, Point(len(points), key, int(number)))
        point.values[int(iteration)] = values.get(int(run_id))
        point.planned = max(point.planned, int(iteration) + 1)
    rows = []
    for point in points.values():
        for row in point_rows(point, target):
            n = row["values"]
            width = float(target.widths(np.array(row["mean"])))
            need = needed(row["std"], width, target.confidence, 10**9) if n >= 2 else math.nan
            rows.append(
                {name: row[name] for name in NEEDED_COLUMNS[:-2]}
                | {"iterations": n, "needed": need, "additional": need - n if n >= 2 else need}
            )
    frame = pd.DataFrame(rows, columns=list(NEEDED_COLUMNS))
    frame["needed"] = frame["needed"].astype("Int64" if frame["needed"].notna().all() else float)
    return with_parameters(frame, results)


#: The columns of :func:`replications_needed` (the parameters come after ``point``).
NEEDED_COLUMNS = (
    "point_key",
    "point",
    "outcome",
    "iterations",
    "mean",
    "std",
    "half_width",
    "relative_half_width",
    "needed",
    "additional",
)
