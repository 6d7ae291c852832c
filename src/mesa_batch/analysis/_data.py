"""What every analysis reads: the runs, and one outcome per run and step, out of core.

An outcome is read with :meth:`Results.scan <mesa_batch.Results.scan>`: only ``run_id``,
``step`` and the outcome's column, piece by piece (one Parquet part at a time from a store).
Each piece is reduced as it is read: the outcome is summed and counted per run and step (for an
agent table, the mean over the run's agents at that step), and for final values only each run's
last step is kept. pandas only sees the reduced rows: at most one per run and step.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.outcomes import Status
from mesa_batch.results import Results

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.analysis._lean import LeanSource

    #: What the analyses read: a ``Results``, or a store read leanly.
    Source = Results | LeanSource

__all__ = [
    "RunValues",
    "as_results",
    "as_source",
    "check_parameters",
    "final_values",
    "run_table",
    "values",
]

#: The columns of a data table that are not outcomes.
INDEX_COLUMNS = ("run_id", "step", "agent_id", "agent_type")


def as_results(results: Results | str | os.PathLike[str]) -> Results:
    """The ``Results`` an analysis reads: given, or opened from a store path."""
    if isinstance(results, Results):
        return results
    if isinstance(results, str | os.PathLike):
        return Results.open(pathlib.Path(results))
    raise ConfigurationError(
        problem(
            "results",
            "must be a Results or the path of a store",
            results,
            "Pass the runner's results, or a store directory (Results.open(path) reads it).",
        )
    )


def as_source(results: Results | str | os.PathLike[str]) -> Results | LeanSource:
    """What an aggregate reads: a store path read leanly where it can be, else a ``Results``.

    See :mod:`mesa_batch.analysis._lean`: the lean reading gives the same values.
    """
    from mesa_batch.analysis._lean import lean_source  # noqa: PLC0415

    if isinstance(results, str | os.PathLike) and not isinstance(results, Results):
        lean = lean_source(pathlib.Path(results))
        if lean is not None:
            return lean
    return as_results(results)


def run_table(results: Source) -> pd.DataFrame:
    """The runs with what grouping needs: ids, status, point, design and the parameters.

    From a store, only those are read (not the seeds, keys, times and failures of ``runs``).
    """
    return results._run_table()  # the lean part of Results.runs, for analyses


def check_parameters(results: Source, names: Sequence[str], what: str) -> list[str]:
    """Check that ``names`` are parameters of the sweep; return them as a list."""
    known = results.parameter_names
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in known:
            raise ConfigurationError(
                problem(
                    what,
                    f"must name parameters of the sweep ({', '.join(map(repr, known))})",
                    name,
                    "Pick one of them (results.parameter_names lists them).",
                )
            )
    return names


@dataclasses.dataclass(frozen=True, slots=True)
class RunValues:
    """One outcome per run and collected step (agent tables: the mean over agents).

    Attributes:
        run_id: The run of each row, sorted.
        step: The step of each row, sorted within a run.
        value: The outcome (NaN where it was missing at that step).
    """

    run_id: np.ndarray
    step: np.ndarray
    value: np.ndarray


def values(
    results: Source, table: str, outcome: str, *, last: bool = False, upto: int | None = None
) -> RunValues:
    """Read one outcome per run and step, reducing each piece as it is read.

    A piece's rows come run by run and step by step (as collected), so the rows of one run
    and step are contiguous: they are summed and counted with ``numpy.add.reduceat``, without
    hashing. A piece (and, at the end, the combined pieces) is sorted and reduced again only
    if its rows were not in that order after all.

    Args:
        results: The results.
        table: The data table.
        outcome: The outcome column.
        last: Keep only each run's last step (after ``upto``).
        upto: Keep only steps at or before this one.

    Raises:
        ConfigurationError: ``table`` is not a table of the sweep, or has no column
            ``outcome`` (the message lists the columns it has).
    """
    check_table(results, table)
    if outcome in INDEX_COLUMNS:
        raise _unknown(results, table, outcome)
    parts: list[tuple[np.ndarray, ...]] = []
    seen = False
    for piece in results.scan(table, ["step", outcome]):
        column = piece.column(outcome)
        seen = seen or column.null_count < len(column)
        run = piece.column("run_id").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        step = piece.column("step").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        value = _floats(column, table, outcome)
        if upto is not None:
            keep = step <= upto
            run, step, value = run[keep], step[keep], value[keep]
        quick = _last_rows(run, step, value) if last else None
        if quick is not None:
            parts.append(quick)
            continue
        count = (~np.isnan(value)).astype(np.int64)
        part = _sorted(_reduce(run, step, np.where(count > 0, value, 0.0), count))
        parts.append(_last(part) if last else part)
    if not seen:
        raise _unknown(results, table, outcome)
    combined = _sorted(tuple(np.concatenate([p[k] for p in parts]) for k in range(4)))
    # a run's last step in the whole table is its last step in every piece that has it
    run, step, total, count = _last(combined) if last else combined
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return RunValues(run_id=run, step=step, value=value)


def _last_rows(
    run: np.ndarray, step: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, ...] | None:
    """Each run's row at its last step, where every run and step has one row, in order.

    A model table's piece is so (one row per run and collected step, run by run, step by
    step): its last rows are found by comparing neighbours, with no array of the piece's
    length but flags. None for anything else (e.g. an agent table: several rows per step).
    """
    if not len(run):
        return None
    same = run[1:] == run[:-1]
    if not ((run[1:] > run[:-1]) | (same & (step[1:] > step[:-1]))).all():
        return None
    ends = np.append(np.flatnonzero(~same), len(run) - 1)
    found = value[ends]
    known = ~np.isnan(found)
    return run[ends], step[ends], np.where(known, found, 0.0), known.astype(np.int64)


def _reduce(
    run: np.ndarray, step: np.ndarray, total: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Sum ``total`` and ``count`` over contiguous rows of the same run and step."""
    if not len(run):
        return run, step, total.astype(float), count
    starts = np.flatnonzero(np.r_[True, (run[1:] != run[:-1]) | (step[1:] != step[:-1])])
    if len(starts) == len(run):
        return run, step, total.astype(float), count
    return (
        run[starts],
        step[starts],
        np.add.reduceat(total.astype(float), starts),
        np.add.reduceat(count, starts),
    )


def _sorted(part: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Rows sorted by run, then step, one per run and step (sorted and reduced if needed)."""
    run, step = part[0], part[1]
    later = (run[1:] > run[:-1]) | ((run[1:] == run[:-1]) & (step[1:] > step[:-1]))
    if later.all():
        return part
    order = np.lexsort((step, run))
    return _reduce(*(a[order] for a in part))


def _last(part: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The rows of each run's last step (rows sorted by run, then step)."""
    run = part[0]
    keep = np.r_[run[1:] != run[:-1], True] if len(run) else np.zeros(0, bool)
    return tuple(a[keep] for a in part)


def _floats(column: Any, table: str, outcome: str) -> np.ndarray:
    """An outcome column as float64 with NaN for missing values."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if pa.types.is_null(column.type):  # a part without the column
        return np.full(len(column), np.nan)
    if not pa.types.is_floating(column.type):
        column = _as_float(column, table, outcome)
    if column.null_count:
        column = pc.fill_null(column.cast(pa.float64()), np.nan)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def _as_float(column: Any, table: str, outcome: str) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
        return column.cast(pa.float64())
    raise ConfigurationError(
        problem(
            f"outcome {outcome!r} of table {table!r}",
            "must be numeric (int, float or bool) to be analysed",
            str(column.type),
            "Report a number from the model, or analyse another column.",
        )
    )


def final_values(results: Source, table: str, outcome: str, at: str | int = "final") -> Any:
    """Each run's outcome at its last collected step (or its last step at or before ``at``).

    Returns:
        A ``pandas.Series`` indexed by ``run_id``.
    """
    import pandas as pd  # noqa: PLC0415

    found = values(results, table, outcome, last=True, upto=None if at == "final" else int(at))
    return pd.Series(found.value, index=pd.Index(found.run_id, name="run_id"), name=outcome)


def check_table(results: Source, table: str) -> None:
    """Check that ``table`` is a data table of the sweep (not ``runs``)."""
    names = results.tables[1:]
    if table not in names:
        raise ConfigurationError(
            problem(
                "table",
                f"must be one of the sweep's data tables ({', '.join(map(repr, names))})",
                table,
                "Outcomes are read from 'model' (model reporters) or 'agents' (agent reporters).",
            )
        )


def _unknown(results: Source, table: str, outcome: str) -> ConfigurationError:
    first = next(results.scan(table), None)
    columns = [] if first is None else [c for c in first.column_names if c not in INDEX_COLUMNS]
    return ConfigurationError(
        problem(
            "outcome",
            f"must be a column of table {table!r} ({', '.join(map(repr, columns))})",
            outcome,
            "Pick one of them, or pass table='agents' for an agent reporter.",
        )
    )


def succeeded(runs: pd.DataFrame) -> pd.DataFrame:
    """The succeeded runs of a runs table."""
    return runs[runs["status"] == Status.SUCCEEDED]


def failed(runs: pd.DataFrame) -> pd.DataFrame:
    """The failed runs of a runs table."""
    return runs[runs["status"] == Status.FAILED]
