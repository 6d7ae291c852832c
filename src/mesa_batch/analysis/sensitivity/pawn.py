"""PAWN, a distribution-based measure (``SALib.analyze.pawn``), from any sampled design.

Points without a value may be dropped. PAWN has no confidence level: columns ``minimum``,
``mean``, ``median``, ``maximum``, ``CV`` (statistics of the KS distances over ``S`` slices).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: PAWN works on any subset of a sample.
EVERY_POINT = False


def check(design: DesignInfo) -> None:
    """Refuse a design without a recorded sample."""
    if design.samples is None:
        raise needs(
            "sensitivity(method='pawn')", design, "a sampled design", "Use sample(model, space, n)."
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """The KS-distance statistics per parameter (``confidence`` is not used)."""
    from SALib.analyze import pawn  # noqa: PLC0415

    found = pawn.analyze(inputs.problem, inputs.X, inputs.Y, seed=seed, **options)
    return frame(inputs.problem["names"], found, ["minimum", "mean", "median", "maximum", "CV"])
