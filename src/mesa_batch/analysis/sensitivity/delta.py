"""Borgonovo's delta moment-independent measure (``SALib.analyze.delta``), any sampled design.

SALib 1.6 computes three variants (``balanced``, ``raw``, ``step``), each with its bootstrap
half-width: the columns ``delta_balanced``, ``delta_balanced_conf``, ``delta_raw``,
``delta_raw_conf``, ``delta_step``, ``delta_step_conf`` (``step`` is NaN for parameters with
too few samples at or below 0). SALib's own ``S1`` there draws from numpy's global random
state, so it is not asked for (``method="delta"``) unless ``method="all"`` is passed. SALib's
notes (e.g. a raw/balanced difference it flags as possible bias) are in ``attrs["notes"]``,
not warned; SALib's process-wide warning settings are restored after the call. Points
without a value may be dropped.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: delta works on any subset of a sample.
EVERY_POINT = False


def check(design: DesignInfo) -> None:
    """Refuse a design without a recorded sample."""
    if design.samples is None:
        raise needs(
            "sensitivity(method='delta')",
            design,
            "a sampled design",
            "Use sample(model, space, n).",
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """The delta variants with their bootstrap half-widths."""
    from SALib.analyze import delta  # noqa: PLC0415

    options = {"method": "delta", **options}
    formatter = warnings.formatwarning
    try:
        # SALib sets simplefilter("once") and warns what its notes say: record, not show
        with warnings.catch_warnings(record=True):
            found = delta.analyze(
                inputs.problem, inputs.X, inputs.Y, conf_level=confidence, seed=seed, **options
            )
    finally:
        warnings.formatwarning = formatter  # SALib replaces it
    columns = [k for k in found if k not in ("names", "notes")]
    result = frame(inputs.problem["names"], found, columns)
    result.attrs["notes"] = dict(zip(inputs.problem["names"], found.get("notes", []), strict=False))
    return result
