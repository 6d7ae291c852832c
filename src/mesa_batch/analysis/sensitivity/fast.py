"""Extended FAST indices (``SALib.analyze.fast``), from SALib's own FAST sample.

FAST reads the outputs along its search curves, so it needs a design drawn with
``SALib.sample.fast_sampler`` (recorded under the name ``"fast"``, with its ``M``).
mesa_batch has no FAST design yet: the check says so and points to ``rbd_fast`` (first-order
indices from any sampled design) or ``sobol``. Columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: FAST needs every point of its curves.
EVERY_POINT = True


def check(design: DesignInfo) -> None:
    """Refuse every design but a FAST sample."""
    if design.name != "fast":
        raise needs(
            "sensitivity(method='fast')",
            design,
            "a design drawn with SALib's FAST sampler (SALib.sample.fast_sampler), which "
            "mesa_batch does not offer yet",
            "Use method='rbd_fast' (first-order indices from any sampled design, e.g. "
            "sample(..., method='lhs')), or method='sobol' with saltelli(...).",
        )


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """First-order and total indices."""
    from SALib.analyze import fast  # noqa: PLC0415

    m = int(inputs.design.options.get("M", 4))
    found = fast.analyze(inputs.problem, inputs.Y, M=m, conf_level=confidence, seed=seed, **options)
    return frame(inputs.problem["names"], found, ["S1", "S1_conf", "ST", "ST_conf"])
