"""The stopping rule: is a point's CI narrow enough, and else how many runs it needs.

The sequential procedure of Law and Kelton with the look-ahead of Hoad, Robinson and Davies
(2010): a point is done when its half-width ``t(n-1, (1+confidence)/2) s / sqrt(n)`` (the
t interval of :func:`mesa_batch.analysis.stats.t_half_width`, the one ``aggregate`` uses) is
within the target for every outcome, and has stayed within it for ``look_ahead`` more runs.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from mesa_batch.replications.target import Target

__all__ = ["DAMPING", "assess", "needed", "prefix_stats"]

#: The share of a point's estimated remaining need one round plans: the estimate's standard
#: deviation is uncertain, and falling short costs a round where overshooting costs runs.
DAMPING = 0.75


def prefix_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and sample standard deviations of every prefix (rows 1..n) of a values matrix."""
    count = np.arange(1, len(values) + 1, dtype=float)[:, None]
    shifted = values - values[:1]  # shifting by the first value keeps the sums well conditioned
    total = np.cumsum(shifted, axis=0)
    squares = np.cumsum(shifted**2, axis=0)
    means = total / count + values[:1]
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (squares - total**2 / count) / (count - 1)
    return means, np.sqrt(np.clip(variance, 0.0, None))


def needed(std: float, width: float, confidence: float, limit: int) -> int:
    """The fewest runs (at most ``limit``) whose half-width is at most ``width`` with this ``std``.

    The normal quantile's answer is a lower bound (t's quantiles are larger); the search goes up
    from it in growing steps.
    """
    from mesa_batch.analysis.stats import t_half_width  # noqa: PLC0415 - import mesa_batch stays light

    if not std > 0:
        return 2
    if not width > 0 or not math.isfinite(width):
        return limit
    z = statistics.NormalDist().inv_cdf((1 + confidence) / 2)
    start, step = max(2, math.ceil((z * std / width) ** 2)), 64
    while start < limit:
        n = np.arange(start, min(start + step, limit + 1))
        fits = np.flatnonzero(t_half_width(std, n, confidence) <= width)
        if len(fits):
            return int(n[fits[0]])
        start, step = start + step, 2 * step
    return limit


def assess(values: np.ndarray, target: Target) -> tuple[bool, int]:
    """Whether a point is done, and else how many usable runs it needs (an estimate).

    Done: the target is met at the current runs, and was met at each of the last
    ``look_ahead`` counts before (the streak began at ``min_iterations`` runs or later).

    Args:
        values: The point's usable runs (rows, in iteration order) by outcome (columns).
        target: The target.

    Returns:
        ``(done, need)``: ``need`` is the runs the point should have (when done: those the
        streak needed).
    """
    from mesa_batch.analysis.stats import t_half_width  # noqa: PLC0415 - import mesa_batch stays light

    m = len(values)
    if m < target.min_iterations:
        return False, target.min_iterations
    means, stds = prefix_stats(values)
    counts = np.arange(1, m + 1)
    widths = target.widths(means)
    met = (t_half_width(stds, counts[:, None], target.confidence) <= widths).all(axis=1)
    met[: target.min_iterations - 1] = False
    if met[-1]:
        missed = np.flatnonzero(~met)
        start = int(missed[-1]) + 2  # the count at which the current streak began
        need = start + target.extra(start)
        return m >= need, need
    need = max(
        needed(float(stds[-1, j]), float(widths[-1, j]), target.confidence, target.max_iterations)
        for j in range(values.shape[1])
    )
    need = max(need, m + 1) + target.extra(need)
    return False, m + max(1, math.ceil(DAMPING * (need - m)))
