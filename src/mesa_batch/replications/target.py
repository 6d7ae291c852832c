"""What ``replicate_until`` aims at: its options, validated before anything runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from mesa_batch.errors import ConfigurationError, check_int, problem

__all__ = ["Target", "check_target"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The precision every point must reach, and the limits on the way there."""

    outcomes: tuple[str, ...]
    rel_precision: float | None
    abs_precision: float | None
    confidence: float
    min_iterations: int
    max_iterations: int
    max_runs: int | None
    look_ahead: int

    def widths(self, means: np.ndarray) -> np.ndarray:
        """The half-width allowed at these means: the larger of the two precisions."""
        rel = 0.0 if self.rel_precision is None else self.rel_precision
        absolute = 0.0 if self.abs_precision is None else self.abs_precision
        return np.maximum(rel * np.abs(means), absolute)

    def extra(self, n: int) -> int:
        """Hoad, Robinson and Davies' look-ahead: the runs the target must stay met for."""
        return self.look_ahead if n <= 100 else self.look_ahead * n // 100

    def record(self) -> dict[str, Any]:
        """The target as JSON-ready settings."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return settings | {"outcomes": list(self.outcomes)}


def check_target(
    outcome: object,
    *,
    rel_precision: object,
    abs_precision: object,
    confidence: object,
    min_iterations: object,
    max_iterations: object,
    max_runs: object,
    look_ahead: object,
) -> Target:
    """Check ``replicate_until``'s options (each message names the option and the fix)."""
    rel = _check_precision("rel_precision", rel_precision)
    absolute = _check_precision("abs_precision", abs_precision)
    if rel is None and absolute is None:
        raise ConfigurationError(
            problem(
                "rel_precision and abs_precision",
                "must not both be None (there would be no target)",
                (rel_precision, abs_precision),
                "Pass rel_precision=0.05 (a half-width of 5% of the mean), abs_precision, or both.",
            )
        )
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        confidence = None
    if confidence is None or not 0 < confidence < 1:
        raise ConfigurationError(
            problem("confidence", "must be a number in (0, 1)", confidence, "Pass e.g. 0.95.")
        )
    low = check_int(
        "min_iterations", min_iterations, minimum=2, fix="A CI needs at least 2 runs; pass 3."
    )
    high = check_int(
        "max_iterations",
        max_iterations,
        minimum=low,
        rule=f"must be an int >= min_iterations ({low})",
    )
    budget = None if max_runs is None else check_int("max_runs", max_runs, minimum=1)
    return Target(
        outcomes=_outcome_names(outcome),
        rel_precision=rel,
        abs_precision=absolute,
        confidence=float(confidence),
        min_iterations=low,
        max_iterations=high,
        max_runs=budget,
        look_ahead=check_int("look_ahead", look_ahead, minimum=0),
    )


def _check_precision(what: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(
            problem(what, "must be a positive number or None", value, f"Pass e.g. {what}=0.05.")
        )
    return float(value)


def _outcome_names(outcome: object) -> tuple[str, ...]:
    names = (outcome,) if isinstance(outcome, str) else outcome
    if (
        not isinstance(names, Iterable)
        or not (names := tuple(names))
        or not all(isinstance(n, str) and n for n in names)
        or len(set(names)) != len(names)
    ):
        raise ConfigurationError(
            problem(
                "outcome",
                "must be a column name of the model table (or a value of the statistic), or a "
                "list of distinct names",
                outcome,
                'Pass e.g. outcome="Gini" or outcome=["Gini", "Wealth"].',
            )
        )
    return names
