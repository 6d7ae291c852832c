"""Extended FAST indices (``SALib.analyze.fast``), from a ``fast`` design.

FAST reads the outputs along its search curves, so it needs the ``fast`` design
(:func:`mesa_batch.fast`, SALib's ``fast_sampler``): ``n`` points per varying parameter, in
the sampler's order, every point (failed runs: impute). Its ``M`` is read from the recorded
design. Columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.

SALib's FAST bootstrap draws from numpy's global random state (``np.random``) and seeds it
with ``np.random.seed``; here that state is seeded for the call (from ``seed``, or fresh
entropy when None) and put back as it was afterwards, so the caller's global stream is left
untouched. SALib warns that its FAST confidence intervals are indicative only (a
``UserWarning``, passed on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.analysis.sensitivity._inputs import Inputs, frame, needs

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.config import DesignInfo

#: FAST needs every point of its curves.
EVERY_POINT = True


def check(design: DesignInfo) -> None:
    """Refuse a design that is not a ``fast`` design of ``n * d`` points."""
    how = (
        "Run fast(model, space, n) (mesa_batch.designs) and analyse its results, or use "
        "method='rbd_fast' (first-order indices from any sampled design)."
    )
    if design.name != "fast":
        raise needs(
            "sensitivity(method='fast')", design, "a 'fast' design (SALib's FAST sampler)", how
        )
    d = len(design.varying)
    expected = int(design.options.get("n", 0)) * d
    if design.n_points != expected:
        raise needs("sensitivity(method='fast')", design, f"n * D = {expected} points", how)


def analyze(inputs: Inputs, *, confidence: float, seed: Any, **options: Any) -> pd.DataFrame:
    """First-order and total indices, with bootstrap half-widths."""
    from SALib.analyze import fast  # noqa: PLC0415

    m = int(inputs.design.options.get("M", 4))
    # SALib's FAST bootstrap draws from numpy's global state (put back by the caller)
    np.random.seed(_legacy_seed(seed))
    found = fast.analyze(inputs.problem, inputs.Y, M=m, conf_level=confidence, **options)
    return frame(inputs.problem["names"], found, ["S1", "S1_conf", "ST", "ST_conf"])


def _legacy_seed(seed: Any) -> Any:
    """The seed for ``np.random.seed``: ``seed`` itself below 2**32 (as SALib's ``seed=``)."""
    if isinstance(seed, int) and 0 <= seed < 2**32:
        return seed
    return np.random.SeedSequence(seed).generate_state(4)
