"""Adaptive replications: run each design point until its confidence interval is narrow enough.

Data flow::

    configurations (any design) ──► one base per design point (by point_key)
          │                          iterations derived with with_iteration(): the seeds a
          │                          fixed design with iterations=k+1 gives its runs 0..k
          ▼
    round: BatchRunner(the round's new runs, store=..., executor=...)
          │   first round: min_iterations per point (or what the store already planned)
          ▼
    each run's outcome: the model table at its final collected step (only those columns
          │   and runs are read, results.scan), or statistic(the run's model rows)
          ▼
    per point: mean, half-width t(n-1, (1+confidence)/2) s/sqrt(n)  (_half_width)
          │   met when half-width <= rel_precision |mean| or <= abs_precision, for every
          │   outcome; done when it stayed met for look_ahead more runs (Hoad, Robinson and
          │   Davies 2010)
          ▼
    points not done get iterations up to their estimated need (at most 4x per round,
    max_iterations, the max_runs budget; a round has at least one run per worker)
          │   ... next round, until every point is done or stopped
          ▼
    ReplicationResults: the Results of all runs; .replications (one row per point and
    outcome: iterations, CI, whether the target was met); a store records it in store.json

Resuming: the store's plan holds every round's runs as soon as the round starts. Run again
with the same arguments, the first round is what the store planned (its unfinished runs run),
and every later decision is a function of the runs' data alone, so the final store is the one
an uninterrupted call writes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.errors import (
    ConfigurationError,
    Interrupted,
    RunFailedWarning,
    check_int,
    problem,
)
from mesa_batch.outcomes import Status
from mesa_batch.results import Results

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ReplicationResults",
    "replicate_until",
    "replication_status",
    "replication_summary",
    "replications_needed",
]

#: Why a point stopped: the target (with its look-ahead), or a limit, or no usable run.
REASONS = ("target", "max_iterations", "max_runs", "failed")
#: How much a point's iterations may grow in one round (its need is estimated from few runs).
GROWTH = 4
#: The share of a point's estimated remaining need one round plans: the estimate's standard
#: deviation is uncertain, and falling short costs a round where overshooting costs runs.
DAMPING = 0.75
#: The columns of the per-point record, in order (one row per point and outcome).
RECORD_COLUMNS = (
    "point_key",
    "point",
    "outcome",
    "iterations",
    "values",
    "mean",
    "std",
    "half_width",
    "relative_half_width",
    "low",
    "high",
    "target_met",
    "status",
)

#: A statistic of one run: its model rows (ordered by step) -> a value, or values by name.
Statistic = Callable[["pd.DataFrame"], "float | Mapping[str, float]"]


# -- the statistics (one place: a later merge may route them through mesa_batch.analysis) ---


def _half_width(std: Any, n: Any, confidence: float) -> Any:
    """The CI half-width ``t(n-1, (1+confidence)/2) * std / sqrt(n)``; NaN where ``n < 2``."""
    import scipy.stats  # noqa: PLC0415

    n = np.asarray(n, dtype=float)
    df = np.where(n >= 2, n - 1, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return scipy.stats.t.ppf((1 + confidence) / 2, df) * np.asarray(std) / np.sqrt(n)


def _prefix_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and sample standard deviations of every prefix (rows 1..n) of a values matrix."""
    count = np.arange(1, len(values) + 1, dtype=float)[:, None]
    shifted = values - values[:1]  # shifting by the first value keeps the sums well conditioned
    total = np.cumsum(shifted, axis=0)
    squares = np.cumsum(shifted**2, axis=0)
    means = total / count + values[:1]
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (squares - total**2 / count) / (count - 1)
    return means, np.sqrt(np.clip(variance, 0.0, None))


def _needed(std: float, width: float, confidence: float, limit: int) -> int:
    """The fewest runs (at most ``limit``) whose half-width is at most ``width`` with this ``std``.

    The normal quantile's answer is a lower bound (t's quantiles are larger); the search goes up
    from it in growing steps.
    """
    if not std > 0:
        return 2
    if not width > 0 or not math.isfinite(width):
        return limit
    z = statistics.NormalDist().inv_cdf((1 + confidence) / 2)
    start, step = max(2, math.ceil((z * std / width) ** 2)), 64
    while start < limit:
        n = np.arange(start, min(start + step, limit + 1))
        fits = np.flatnonzero(_half_width(std, n, confidence) <= width)
        if len(fits):
            return int(n[fits[0]])
        start, step = start + step, 2 * step
    return limit


# -- the target -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Target:
    """What ``replicate_until`` aims at, validated."""

    outcomes: tuple[str, ...]
    rel_precision: float | None
    abs_precision: float | None
    confidence: float
    min_iterations: int
    max_iterations: int
    max_runs: int | None
    look_ahead: int

    def widths(self, means: np.ndarray) -> np.ndarray:
        """The half-width allowed at these means: the larger of the two precisions."""
        rel = 0.0 if self.rel_precision is None else self.rel_precision
        absolute = 0.0 if self.abs_precision is None else self.abs_precision
        return np.maximum(rel * np.abs(means), absolute)

    def extra(self, n: int) -> int:
        """Hoad, Robinson and Davies' look-ahead: the runs the target must stay met for."""
        return self.look_ahead if n <= 100 else self.look_ahead * n // 100

    def record(self) -> dict[str, Any]:
        """The target as JSON-ready settings."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return settings | {"outcomes": list(self.outcomes)}


def _check_precision(what: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(
            problem(what, "must be a positive number or None", value, f"Pass e.g. {what}=0.05.")
        )
    return float(value)


def _outcome_names(outcome: object) -> tuple[str, ...]:
    names = (outcome,) if isinstance(outcome, str) else outcome
    if (
        not isinstance(names, Iterable)
        or not (names := tuple(names))
        or not all(isinstance(n, str) and n for n in names)
        or len(set(names)) != len(names)
    ):
        raise ConfigurationError(
            problem(
                "outcome",
                "must be a column name of the model table (or a value of the statistic), or a "
                "list of distinct names",
                outcome,
                'Pass e.g. outcome="Gini" or outcome=["Gini", "Wealth"].',
            )
        )
    return names


def _target(
    outcome: object,
    *,
    rel_precision: object,
    abs_precision: object,
    confidence: object,
    min_iterations: object,
    max_iterations: object,
    max_runs: object,
    look_ahead: object,
) -> _Target:
    rel = _check_precision("rel_precision", rel_precision)
    absolute = _check_precision("abs_precision", abs_precision)
    if rel is None and absolute is None:
        raise ConfigurationError(
            problem(
                "rel_precision and abs_precision",
                "must not both be None (there would be no target)",
                (rel_precision, abs_precision),
                "Pass rel_precision=0.05 (a half-width of 5% of the mean), abs_precision, or both.",
            )
        )
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        confidence = None
    if confidence is None or not 0 < confidence < 1:
        raise ConfigurationError(
            problem("confidence", "must be a number in (0, 1)", confidence, "Pass e.g. 0.95.")
        )
    low = check_int(
        "min_iterations", min_iterations, minimum=2, fix="A CI needs at least 2 runs; pass 3."
    )
    high = check_int(
        "max_iterations",
        max_iterations,
        minimum=low,
        rule=f"must be an int >= min_iterations ({low})",
    )
    budget = None if max_runs is None else check_int("max_runs", max_runs, minimum=1)
    return _Target(
        outcomes=_outcome_names(outcome),
        rel_precision=rel,
        abs_precision=absolute,
        confidence=float(confidence),
        min_iterations=low,
        max_iterations=high,
        max_runs=budget,
        look_ahead=check_int("look_ahead", look_ahead, minimum=0),
    )


# -- one point's state and the decision ---------------------------------------------------------


@dataclasses.dataclass(slots=True, eq=False)
class _Point:
    """One design point: its base configuration, its planned iterations, its runs' values."""

    index: int
    key: str
    number: int
    base: RunConfiguration | None = None
    planned: int = 0
    #: iteration -> the outcomes' values (NaN where missing), or None for a failed run
    values: dict[int, np.ndarray | None] = dataclasses.field(default_factory=dict)
    status: str | None = None

    @classmethod
    def of(cls, index: int, base: RunConfiguration) -> _Point:
        """The point of a configuration (based on its iteration 0)."""
        base = base if base.iteration == 0 else base.with_iteration(0)
        return cls(index, base.point_key, base.point, base)

    def iteration(self, iteration: int, run_id: int) -> RunConfiguration:
        """This point's configuration at an iteration, seeded as its design would."""
        assert self.base is not None
        return self.base.with_iteration(iteration, run_id=run_id)

    def usable(self, width: int) -> np.ndarray:
        """The values of the runs with every outcome finite, in iteration order."""
        rows = [
            v
            for i in range(self.planned)
            if (v := self.values.get(i)) is not None and np.isfinite(v).all()
        ]
        return np.array(rows, dtype=float).reshape(len(rows), width)


def _assess(values: np.ndarray, target: _Target) -> tuple[bool, int]:
    """Whether a point is done, and else how many usable runs it needs (an estimate).

    Done: the target is met at the current runs, and was met at each of the last
    ``look_ahead`` counts before (the streak began at ``min_iterations`` runs or later).
    """
    m = len(values)
    if m < target.min_iterations:
        return False, target.min_iterations
    means, stds = _prefix_stats(values)
    counts = np.arange(1, m + 1)
    widths = target.widths(means)
    met = (_half_width(stds, counts[:, None], target.confidence) <= widths).all(axis=1)
    met[: target.min_iterations - 1] = False
    if met[-1]:
        missed = np.flatnonzero(~met)
        start = int(missed[-1]) + 2  # the count at which the current streak began
        need = start + target.extra(start)
        return m >= need, need
    need = max(
        _needed(float(stds[-1, j]), float(widths[-1, j]), target.confidence, target.max_iterations)
        for j in range(values.shape[1])
    )
    need = max(need, m + 1) + target.extra(need)
    return False, m + max(1, math.ceil(DAMPING * (need - m)))


def _wanted(point: _Point, target: _Target) -> int:
    """The iterations a point should have planned next (its planned ones when it is done)."""
    values = point.usable(len(target.outcomes))
    done, need = _assess(values, target)
    if done:
        point.status = "target"
        return point.planned
    if not len(values):  # every run failed or gave no value
        point.status = "failed"
        return point.planned
    if point.planned >= target.max_iterations:
        point.status = "max_iterations"
        return point.planned
    # runs that fail or give no value are expected at the rate seen so far
    more = math.ceil((need - len(values)) * point.planned / len(values))
    wanted = min(point.planned + more, GROWTH * point.planned, target.max_iterations)
    return max(wanted, point.planned + 1)


def _plan_round(points: Sequence[_Point], target: _Target, fill: int) -> dict[int, int]:
    """How many iterations each point not done has after the next round (point -> iterations).

    Points that need the fewest more runs come first when the budget is short (so that as
    many as possible reach the target); when the round has fewer runs than ``fill`` (the
    workers), the points not done get more, up to ``max_iterations``, so no worker idles.
    """
    wanted = {p.index: _wanted(p, target) for p in points if p.status is None}
    wanted = {i: n for i, n in wanted.items() if points[i].status is None}
    order = sorted(wanted, key=lambda i: (wanted[i] - points[i].planned, i))
    planned = sum(p.planned for p in points)
    left = None if target.max_runs is None else max(0, target.max_runs - planned)
    plan = {}
    for i in order:
        more = wanted[i] - points[i].planned
        if left is not None:
            more = min(more, left)
            left -= more
        if more:
            plan[i] = points[i].planned + more
        else:
            points[i].status = "max_runs"
    extra = sum(plan[i] - points[i].planned for i in plan)
    while extra < fill and left != 0:
        room = [i for i in order if i in plan and plan[i] < target.max_iterations]
        if not room:
            break
        for i in room[: fill - extra]:
            if left == 0:
                break
            plan[i] += 1
            extra += 1
            left = None if left is None else left - 1
    return plan


# -- reading the runs' outcomes ---------------------------------------------------------------


def _values_of(
    results: Results, run_ids: Sequence[int], outcomes: Sequence[str], statistic: Any
) -> dict[int, np.ndarray]:
    """The outcomes of some succeeded runs, by run id (NaN where a run has no value)."""
    import pandas as pd  # noqa: PLC0415

    if not run_ids:
        return {}
    if statistic is not None:
        rows = results.rows("model", run_ids)
        found = {}
        for run_id, group in rows.groupby("run_id", sort=False):
            found[int(cast(Any, run_id))] = _statistic_values(statistic, group, outcomes)
        return found
    pieces = [t.to_pandas() for t in results.scan("model", ["step", *outcomes], run_ids=run_ids)]
    if not pieces:
        return {}
    frame = pd.concat(pieces, ignore_index=True)
    frame = frame.sort_values(["run_id", "step"], kind="stable").drop_duplicates(
        "run_id", keep="last"
    )
    _check_outcomes(results, frame, outcomes, run_ids)
    numbers = frame[list(outcomes)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return dict(zip(frame["run_id"].astype(int).tolist(), numbers, strict=True))


def _check_outcomes(
    results: Results, frame: pd.DataFrame, outcomes: Sequence[str], run_ids: Sequence[int]
) -> None:
    """Refuse an outcome no run has: it is not a column of the model table."""
    missing = [name for name in outcomes if frame[name].isna().all()]
    if not missing:
        return
    first = next(results.scan("model", run_ids=run_ids[:1]), None)
    columns = [c for c in (first.column_names if first is not None else []) if c != "run_id"]
    absent = [name for name in missing if name not in columns]
    if absent:
        raise ConfigurationError(
            problem(
                "outcome",
                f"must name columns of the model table, which has {columns}",
                absent if len(absent) > 1 else absent[0],
                "Pick one of them, or pass statistic=f (a function of a run's model rows).",
            )
        )


def _statistic_values(statistic: Any, rows: pd.DataFrame, outcomes: Sequence[str]) -> np.ndarray:
    value = statistic(rows.sort_values("step", kind="stable").reset_index(drop=True))
    if isinstance(value, Mapping):
        return np.array([_number(value.get(name)) for name in outcomes], dtype=float)
    if len(outcomes) != 1:
        raise ConfigurationError(
            problem(
                "statistic",
                f"must return a mapping of the outcomes {list(outcomes)} to values",
                value,
                "Return e.g. {name: value for each outcome}.",
            )
        )
    return np.array([_number(value)], dtype=float)


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


# -- the record -------------------------------------------------------------------------------


def _point_rows(point: _Point, target: _Target) -> list[dict[str, Any]]:
    """The record of one point: a row per outcome, its final CI and why it stopped."""
    values = point.usable(len(target.outcomes))
    n = len(values)
    rows = []
    for j, name in enumerate(target.outcomes):
        column = values[:, j]
        mean = float(column.mean()) if n else math.nan
        std = float(column.std(ddof=1)) if n >= 2 else math.nan
        half = float(_half_width(std, n, target.confidence)) if n >= 2 else math.nan
        width = float(target.widths(np.array(mean)))
        rows.append(
            {
                "point_key": point.key,
                "point": point.number,
                "outcome": name,
                "iterations": point.planned,
                "values": n,
                "mean": mean,
                "std": std,
                "half_width": half,
                "relative_half_width": half / abs(mean) if mean else math.nan,
                "low": mean - half,
                "high": mean + half,
                "target_met": bool(n >= 2 and half <= width),
                "status": point.status or "pending",
            }
        )
    return rows


def _record(points: Sequence[_Point], target: _Target, statistic: Any) -> dict[str, Any]:
    """What ``store.json`` keeps under ``replications`` (JSON: no NaN, missing is null)."""
    rows = [row for p in points for row in _point_rows(p, target)]
    for row in rows:
        for column, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[column] = None
    name = None
    if statistic is not None:
        name = f"{getattr(statistic, '__module__', '?')}:{getattr(statistic, '__qualname__', '?')}"
    return target.record() | {
        "statistic": name,
        "runs": sum(p.planned for p in points),
        "points": rows,
    }


def _frame(record: Mapping[str, Any], results: Results | None) -> pd.DataFrame:
    """The record as a DataFrame, with the points' parameters when the results have them."""
    import pandas as pd  # noqa: PLC0415

    frame = pd.DataFrame(list(record.get("points", [])), columns=list(RECORD_COLUMNS))
    for name in ("mean", "std", "half_width", "relative_half_width", "low", "high"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["target_met"] = frame["target_met"].astype(bool)
    return _with_parameters(frame, results)


def _with_parameters(frame: pd.DataFrame, results: Results | None) -> pd.DataFrame:
    """Put each point's parameters (from the runs table) after ``point_key`` and ``point``."""
    if results is None or not len(frame):
        return frame
    runs = results.runs
    names = [n for n in results.parameter_names if n in runs.columns]
    if not len(runs) or not names:
        return frame
    parameters = runs.drop_duplicates("point_key")[["point_key", *names]]
    merged = frame.merge(parameters, on="point_key", how="left", suffixes=("", " (parameter)"))
    added = list(merged.columns[len(frame.columns) :])
    return merged[[*frame.columns[:2], *added, *frame.columns[2:]]]


class ReplicationResults(Results):
    """The :class:`~mesa_batch.Results` of :func:`replicate_until`, with its per-point record.

    Everything :class:`~mesa_batch.Results` has (``runs``, ``model``, ``scan``, ...), over
    every run of every round, and:

    Attributes:
        replications: One row per design point and outcome: ``point_key``, ``point``, the
            parameters, ``outcome``, ``iterations`` (runs planned and run), ``values`` (runs
            that gave a finite value), ``mean``, ``std``, ``half_width``,
            ``relative_half_width`` (half-width / |mean|), ``low`` and ``high`` (the CI),
            ``target_met`` (the precision holds at the final runs) and ``status`` (why the
            point stopped: ``target``, ``max_iterations``, ``max_runs``, ``failed``).
        rounds: One row per round of this call: ``round``, ``points`` (that got runs), ``runs``
            (planned in it), ``ran`` (run in this call, not found done in the store),
            ``seconds``, ``busy_seconds`` (the time of the runs it ran, in the workers),
            ``workers`` and ``utilisation`` (busy / (workers x seconds)).
    """

    _replications: dict[str, Any] | None = None
    _round_rows: list[dict[str, Any]] | None = None

    @property
    def replications(self) -> pd.DataFrame:  # noqa: D102 - documented on the class
        record, _ = _record_of(self)
        return _frame(record or {}, self)

    @property
    def rounds(self) -> pd.DataFrame:  # noqa: D102 - documented on the class
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame(self._round_rows or [], columns=list(ROUND_COLUMNS))

    def summary(self) -> str:
        """The summary of :class:`~mesa_batch.Results`, then :func:`replication_summary`.

        Returns:
            The text.
        """
        return "\n".join(t for t in (super().summary(), replication_summary(self)) if t)


#: The columns of :attr:`ReplicationResults.rounds`.
ROUND_COLUMNS = (
    "round",
    "points",
    "runs",
    "ran",
    "seconds",
    "busy_seconds",
    "workers",
    "utilisation",
)


def _opened(results_or_store: Results | str | os.PathLike[str]) -> Results:
    if isinstance(results_or_store, Results):
        return results_or_store
    return Results.open(pathlib.Path(results_or_store))


def _record_of(
    results_or_store: Results | str | os.PathLike[str],
) -> tuple[Mapping[str, Any] | None, Results]:
    results = _opened(results_or_store)
    record = getattr(results, "_replications", None)
    if record is None:
        record = results.store_info.get("replications")
    return (record if isinstance(record, Mapping) else None), results


def replication_status(results_or_store: Results | str | os.PathLike[str]) -> pd.DataFrame | None:
    """The per-point record of :func:`replicate_until`, from its results or its store.

    Args:
        results_or_store: The results :func:`replicate_until` returned, results read from a
            store (``Results.open``), or a store directory.

    Returns:
        The :attr:`ReplicationResults.replications` table (one row per point and outcome), or
        None when no ``replicate_until`` recorded one there.
    """
    record, results = _record_of(results_or_store)
    return None if record is None else _frame(record, results)


def replication_summary(results_or_store: Results | str | os.PathLike[str]) -> str:
    """The replications of :func:`replicate_until` as text ("" when there are none).

    One line with the target and how many points met it, then one line per point and
    outcome (the widest relative CI first, at most 10): its parameters, iterations, CI and
    why it stopped.

    Args:
        results_or_store: The results, or a store directory.

    Returns:
        The text.
    """
    record, results = _record_of(results_or_store)
    if record is None:
        return ""
    frame = _frame(record, results)
    per_point = frame.groupby("point_key", sort=False)
    met = int(per_point["target_met"].all().sum())
    stopped = frame.drop_duplicates("point_key")["status"].value_counts().to_dict()
    targets = []
    if record.get("rel_precision"):
        targets.append(f"{record['rel_precision']:.1%} of |mean|")
    if record.get("abs_precision"):
        targets.append(f"{record['abs_precision']:g}")
    lines = [
        f"replications of {', '.join(record.get('outcomes', []))}: {per_point.ngroups} points, "
        f"{record.get('runs')} runs; target half-width <= {' or '.join(targets)} at "
        f"{record.get('confidence', 0):.0%} confidence, met by {met}; stopped: "
        + ", ".join(f"{n} {reason}" for reason, n in stopped.items())
    ]
    parameters = [c for c in frame.columns if c not in RECORD_COLUMNS]
    widest = frame.sort_values("relative_half_width", ascending=False, kind="stable")
    for row in widest.head(10).to_dict("records"):
        point = {name: row[name] for name in parameters}
        lines.append(
            f"  point {row['point']} {point}: {row['iterations']} iterations, {row['outcome']} "
            f"{row['mean']:.4g} ± {row['half_width']:.3g} ({row['relative_half_width']:.1%}), "
            f"{row['status']}"
        )
    if len(frame) > 10:
        lines.append(f"  ... {len(frame) - 10} more in results.replications")
    return "\n".join(lines)


# -- the estimate from a fixed sweep ------------------------------------------------------------


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

    target = _target(
        outcome,
        rel_precision=rel_precision,
        abs_precision=abs_precision,
        confidence=confidence,
        min_iterations=2,
        max_iterations=10**6,
        max_runs=None,
        look_ahead=0,
    )
    results = _opened(results_or_store)
    runs = results.runs
    done = runs[runs["status"] == Status.SUCCEEDED]
    values = _values_of(results, done["run_id"].astype(int).tolist(), target.outcomes, statistic)
    points: dict[str, _Point] = {}
    columns = [done[c].tolist() for c in ("run_id", "point_key", "point", "iteration")]
    for run_id, point_key, number, iteration in zip(*columns, strict=True):
        key = str(point_key)
        point = points.setdefault(key, _Point(len(points), key, int(number)))
        point.values[int(iteration)] = values.get(int(run_id))
        point.planned = max(point.planned, int(iteration) + 1)
    rows = []
    for point in points.values():
        for row in _point_rows(point, target):
            n = row["values"]
            width = float(target.widths(np.array(row["mean"])))
            need = _needed(row["std"], width, target.confidence, 10**9) if n >= 2 else math.nan
            rows.append(
                {name: row[name] for name in NEEDED_COLUMNS[:-2]}
                | {"iterations": n, "needed": need, "additional": need - n if n >= 2 else need}
            )
    frame = pd.DataFrame(rows, columns=list(NEEDED_COLUMNS))
    frame["needed"] = frame["needed"].astype("Int64" if frame["needed"].notna().all() else float)
    return _with_parameters(frame, results)


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


# -- driving the runner -----------------------------------------------------------------------


def replicate_until(
    configurations: Iterable[RunConfiguration],
    outcome: str | Sequence[str],
    *,
    rel_precision: float | None = 0.05,
    abs_precision: float | None = None,
    confidence: float = 0.95,
    min_iterations: int = 3,
    max_iterations: int = 100,
    max_runs: int | None = None,
    look_ahead: int = 5,
    statistic: Statistic | None = None,
    number_processes: int | None = 1,
    display_progress: bool | Callable[[int, int, int], None] = True,
    store: str | os.PathLike[str] | None = None,
    executor: Any = None,
    retry_failed: bool = False,
    replace_store: bool = False,
    reproducibility_checks: int | None = None,
) -> ReplicationResults:
    """Run each design point until the CI of its outcome is narrow enough.

    The sequential procedure of Law and Kelton with the look-ahead of Hoad, Robinson and
    Davies (2010), in rounds of :class:`~mesa_batch.BatchRunner` sweeps (see
    ``docs/replications.md``). Each point of the design (taken once, by ``point_key``) runs
    ``min_iterations`` replications; then, while its CI half-width ``t(n-1) s / sqrt(n)`` is
    wider than ``rel_precision * |mean|`` (and than ``abs_precision``, the fallback for means
    near zero) for any outcome, it gets more, up to its estimated need, until the target holds
    for ``look_ahead`` more runs, or it reaches ``max_iterations``, or the sweep reaches
    ``max_runs``. A point's iteration ``i`` has the seed a fixed design with ``iterations >
    i`` gives it, so adaptive and fixed sweeps share runs in a store. Interrupted and called
    again with the same arguments and store, it continues, and ends with the store an
    uninterrupted call writes.

    Args:
        configurations: Configurations from any design (made with a master seed); their
            iterations are ignored: each point's are derived as the design would.
        outcome: A column of the model table, whose value at each run's final collected step
            is the run's outcome; or a list of them (a point is done when all are); or the
            names of the values ``statistic`` returns.
        rel_precision: The target half-width as a fraction of |mean| (None: only absolute).
        abs_precision: An absolute target half-width, met also when the relative one is not.
        confidence: The CI's confidence level.
        min_iterations: Replications every point runs first (at least 2).
        max_iterations: Replications a point runs at most.
        max_runs: Runs the whole sweep may plan at most (None: no budget).
        look_ahead: Runs the target must stay met for before a point stops (Hoad et al.'s
            ``kLimit``: this many up to 100 runs, ``look_ahead`` percent beyond); 0 stops at
            the first count that meets it.
        statistic: A function of a run's model rows (a DataFrame ordered by step) returning the
            run's outcome, or a mapping of outcome names to values, instead of the final step.
        number_processes: As for :class:`~mesa_batch.BatchRunner` (also how many runs a round
            has at least, so that no worker idles).
        display_progress: A progress bar per round, or a callback ``f(done, failed, total)``
            counting the runs of every round so far.
        store: A Parquet store: every round is committed to it, the record of the points is
            written to its ``store.json``, and calling again resumes.
        executor: Any executor :class:`~mesa_batch.BatchRunner` takes (Dask, MPI, ...).
        retry_failed: With a store, run again the runs it records as failed (once, first).
        replace_store: With a store, start a new one (the old one is moved aside).
        reproducibility_checks: As for :class:`~mesa_batch.BatchRunner`, per round.

    Returns:
        The results of every run, with :attr:`ReplicationResults.replications` (per point:
        iterations, CI, whether the target was met, why it stopped) and ``rounds``.

    Raises:
        ConfigurationError: An invalid option, configurations not made by a design, a budget
            below ``min_iterations`` per point, or an outcome that is not a model column.
        Interrupted: Ctrl-C; its ``results`` hold every run so far, and calling again with the
            same store resumes.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [20, 40]}, max_steps=10, seed=1)
        >>> results = replicate_until(configs, "Gini", rel_precision=0.1, display_progress=False)
        >>> results.replications[["n", "iterations", "target_met"]].shape
        (2, 3)
    """
    target = _target(
        outcome,
        rel_precision=rel_precision,
        abs_precision=abs_precision,
        confidence=confidence,
        min_iterations=min_iterations,
        max_iterations=max_iterations,
        max_runs=max_runs,
        look_ahead=look_ahead,
    )
    rounds = _Rounds(
        _points(configurations),
        target,
        statistic,
        number_processes=number_processes,
        display_progress=display_progress,
        store=None if store is None else pathlib.Path(store),
        executor=executor,
        options={
            "retry_failed": retry_failed,
            "replace_store": replace_store,
            "reproducibility_checks": reproducibility_checks,
        },
    )
    return rounds.run()


def _points(configurations: Iterable[RunConfiguration]) -> list[_Point]:
    """One point per distinct point key, based on its iteration 0, in the design's order."""
    from mesa_batch.designs.compose import _configurations  # noqa: PLC0415

    bases: dict[str, RunConfiguration] = {}
    for config in _configurations([configurations], "configurations"):
        if config.design is None:
            raise ConfigurationError(
                problem(
                    "configurations",
                    "must be made by a design (their iterations' seeds derive from its master "
                    "seed, so that a resumed call gives the same runs)",
                    config,
                    "Build them with a design, e.g. manual(Model, [{...}], seed=42).",
                )
            )
        bases.setdefault(config.point_key, config)
    if not bases:
        raise ConfigurationError(
            problem("configurations", "must hold at least one configuration", [])
        )
    return [_Point.of(i, c) for i, c in enumerate(bases.values())]


class _Rounds:
    """The loop of ``replicate_until``: plan a round, run it, read its outcomes, decide.

    Rounds are sized from each point's expected need (not one run at a time), so there are
    few of them, and a round has at least one run per worker; within a round the runner keeps
    every worker busy. A round still waits for its last runs before the next is planned.
    """

    def __init__(
        self,
        points: list[_Point],
        target: _Target,
        statistic: Any,
        *,
        number_processes: int | None,
        display_progress: Any,
        store: pathlib.Path | None,
        executor: Any,
        options: dict[str, Any],
    ):
        self.points = points
        self.target = target
        self.statistic = statistic
        self.number_processes = number_processes
        self.display_progress = display_progress
        self.store = store
        self.executor = executor
        self.options = options
        self.workers = _workers(number_processes, executor)
        self.by_key: dict[str, tuple[_Point, int]] = {}
        self.configs: list[RunConfiguration] = []
        self.finished_before: set[str] = set()  # keys the store had finished at the start
        self.memory: list[Results] = []
        self.rounds: list[dict[str, Any]] = []
        self.caught: list[warnings.WarningMessage] = []
        self.progress = (0, 0, 0)  # runs done, failed, planned in the rounds before

    def run(self) -> ReplicationResults:
        """Run every round; return the results of all runs with the record."""
        budget = self.target.max_runs
        least = len(self.points) * self.target.min_iterations
        if budget is not None and budget < least:
            raise ConfigurationError(
                problem(
                    "max_runs",
                    f"must allow min_iterations ({self.target.min_iterations}) runs for each of "
                    f"the {len(self.points)} points",
                    budget,
                    f"Pass max_runs >= {least}, or lower min_iterations.",
                )
            )
        try:
            plan = self._first_plan()
            while plan:
                self._round(plan, first=not self.rounds)
                plan = _plan_round(self.points, self.target, self.workers)
            return self._finish()
        finally:
            self._warn()

    def _first_plan(self) -> dict[int, int]:
        """Iterations 0 .. min_iterations - 1 of every point, or more if the store plans more."""
        stored = self._stored()
        low, high = self.target.min_iterations, self.target.max_iterations
        return {p.index: min(max(low, stored.get(p.index, 0)), high) for p in self.points}

    def _stored(self) -> dict[int, int]:
        """Per point, how many of its first iterations the store already plans (to resume)."""
        if self.store is None or self.options["replace_store"]:
            return {}
        if not (self.store / "store.json").exists():
            return {}
        self._adopt()
        runs = Results.open(self.store).runs
        keys = set(runs["key"].tolist())
        self.finished_before = set(runs.loc[runs["status"] != Status.PENDING, "key"].tolist())
        iterations: dict[str, set[int]] = {}
        for point_key, iteration in zip(runs["point_key"], runs["iteration"], strict=True):
            iterations.setdefault(str(point_key), set()).add(int(iteration))
        found = {}
        for point in self.points:
            present = iterations.get(point.key, set())
            n = 0
            while n in present and n < self.target.max_iterations:
                if point.iteration(n, 0).key not in keys:
                    break
                n += 1
            found[point.index] = n
        return found

    def _adopt(self) -> None:
        """Designs that drew their seed take the one the store recorded (so the runs match)."""
        if not any(p.base and p.base.design and p.base.design.seed.drawn for p in self.points):
            return
        from mesa_batch.store.reader import read_state  # noqa: PLC0415
        from mesa_batch.store.session import adopt_seeds  # noqa: PLC0415

        assert self.store is not None
        bases = [p.base for p in self.points if p.base is not None]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            adopted = adopt_seeds(read_state(self.store), bases)
        self.caught.extend(caught)
        for point, base in zip(self.points, adopted, strict=True):
            point.base = base

    def _round(self, plan: Mapping[int, int], *, first: bool) -> None:
        """Run the iterations the plan adds (the first round: all it names); read them."""
        new = self._configurations(plan, first=first)
        for i, n in plan.items():
            self.points[i].planned = n
        started = time.perf_counter()
        results = self._run(new, first=first)
        seconds = time.perf_counter() - started
        runs = results.runs
        self._read(results, runs[runs["key"].isin(list(self.by_key))])
        keys = {c.key for c in new} - self.finished_before
        ran = runs[runs["key"].isin(list(keys))]
        busy = float(ran["wall_time"].astype(float).fillna(0.0).sum())
        workers = min(self.workers, max(1, len(ran)))
        self.rounds.append(
            {
                "round": len(self.rounds),
                "points": len(plan),
                "runs": len(new),
                "ran": len(ran),
                "seconds": seconds,
                "busy_seconds": busy,
                "workers": workers,
                "utilisation": busy / (workers * seconds) if len(ran) and seconds > 0 else None,
            }
        )

    def _configurations(self, plan: Mapping[int, int], *, first: bool) -> list[RunConfiguration]:
        """The round's configurations, iteration outer (like a design), with new run ids."""
        new = []
        for iteration in range(max(plan.values())):
            for i, n in plan.items():
                point = self.points[i]
                if iteration >= n or (not first and iteration < point.planned):
                    continue
                config = point.iteration(iteration, len(self.configs))
                self.configs.append(config)
                self.by_key[config.key] = (point, iteration)
                new.append(config)
        return new

    def _run(self, configs: list[RunConfiguration], *, first: bool) -> Results:
        """One round: a BatchRunner sweep of its configurations, its warnings kept."""
        from mesa_batch.errors import SeedAdoptedWarning  # noqa: PLC0415
        from mesa_batch.runner import BatchRunner  # noqa: PLC0415

        options = dict(self.options)
        if not first:  # once: the store is replaced and its failed runs retried in the first
            options["retry_failed"] = options["replace_store"] = False
        runner = BatchRunner(
            configs,
            self.number_processes,
            self._progress(),
            store=self.store,
            executor=self.executor,
            **options,
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if not first:  # the store's seed was adopted (and said so) in the first round
                    warnings.simplefilter("ignore", SeedAdoptedWarning)
                try:
                    results = runner.run()
                finally:
                    self.caught.extend(caught)
        except Interrupted as stop:
            if self.store is None:
                self.memory.append(stop.results)
            raise Interrupted(self._results()) from None
        if self.store is None:
            self.memory.append(results)
        done, failed, planned = self.progress
        failed += results.counts()["failed"]
        self.progress = (done + len(configs), failed, planned + len(configs))
        return results

    def _progress(self) -> Any:
        """The user's callback, counting the runs of every round so far; or the runner's bar."""
        callback = self.display_progress
        if not callable(callback):
            return bool(callback)
        done, failed, planned = self.progress

        def progress(round_done: int, round_failed: int, total: int) -> None:
            callback(done + round_done, failed + round_failed, planned + total)

        return progress

    def _read(self, results: Results, runs: pd.DataFrame) -> None:
        """Record the outcomes of the runs that have none yet."""
        fresh = runs[[self.by_key[k][1] not in self.by_key[k][0].values for k in runs["key"]]]
        succeeded = fresh[fresh["status"] == Status.SUCCEEDED]
        values = _values_of(
            results,
            succeeded["run_id"].astype(int).tolist(),
            self.target.outcomes,
            self.statistic,
        )
        width = len(self.target.outcomes)
        for key, run_id, status in zip(fresh["key"], fresh["run_id"], fresh["status"], strict=True):
            point, iteration = self.by_key[key]
            if status == Status.SUCCEEDED:
                found = values.get(int(run_id))
                point.values[iteration] = np.full(width, np.nan) if found is None else found
            else:  # failed (or, which a finished round never leaves, pending)
                point.values[iteration] = None

    def _results(self) -> ReplicationResults:
        """The results of every run so far, with the record and the rounds."""
        if self.store is not None:
            results = ReplicationResults.open(self.store, configurations=self.configs)
            assert isinstance(results, ReplicationResults)
        else:
            results = _combined(self.memory)
        results._replications = _record(self.points, self.target, self.statistic)
        results._round_rows = list(self.rounds)
        return results

    def _finish(self) -> ReplicationResults:
        if self.store is not None:
            self._note(_record(self.points, self.target, self.statistic))
        results = self._results()
        failed = results.counts()["failed"]
        if failed:
            warnings.warn(
                f"{failed} of {len(results)} runs failed; the others completed. A point whose "
                "runs all failed stopped (status 'failed' in results.replications); "
                "results.failures has each failure.",
                RunFailedWarning,
                stacklevel=4,
            )
        return results

    def _note(self, record: dict[str, Any]) -> None:
        """Write the record into ``store.json``, in a session of its own (it holds the lock)."""
        from mesa_batch.errors import SeedAdoptedWarning  # noqa: PLC0415
        from mesa_batch.store.session import open_session  # noqa: PLC0415

        assert self.store is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeedAdoptedWarning)
            session = open_session(self.store, self.configs)
        try:
            session.note(replications=record)
            session.event("note", replications={"points": len(self.points), "runs": record["runs"]})
        finally:
            session.close("replications recorded")

    def _warn(self) -> None:
        """Warn once per distinct warning of the rounds (failures are counted at the end)."""
        seen = set()
        for caught in self.caught:
            key = (caught.category, str(caught.message))
            if issubclass(caught.category, RunFailedWarning) or key in seen:
                continue
            seen.add(key)
            warnings.warn(str(caught.message), caught.category, stacklevel=4)


def _workers(number_processes: int | None, executor: Any) -> int:
    """How many runs go at once: the executor's workers, or the processes asked for."""
    from mesa_batch.backends import adapt_executor, cpu_count, executor_workers  # noqa: PLC0415

    if executor is not None:
        return max(1, int(executor_workers(adapt_executor(executor))))
    if number_processes is None:
        return cpu_count()
    return max(1, check_int("number_processes", number_processes, minimum=1))


def _combined(rounds: Sequence[Results]) -> ReplicationResults:
    """The in-memory results of several rounds as one (their run ids are distinct)."""
    configs = [c for r in rounds for c in r.configurations]
    statuses = {k: v for r in rounds for k, v in r.statuses.items()}
    chunks: dict[str, list[dict[str, np.ndarray]]] = {}
    for results in rounds:
        for name in results.tables[1:]:
            frame = results.dataframe(name)
            if len(frame):
                chunks.setdefault(name, []).append({c: frame[c].to_numpy() for c in frame.columns})
    checks = [r.reproducible for r in rounds if r.reproducible is not None]
    return ReplicationResults(
        configs, statuses, chunks, reproducible=all(checks) if checks else None
    )
