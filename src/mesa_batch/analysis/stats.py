"""Confidence intervals of a mean: Student's t, or a seeded bootstrap (``scipy.stats``).

:data:`INTERVALS` is the registry ``aggregate(method=...)`` dispatches on. Every method takes
the values of one group (and the confidence level and a generator) and returns the interval's
bounds; the mean, standard deviation and standard error are the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mesa_batch.errors import ConfigurationError, problem

__all__ = [
    "INTERVALS",
    "bootstrap_interval",
    "check_confidence",
    "interval_method",
    "t_half_width",
    "t_interval",
    "t_quantile",
]

Interval = Callable[[np.ndarray, float, np.random.Generator], tuple[float, float]]


def t_quantile(p: float, df: Any) -> Any:
    """Student's t quantile, ``scipy.stats.t.ppf(p, df)``, without importing scipy.stats.

    ``scipy.special.stdtrit`` is the function behind it; importing scipy.stats takes most of
    a second, scipy.special a small part of that.
    """
    from scipy.special import stdtrit  # noqa: PLC0415

    return stdtrit(df, p)


def t_half_width(std: Any, n: Any, confidence: float) -> Any:
    """The half-width of Student's t interval, ``t(n-1, (1+confidence)/2) · std/√n``.

    The one implementation of the t interval: :func:`t_interval`, ``aggregate`` and
    ``replicate_until`` all use it. It works elementwise on arrays (and on scalars).

    Args:
        std: Sample standard deviations (``ddof=1``).
        n: The numbers of values they are of.
        confidence: The confidence level, in (0, 1).

    Returns:
        The half-widths; NaN where ``n < 2``.
    """
    n = np.asarray(n, dtype=float)
    df = np.where(n >= 2, n - 1, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return t_quantile((1 + confidence) / 2, df) * (np.asarray(std, dtype=float) / np.sqrt(n))


def t_interval(
    values: np.ndarray, confidence: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Student's t interval: mean ± t(n-1, (1+confidence)/2) · s/√n (NaN for n < 2)."""
    n = len(values)
    if n < 2:
        return np.nan, np.nan
    mean = float(np.mean(values))
    half = float(t_half_width(np.std(values, ddof=1), n, confidence))
    return mean - half, mean + half


def bootstrap_interval(
    values: np.ndarray, confidence: float, rng: np.random.Generator
) -> tuple[float, float]:
    """A BCa bootstrap interval of the mean (``scipy.stats.bootstrap``, 9,999 resamples).

    Constant values (where BCa is undefined) give the value itself as both bounds.
    """
    from scipy import stats  # noqa: PLC0415

    if len(values) < 2:
        return np.nan, np.nan
    if np.all(values == values[0]):
        return float(values[0]), float(values[0])
    options = {"confidence_level": confidence, "method": "BCa", "vectorized": True}
    try:
        found = stats.bootstrap((values,), np.mean, rng=rng, **options)
    except TypeError:  # scipy < 1.15 calls the generator random_state
        found = stats.bootstrap((values,), np.mean, random_state=rng, **options)
    return float(found.confidence_interval.low), float(found.confidence_interval.high)


#: The interval methods of ``aggregate``, by name.
INTERVALS: dict[str, Interval] = {"t": t_interval, "bootstrap": bootstrap_interval}


def interval_method(method: str) -> Interval:
    """The interval function named ``method`` (the message lists the valid ones)."""
    if method not in INTERVALS:
        raise ConfigurationError(
            problem("method", f"must be one of {', '.join(map(repr, INTERVALS))}", method)
        )
    return INTERVALS[method]


def check_confidence(confidence: float | None) -> float | None:
    """Check a confidence level: a number strictly between 0 and 1, or None (no interval)."""
    if confidence is None:
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        ok = False
    else:
        ok = 0 < confidence < 1
    if not ok:
        raise ConfigurationError(
            problem(
                "confidence",
                "must be a number between 0 and 1 (exclusive), or None for no interval",
                confidence,
                "Pass e.g. confidence=0.95.",
            )
        )
    return float(confidence)
