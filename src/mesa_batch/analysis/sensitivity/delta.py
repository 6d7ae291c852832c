"""Borgonovo's delta moment-independent measure (``SALib.analyze.delta``), any sampled design.

Points without a value may be dropped. Columns ``delta``, ``delta_conf``, ``S1``, ``S1_conf``.
"""

from __future__ import annotations

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
        raise needs("delta", design, "a sampled design", "Use sample(model, space, n).")


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """delta and S1 with bootstrap half-widths."""
    from SALib.analyze import delta  # noqa: PLC0415

    found = delta.analyze(
        inputs.problem, inputs.X, inputs.Y, conf_level=confidence, seed=seed, **options
    )
    return frame(inputs.problem["names"], found, ["delta", "delta_conf", "S1", "S1_conf"])
