"""A design point's state across rounds, and the plan of the next round."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.replications.rule import assess
from mesa_batch.replications.target import Target

__all__ = ["GROWTH", "REASONS", "Point", "plan_round"]

#: Why a point stopped: the target (with its look-ahead), or a limit, or no usable run.
REASONS = ("target", "max_iterations", "max_runs", "failed")
#: How much a point's iterations may grow in one round (its need is estimated from few runs).
GROWTH = 4


@dataclasses.dataclass(slots=True, eq=False)
class Point:
    """One design point: its base configuration, its planned iterations, its runs' values."""

    index: int
    key: str
    number: int
    base: RunConfiguration | None = None
    planned: int = 0
    #: iteration -> the outcomes' values (NaN where missing), or None for a failed run
    values: dict[int, np.ndarray | None] = dataclasses.field(default_factory=dict)
    #: why the point stopped (one of REASONS), None while it goes on
    status: str | None = None

    @classmethod
    def of(cls, index: int, base: RunConfiguration) -> Point:
        """The point of a configuration (based on its iteration 0)."""
        base = base if base.iteration == 0 else base.with_iteration(0)
        return cls(index, base.point_key, base.point, base)

    def iteration(self, iteration: int, run_id: int) -> RunConfiguration:
        """This point's configuration at an iteration, seeded as its design would."""
        assert self.base is not None
        return self.base.with_iteration(iteration, run_id=run_id)

    def usable(self, width: int) -> np.ndarray:
        """The values of the runs with every outcome finite, in iteration order."""
        rows = [
            v
            for i in range(self.planned)
            if (v := self.values.get(i)) is not None and np.isfinite(v).all()
        ]
        return np.array(rows, dtype=float).reshape(len(rows), width)


def _wanted(point: Point, target: Target) -> int:
    """The iterations a point should have planned next (its planned ones when it is done)."""
    values = point.usable(len(target.outcomes))
    done, need = assess(values, target)
    if done:
        point.status = "target"
        return point.planned
    if not len(values):  # every run failed or gave no value
        point.status = "failed"
        return point.planned
    if point.planned >= target.max_iterations:
        point.status = "max_iterations"
        return point.planned
    # runs that fail or give no value are expected at the rate seen so far
    more = math.ceil((need - len(values)) * point.planned / len(values))
    wanted = min(point.planned + more, GROWTH * point.planned, target.max_iterations)
    return max(wanted, point.planned + 1)


def plan_round(points: Sequence[Point], target: Target, fill: int) -> dict[int, int]:
    """How many iterations each point not done has after the next round (point -> iterations).

    Points that need the fewest more runs come first when the budget is short (so that as
    many as possible reach the target); when the round has fewer runs than ``fill`` (the
    workers), the points not done get more, up to ``max_iterations``, so no worker idles.
    """
    wanted = {p.index: _wanted(p, target) for p in points if p.status is None}
    wanted = {i: n for i, n in wanted.items() if points[i].status is None}
    order = sorted(wanted, key=lambda i: (wanted[i] - points[i].planned, i))
    planned = sum(p.planned for p in points)
    left = None if target.max_runs is None else max(0, target.max_runs - planned)
    plan = {}
    for i in order:
        more = wanted[i] - points[i].planned
        if left is not None:
            more = min(more, left)
            left -= more
        if more:
            plan[i] = points[i].planned + more
        else:
            points[i].status = "max_runs"
    extra = sum(plan[i] - points[i].planned for i in plan)
    while extra < fill and left != 0:
        room = [i for i in order if i in plan and plan[i] < target.max_iterations]
        if not room:
            break
        for i in room[: fill - extra]:
            if left == 0:
                break
            plan[i] += 1
            extra += 1
            left = None if left is None else left - 1
    return plan
