"""What every analysis reads: the runs, and one outcome per run and step, out of core.

An outcome is read with :meth:`Results.scan <mesa_batch.Results.scan>`: only ``run_id``,
``step`` and the outcome's column, piece by piece (one Parquet part at a time from a store).
Each piece is reduced in Arrow (``group_by(["run_id", "step"])``: the sum and count of the
outcome, which for an agent table is the mean over the run's agents at that step), and the
reduced pieces are combined. pandas only sees the reduced rows: one per run and step.
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

__all__ = ["RunValues", "as_results", "check_parameters", "final_values", "run_table", "values"]

#: Rows read before they are reduced (about 24 MB of run, step and value).
REDUCE_ROWS = 1_000_000
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


def run_table(results: Results) -> pd.DataFrame:
    """The runs with what grouping needs: ids, status, point, design and the parameters."""
    runs = results.runs
    columns = ["run_id", "iteration", "status", "steps", "point", "design"]
    return runs[[*columns, *results.parameter_names]]


def check_parameters(results: Results, names: Sequence[str], what: str) -> list[str]:
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


def values(results: Results, table: str, outcome: str) -> RunValues:
    """Read one outcome per run and step, reducing each piece in Arrow as it is read.

    Raises:
        ConfigurationError: ``table`` is not a table of the sweep, or has no column
            ``outcome`` (the message lists the columns it has).
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    check_table(results, table)
    if outcome in INDEX_COLUMNS:
        raise _unknown(results, table, outcome)
    reduced: list[Any] = []
    pending: list[Any] = []
    rows = 0
    seen = False
    for piece in results.scan(table, ["step", outcome]):
        column = piece.column(outcome)
        seen = seen or column.null_count < len(column)
        if pa.types.is_null(column.type):  # a part without the column
            column = column.cast(pa.float64())
        elif not pa.types.is_floating(column.type):
            column = _as_float(column, table, outcome)
        pending.append(
            pa.table({"run_id": piece.column("run_id"), "step": piece.column("step"), "v": column})
        )
        rows += len(piece)
        if rows >= REDUCE_ROWS:  # reduce a few pieces at once: each group_by has a fixed cost
            reduced.append(_reduce(pending))
            pending, rows = [], 0
    if pending:
        reduced.append(_reduce(pending))
    if not seen:
        raise _unknown(results, table, outcome)
    combined = pa.concat_tables(reduced)
    if len(reduced) > 1:  # a run's rows are in one piece; combine in case they are not
        combined = combined.group_by(["run_id", "step"]).aggregate(
            [("v_sum", "sum"), ("v_count", "sum")]
        )
        combined = combined.rename_columns(["run_id", "step", "v_sum", "v_count"])
    order = pc.sort_indices(combined, [("run_id", "ascending"), ("step", "ascending")])
    combined = combined.take(order)
    total = combined.column("v_sum").to_numpy(zero_copy_only=False).astype(float)
    count = combined.column("v_count").to_numpy(zero_copy_only=False).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return RunValues(
        run_id=combined.column("run_id").to_numpy(zero_copy_only=False).astype(np.int64),
        step=combined.column("step").to_numpy(zero_copy_only=False).astype(np.int64),
        value=value,
    )


def _reduce(pieces: list[Any]) -> Any:
    """Sum and count of the outcome per run and step, over some pieces."""
    import pyarrow as pa  # noqa: PLC0415

    together = pa.concat_tables(pieces, promote_options="permissive")
    return together.group_by(["run_id", "step"]).aggregate([("v", "sum"), ("v", "count")])


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


def final_values(results: Results, table: str, outcome: str, at: str | int = "final") -> Any:
    """Each run's outcome at its last collected step (or its last step at or before ``at``).

    Returns:
        A ``pandas.Series`` indexed by ``run_id``.
    """
    import pandas as pd  # noqa: PLC0415

    found = values(results, table, outcome)
    keep = np.ones(len(found.step), bool) if at == "final" else found.step <= int(at)
    run_id, value = found.run_id[keep], found.value[keep]
    if not len(run_id):
        return pd.Series(np.zeros(0), index=pd.Index(run_id, name="run_id"), name=outcome)
    last = np.r_[run_id[1:] != run_id[:-1], True]  # rows are sorted by run, then step
    return pd.Series(value[last], index=pd.Index(run_id[last], name="run_id"), name=outcome)


def check_table(results: Results, table: str) -> None:
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


def _unknown(results: Results, table: str, outcome: str) -> ConfigurationError:
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
