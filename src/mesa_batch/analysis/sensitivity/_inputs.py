"""What every sensitivity method is given: the design, its sample, one output per point.

* **Outputs.** Each run's outcome at ``at`` (its last collected step by default) is read out
  of core; the replications of a design point are averaged (their **mean**), giving one
  output per point in the design's order, as SALib expects.
* **Inputs.** The design's recorded unit-cube sample. A linear ``Real(low, high)`` parameter
  is given to SALib on its real scale, ``x = low + u * (high - low)``, with bounds
  ``[low, high]``; every other parameter (``Integer``, ``Categorical``, ``Boolean``, a
  ``Real`` with ``log=True``, a ``Distribution``) stays in the unit cube, bounds ``[0, 1]``:
  its unit coordinate is the finest variable the point was drawn from (an ``Integer`` is
  ``floor`` of it, a category a slice of it). Morris is the exception (see its module).
* **Failed runs** (``on_failure``): ``"raise"`` names them; ``"drop"`` leaves out the points
  without a succeeded run, where the method allows it; ``"impute"`` gives those points the
  mean output of the other points. Both warn saying how many points.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.analysis._data import final_values, succeeded
from mesa_batch.errors import ConfigurationError, DesignError, problem
from mesa_batch.outcomes import Status

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo
    from mesa_batch.results import Results

__all__ = ["FAILURE_MODES", "Inputs", "choose_design", "gather"]

#: What ``on_failure`` accepts.
FAILURE_MODES = ("raise", "drop", "impute")


@dataclasses.dataclass(frozen=True, slots=True)
class Inputs:
    """A method's inputs.

    Attributes:
        design: The design the runs came from.
        problem: The SALib problem: names, and real bounds for linear ``Real`` parameters
            (unit bounds for the others).
        X: The sample on the scale of ``problem``, one row per kept point.
        unit_problem: The same problem with unit bounds.
        unit: The unit-cube sample, one row per kept point.
        Y: The mean output of each kept point.
        dropped: How many points were left out (``on_failure="drop"``).
        imputed: How many points got the mean of the others (``on_failure="impute"``).
    """

    design: DesignInfo
    problem: dict[str, Any]
    X: np.ndarray
    unit_problem: dict[str, Any]
    unit: np.ndarray
    Y: np.ndarray
    dropped: int = 0
    imputed: int = 0


def choose_design(results: Results, wanted: str | None) -> DesignInfo:
    """The design to analyse: ``wanted`` (an id or a name), or the only one of the runs."""
    used = [str(d) for d in results.runs["design"].dropna().unique()]
    designs = results.designs
    present = [designs[d] for d in used if d in designs]
    if wanted is not None:
        found = [d for d in present if wanted in (d.id, d.name)]
        if len(found) == 1:
            return found[0]
    elif len(present) == 1:
        return present[0]
    listed = ", ".join(f"{d.id} ({d.name}, {d.n_points} points)" for d in present) or "none"
    raise DesignError(
        problem(
            "design",
            f"must name one of the designs of these runs: {listed}",
            wanted,
            "Pass design=<id> (results.designs lists them).",
        )
    )


def needs(what: str, design: DesignInfo, needed: str, how: str) -> DesignError:
    """The error for a design that does not fit an analysis (``what``: the call)."""
    return DesignError(
        problem(
            what,
            f"needs {needed}",
            f"a {design.name!r} design of {design.n_points} points",
            how,
        )
    )


def gather(
    results: Results,
    design: DesignInfo,
    outcome: str,
    *,
    table: str,
    at: str | int,
    on_failure: str,
    every_point: bool,
    method: str,
) -> Inputs:
    """Read the outputs per point, handle failed runs, and build the method's inputs."""
    if on_failure not in FAILURE_MODES:
        raise ConfigurationError(
            problem(
                "on_failure", f"must be one of {', '.join(map(repr, FAILURE_MODES))}", on_failure
            )
        )
    unit = _samples(design, method)
    runs = results.runs
    mine = runs[runs["design"] == design.id]
    _check_failures(mine, on_failure, method, every_point=every_point)
    done = succeeded(mine)
    found = final_values(results, table, outcome, at)
    per_run = found.reindex(done["run_id"].to_numpy()).to_numpy(dtype=float)
    points = done["point"].to_numpy(dtype=np.int64)
    ok = ~np.isnan(per_run)
    n = np.bincount(points[ok], minlength=design.n_points)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.bincount(points[ok], per_run[ok], minlength=design.n_points) / n
    y = y[: design.n_points]
    missing = np.isnan(y)
    dropped = imputed = 0
    if missing.any() and on_failure == "raise":
        raise _no_value(outcome, int(missing.sum()), design)
    if missing.all():
        raise _no_value(outcome, int(missing.sum()), design)
    if missing.any() and on_failure == "impute":
        imputed = int(missing.sum())
        y = np.where(missing, float(np.mean(y[~missing])), y)
        _say(f"{imputed} of {design.n_points} points have no value of {outcome!r} (failed runs); "
             "each was given the mean output of the other points")  # fmt: skip
    elif missing.any():
        dropped = int(missing.sum())
        unit, y = unit[~missing], y[~missing]
        _say(f"{dropped} of {design.n_points} points have no value of {outcome!r} (failed runs) "
             "and were left out")  # fmt: skip
    real_problem, x = _real_scale(design, unit)
    return Inputs(
        design=design,
        problem=real_problem,
        X=x,
        unit_problem=_unit_problem(design),
        unit=unit,
        Y=y,
        dropped=dropped,
        imputed=imputed,
    )


def _say(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)


def _samples(design: DesignInfo, method: str) -> np.ndarray:
    samples = design.samples
    if samples is None or len(samples) != design.n_points:
        raise needs(
            f"sensitivity(method={method!r})",
            design,
            "a design that records its unit-cube sample",
            "Use a sampled design: sample(...), saltelli(...) or morris(...).",
        )
    return np.asarray(samples, dtype=float)


def _check_failures(runs: pd.DataFrame, on_failure: str, method: str, *, every_point: bool) -> None:
    failed = runs[runs["status"] == Status.FAILED]
    pending = runs[runs["status"] == Status.PENDING]
    if len(pending):
        raise ConfigurationError(
            problem(
                "the design's runs",
                "must all have finished for a sensitivity analysis",
                f"{len(pending)} pending runs, e.g. run_id {pending['run_id'].head(5).tolist()}",
                "Run the sweep again with the same store to finish them.",
            )
        )
    if not len(failed):
        return
    if on_failure == "raise":
        raise ConfigurationError(
            problem(
                "on_failure='raise'",
                "refuses failed runs",
                f"{len(failed)} failed runs, run_id {failed['run_id'].head(10).tolist()}",
                "See results.failures; rerun them (mesa-batch run --retry-failed), or pass "
                "on_failure='impute'" + ("" if every_point else " or 'drop'") + ".",
            )
        )
    if on_failure == "drop" and every_point:
        raise ConfigurationError(
            problem(
                f"sensitivity(method={method!r}, on_failure='drop')",
                "cannot leave points out (the method needs every point of its design)",
                f"{len(failed)} failed runs",
                "Pass on_failure='impute' (a missing point gets the mean of the others).",
            )
        )


def _no_value(outcome: str, count: int, design: DesignInfo) -> ConfigurationError:
    return ConfigurationError(
        problem(
            f"outcome {outcome!r}",
            "must have a value at every design point",
            f"{count} of {design.n_points} points without one",
            "Pass on_failure='impute' or 'drop', or check that the model reports it.",
        )
    )


def _unit_problem(design: DesignInfo) -> dict[str, Any]:
    names = list(design.varying)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _real_scale(design: DesignInfo, unit: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """The problem with real bounds for linear ``Real`` parameters, and the sample on it."""
    from mesa_batch.space import Real  # noqa: PLC0415

    x = unit.copy()
    bounds = []
    for column, name in enumerate(design.varying):
        parameter = design.space[name] if design.space is not None else None
        if isinstance(parameter, Real) and not parameter.log:
            low, high = parameter.low, parameter.high
            x[:, column] = low + unit[:, column] * (high - low)
            bounds.append([low, high])
        else:
            bounds.append([0.0, 1.0])
    names = list(design.varying)
    return {"num_vars": len(names), "names": names, "bounds": bounds}, x


def frame(names: list[str], found: Any, columns: list[str]) -> pd.DataFrame:
    """SALib's result as a DataFrame indexed by parameter, with SALib's column names."""
    import pandas as pd  # noqa: PLC0415

    data = {c: np.asarray(found[c], dtype=float) for c in columns}
    return pd.DataFrame(data, index=pd.Index(names, name="parameter"))
