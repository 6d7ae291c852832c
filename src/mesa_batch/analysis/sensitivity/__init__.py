"""Sensitivity indices of an outcome, from the design that made the runs (via SALib).

One module per method, each with ``check(design)`` (does the recorded design fit?),
``analyze(inputs, ...)`` and ``EVERY_POINT`` (whether it needs every point of its design), in
the registry :data:`METHODS`. The shared preparation (outputs per point, failed runs, the
scale given to SALib) is in :mod:`._inputs`.

==============  ==========================================  ===========================
method          design it needs                             columns
==============  ==========================================  ===========================
``sobol``       ``saltelli``, ``N * (2D + 2)`` or            ``S1 S1_conf ST ST_conf``
                ``N * (D + 2)`` points                       (``S2`` in ``attrs``)
``morris``      ``morris`` (its trajectories)               ``mu mu_star sigma
                                                            mu_star_conf``
``fast``        ``fast``, ``n * D`` points                  ``S1 S1_conf ST ST_conf``
``rbd_fast``    any sampled design                          ``S1 S1_conf``
``delta``       any sampled design                          ``delta delta_conf S1 S1_conf``
``pawn``        any sampled design                          ``minimum mean median maximum
                                                            CV``
==============  ==========================================  ===========================
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mesa_batch.analysis._data import as_results, check_table
from mesa_batch.analysis.sensitivity import delta, fast, morris, pawn, rbd_fast, sobol
from mesa_batch.analysis.sensitivity._inputs import choose_design, gather
from mesa_batch.analysis.stats import check_confidence
from mesa_batch.errors import ConfigurationError, problem

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["METHODS", "sensitivity"]

#: The sensitivity methods, by name: each a module with ``check``, ``analyze``, ``EVERY_POINT``.
METHODS: dict[str, ModuleType] = {
    "sobol": sobol,
    "morris": morris,
    "fast": fast,
    "rbd_fast": rbd_fast,
    "delta": delta,
    "pawn": pawn,
}


def sensitivity(
    results: Results | str | os.PathLike[str],
    outcome: str,
    *,
    method: str = "sobol",
    at: str | int = "final",
    on_failure: str = "raise",
    table: str = "model",
    design: str | None = None,
    confidence: float = 0.95,
    seed: int | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Sensitivity indices of an outcome, indexed by parameter, with SALib's column names.

    Each run's value at ``at`` (its last collected step by default) is read; replications of
    a design point are averaged (their mean) into the point's output, in the design's order.
    The design recorded with the runs is checked against the method first. SALib is given
    linear ``Real`` parameters on their real scale (``low + u * (high - low)``, bounds
    ``[low, high]``) and every other parameter in the unit cube (Morris: all in the unit
    cube); see :mod:`mesa_batch.analysis.sensitivity._inputs`.

    Args:
        results: A ``Results``, or the path of a store.
        outcome: The outcome column.
        method: One of :data:`METHODS`.
        at: ``"final"`` or a step.
        on_failure: ``"raise"`` (name the failed runs), ``"drop"`` (leave their points out,
            not for sobol, morris, fast) or ``"impute"`` (give a point without a value the
            mean of the other points); both warn with how many points.
        table: The data table the outcome is in.
        design: The design's id or name, when the runs come from several designs.
        confidence: The confidence level of SALib's ``*_conf`` half-widths.
        seed: The seed of SALib's bootstrap.
        **options: Passed to the SALib analyser (e.g. ``num_resamples=1000``).

    Returns:
        One row per varying parameter; ``attrs`` has the method, design id, outcome, the
        bounds given to SALib and how many points were dropped or imputed.

    Raises:
        ConfigurationError: An unknown method, outcome or table, failed runs with
            ``on_failure="raise"``, or a design that does not fit (``DesignError``).
    """
    if method not in METHODS:
        raise ConfigurationError(
            problem("method", f"must be one of {', '.join(map(repr, METHODS))}", method)
        )
    confidence = check_confidence(confidence) or 0.95
    results = as_results(results)
    check_table(results, table)
    module = METHODS[method]
    info = choose_design(results, design)
    module.check(info)
    inputs = gather(
        results, info, outcome, table=table, at=at, on_failure=on_failure,
        every_point=module.EVERY_POINT, method=method,
    )  # fmt: skip
    found = _keeping_numpy_state(module, inputs, confidence=confidence, seed=seed, **options)
    found.attrs.update(
        method=method,
        design=info.id,
        outcome=outcome,
        bounds=inputs.unit_problem["bounds"] if method == "morris" else inputs.problem["bounds"],
        dropped=inputs.dropped,
        imputed=inputs.imputed,
        confidence=confidence,
    )
    return found


def _keeping_numpy_state(module: ModuleType, inputs: Any, **arguments: Any) -> pd.DataFrame:
    """A method's ``analyze``, with numpy's global random state put back as it was.

    Some of SALib's analyses seed numpy's global state (``np.random.seed``) or draw from it;
    the caller's own use of ``np.random`` must not change because an index was computed.
    """
    import numpy as np  # noqa: PLC0415

    saved = np.random.get_state()
    try:
        found: pd.DataFrame = module.analyze(inputs, **arguments)
    finally:
        np.random.set_state(saved)
    return found
