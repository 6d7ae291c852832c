"""Per-run final values, and means over replications with confidence intervals.

:func:`final` gives one row per succeeded run; :func:`aggregate` one row per design point (or
per group of parameters), and per step with ``at="all"``, with the columns

=============  ====================================================================
``n``          succeeded runs in the group (at that step)
``mean``       their mean
``std``        their standard deviation (``ddof=1``)
``sem``        the standard error of the mean, ``std / sqrt(n)``
``ci_low``     the interval's bounds (``method="t"``: Student's t with ``n - 1``
``ci_high``    degrees of freedom; ``"bootstrap"``: BCa, seeded)
``n_failed``   failed runs in the group (they have no value; pending runs are not counted)
=============  ====================================================================

Both read only ``run_id``, ``step`` and the outcome's column from the tables (see
:mod:`mesa_batch.analysis._data`), and the runs table for the parameters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mesa_batch.analysis._data import (
    INDEX_COLUMNS,
    RunValues,
    as_source,
    check_parameters,
    check_table,
    failed,
    final_values,
    run_table,
    succeeded,
    values,
)
from mesa_batch.analysis.stats import (
    Interval,
    check_confidence,
    interval_method,
    t_half_width,
    t_interval,
)
from mesa_batch.errors import ConfigurationError, problem

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.analysis._data import Source
    from mesa_batch.results import Results

__all__ = ["STATISTICS", "aggregate", "final"]

#: The statistics columns of :func:`aggregate`, in order.
STATISTICS = ("n", "mean", "std", "sem", "ci_low", "ci_high", "n_failed")


def final(
    results: Results | str | os.PathLike[str],
    outcomes: str | Sequence[str] | None = None,
    *,
    table: str = "model",
) -> pd.DataFrame:
    """One row per succeeded run: ids, parameters, and each outcome at the run's last step.

    For an agent table, an outcome is the mean over the run's agents at its last step.

    Args:
        results: A ``Results``, or the path of a store.
        outcomes: The outcome columns (every column of ``table`` by default).
        table: The data table the outcomes are in (``"model"``, ``"agents"``, ...).

    Returns:
        Columns ``run_id``, ``point``, ``iteration``, the parameters, then the outcomes.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import BatchRunner, full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [5, 10]}, iterations=2,
        ...                          max_steps=3, seed=1)
        >>> rows = final(BatchRunner(configs, 1, display_progress=False).run(), "Gini")
        >>> list(rows.columns[:3]), len(rows)
        (['run_id', 'point', 'iteration'], 4)
    """
    source = as_source(results)
    check_table(source, table)
    if outcomes is None:
        outcomes = outcome_columns(source, table)
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    runs = succeeded(run_table(source))
    frame = runs[["run_id", "point", "iteration", *source.parameter_names]].reset_index(drop=True)
    for name in names:
        found = final_values(source, table, name)
        frame[name] = found.reindex(frame["run_id"].to_numpy()).to_numpy()
    return frame


def outcome_columns(results: Source, table: str) -> list[str]:
    """The outcome columns of a table (read from its first piece)."""
    first = next(results.scan(table), None)
    return [] if first is None else [c for c in first.column_names if c not in INDEX_COLUMNS]


def aggregate(
    results: Results | str | os.PathLike[str],
    outcome: str,
    *,
    by: str | Sequence[str] | None = None,
    at: str | int = "final",
    confidence: float | None = 0.95,
    method: str = "t",
    table: str = "model",
    seed: int | np.random.Generator | None = None,
    carry_forward: bool = True,
) -> pd.DataFrame:
    """The mean of an outcome over replications, with a confidence interval, per group.

    Groups are the design points (``by=None``; with several designs, per design and point),
    or the distinct values of the ``by`` parameters (pooling every run that has them).

    ``at="final"`` takes each run's value at its last collected step; an int ``at`` takes its
    value at that step (or its last one before, for a run that stopped earlier). ``at="all"``
    gives one row per group and step on the common step grid (every step any run collected):
    with ``carry_forward=True`` (the default) a run that stopped early keeps its last value
    on the later steps, so that the mean is not biased by runs dropping out, and ``n`` stays
    the number of runs; with ``carry_forward=False`` each step averages only the runs that
    collected it (``n`` shrinks; a step with fewer than 2 runs has no interval).

    For an agent table, each run's value is the mean over its agents first (per step), then
    the runs are aggregated: every run weighs the same, whatever its number of agents.

    Args:
        results: A ``Results``, or the path of a store.
        outcome: The outcome column.
        by: Parameters to group by instead of design points.
        at: ``"final"``, ``"all"``, or a step.
        confidence: The interval's confidence level; None for no interval.
        method: ``"t"`` (Student's t) or ``"bootstrap"`` (BCa, 9,999 resamples).
        table: The data table the outcome is in.
        seed: The bootstrap's seed (an int or a Generator; None draws fresh entropy).
        carry_forward: With ``at="all"``, carry a run's last value forward (see above).

    Returns:
        The grouping columns (``point`` and the parameters, or the ``by`` parameters), with
        ``at="all"`` ``step``, then :data:`STATISTICS`. A parameter named like one of these
        columns (``n``, ``mean``, ...) is shown as ``"n (parameter)"``, as in ``Results.runs``.

    Raises:
        ConfigurationError: An unknown outcome, table, parameter or method, or a group with
            fewer than 2 planned runs when an interval is asked for.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import BatchRunner, full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [5, 10]}, iterations=3,
        ...                          max_steps=3, seed=1)
        >>> table = aggregate(BatchRunner(configs, 1, display_progress=False).run(), "Gini")
        >>> list(table.columns)
        ['point', 'n (parameter)', 'n', 'mean', 'std', 'sem', 'ci_low', 'ci_high', 'n_failed']
    """
    source = as_source(results)
    confidence = check_confidence(confidence)
    interval = interval_method(method)
    check_table(source, table)
    at = _check_at(at)
    runs = run_table(source)
    groups = Groups.of(source, runs, by)
    groups.check_replications(confidence)
    rng = np.random.default_rng(seed)
    done = succeeded(runs)
    codes = groups.codes[runs["run_id"].isin(done["run_id"]).to_numpy()]
    if at == "all":
        frame = _per_step(
            values(source, table, outcome), done, codes, groups, confidence=confidence,
            interval=interval, rng=rng,
            carry_forward=carry_forward,
        )  # fmt: skip
    else:
        found = final_values(source, table, outcome, at)
        x = found.reindex(done["run_id"].to_numpy()).to_numpy(dtype=float)
        stats = summarize(codes, x, groups.count, confidence=confidence, interval=interval, rng=rng)
        frame = groups.head.assign(**stats, n_failed=groups.failed)
    frame.attrs.update(outcome=outcome, table=table, at=at, confidence=confidence, method=method)
    return frame


def _check_at(at: object) -> str | int:
    if at in ("final", "all"):
        return str(at)
    if isinstance(at, int | np.integer) and not isinstance(at, bool) and at >= 0:
        return int(at)
    raise ConfigurationError(
        problem("at", "must be 'final', 'all' or a step (an int >= 0)", at, "Pass at='final'.")
    )


class Groups:
    """The groups of runs an aggregate reports on, with their columns and counts.

    Attributes:
        head: One row per group: its grouping columns.
        codes: Each run's group number (in the order of the runs table).
        count: The number of groups.
        planned: Runs per group (any status).
        failed: Failed runs per group.
    """

    def __init__(self, head: pd.DataFrame, codes: np.ndarray, runs: pd.DataFrame, keys: list[str]):
        self.head = head
        self.codes = codes
        self.count = len(head)
        self.keys = keys
        self.planned = np.bincount(codes, minlength=self.count)
        is_failed = runs["run_id"].isin(failed(runs)["run_id"]).to_numpy()
        self.failed = np.bincount(codes[is_failed], minlength=self.count)

    @classmethod
    def of(cls, results: Source, runs: pd.DataFrame, by: str | Sequence[str] | None) -> Groups:
        """Group by design point (``by=None``) or by the ``by`` parameters."""
        import pandas as pd  # noqa: PLC0415

        if by is None:
            keys = ["design", "point"] if runs["design"].nunique() > 1 else ["point"]
            extra = [c for c in results.parameter_names if c not in keys]
        else:
            keys = check_parameters(results, by, "by")
            extra = []
            if not keys:
                raise ConfigurationError(
                    problem(
                        "by",
                        "must name at least one parameter",
                        by,
                        "Pass by=None to group by design point, or name parameters.",
                    )
                )
        try:
            grouped = runs.groupby(keys, sort=True, dropna=False, observed=True)
            codes = grouped.ngroup().to_numpy()
            head = grouped[extra].first().reset_index() if extra else grouped.size().reset_index()
        except TypeError as error:  # unhashable or unorderable parameter values
            raise ConfigurationError(
                problem("by", "must name parameters with orderable, hashable values", keys)
            ) from error
        head = head[[*keys, *extra]]
        for name in head.columns:  # a store's design ids, read as a dictionary: as text
            if isinstance(head[name].dtype, pd.CategoricalDtype):
                head[name] = head[name].to_numpy()
        head.columns = [_shown(c) for c in head.columns]
        return cls(head, codes, runs, [_shown(c) for c in keys])

    def check_replications(self, confidence: float | None) -> None:
        """Refuse an interval for groups of fewer than 2 planned runs, naming the fix."""
        if confidence is None or not len(self.planned) or int(np.min(self.planned)) >= 2:
            return
        single = self.head[self.planned < 2].head(3).to_dict("records")
        raise ConfigurationError(
            problem(
                "aggregate(confidence=...)",
                "needs at least 2 runs per group for a confidence interval",
                f"{int((self.planned < 2).sum())} groups of 1 run, e.g. {single}",
                "Run more replications (iterations=5 in the design), group coarser with "
                "by=[...], or pass confidence=None for means without intervals.",
            )
        )


def _shown(name: str) -> str:
    """A grouping column's name: a parameter named like a result column gets a suffix."""
    taken = ("step", *STATISTICS)
    return f"{name} (parameter)" if name in taken else name


def summarize(
    codes: np.ndarray,
    x: np.ndarray,
    count: int,
    *,
    confidence: float | None,
    interval: Interval,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """n, mean, std, sem and the interval per group (``codes``) of the values ``x``.

    NaN values are left out. The t interval is computed for all groups at once; other methods
    group by group.
    """
    valid = ~np.isnan(x)
    codes, x = codes[valid], x[valid]
    n = np.bincount(codes, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, x, minlength=count) / n
        squares = np.bincount(codes, (x - mean[codes]) ** 2, minlength=count)
        std = np.where(n >= 2, np.sqrt(squares / np.maximum(n - 1, 1)), np.nan)
        sem = std / np.sqrt(n)
    low = np.full(count, np.nan)
    high = np.full(count, np.nan)
    if confidence is not None and interval is t_interval:
        half = t_half_width(std, n, confidence)  # NaN where n < 2
        low, high = mean - half, mean + half
    elif confidence is not None:
        order = np.argsort(codes, kind="stable")
        pieces = np.split(x[order], np.cumsum(n)[:-1])
        for group, piece in enumerate(pieces):
            low[group], high[group] = interval(piece, confidence, rng)
    return {"n": n, "mean": mean, "std": std, "sem": sem, "ci_low": low, "ci_high": high}


def _per_step(
    found: RunValues,
    done: pd.DataFrame,
    codes: np.ndarray,
    groups: Groups,
    *,
    confidence: float | None,
    interval: Interval,
    rng: np.random.Generator,
    carry_forward: bool,
) -> pd.DataFrame:
    """One row per group and step of the common grid (see :func:`aggregate`)."""
    import pandas as pd  # noqa: PLC0415

    matrix, grid = step_matrix(found, done["run_id"].to_numpy(), carry_forward=carry_forward)
    frames = []
    for column, step in enumerate(grid):
        stats = summarize(
            codes,
            matrix[:, column],
            groups.count,
            confidence=confidence,
            interval=interval,
            rng=rng,
        )
        frames.append(groups.head.assign(step=int(step), **stats, n_failed=groups.failed))
    if not frames:
        empty = {"step": np.zeros(0, np.int64)} | {s: np.zeros(0) for s in STATISTICS}
        return groups.head.iloc[:0].assign(**empty)
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values([*groups.keys, "step"], kind="stable", ignore_index=True)


def step_matrix(
    found: RunValues, run_ids: np.ndarray, *, carry_forward: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The runs' values on the common step grid: a runs x steps matrix, and the grid.

    With ``carry_forward``, each NaN (a step the run did not collect, or reached) takes the
    run's last value before it.
    """
    keep = np.isin(found.run_id, run_ids)
    run_id, step, value = found.run_id[keep], found.step[keep], found.value[keep]
    grid = np.unique(step)
    matrix = np.full((len(run_ids), len(grid)), np.nan)
    order = np.argsort(run_ids)
    rows = order[np.searchsorted(run_ids, run_id, sorter=order)]
    matrix[rows, np.searchsorted(grid, step)] = value
    if carry_forward and len(grid):
        index = np.where(np.isnan(matrix), 0, np.arange(len(grid)))
        np.maximum.accumulate(index, axis=1, out=index)
        matrix = matrix[np.arange(len(run_ids))[:, None], index]
    return matrix, grid
