"""One-at-a-time effects of a base-case design: each variation against the reference.

For each varied point, the difference of its mean outcome and the reference point's, with a
Student t interval: **paired by iteration** when the design used common random numbers
(iteration ``i`` of both points shares its seed, so the differences ``x_i - ref_i`` are
averaged; only iterations where both runs succeeded count), otherwise Welch's interval for
two independent samples.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.analysis._data import as_results, check_table, final_values, succeeded
from mesa_batch.analysis.sensitivity._inputs import choose_design, needs
from mesa_batch.analysis.stats import check_confidence

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["effects"]

#: The columns of :func:`effects`, in order.
COLUMNS = (
    "point",
    "parameter",
    "value",
    "n",
    "mean",
    "reference_mean",
    "difference",
    "ci_low",
    "ci_high",
    "paired",
)


def effects(
    results: Results | str | os.PathLike[str],
    outcome: str,
    *,
    at: str | int = "final",
    confidence: float = 0.95,
    table: str = "model",
    design: str | None = None,
) -> pd.DataFrame:
    """Each variation of a base-case design against its reference: difference of means.

    Args:
        results: A ``Results``, or the path of a store (of a ``base_case`` design).
        outcome: The outcome column.
        at: ``"final"`` or a step.
        confidence: The interval's confidence level.
        table: The data table the outcome is in.
        design: The design's id or name, when the runs come from several designs.

    Returns:
        One row per variation: :data:`COLUMNS` (``n`` counts the pairs when paired, else the
        variation's runs; the interval is NaN with fewer than 2).

    Raises:
        ConfigurationError: The design is not a base case (``DesignError``), or an unknown
            outcome or table.
    """
    import pandas as pd  # noqa: PLC0415

    level = check_confidence(confidence) or 0.95
    results = as_results(results)
    check_table(results, table)
    info = choose_design(results, design)
    base = info.options.get("base")
    if info.name != "base_case" or not isinstance(base, dict):
        raise needs(
            "effects(...)", info, "a 'base_case' design", "Run base_case(model, base, variations)."
        )
    runs = results.runs
    done = succeeded(runs[runs["design"] == info.id])
    value = final_values(results, table, outcome, at).reindex(done["run_id"].to_numpy())
    done = done.assign(_y=value.to_numpy(dtype=float))
    by_point = {int(p): rows for p, rows in done.groupby("point")}  # type: ignore[arg-type]
    reference = by_point.get(0, done.iloc[:0])
    rows = []
    for point in range(1, info.n_points):
        varied = by_point.get(point, done.iloc[:0])
        name, shown = _varied(base, varied, results.parameter_names)
        rows.append(
            {"point": point, "parameter": name, "value": shown,
             **_difference(varied, reference, level, paired=info.common_random_numbers)}
        )  # fmt: skip
    found = pd.DataFrame(rows, columns=list(COLUMNS))
    found.attrs.update(outcome=outcome, design=info.id, confidence=level)
    return found


def _varied(base: dict[str, Any], runs: pd.DataFrame, names: list[str]) -> tuple[Any, Any]:
    if not len(runs):
        return None, None
    row = runs.iloc[0]
    for name in names:
        if name in base and not _same(row[name], base[name]):
            return name, row[name]
    return None, None


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _difference(
    varied: pd.DataFrame, reference: pd.DataFrame, confidence: float, *, paired: bool
) -> dict[str, Any]:
    from mesa_batch.analysis.stats import t_half_width, t_quantile  # noqa: PLC0415

    x = varied.dropna(subset="_y").set_index("iteration")["_y"]
    r = reference.dropna(subset="_y").set_index("iteration")["_y"]
    low = high = np.nan
    if paired:
        common = x.index.intersection(r.index)
        d = (x.loc[common] - r.loc[common]).to_numpy(dtype=float)
        n, difference = len(d), float(np.mean(d)) if len(d) else np.nan
        if n >= 2:
            half = float(t_half_width(np.std(d, ddof=1), n, confidence))
            low, high = difference - half, difference + half
    else:
        n = len(x)
        difference = float(x.mean() - r.mean()) if n and len(r) else np.nan
        if n >= 2 and len(r) >= 2:
            vx, vr = x.var(ddof=1) / n, r.var(ddof=1) / len(r)
            se = np.sqrt(vx + vr)
            df = (vx + vr) ** 2 / (vx**2 / (n - 1) + vr**2 / (len(r) - 1)) if se > 0 else 1.0
            half = t_quantile((1 + confidence) / 2, df) * se
            low, high = difference - half, difference + half
    return {
        "n": n,
        "mean": float(x.mean()) if len(x) else np.nan,
        "reference_mean": float(r.mean()) if len(r) else np.nan,
        "difference": difference,
        "ci_low": float(low),
        "ci_high": float(high),
        "paired": bool(paired),
    }
