"""Where batches run: in the calling process, or in a local pool of worker processes.

Both backends look like a ``concurrent.futures`` executor to the runner (``submit`` returns a
future), so the runner's dispatch loop is the same for both, and for any executor a user may
pass later.

The local pool is loky's reusable executor: fresh interpreters started once and kept for the
next sweep (idle ones exit after ``IDLE_TIMEOUT`` seconds); classes and functions defined in
``__main__`` or a notebook cell are shipped by value with cloudpickle; nothing process-wide
(such as the multiprocessing start method) is changed. Workers ignore SIGINT: Ctrl-C is handled
by the parent, which then kills them.

Forking workers from the calling process would start them at once (a fresh interpreter spends
about a second importing Mesa), but numpy's BLAS threads make nearly every process
multi-threaded, where fork is unsafe (Python 3.12 warns about it); so workers are never forked.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import signal
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from mesa_batch.config import RunConfiguration
from mesa_batch.errors import ExecutorBrokenError, problem
from mesa_batch.execute import BatchResult, Writer, execute_batch
from mesa_batch.outcomes import RunStatus

__all__ = [
    "Backend",
    "BatchSizer",
    "ExecutorBackend",
    "ProcessPoolBackend",
    "SerialBackend",
    "Stuck",
    "cpu_count",
    "local_pool",
]

#: Seconds an idle pool worker waits for more work before exiting.
IDLE_TIMEOUT: Final = 60


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Stuck:
    """How a batch that ran past its time budget was stopped (see :meth:`Backend.stop_stuck`).

    Attributes:
        stopped: Whether its worker was stopped (restarted), so that the batch's runs can be
            sent again; False when the worker could not be stopped and stays busy with it.
        how: How, completing "... was stopped": e.g. "by restarting its Dask worker ...".
    """

    stopped: bool
    how: str


class Backend(ABC):
    """Runs batches of configurations and returns futures of :class:`BatchResult`."""

    #: How many batches can run at the same time.
    workers: int = 1
    #: How many batches may be submitted and not yet finished.
    in_flight: int = 1
    #: Seconds each run may take (None: no limit); every batch is run with it.
    run_timeout: float | None = None
    #: Whether :meth:`kill` can stop running batches (a pool the runner owns).
    can_kill: bool = False

    @abstractmethod
    def submit(
        self, batch: Sequence[RunConfiguration], *, task: str, writer: Writer | None
    ) -> cf.Future[BatchResult]:
        """Start a batch with the unique id ``task`` (committed through ``writer`` if given)."""

    def recover(self) -> None:  # noqa: B027 - optional hook
        """Make the backend usable again after a worker process died."""

    def kill(self) -> None:
        """Stop every running batch now and be ready for new ones (only if :attr:`can_kill`).

        The futures of the batches that were in flight may never finish: forget them.
        """
        raise NotImplementedError(f"{type(self).__qualname__} cannot kill its workers")

    def unfinished(self, futures: Iterable[cf.Future[BatchResult]]) -> dict[Any, BaseException]:
        """Which of these pending futures can no longer finish, and why (default: none).

        Called now and then while the runner waits, so that it never waits on a batch whose
        task is already gone (a Dask task that erred, say, but whose future never settled).
        Raise when no batch can finish any more (e.g. no worker is left).
        """
        return {}

    def stop_stuck(self, budgets: Mapping[Any, float]) -> dict[Any, Stuck]:
        """Stop the pending batches that have run longer than their budget; say how (default: none).

        ``budgets`` maps each future to the seconds its batch may take (its runs' time limits
        plus a grace), counted from when its worker started it. Called now and then while the
        runner waits, for a batch the time limit in its worker cannot stop (a single call that
        never returns). Each future returned is cancelled, and its task will not run again.
        """
        return {}

    def close(self, *, kill: bool = False) -> None:  # noqa: B027 - optional hook
        """Release what the backend owns (``kill``: stop running work now)."""

    def advise(self, waiting: int, sizer: BatchSizer) -> None:  # noqa: B027
        """Hear, before each batch, how many runs wait and what the run times were.

        An adaptive backend starts more workers when the work left pays for their start
        (:class:`~mesa_batch.backends.adaptive.AdaptiveBackend`); others ignore it.
        """

    def cancel(self, future: cf.Future[BatchResult]) -> None:
        """Cancel a batch that is no longer wanted (the sweep stops; ``close`` follows)."""
        future.cancel()


class SerialBackend(Backend):
    """Runs each batch at once in the calling process (debuggable, nothing is pickled).

    Args:
        run_timeout: Seconds each run may take (None: no limit).
    """

    def __init__(self, *, run_timeout: float | None = None):
        self.run_timeout = run_timeout

    def submit(  # noqa: D102
        self, batch: Sequence[RunConfiguration], *, task: str, writer: Writer | None
    ) -> cf.Future[BatchResult]:
        future: cf.Future[BatchResult] = cf.Future()
        result = execute_batch(
            batch,
            task=task,
            writer=writer,
            stop_on_interrupt=True,
            run_timeout=self.run_timeout,
        )
        future.set_result(result)
        return future


class ExecutorBackend(Backend):
    """Any ``concurrent.futures``-style executor: an object whose ``submit`` returns a future.

    The executor belongs to the caller: mesa_batch never shuts it down. When it breaks (a
    ``BrokenExecutor``), it cannot be repaired from here: the sweep stops with
    :class:`ExecutorBrokenError`, keeping every run that finished.

    Args:
        executor: The executor.
        workers: How many batches it runs at the same time.
        run_timeout: Seconds each run may take (None: no limit), enforced in the workers.
    """

    def __init__(self, executor: Any, workers: int, *, run_timeout: float | None = None):
        self.executor = executor
        self.workers = workers
        self.in_flight = 2 * workers
        self.run_timeout = run_timeout

    def submit(  # noqa: D102
        self, batch: Sequence[RunConfiguration], *, task: str, writer: Writer | None
    ) -> cf.Future[BatchResult]:
        limit = {} if self.run_timeout is None else {"run_timeout": self.run_timeout}
        future: cf.Future[BatchResult] = self.executor.submit(
            execute_batch, list(batch), task=task, writer=writer, **limit
        )
        return future

    def unfinished(self, futures: Iterable[cf.Future[BatchResult]]) -> dict[Any, BaseException]:
        """Ask the executor, if it can tell (:class:`~mesa_batch.backends.DaskExecutor`)."""
        check = getattr(self.executor, "unfinished", None)
        return {} if check is None else dict(check(futures))

    def stop_stuck(self, budgets: Mapping[Any, float]) -> dict[Any, Stuck]:
        """Ask the executor, if it can (:class:`~mesa_batch.backends.DaskExecutor`)."""
        stop = getattr(self.executor, "stop_stuck", None)
        return {} if stop is None else dict(stop(budgets))

    def recover(self) -> None:
        """An executor passed in cannot be replaced: stop the sweep."""
        raise ExecutorBrokenError(
            problem(
                "the executor passed to BatchRunner",
                "is broken (one of its workers died) and cannot run the remaining runs",
                type(self.executor).__qualname__,
                "Every run that finished is kept (in the store, or in runner.results); pass a "
                "new executor and run again.",
            )
        )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> int:
    """Import, in a worker, what a batch into a store needs; return the worker's process id."""
    import os  # noqa: PLC0415

    import mesa  # noqa: F401, PLC0415
    import pyarrow.parquet  # noqa: F401, PLC0415

    import mesa_batch.store.writer  # noqa: F401, PLC0415

    return os.getpid()


class ProcessPoolBackend(ExecutorBackend):
    """A local pool of worker processes (loky's reusable executor), owned by the runner.

    A run past ``run_timeout`` is stopped inside its worker (see :mod:`mesa_batch.execute`);
    a worker that does not stop it (stuck in C code, signals blocked) is killed by the runner
    (:meth:`kill`), and the pool replaced.

    Args:
        workers: The number of worker processes.
        run_timeout: Seconds each run may take (None: no limit).
    """

    can_kill = True

    def __init__(self, workers: int, *, run_timeout: float | None = None):
        super().__init__(self._get(workers), workers, run_timeout=run_timeout)

    @staticmethod
    def _get(workers: int) -> Any:
        from loky import get_reusable_executor  # noqa: PLC0415 - loaded only for pools

        return get_reusable_executor(
            max_workers=workers, timeout=IDLE_TIMEOUT, initializer=_ignore_sigint
        )

    def warm_up(self) -> list[cf.Future[int]]:
        """Have the workers start and import Mesa and Arrow (for a sweep into a store) now.

        A fresh worker spends about a second importing before its first run; started while
        the caller still prepares (opens the store), that second overlaps with the caller's.
        Nothing waits for it; a worker that fails here fails its first batch the same way.

        Returns:
            A future per worker, of the process id that warmed up.
        """
        return [self.executor.submit(_warm_up) for _ in range(self.workers)]

    def cancel(self, future: cf.Future[BatchResult]) -> None:
        """Leave it: ``close(kill=True)`` follows and fails the queued batches itself.

        (loky's manager thread fails with ``InvalidStateError`` on a queued batch cancelled
        before it is shut down.)
        """

    def recover(self) -> None:
        """Get a fresh pool (loky replaces a broken reusable executor)."""
        self.executor = self._get(self.workers)

    def kill(self) -> None:
        """Kill the pool's workers (a stuck one among them) and start a fresh pool."""
        self.executor.shutdown(wait=True, kill_workers=True)
        self.executor = self._get(self.workers)

    def close(self, *, kill: bool = False) -> None:
        """Keep the workers for the next sweep, unless ``kill``: then stop them now."""
        if kill:
            self.executor.shutdown(wait=True, kill_workers=True)


def local_pool(workers: int, *, run_timeout: float | None = None) -> ProcessPoolBackend:
    """The local pool for ``workers`` processes (loky's reusable executor)."""
    return ProcessPoolBackend(workers, run_timeout=run_timeout)


def cpu_count() -> int:
    """The number of CPUs this process may use (respects affinity and cgroup limits)."""
    from loky import cpu_count as loky_cpu_count  # noqa: PLC0415

    return int(loky_cpu_count())


class BatchSizer:
    """Sizes batches from measured run times.

    A batch should hold about ``target`` seconds of work: enough that dispatch costs little per
    run, little enough that progress stays live and the last batches finish together. Until a
    run time is known, batches hold one run. No batch takes more than a ``1 / (2 * workers)``
    share of the runs still waiting, so batches shrink near the end and the tail is short.

    Args:
        workers: How many batches run at the same time.
        target: Seconds of work per batch.
        largest: The most runs in one batch.
    """

    def __init__(self, workers: int, *, target: float = 0.5, largest: int = 10_000):
        self.workers = workers
        self.target = target
        self.largest = largest
        self.seconds_per_run: float | None = None
        #: The mean run time of the last batch observed (None before the first).
        self.latest: float | None = None
        #: How many batches were observed.
        self.observed = 0

    def observe(self, statuses: Sequence[RunStatus]) -> None:
        """Learn from the statuses of a finished batch."""
        if not statuses:
            return
        mean = sum(s.wall_time for s in statuses) / len(statuses)
        self.latest, self.observed = mean, self.observed + 1
        previous = self.seconds_per_run
        self.seconds_per_run = mean if previous is None else 0.7 * previous + 0.3 * mean

    def size(self, waiting: int) -> int:
        """How many of the ``waiting`` runs the next batch should take."""
        if self.seconds_per_run is None:
            return 1
        wanted = round(self.target / max(self.seconds_per_run, 1e-6))
        share = waiting // (2 * self.workers)
        return max(1, min(wanted, share, self.largest, waiting))
