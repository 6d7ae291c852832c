"""Sobol indices (``SALib.analyze.sobol``) from a Saltelli design.

Needs a ``saltelli`` design of exactly ``N * (2D + 2)`` points (second order) or
``N * (D + 2)``, its outputs in the design's order, and every point (failed runs: impute).
Columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf``; with second order, the matrices
``S2`` and ``S2_conf`` are in ``frame.attrs`` as ``{parameter: {parameter: value}}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: Sobol needs every point of its design.
EVERY_POINT = True


def check(design: DesignInfo) -> None:
    """Refuse a design that is not a Saltelli design of the right shape."""
    how = "Run saltelli(model, space, n) (mesa_batch.designs) and analyse its results."
    if design.name != "saltelli":
        raise needs("sensitivity(method='sobol')", design, "a 'saltelli' design", how)
    d = len(design.varying)
    n = int(design.options.get("n", 0))
    second = bool(design.options.get("calc_second_order", True))
    expected = n * (2 * d + 2) if second else n * (d + 2)
    if design.n_points != expected:
        raise needs(
            "sensitivity(method='sobol')",
            design,
            f"N * ({'2D + 2' if second else 'D + 2'}) = {expected} points",
            how,
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """Sobol first-order, total (and second-order) indices with bootstrap half-widths."""
    from SALib.analyze import sobol  # noqa: PLC0415

    second = bool(inputs.design.options.get("calc_second_order", True))
    found = sobol.analyze(
        inputs.problem, inputs.Y, calc_second_order=second, conf_level=confidence, seed=seed,
        **options,
    )  # fmt: skip
    names = inputs.problem["names"]
    result = frame(names, found, ["S1", "S1_conf", "ST", "ST_conf"])
    if second:
        for key in ("S2", "S2_conf"):
            matrix = np.asarray(found[key], dtype=float)
            result.attrs[key] = {
                a: {b: float(matrix[i, j]) for j, b in enumerate(names)}
                for i, a in enumerate(names)
            }
    return result
