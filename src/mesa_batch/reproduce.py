"""Is a sweep reproducible? Run some of its runs again with their seeds and compare the data.

A model that draws from Python's global ``random``, an unseeded networkx generator or the
clock cannot be re-created from its recorded seed, and nothing else would say so. The runner
runs a few finished runs again at the end of a sweep (by default as many as cost about 2% of
its time, at least one) and compares every table with what it recorded, bit for bit; on a
mismatch it warns once and records it in the store. :meth:`Results.rerun` does the same for
one run, in the calling process.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.columns import concat_columns
from mesa_batch.outcomes import RunStatus

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LIKELY_CAUSES", "RerunReport", "check_count", "chosen", "compare", "same"]

#: The share of a sweep's run time spent checking reproducibility by default.
BUDGET: Final = 0.02
#: The most runs checked by default.
MOST: Final = 50
#: What makes a model give other data from the same seed, for the messages.
LIKELY_CAUSES: Final = (
    "the model (or a library it calls, such as networkx) draws from Python's global `random` "
    "or numpy's global `np.random` instead of `self.random` / `self.rng`; it reads the clock, "
    "the environment or a file that changes; or it iterates over a set or dict whose order "
    "depends on hashing"
)


@dataclasses.dataclass(frozen=True, slots=True)
class RerunReport:
    """The outcome of running a recorded run again.

    Attributes:
        run_id: The run's id.
        recorded: The run's recorded status (``succeeded``, ``failed`` or ``pending``).
        status: The status of the run made now.
        differences: Per table that differs, what differs (empty when every table is equal).
    """

    run_id: int
    recorded: str
    status: RunStatus
    differences: Mapping[str, str]

    @property
    def reproduced(self) -> bool:
        """Whether the run ended as recorded and every table equals the recorded rows."""
        if self.status.status != self.recorded:
            return False
        return not self.differences

    def __str__(self) -> str:
        if self.reproduced:
            return f"run {self.run_id} reproduced: every table equals the recorded rows"
        if self.status.status != self.recorded:
            why = self.status.failure.summary() if self.status.failure else str(self.status.status)
            return f"run {self.run_id} did not reproduce: recorded {self.recorded}, now {why}"
        lines = [f"run {self.run_id} did not reproduce; likely causes: {LIKELY_CAUSES}"]
        lines.extend(f"  {table}: {what}" for table, what in self.differences.items())
        return "\n".join(lines)


def check_count(
    wall_times: Sequence[float], elapsed: float, requested: int | None, workers: int = 1
) -> int:
    """How many of a sweep's finished runs to run again.

    Args:
        wall_times: The run times of the runs that succeeded in this sweep.
        elapsed: The sweep's wall time so far, in seconds.
        requested: The runner's ``reproducibility_checks``: None for the default (as many as
            cost about 2% of the sweep's time, at least one, at most 50), 0 for none, N for N.
        workers: How many runs go at once.

    Examples:
        >>> check_count([0.1] * 100, elapsed=10.0, requested=None)  # 2% of 10 s = 2 runs
        2
        >>> check_count([0.1] * 100, elapsed=10.0, requested=0)
        0
    """
    if not len(wall_times) or requested == 0:
        return 0
    if requested is not None:
        return min(requested, len(wall_times))
    mean = sum(wall_times) / len(wall_times)
    affordable = int(BUDGET * elapsed * max(workers, 1) / mean) if mean > 0 else MOST
    return max(1, min(affordable, MOST, len(wall_times)))


def chosen(run_ids: Sequence[int], count: int) -> list[int]:
    """The run ids to check: the first ``count`` runs that finished.

    The first runs come in the smallest batches (batches grow once run times are known), so
    reading their recorded rows back from a store reads little.
    """
    return list(dict.fromkeys(run_ids))[: max(count, 0)]


def compare(
    expected: Mapping[str, pd.DataFrame], got: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Compare a rerun's tables with the recorded rows of the same run.

    Args:
        expected: Per table, the recorded rows of the run (with ``run_id``; empty if none).
        got: Per table, the rerun's columns (without ``run_id``).

    Returns:
        Per table that differs, a sentence saying how.
    """
    differences = {}
    for table in sorted(set(expected) | set(got)):
        recorded = expected.get(table)
        rows = 0 if recorded is None else len(recorded)
        columns = concat_columns([dict(got[table])]) if table in got else {}
        found = len(next(iter(columns.values()), []))
        if rows != found:
            differences[table] = f"{rows} rows recorded, {found} rows now"
            continue
        if not rows or recorded is None:
            continue
        what = _compare_columns(recorded, columns)
        if what:
            differences[table] = what
    return differences


def _compare_columns(recorded: pd.DataFrame, columns: Mapping[str, np.ndarray]) -> str | None:
    names = [c for c in recorded.columns if c != "run_id"]
    for name in sorted(set(names) | set(columns)):
        if name in recorded and name in columns and _identical(recorded[name], columns[name]):
            continue
        stored = recorded[name].tolist() if name in recorded else [None] * len(recorded)
        now = columns[name].tolist() if name in columns else [None] * len(recorded)
        for row, (a, b) in enumerate(zip(stored, now, strict=True)):
            if not same(a, b):
                return f"column {name!r} differs first at row {row}: recorded {a!r}, now {b!r}"
    return None


def _identical(stored: pd.Series, now: Any) -> bool:
    """Whether two numeric columns of one dtype are equal bit for bit.

    Then every pair of values is :func:`same`; False tells nothing (the values are then
    compared one by one).
    """
    recorded = stored.to_numpy()
    if not isinstance(now, np.ndarray) or recorded.dtype != now.dtype:
        return False
    if recorded.dtype.kind == "f":  # bits, not values: -0.0 is not 0.0, NaN is NaN
        bits = np.dtype(f"u{recorded.dtype.itemsize}")
        recorded = np.ascontiguousarray(recorded).view(bits)
        now = np.ascontiguousarray(now).view(bits)
    elif recorded.dtype.kind not in "biu":
        return False
    return bool(np.array_equal(recorded, now))


def same(a: Any, b: Any) -> bool:  # noqa: PLR0911 - one answer per kind of value
    """Whether a recorded value and a new one are the same, floats compared bit for bit.

    An int and a float are the same when the float is exactly the int (a table's column may
    have been widened to float when another run's value was a float); a missing value (None,
    NaN or NA) is the same as another missing value; objects of a class that compares by
    identity only are the same when their types are.
    """
    if _is_missing(a) or _is_missing(b):
        return _is_missing(a) and _is_missing(b)
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return type(a) is type(b) and a == b
        if isinstance(a, int | float) and isinstance(b, int | float):
            return _bits(float(a)) == _bits(float(b)) and float(a) == a and float(b) == b
        return False
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return same(np.asarray(a).tolist(), np.asarray(b).tolist())
    if type(a) is type(b) and type(a).__eq__ is object.__eq__:
        return True  # compared by identity only: two runs can never give the same object
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return repr(a) == repr(b)


def _bits(number: float) -> bytes:
    return struct.pack("<d", number)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd  # noqa: PLC0415

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False
