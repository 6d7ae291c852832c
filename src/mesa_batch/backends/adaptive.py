"""``number_processes=None``: as many processes as pay for their start, up to every CPU.

A fresh worker process spends about a second importing Mesa before its first run, so a pool
started for a sweep of a few seconds can make it slower than running it in the calling
process. :class:`AdaptiveBackend` starts with what costs nothing — the calling process — and
measures run times on it.
The runner tells it, before each batch, how many runs are still waiting and how long the
last batch's runs took (:meth:`AdaptiveBackend.advise`); it starts the pool of every CPU only
when the work left would save more than the workers' start on them::

    seconds per run (the last batch's) x waiting x (1 - 1 / cpus) > START_COST

Until the pool's workers have started (each has imported Mesa), batches keep running where
they ran; then they go to the pool. A warm pool (a sweep ran on it less than its idle timeout
ago) costs nothing to start and is used at once. ``number_processes=N`` still means N.

Inside :func:`~mesa_batch.runner.in_workers` (the command line) no run may be in the calling
process: a worker's start is paid anyway, and the pool of every CPU is started at once, its
workers importing while the store is opened (a second worker then costs little more).
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

from mesa_batch.backends.local import (
    IDLE_TIMEOUT,
    Backend,
    BatchSizer,
    ProcessPoolBackend,
    SerialBackend,
    cpu_count,
    local_pool,
)
from mesa_batch.config import RunConfiguration
from mesa_batch.execute import BatchResult, Writer

__all__ = ["START_COST", "AdaptiveBackend"]

#: Seconds a fresh worker takes before its first run (Mesa's import: 0.8-1.5 s measured).
START_COST: Final = 1.5

#: Batches whose run times are not trusted for the decision (the first pays for imports).
SETTLING: Final = 1

#: When a pool of how many workers was last used by an adaptive sweep (``time.monotonic``):
#: loky keeps its workers for ``IDLE_TIMEOUT`` seconds after that, warm.
_last_pool: dict[int, float] = {}


class AdaptiveBackend(Backend):
    """Runs batches in this process, then on every CPU once that pays.

    Args:
        runs: How many runs the sweep has: the pool has as many workers, at most one per CPU
            (counted only when a pool is wanted: that needs loky, whose import alone costs
            more than a sweep of a few tiny runs).
        run_timeout: Seconds each run may take (None: no limit).
        start_cost: Seconds a fresh pool takes to start (see :data:`START_COST`).
    """

    def __init__(
        self,
        runs: int,
        *,
        run_timeout: float | None = None,
        start_cost: float = START_COST,
    ):
        self.runs = max(1, runs)
        self.run_timeout = run_timeout
        self.start_cost = start_cost
        self._serial = SerialBackend(run_timeout=run_timeout)
        self._pool: ProcessPoolBackend | None = None
        self._starting: list[cf.Future[int]] = []
        #: The pool once its workers have started (batches go to it): None before.
        self._used: ProcessPoolBackend | None = None
        warm = _warm()
        if warm is not None and warm <= self.runs:  # its workers are up: nothing to wait for
            self._start(warm, ready=True)

    @property
    def most(self) -> int:
        """The most worker processes: one per CPU, or fewer when there are fewer runs."""
        return min(cpu_count(), self.runs)

    # -- where batches go -------------------------------------------------------------------

    def _start(self, workers: int, *, ready: bool = False) -> None:
        """Start a pool of ``workers``: batches go to it once its workers have started.

        With ``ready`` (a warm pool), they go to it at once.
        """
        self._pool = local_pool(workers, run_timeout=self.run_timeout)
        self._starting = [] if ready else self._pool.warm_up()
        if ready:
            self._used = self._pool

    def _current(self) -> Backend:
        """The backend the next batch goes to."""
        started = self._pool is not None and all(f.done() for f in self._starting)
        if self._used is None and started:
            self._used = self._pool
        return self._serial if self._used is None else self._used

    @property
    def workers(self) -> int:  # type: ignore[override]
        """How many batches run at the same time now."""
        return self._used.workers if self._used is not None else 1

    @property
    def in_flight(self) -> int:  # type: ignore[override]
        """How many batches may be submitted and not yet finished now."""
        return self._used.in_flight if self._used is not None else 1

    @property
    def can_kill(self) -> bool:  # type: ignore[override]
        """Whether the batches run in a pool now (which :meth:`kill` can stop)."""
        return self._used is not None

    def advise(self, waiting: int, sizer: BatchSizer) -> None:
        """Start the pool of :attr:`most` workers if the ``waiting`` runs pay for its start.

        A run's time is the last batch's mean (:attr:`BatchSizer.latest`), once more than
        :data:`SETTLING` batches came back: the first pays one-off costs (imports, caches)
        that would make a short sweep look long.
        """
        if self._pool is not None or sizer.latest is None or sizer.observed <= SETTLING:
            return
        if sizer.latest * waiting * 0.5 <= self.start_cost:
            return  # not even 2 CPUs would pay: no need to count them
        most = self.most
        if most > 1 and sizer.latest * waiting * (1 - 1 / most) > self.start_cost:
            self._start(most)

    def submit(  # noqa: D102
        self, batch: Sequence[RunConfiguration], *, task: str, writer: Writer | None
    ) -> cf.Future[BatchResult]:
        return self._current().submit(batch, task=task, writer=writer)

    # -- the pool's own hooks (nothing to do while batches run in this process) --------------

    def unfinished(self, futures: Iterable[cf.Future[BatchResult]]) -> dict[Any, BaseException]:  # noqa: D102
        return {} if self._used is None else self._used.unfinished(futures)

    def recover(self) -> None:  # noqa: D102
        if self._used is not None:
            self._used.recover()

    def kill(self) -> None:  # noqa: D102
        if self._used is not None:
            self._used.kill()

    def cancel(self, future: cf.Future[BatchResult]) -> None:  # noqa: D102
        (self._serial if self._used is None else self._used).cancel(future)

    def close(self, *, kill: bool = False) -> None:
        """Keep the pool's workers for the next sweep, unless ``kill``: then stop them now."""
        if self._pool is None:
            return
        self._pool.close(kill=kill)
        if kill:
            _last_pool.clear()
        elif self._used is self._pool:  # its workers all started: warm for the next sweep
            _last_pool[self._pool.workers] = time.monotonic()


def _warm() -> int | None:
    """The workers of the pool an adaptive sweep used recently enough that it is warm."""
    now = time.monotonic()
    fresh = [n for n, used in _last_pool.items() if now - used < IDLE_TIMEOUT * 0.8]
    return max(fresh, default=None)
