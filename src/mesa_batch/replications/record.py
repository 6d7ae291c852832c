"""The per-point record of ``replicate_until``: made, kept in ``store.json``, read back, shown.

The record is JSON (no NaN: a missing number is null) under ``replications`` in the store's
``store.json``; every session after keeps it (``store.json`` is read, updated and written
whole). Read back, it is checked field by field (:func:`read_record`): a hand-edited or
hostile ``store.json`` gives no record or blank values, never an error, and nothing in it is
evaluated or unpickled. ``Results.summary()``, ``mesa-batch show`` and the report show it.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.results import Results

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.replications.plan import Point
    from mesa_batch.replications.target import Target

__all__ = [
    "RECORD_COLUMNS",
    "ROUND_COLUMNS",
    "ReplicationResults",
    "make_record",
    "point_rows",
    "read_record",
    "record_frame",
    "record_of",
    "replication_headline",
    "replication_status",
    "replication_summary",
    "with_parameters",
]

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
_TEXT = ("point_key", "outcome", "status")
_COUNTS = ("point", "iterations", "values")
_NUMBERS = ("mean", "std", "half_width", "relative_half_width", "low", "high")


# -- making it ----------------------------------------------------------------------------------


def point_rows(point: Point, target: Target) -> list[dict[str, Any]]:
    """The record of one point: a row per outcome, its final CI and why it stopped."""
    from mesa_batch.analysis.stats import t_half_width  # noqa: PLC0415 - import mesa_batch stays light

    values = point.usable(len(target.outcomes))
    n = len(values)
    rows = []
    for j, name in enumerate(target.outcomes):
        column = values[:, j]
        mean = float(column.mean()) if n else math.nan
        std = float(column.std(ddof=1)) if n >= 2 else math.nan
        half = float(t_half_width(std, n, target.confidence))
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


def make_record(points: Sequence[Point], target: Target, statistic: Any) -> dict[str, Any]:
    """What ``store.json`` keeps under ``replications`` (JSON: no NaN, missing is null)."""
    rows = [row for p in points for row in point_rows(p, target)]
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


# -- reading it back ----------------------------------------------------------------------------


def read_record(value: object) -> dict[str, Any] | None:
    """A record as ``store.json`` holds it, checked: None when there is none (or no list).

    Settings that are not numbers become None, outcomes that are not a list become [], and
    each point row keeps only the record's columns (a row that is not a mapping is dropped);
    :func:`record_frame` then types every column.
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("points"), list):
        return None
    record: dict[str, Any] = {
        name: _number(value.get(name))
        for name in (
            "rel_precision",
            "abs_precision",
            "confidence",
            "min_iterations",
            "max_iterations",
            "max_runs",
            "look_ahead",
            "runs",
        )
    }
    outcomes = value.get("outcomes")
    record["outcomes"] = [str(o) for o in outcomes] if isinstance(outcomes, list) else []
    statistic = value.get("statistic")
    record["statistic"] = statistic if isinstance(statistic, str) else None
    record["points"] = [
        {name: row.get(name) for name in RECORD_COLUMNS}
        for row in value["points"]
        if isinstance(row, Mapping)
    ]
    return record


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def record_frame(record: Mapping[str, Any], results: Results | None) -> pd.DataFrame:
    """A (checked) record as a DataFrame, with the points' parameters when the results have them.

    Text columns hold str ("" where the store had something else), counts int (float with NaN
    when one is missing), the CI columns float, ``target_met`` bool (True only for true).
    """
    import pandas as pd  # noqa: PLC0415

    frame = pd.DataFrame(list(record.get("points", [])), columns=list(RECORD_COLUMNS))
    for name in _TEXT:
        frame[name] = [v if isinstance(v, str) else "" for v in frame[name]]
    for name in (*_COUNTS, *_NUMBERS):
        numbers = [_number(v) for v in frame[name]]
        frame[name] = pd.Series([math.nan if v is None else v for v in numbers], dtype=float)
    for name in _COUNTS:
        if frame[name].notna().all() and (frame[name] % 1 == 0).all():
            frame[name] = frame[name].astype(np.int64)
    frame["target_met"] = [v is True for v in frame["target_met"]]
    frame["target_met"] = frame["target_met"].astype(bool)
    return with_parameters(frame, results)


def with_parameters(frame: pd.DataFrame, results: Results | None) -> pd.DataFrame:
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


def opened(results_or_store: Results | str | os.PathLike[str]) -> Results:
    """Results as they are, or a store opened."""
    if isinstance(results_or_store, Results):
        return results_or_store
    return Results.open(pathlib.Path(results_or_store))


def record_of(
    results_or_store: Results | str | os.PathLike[str],
) -> tuple[dict[str, Any] | None, Results]:
    """The checked record of some results (their own, or their store's), and the results."""
    results = opened(results_or_store)
    record = getattr(results, "_replications", None)
    if record is None:
        record = results.store_info.get("replications")
    return read_record(record), results


# -- the results and the views ------------------------------------------------------------------


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
        record, _ = record_of(self)
        return record_frame(record or {}, self)

    @property
    def rounds(self) -> pd.DataFrame:  # noqa: D102 - documented on the class
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame(self._round_rows or [], columns=list(ROUND_COLUMNS))


def replication_status(results_or_store: Results | str | os.PathLike[str]) -> pd.DataFrame | None:
    """The per-point record of :func:`replicate_until`, from its results or its store.

    Args:
        results_or_store: The results :func:`replicate_until` returned, results read from a
            store (``Results.open``), or a store directory.

    Returns:
        The :attr:`ReplicationResults.replications` table (one row per point and outcome), or
        None when no ``replicate_until`` recorded one there.
    """
    record, results = record_of(results_or_store)
    return None if record is None else record_frame(record, results)


def replication_headline(record: Mapping[str, Any], frame: pd.DataFrame) -> str:
    """One line: the outcomes, points, runs, target, how many points met it, why they stopped.

    Args:
        record: A checked record (:func:`read_record`).
        frame: Its :func:`record_frame`.

    Returns:
        The line.
    """
    per_point = frame.groupby("point_key", sort=False)
    met = int(per_point["target_met"].all().sum())
    stopped = frame.drop_duplicates("point_key")["status"].value_counts().to_dict()
    targets = []
    if record["rel_precision"]:
        targets.append(f"{record['rel_precision']:.1%} of |mean|")
    if record["abs_precision"]:
        targets.append(f"{record['abs_precision']:g}")
    level = f"{record['confidence']:.0%}" if record["confidence"] is not None else "?"
    return (
        f"replications of {', '.join(record['outcomes'])}: {per_point.ngroups} points, "
        f"{record['runs']} runs; target half-width <= {' or '.join(targets) or '?'} at "
        f"{level} confidence, met by {met}; stopped: "
        + ", ".join(f"{n} {reason}" for reason, n in stopped.items())
    )


def replication_summary(results_or_store: Results | str | os.PathLike[str]) -> str:
    """The replications of :func:`replicate_until` as text ("" when there are none).

    One line with the target and how many points met it, then one line per point and
    outcome (the widest relative CI first, at most 10): its parameters, iterations, the mean
    with its CI's half-width and bounds, whether the target was met and why it stopped.
    ``Results.summary()`` ends with it; ``mesa-batch show`` prints it.

    Args:
        results_or_store: The results, or a store directory.

    Returns:
        The text.
    """
    record, results = record_of(results_or_store)
    if record is None:
        return ""
    frame = record_frame(record, results)
    lines = [replication_headline(record, frame)]
    parameters = [c for c in frame.columns if c not in RECORD_COLUMNS]
    widest = frame.sort_values("relative_half_width", ascending=False, kind="stable")
    for row in widest.head(10).to_dict("records"):
        point = {name: row[name] for name in parameters}
        met_text = "target met" if row["target_met"] else "target not met"
        lines.append(
            f"  point {row['point']} {point}: {row['iterations']} iterations, {row['outcome']} "
            f"{row['mean']:.6g} ± {row['half_width']:.4g} ({row['relative_half_width']:.2%}), "
            f"CI [{row['low']:.6g}, {row['high']:.6g}], {met_text}, stopped: {row['status']}"
        )
    if len(frame) > 10:
        lines.append(f"  ... {len(frame) - 10} more in replication_status(results)")
    return "\n".join(lines)
