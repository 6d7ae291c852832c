"""Morris elementary effects (``SALib.analyze.morris``) from a Morris design.

Needs a ``morris`` design (its trajectories, in order, and its unit sample ``X``) and every
point (failed runs: impute). SALib computes each effect as the change of the output over
the grid step ``delta`` of the unit cube, so every parameter is given in the unit cube here:
``mu``, ``mu_star`` and ``sigma`` are per unit of each parameter's whole range, comparable
across parameters. Columns ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: Morris needs every point of its trajectories.
EVERY_POINT = True


def check(design: DesignInfo) -> None:
    """Refuse a design that is not a Morris design."""
    if design.name != "morris" or design.samples is None:
        raise needs(
            "sensitivity(method='morris')",
            design,
            "a 'morris' design (its trajectories and unit sample)",
            "Run morris(model, space, trajectories) (mesa_batch.designs) and analyse its results.",
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """mu, mu*, sigma and mu*'s bootstrap half-width per parameter."""
    from SALib.analyze import morris  # noqa: PLC0415

    levels = int(inputs.design.options.get("num_levels", 4))
    found = morris.analyze(
        inputs.unit_problem, inputs.unit, inputs.Y, conf_level=confidence, num_levels=levels,
        seed=seed, **options,
    )  # fmt: skip
    return frame(inputs.unit_problem["names"], found, ["mu", "mu_star", "sigma", "mu_star_conf"])
