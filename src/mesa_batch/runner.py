"""``BatchRunner``: run every configuration, in parallel when asked, and collect the results.

Data flow::

    configurations ──► plan (checked: unique keys and run ids)
                          │
                          ▼
           ┌── batches sized from measured run times (BatchSizer) ──┐
           │   at most 2 per worker in flight                        │
           ▼                                                         │
    backend.submit(batch) ──► worker: execute_batch()                │
           │                    build → step → collect, per run;     │
           │                    failures recorded, never raised      │
           ▼                                                         │
    BatchResult (statuses + columnar tables) ──► progress bar ───────┘
           │
           ▼
    Results (runs / model / agents / ... as pandas DataFrames; records; Parquet)

When a worker process dies (segfault, ``os._exit``, out-of-memory kill), every run of the
batches it was running becomes a suspect; the pool is replaced and the suspects are rerun one
at a time, each alone in the pool. A suspect that kills its worker again is recorded as failed
(stage ``worker``); the others complete normally.

With ``run_timeout``, each run is stopped inside its worker when it runs past the limit (see
:mod:`mesa_batch.execute`) and fails at stage ``timeout``; its batch goes on. A local pool also
watches for a worker the limit cannot stop (stuck in C code, signals blocked): when no batch
has come back for ``run_timeout`` times the runs of the largest batch in flight plus
``KILL_GRACE`` seconds, every worker is killed, the pool is replaced and the runs that were in
flight become suspects, rerun alone; a suspect that overruns its limit alone is recorded as
failed at stage ``timeout``. With an executor that can tell (Dask), the runner also asks every
``POLL`` seconds which of its batches can no longer finish (their task erred, no worker is
left) instead of waiting on them forever, and, with ``run_timeout``, has it stop the batches
executing longer than their runs' limits plus ``KILL_GRACE`` (Dask: the task is cancelled and
its worker restarted); a stopped batch of several runs becomes suspects, a batch of one fails
at stage ``timeout``, and so does a batch whose worker could not be restarted (no nanny).

Ctrl-C stops the sweep within seconds: queued batches are cancelled, the pool's workers are
killed, and :class:`Interrupted` (a ``KeyboardInterrupt``) is raised carrying the results of
every run that finished (also kept in :attr:`BatchRunner.results`).
"""

from __future__ import annotations

import array
import concurrent.futures as cf
import contextlib
import contextvars
import itertools
import math
import os
import pathlib
import signal
import sys
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Final

from mesa_batch.backends import (
    Backend,
    BatchSizer,
    ExecutorBackend,
    SerialBackend,
    adapt_executor,
    cpu_count,
    executor_workers,
    local_pool,
    lost_worker,
    requires_store,
)
from mesa_batch.backends.adaptive import AdaptiveBackend
from mesa_batch.config import RunConfiguration
from mesa_batch.errors import (
    ConfigurationError,
    Interrupted,
    NotReproducibleWarning,
    RunFailedWarning,
    StoreWriteError,
    check_int,
    problem,
)
from mesa_batch.execute import BatchResult, Writer, timeout_message
from mesa_batch.outcomes import Failure, RunStatus, Stage, Status
from mesa_batch.results import Results, merge_chunks
from mesa_batch.store.session import Session, open_session, release_arrow_memory

__all__ = ["BatchRunner", "Interrupted", "RunFailedWarning"]

#: Seconds, beyond its runs' time limits, a local pool may go without news of any batch
#: before its workers are killed as stuck (it covers starting workers and writing parts).
KILL_GRACE: Final = 10.0
#: Seconds between two questions to an executor about batches that can no longer finish.
POLL: Final = 2.0


#: False inside :func:`in_workers`: a one-process sweep then runs in one worker process.
_IN_PROCESS: Final = contextvars.ContextVar("mesa_batch_in_process", default=True)


@contextlib.contextmanager
def in_workers() -> Iterator[None]:
    """Run every sweep started inside in worker processes, even a one-process sweep.

    The command line runs its sweeps so: a model that ends its process (``os._exit``) then
    ends a worker, its run is failed (stage ``worker``) and the sweep goes on, where in the
    calling process it would end the command with the model's exit code. Context-local (a
    ``contextvars`` variable): other threads and tasks are not affected.
    """
    token = _IN_PROCESS.set(False)
    try:
        yield
    finally:
        _IN_PROCESS.reset(token)


class BatchRunner:
    """Runs run configurations and collects their results.

    Args:
        configurations: The runs, e.g. from ``full_factorial(...)``. Their keys and run ids
            must be unique.
        number_processes: ``1`` runs in the calling process (debuggable, nothing pickled);
            ``N > 1`` uses a pool of N worker processes; ``None`` starts in the calling
            process and moves to a pool of every available CPU once the runs left pay for its
            workers' start (:mod:`mesa_batch.backends.adaptive`; inside :func:`in_workers`,
            the pool at once).
            Models defined in ``__main__`` or a notebook cell work in the pool too.
        display_progress: Show a progress bar (terminal or notebook) with runs done, failures
            and the estimated time left; or a callback ``f(done, failed, total)`` called after
            every batch (and once at the start).
        store: A directory for a Parquet store: workers commit every batch to it as they go,
            only statuses reach this process, and running the same (or a larger) sweep again
            runs only what is not done yet. None keeps the results in memory.
        retry_failed: With a store, run again the runs it records as failed.
        executor: Run the batches on this ``concurrent.futures``-style executor instead of a
            local pool: a Dask ``Client`` (or ``client.get_executor()``),
            ``mpi4py.futures.MPIPoolExecutor`` (needs ``store``), :class:`~mesa_batch.backends.
            RayExecutor`, or any executor. It stays yours: it is never shut down here, and
            ``number_processes`` is ignored.
        replace_store: With a store, move an existing store at that path aside
            (``PATH.replaced-<time>``) and start a new one, instead of resuming it.
        reproducibility_checks: How many finished runs to run again at the end, comparing
            their data with what was recorded, bit for bit: None (default) as many as cost
            about 2% of the sweep's time (at least one, at most 50); 0 none. A mismatch warns
            once (:class:`~mesa_batch.NotReproducibleWarning`) and is recorded in the store
            and in ``results.reproducible``.
        run_timeout: Seconds a run may take (a positive number; None, the default: no limit).
            A run past it is stopped and recorded as failed at stage ``timeout``, and the sweep
            goes on; ``retry_failed=True`` runs it again (with a larger limit, say). In the
            calling process and in a local pool's workers a ``step()`` that never returns is
            stopped too (a signal timer, on the main thread, not on Windows); in other threads
            (Dask's workers) the limit is raised in the run's thread, which stops Python code
            but not a single blocking call. A local pool kills a worker the limit cannot stop;
            Dask restarts it (its nanny does); see ``docs/running.md``.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [10, 20]}, max_steps=5, seed=1)
        >>> results = BatchRunner(configs, display_progress=False).run()
        >>> results.counts()
        {'succeeded': 2, 'failed': 0, 'pending': 0}
        >>> sorted(results.model.columns)
        ['Gini', 'run_id', 'step']
    """

    def __init__(
        self,
        configurations: Iterable[RunConfiguration],
        number_processes: int | None = 1,
        display_progress: bool | ProgressCallback = True,
        *,
        store: str | os.PathLike[str] | None = None,
        retry_failed: bool = False,
        replace_store: bool = False,
        executor: Any = None,
        reproducibility_checks: int | None = None,
        run_timeout: float | None = None,
    ):
        self.configurations = _checked(configurations)
        self.run_timeout = check_timeout(run_timeout)
        self.number_processes = _check_processes(number_processes)
        self.display_progress = (
            display_progress if callable(display_progress) else bool(display_progress)
        )
        self.store = None if store is None else pathlib.Path(store)
        self.retry_failed = bool(retry_failed)
        self.replace_store = bool(replace_store)
        self.executor = None if executor is None else adapt_executor(executor)
        self.reproducibility_checks = (
            None
            if reproducibility_checks is None
            else check_int(
                "reproducibility_checks",
                reproducibility_checks,
                minimum=0,
                fix="Pass 0 to check none, or leave it None for the default (about 2% of the "
                "sweep's time).",
            )
        )
        if self.executor is not None and requires_store(self.executor) and self.store is None:
            raise ConfigurationError(
                problem(
                    "store",
                    "must be given with an MPI executor: MPI workers write their results to a "
                    "Parquet store (a dead MPI worker ends the whole job, and the store resumes it)",
                    None,
                    "Pass store='results/sweep' (a directory every MPI process can reach).",
                )
            )
        self.results: Results | None = None

    @property
    def _in_process(self) -> bool:
        """Whether one process means this process (not inside :func:`in_workers`)."""
        return _IN_PROCESS.get()

    def run_all(self) -> list[dict[str, Any]]:
        """Run every configuration; return the collected rows as a list of dicts.

        One dict per (run, step, agent) row, or per (run, step) without agent data (see
        :meth:`Results.to_records`). Failed runs have no rows; a :class:`RunFailedWarning`
        gives their number.

        Returns:
            The rows.
        """
        return self.run().to_records()

    def run(self) -> Results:
        """Run every configuration; return the results as tidy tables.

        Returns:
            The results; ``results.failures`` lists runs that failed.

        Raises:
            Interrupted: Ctrl-C or SIGTERM; its ``results`` holds the runs that finished.
            StoreLockedError: Another process is writing to the store.
            StoreConflictError: The configurations do not fit the store.
            StoreWriteError: The store could not be written (e.g. the disk is full); every run
                committed before is kept, and running again resumes.
            ExecutorBrokenError: The executor passed in broke (a worker of a
                ``ProcessPoolExecutor`` died) or its Dask cluster has no worker left; every
                run that finished is kept, and running again with a working executor resumes.
        """
        warm = self._warm_up()
        try:
            sink = self._sink()
        except KeyboardInterrupt:
            if warm is not None:  # Ctrl-C while the store was opened: no stray workers
                warm.close(kill=True)
            raise
        try:
            backend = self._backend(len(sink.todo))
        except KeyboardInterrupt:  # Ctrl-C while the pool starts
            self.results = sink.finish("interrupted")  # the store's lock is released
            raise Interrupted(self.results) from None
        except BaseException:
            self.results = sink.finish("error")  # the store's lock is released
            raise
        dispatch = _dispatch(sink.todo, backend, sink.writer)
        total = len(sink.configurations)
        started = time.perf_counter()
        finished = _Finished()
        with _progress(total, total - len(sink.todo), self.display_progress, self.store) as bar:
            try:
                with _terminate_as_interrupt():
                    for result in dispatch:
                        sink.add(result)
                        finished.add(result.statuses)
                        bar.advance(result.statuses)
                        if result.storage_error is not None:
                            raise StoreWriteError(result.storage_error)
                        if result.interrupted:
                            raise KeyboardInterrupt
                    results = sink.results()
                    self._check(results, sink, backend, finished, time.perf_counter() - started)
            except KeyboardInterrupt:
                dispatch.close()  # cancels queued batches
                backend.close(kill=True)
                self.results = sink.finish("interrupted")
                raise Interrupted(self.results) from None
            except BaseException:
                dispatch.close()
                backend.close(kill=True)
                self.results = sink.finish("error")
                raise
            backend.close()
        sink.close("completed")
        self.results = results
        counts = self.results.counts()
        if counts["failed"]:
            warnings.warn(
                f"{counts['failed']} of {sum(counts.values())} runs failed; the others completed. "
                "See results.failures for each failure's stage, message and traceback.",
                RunFailedWarning,
                stacklevel=2,
            )
        return self.results

    def _check(
        self,
        results: Results,
        sink: _MemorySink | _StoreSink,
        backend: Backend,
        finished: _Finished,
        elapsed: float,
    ) -> None:
        """Run some finished runs again and compare their data (see :mod:`mesa_batch.reproduce`)."""
        from mesa_batch.reproduce import check_count, chosen, compare  # noqa: PLC0415

        count = check_count(
            finished.wall_times, elapsed, self.reproducibility_checks, backend.workers
        )
        ids = set(chosen(finished.run_ids, count))
        if not ids:
            return
        configs = [c for c in sink.configurations if c.run_id in ids]
        task = f"check-{uuid.uuid4().hex[:6]}"
        budget = len(configs) * (backend.run_timeout or 0.0) + KILL_GRACE
        try:
            again = _settled(backend.submit(configs, task=task, writer=None), backend, budget)
        except Exception as error:  # the check is advisory: any failure only skips it
            sink.note(reproducibility={"checked": 0, "error": f"{type(error).__name__}: {error}"})
            return
        statuses = {s.run_id: s for s in again.statuses}
        recorded = {name: results.rows(name, sorted(ids)) for name in results.tables[1:]}
        release_arrow_memory()  # the parts read for these rows
        mismatched: dict[int, dict[str, str]] = {}
        for config in configs:
            status = statuses.get(config.run_id)
            if status is None or status.status != Status.SUCCEEDED:
                why = status.failure.summary() if status and status.failure else "it did not run"
                mismatched[config.run_id] = {"status": f"succeeded before, now {why}"}
                continue
            got = _run_columns(again.tables, config.run_id)
            expected = {
                name: rows[rows["run_id"] == config.run_id] for name, rows in recorded.items()
            }
            differences = compare(expected, got)
            if differences:
                mismatched[config.run_id] = differences
        results._reproducible = not mismatched
        sink.note(
            reproducibility={
                "checked": len(configs),
                "run_ids": sorted(ids),
                "reproducible": not mismatched,
                "mismatched": {str(k): v for k, v in mismatched.items()},
            }
        )
        if mismatched:
            from mesa_batch.reproduce import LIKELY_CAUSES  # noqa: PLC0415

            first, what = next(iter(mismatched.items()))
            detail = "; ".join(f"{table}: {text}" for table, text in what.items())
            warnings.warn(
                f"{len(mismatched)} of {len(configs)} runs run again with their recorded seeds "
                f"gave other data (run {first}: {detail}): this model's runs cannot be "
                f"re-created from their seeds. Likely causes: {LIKELY_CAUSES}. "
                "results.rerun(run_id) shows a run's differences.",
                NotReproducibleWarning,
                stacklevel=3,
            )

    def _sink(self) -> _MemorySink | _StoreSink:
        if self.store is None:
            return _MemorySink(self.configurations)
        session = open_session(
            self.store,
            self.configurations,
            retry_failed=self.retry_failed,
            replace_store=self.replace_store,
        )
        return _StoreSink(session)

    def _warm_up(self) -> Backend | None:
        """Start the local pool's workers before opening a new store (that takes a while too).

        Only for a store that does not exist yet: then every configuration is to run, so the
        pool started here is the one :meth:`_backend` asks for (same size, no resizing while
        the workers import), and a sweep with nothing left to do starts no worker.
        """
        if self.store is None or self.executor is not None or self.replace_store:
            return None
        if (self.store / "store.json").exists():
            return None
        if self.number_processes is None and self._in_process:
            return None  # adaptive: this process first (AdaptiveBackend)
        workers = min(self.number_processes or cpu_count(), len(self.configurations))
        if workers < 2 and self._in_process:
            return None
        backend = local_pool(workers, run_timeout=self.run_timeout)
        backend.warm_up()
        return backend

    def _backend(self, runs: int) -> Backend:
        limit = self.run_timeout
        if self.executor is not None:
            return ExecutorBackend(
                self.executor, executor_workers(self.executor), run_timeout=limit
            )
        if self.number_processes is None and runs > 1 and self._in_process:
            return AdaptiveBackend(runs, run_timeout=limit)
        workers = self.number_processes or cpu_count()
        workers = min(workers, max(1, runs))
        if workers == 1 and self._in_process:
            return SerialBackend(run_timeout=limit)
        return local_pool(workers, run_timeout=limit)


class _Finished:
    """The run ids and run times of the runs that succeeded in this sweep (compact)."""

    def __init__(self) -> None:
        self.run_ids = array.array("q")
        self.wall_times = array.array("d")

    def add(self, statuses: Sequence[RunStatus]) -> None:
        for status in statuses:
            if status.status == Status.SUCCEEDED:
                self.run_ids.append(status.run_id)
                self.wall_times.append(status.wall_time)


def _run_columns(tables: dict[str, dict[str, Any]], run_id: int) -> dict[str, dict[str, Any]]:
    """One run's columns (without ``run_id``) from a batch's tables."""
    import numpy as np  # noqa: PLC0415

    found = {}
    for name, columns in tables.items():
        mask = np.asarray(columns["run_id"]) == run_id
        if mask.any():
            found[name] = {k: np.asarray(v)[mask] for k, v in columns.items() if k != "run_id"}
    return found


class _MemorySink:
    """Keeps every batch's statuses and rows in this process."""

    writer = None

    def __init__(self, configurations: list[RunConfiguration]):
        self.configurations = configurations
        self.todo = configurations
        self.statuses: dict[int, RunStatus] = {}
        self.chunks: dict[str, list[Any]] = {}

    def add(self, result: BatchResult) -> None:
        self.statuses.update((s.run_id, s) for s in result.statuses)
        merge_chunks(self.chunks, result.tables)

    def results(self) -> Results:
        return Results(self.configurations, self.statuses, self.chunks)

    def note(self, **fields: Any) -> None:
        """Nothing to record: the results carry what the check found."""

    def close(self, reason: str) -> None:
        """Nothing to release."""

    def finish(self, reason: str) -> Results:
        return self.results()


class _StoreSink:
    """Logs every batch's statuses to the store; the rows are committed by the workers."""

    def __init__(self, session: Session):
        self.session = session
        self.configurations = session.configurations
        self.todo = session.todo
        self.writer = session.writer

    def add(self, result: BatchResult) -> None:
        self.session.record(result.statuses)

    def results(self) -> Results:
        # every run is done (or the session is closed, and this does nothing): many small
        # batch parts become one per table before the results are read
        self.session.compact()
        # the session's configurations carry the store's run ids: no plan to read for them
        return Results.from_session(self.session)

    def note(self, **fields: Any) -> None:
        self.session.note(**fields)
        self.session.event("note", **fields)

    def close(self, reason: str) -> None:
        self.session.close(reason)

    def finish(self, reason: str) -> Results:
        self.session.close(reason)
        return self.results()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a sweep runs (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _checked(configurations: Iterable[RunConfiguration]) -> list[RunConfiguration]:
    """The configurations as a list, checked: all configurations, unique keys and run ids.

    Uniqueness is checked on a sorted numpy array of the keys' hashes, then of the run ids'
    (8 bytes a run, not the ~80 of a dict and a set); only when two hashes coincide does a
    dict pass look for the first repeated run, and say which.
    """
    if isinstance(configurations, RunConfiguration) or not isinstance(configurations, Iterable):
        raise ConfigurationError(
            problem(
                "configurations",
                "must be a list of RunConfiguration",
                configurations,
                "Build them with a design, e.g. full_factorial(Model, {...}).",
            )
        )
    configs = list(configurations)
    for config in configs:
        if not isinstance(config, RunConfiguration):
            raise ConfigurationError(
                problem("configurations", "must hold only RunConfiguration objects", config)
            )
    if _repeats((hash(c.key) for c in configs), len(configs)) or _repeats(
        (hash(c.run_id) for c in configs), len(configs)
    ):
        _first_repeat(configs)
    return configs


def _repeats(values: Iterator[int], count: int) -> bool:
    """Whether any two of the hashes are equal (a sort of one int64 array)."""
    import numpy as np  # noqa: PLC0415

    found = np.fromiter(values, dtype=np.int64, count=count)
    found.sort()
    return bool((found[1:] == found[:-1]).any())


def _first_repeat(configs: list[RunConfiguration]) -> None:
    """Raise for the first configuration whose key or run id an earlier one has."""
    keys: dict[str, int] = {}
    run_ids: set[int] = set()
    for config in configs:
        if config.key in keys:
            raise ConfigurationError(
                problem(
                    "configurations",
                    "must not hold the same run twice (same key)",
                    f"run ids {keys[config.key]} and {config.run_id}",
                    "Combine designs with mesa_batch.concat(...), which keeps a shared run once.",
                )
            )
        if config.run_id in run_ids:
            raise ConfigurationError(
                problem(
                    "configurations",
                    "must have unique run ids",
                    config.run_id,
                    "Combine designs with mesa_batch.concat(...), which renumbers the runs.",
                )
            )
        keys[config.key] = config.run_id
        run_ids.add(config.run_id)


def check_timeout(
    run_timeout: object, what: str = "run_timeout", example: str = "run_timeout=60"
) -> float | None:
    """Check a run time limit: None, or a positive, finite number of seconds (not a bool).

    ``what`` names it in the message and ``example`` shows a good value, as the caller spells
    them (``--run-timeout``, ``--run-timeout 60`` on the command line).

    Raises:
        ConfigurationError: It is not.
    """
    if run_timeout is None:
        return None
    number = isinstance(run_timeout, int | float) and not isinstance(run_timeout, bool)
    seconds = float(run_timeout) if number else math.nan  # type: ignore[arg-type]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(
            problem(
                what,
                "must be a positive number of seconds (none given: no limit)",
                run_timeout,
                f"Pass e.g. {example} to stop any run that takes longer than a minute.",
            )
        )
    return seconds


def _check_processes(number_processes: object) -> int | None:
    if number_processes is None:
        return None
    return check_int(
        "number_processes",
        number_processes,
        minimum=1,
        rule="must be a positive int or None (all CPUs)",
        fix="Use 1 to run in this process.",
    )


def _dispatch(
    configs: Sequence[RunConfiguration], backend: Backend, writer: Writer | None = None
) -> Generator[BatchResult, None, None]:
    """Run every configuration through the backend; yield each batch's result as it finishes.

    Keeps at most ``backend.in_flight`` batches in flight, sizes batches from measured run
    times, isolates the runs of batches whose worker died, and never waits on a batch that can
    no longer finish (module docstring).
    """
    tasks = itertools.count()
    waiting = deque(configs)
    suspects: deque[RunConfiguration] = deque()
    in_flight: dict[cf.Future[BatchResult], tuple[list[RunConfiguration], bool]] = {}
    sizer = BatchSizer(backend.workers)
    watch = _Watch(backend)
    try:
        while waiting or suspects or in_flight:
            # an adaptive backend may move to a pool of more workers as run times are known
            backend.advise(len(waiting) + len(suspects), sizer)
            sizer.workers, limit = backend.workers, backend.in_flight
            if suspects and not in_flight:  # a suspect runs alone: nothing else is in flight
                batch = [suspects.popleft()]
                task = f"{next(tasks):06d}-{uuid.uuid4().hex[:6]}"
                in_flight[backend.submit(batch, task=task, writer=writer)] = (batch, True)
            alone = any(is_alone for _, is_alone in in_flight.values())
            while not suspects and not alone and waiting and len(in_flight) < limit:
                batch = [waiting.popleft() for _ in range(sizer.size(len(waiting)))]
                task = f"{next(tasks):06d}-{uuid.uuid4().hex[:6]}"
                in_flight[backend.submit(batch, task=task, writer=writer)] = (batch, False)
            done, _ = cf.wait(
                in_flight, timeout=watch.timeout(in_flight), return_when=cf.FIRST_COMPLETED
            )
            if done:
                watch.news()
            for future in done:
                batch, alone = in_flight.pop(future)
                result = _outcome(future, batch, alone, suspects, backend)
                if result is not None:
                    sizer.observe(result.statuses)
                    yield result
            if not done or watch.due():
                yield from watch.settle(in_flight, suspects)
    finally:
        for future in in_flight:
            backend.cancel(future)


class _Watch:
    """Keeps the dispatch loop from waiting forever on batches that cannot finish.

    A pool the runner owns, with a time limit, is killed when no batch came back for longer
    than the largest batch in flight may take (``run_timeout`` per run, plus
    :data:`KILL_GRACE`). Any backend is asked every :data:`POLL` seconds (even while other
    batches come back) which of its batches can no longer finish and, with a time limit, to
    stop those running past theirs (Dask: by restarting the worker), counted per batch from
    when its worker started it.
    """

    def __init__(self, backend: Backend):
        self.backend = backend
        self.last_news = time.monotonic()
        self.last_settled = time.monotonic()

    @property
    def kills(self) -> bool:
        """Whether a stuck pool is killed (a pool the runner owns, with a time limit)."""
        return self.backend.can_kill and self.backend.run_timeout is not None

    def news(self) -> None:
        """A batch came back."""
        self.last_news = time.monotonic()

    def due(self) -> bool:
        """Whether the backend was last asked about its batches :data:`POLL` seconds ago."""
        return time.monotonic() - self.last_settled >= POLL

    def _budget(self, in_flight: dict[Any, tuple[list[RunConfiguration], bool]]) -> float:
        largest = max((len(batch) for batch, _ in in_flight.values()), default=1)
        return largest * (self.backend.run_timeout or 0.0) + KILL_GRACE

    def timeout(self, in_flight: dict[Any, tuple[list[RunConfiguration], bool]]) -> float:
        """How long the loop may wait for the next batch before looking again."""
        if not self.kills:
            return POLL
        left = self._budget(in_flight) - (time.monotonic() - self.last_news)
        return max(0.01, min(left, POLL))

    def settle(
        self,
        in_flight: dict[cf.Future[BatchResult], tuple[list[RunConfiguration], bool]],
        suspects: deque[RunConfiguration],
    ) -> Iterator[BatchResult]:
        """Yield the results of batches that cannot finish; stop stuck ones, kill a stuck pool."""
        self.last_settled = time.monotonic()
        for future, error in self.backend.unfinished(list(in_flight)).items():
            batch, _ = in_flight.pop(future)
            future.cancel()
            self.news()
            yield _failed(batch, Failure.from_exception(Stage.WORKER, error))
        yield from self._stop_stuck(in_flight, suspects)
        if not self.kills or not in_flight:
            return
        if time.monotonic() - self.last_news < self._budget(in_flight):
            return
        stuck = list(in_flight.values())
        in_flight.clear()
        self.backend.kill()
        self.news()
        for batch, alone in stuck:
            if not alone:
                suspects.extend(batch)
                continue
            seconds = self.backend.run_timeout or 0.0
            failure = Failure(
                stage=Stage.TIMEOUT,
                exception_type="RunTimeout",
                message=timeout_message(
                    seconds,
                    f"by killing its worker process, which did not stop it (no news of it "
                    f"for {seconds + KILL_GRACE:g} s: stuck in C code, or signals blocked)",
                ),
                traceback="",
            )
            yield _failed(batch, failure)

    def _stop_stuck(
        self,
        in_flight: dict[cf.Future[BatchResult], tuple[list[RunConfiguration], bool]],
        suspects: deque[RunConfiguration],
    ) -> Iterator[BatchResult]:
        """Have the backend stop the batches running past their budget; record them.

        A batch of several runs whose worker was stopped becomes suspects, sent again alone;
        a batch of one run, or one whose worker could not be stopped, fails at stage
        ``timeout``.
        """
        seconds = self.backend.run_timeout
        if seconds is None or not in_flight:
            return
        budgets = {f: len(batch) * seconds + KILL_GRACE for f, (batch, _) in in_flight.items()}
        for future, stuck in self.backend.stop_stuck(budgets).items():
            batch, alone = in_flight.pop(future)
            self.news()
            if stuck.stopped and not alone and len(batch) > 1:
                suspects.extend(batch)
                continue
            subject = (
                "the run"
                if len(batch) == 1
                else (f"one of the {len(batch)} runs of its batch (which one is not known)")
            )
            failure = Failure(
                stage=Stage.TIMEOUT,
                exception_type="RunTimeout",
                message=timeout_message(seconds, stuck.how, subject=subject),
                traceback="",
            )
            yield _failed(batch, failure)


def _settled(future: cf.Future[BatchResult], backend: Backend, budget: float) -> BatchResult:
    """One future's result, asking the backend every :data:`POLL` s whether it can still finish.

    With a time limit, a batch running past ``budget`` seconds is stopped (see
    :meth:`Backend.stop_stuck`) and raises ``TimeoutError``.
    """
    while not cf.wait([future], timeout=POLL).done:
        gone = backend.unfinished([future])
        if future in gone:
            future.cancel()
            raise gone[future]
        if backend.run_timeout is None:
            continue
        stuck = backend.stop_stuck({future: budget}).get(future)
        if stuck is not None:
            raise TimeoutError(
                f"the batch ran longer than {budget:g} s and was stopped {stuck.how}"
            )
    return future.result()


def _outcome(
    future: cf.Future[BatchResult],
    batch: list[RunConfiguration],
    alone: bool,
    suspects: deque[RunConfiguration],
    backend: Backend,
) -> BatchResult | None:
    """The result of a finished batch, or None when its runs became suspects."""
    try:
        return future.result()
    except cf.BrokenExecutor as error:
        backend.recover()
        if not alone:
            suspects.extend(batch)
            return None
        return _failed(batch, Failure.from_exception(Stage.WORKER, error))
    except Exception as error:
        stage = Stage.WORKER if lost_worker(error) else Stage.TRANSPORT
        return _failed(batch, Failure.from_exception(stage, error))


def _failed(batch: Sequence[RunConfiguration], failure: Failure) -> BatchResult:
    statuses = [RunStatus.failed(c.run_id, c.key, failure) for c in batch]
    return BatchResult(statuses=statuses, tables={})


def nothing_left(total: int, store: pathlib.Path) -> str:
    """What a sweep whose runs are all in its store says instead of drawing a progress bar."""
    return f"nothing left to do: {total} of {total} runs are in {store}"


#: A progress callback: called after each batch with (runs done, runs failed, runs in all).
ProgressCallback = Callable[[int, int, int], None]


class _progress:  # noqa: N801 - used as a context manager, like a function
    """A tqdm bar (terminal or notebook) counting runs, with failures and ETA; or a callback."""

    def __init__(
        self,
        total: int,
        done: int,
        display: bool | ProgressCallback,
        store: pathlib.Path | None = None,
    ):
        self.total = total
        self.done = done
        self.callback = display if callable(display) else None
        self.enabled = display is True
        self.store = store
        self.failed = 0
        self.bar: Any = None

    def __enter__(self) -> _progress:
        if self.callback is not None:
            self.callback(self.done, self.failed, self.total)
        if self.enabled and self.store is not None and self.total and self.done == self.total:
            print(nothing_left(self.total, self.store), file=sys.stderr)  # instead of a bar
        elif self.enabled:
            from tqdm.auto import tqdm  # noqa: PLC0415

            self.bar = tqdm(
                total=self.total,
                initial=self.done,
                unit="run",
                desc="mesa_batch",
                dynamic_ncols=True,
            )
        return self

    def advance(self, statuses: Sequence[RunStatus]) -> None:
        failed = sum(s.status == Status.FAILED for s in statuses)
        self.failed += failed
        self.done += len(statuses)
        if self.callback is not None:
            self.callback(self.done, self.failed, self.total)
        if self.bar is None:
            return
        if failed:
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(len(statuses))

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
