"""RBD-FAST first-order indices (``SALib.analyze.rbd_fast``) from any sampled design.

Any design that records its unit-cube sample fits (``sample``, ``saltelli``, ``morris``);
points without a value may be dropped. Columns ``S1``, ``S1_conf``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: RBD-FAST works on any subset of a sample.
EVERY_POINT = False


def check(design: DesignInfo) -> None:
    """Refuse a design without a recorded sample."""
    if design.samples is None:
        raise needs(
            "sensitivity(method='rbd_fast')",
            design,
            "a sampled design",
            "Use sample(model, space, n).",
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """First-order indices with bootstrap half-widths."""
    from SALib.analyze import rbd_fast  # noqa: PLC0415

    found = rbd_fast.analyze(
        inputs.problem, inputs.X, inputs.Y, conf_level=confidence, seed=seed, **options
    )
    return frame(inputs.problem["names"], found, ["S1", "S1_conf"])
