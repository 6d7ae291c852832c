"""Reading each run's outcome: the model table at its final step, or a statistic of its rows.

Only the outcome columns of the runs asked for are read (``Results.scan``), never a whole table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from mesa_batch.errors import ConfigurationError, problem

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["Statistic", "values_of"]

#: A statistic of one run: its model rows (ordered by step) -> a value, or values by name.
Statistic = Callable[["pd.DataFrame"], "float | Mapping[str, float]"]


def values_of(
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
