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

Ctrl-C stops the sweep within seconds: queued batches are cancelled, the pool's workers are
killed, and :class:`Interrupted` (a ``KeyboardInterrupt``) is raised carrying the results of
every run that finished (also kept in :attr:`BatchRunner.results`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import os
import pathlib
import signal
import threading
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

from mesa_batch.backends import (
    Backend,
    BatchSizer,
    ExecutorBackend,
    SerialBackend,
    cpu_count,
    local_pool,
)
from mesa_batch.config import RunConfiguration
from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.execute import FAILED, BatchResult, Failure, RunStatus, Writer
from mesa_batch.executors import adapt_executor, executor_workers, requires_store
from mesa_batch.results import Results, merge_chunks
from mesa_batch.store import Session, StoreWriteError, open_session

__all__ = ["BatchRunner", "Interrupted", "RunFailedWarning"]


class RunFailedWarning(UserWarning):
    """Some runs of a sweep failed; the others completed (see ``Results.failures``)."""


class Interrupted(KeyboardInterrupt):
    """The sweep was interrupted (Ctrl-C); ``results`` holds every run that finished."""

    def __init__(self, results: Results):
        super().__init__("sweep interrupted")
        self.results = results


class BatchRunner:
    """Runs run configurations and collects their results.

    Args:
        configurations: The runs, e.g. from ``full_factorial(...)``. Their keys and run ids
            must be unique.
        number_processes: ``1`` runs in the calling process (debuggable, nothing pickled);
            ``N > 1`` uses a pool of N worker processes; ``None`` uses every available CPU.
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
            ``mpi4py.futures.MPIPoolExecutor`` (needs ``store``), :class:`~mesa_batch.executors.
            RayExecutor`, or any executor. It stays yours: it is never shut down here, and
            ``number_processes`` is ignored.
        replace_store: With a store, move an existing store at that path aside
            (``PATH.replaced-<time>``) and start a new one, instead of resuming it.

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
    ):
        self.configurations = _checked(configurations)
        self.number_processes = _check_processes(number_processes)
        self.display_progress = (
            display_progress if callable(display_progress) else bool(display_progress)
        )
        self.store = None if store is None else pathlib.Path(store)
        self.retry_failed = bool(retry_failed)
        self.replace_store = bool(replace_store)
        self.executor = None if executor is None else adapt_executor(executor)
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
        except BaseException:
            self.results = sink.finish("error")  # the store's lock is released
            raise
        dispatch = _dispatch(sink.todo, backend, sink.writer)
        total = len(sink.configurations)
        with _progress(total, total - len(sink.todo), self.display_progress) as bar:
            try:
                with _terminate_as_interrupt():
                    for result in dispatch:
                        sink.add(result)
                        bar.advance(result.statuses)
                        if result.storage_error is not None:
                            raise StoreWriteError(result.storage_error)
                        if result.interrupted:
                            raise KeyboardInterrupt
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
        self.results = sink.finish("completed")
        counts = self.results.counts()
        if counts["failed"]:
            warnings.warn(
                f"{counts['failed']} of {sum(counts.values())} runs failed; the others completed. "
                "See results.failures for each failure's stage, message and traceback.",
                RunFailedWarning,
                stacklevel=2,
            )
        return self.results

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
        workers = min(self.number_processes or cpu_count(), len(self.configurations))
        if workers < 2:
            return None
        backend = local_pool(workers)
        backend.warm_up()
        return backend

    def _backend(self, runs: int) -> Backend:
        if self.executor is not None:
            return ExecutorBackend(self.executor, executor_workers(self.executor))
        workers = self.number_processes or cpu_count()
        workers = min(workers, max(1, runs))
        if workers == 1:
            return SerialBackend()
        return local_pool(workers)


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

    def finish(self, reason: str) -> Results:
        return Results(self.configurations, self.statuses, self.chunks)


class _StoreSink:
    """Logs every batch's statuses to the store; the rows are committed by the workers."""

    def __init__(self, session: Session):
        self.session = session
        self.configurations = session.configurations
        self.todo = session.todo
        self.writer = session.writer

    def add(self, result: BatchResult) -> None:
        self.session.record(result.statuses)

    def finish(self, reason: str) -> Results:
        self.session.close(reason)
        # the session's configurations carry the store's run ids: no plan to read for them
        return Results._from_store(self.session.root, self.configurations, store_run_ids=True)


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
    keys: dict[str, int] = {}
    run_ids: set[int] = set()
    for config in configs:
        if not isinstance(config, RunConfiguration):
            raise ConfigurationError(
                problem("configurations", "must hold only RunConfiguration objects", config)
            )
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
    return configs


def _check_processes(number_processes: object) -> int | None:
    if number_processes is None:
        return None
    valid = isinstance(number_processes, int) and not isinstance(number_processes, bool)
    if valid and number_processes >= 1:  # type: ignore[operator]
        return number_processes  # type: ignore[return-value]
    raise ConfigurationError(
        problem(
            "number_processes",
            "must be a positive int or None (all CPUs)",
            number_processes,
            "Use 1 to run in this process.",
        )
    )


def _dispatch(
    configs: Sequence[RunConfiguration], backend: Backend, writer: Writer | None = None
) -> Generator[BatchResult, None, None]:
    """Run every configuration through the backend; yield each batch's result as it finishes.

    Keeps at most ``backend.in_flight`` batches in flight, sizes batches from measured run times, and isolates the runs of batches whose worker died (module docstring).
    """
    tasks = itertools.count()
    waiting = deque(configs)
    suspects: deque[RunConfiguration] = deque()
    in_flight: dict[cf.Future[BatchResult], tuple[list[RunConfiguration], bool]] = {}
    sizer = BatchSizer(backend.workers)
    limit = backend.in_flight
    try:
        while waiting or suspects or in_flight:
            if suspects and not in_flight:  # a suspect runs alone
                batch = [suspects.popleft()]
                task = f"{next(tasks):06d}-{uuid.uuid4().hex[:6]}"
                in_flight[backend.submit(batch, task=task, writer=writer)] = (batch, True)
            while not suspects and waiting and len(in_flight) < limit:
                batch = [waiting.popleft() for _ in range(sizer.size(len(waiting)))]
                task = f"{next(tasks):06d}-{uuid.uuid4().hex[:6]}"
                in_flight[backend.submit(batch, task=task, writer=writer)] = (batch, False)
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in done:
                batch, alone = in_flight.pop(future)
                result = _outcome(future, batch, alone, suspects, backend)
                if result is not None:
                    sizer.observe(result.statuses)
                    yield result
    finally:
        for future in in_flight:
            future.cancel()


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
        return _failed(batch, Failure.from_exception("worker", error))
    except Exception as error:
        return _failed(batch, Failure.from_exception("transport", error))


def _failed(batch: Sequence[RunConfiguration], failure: Failure) -> BatchResult:
    statuses = [
        RunStatus(
            run_id=c.run_id,
            key=c.key,
            status=FAILED,
            steps=0,
            wall_time=0.0,
            model_time=0.0,
            failure=failure,
        )
        for c in batch
    ]
    return BatchResult(statuses=statuses, tables={})


#: A progress callback: called after each batch with (runs done, runs failed, runs in all).
ProgressCallback = Callable[[int, int, int], None]


class _progress:  # noqa: N801 - used as a context manager, like a function
    """A tqdm bar (terminal or notebook) counting runs, with failures and ETA; or a callback."""

    def __init__(self, total: int, done: int, display: bool | ProgressCallback):
        self.total = total
        self.done = done
        self.callback = display if callable(display) else None
        self.enabled = display is True
        self.failed = 0
        self.bar: Any = None

    def __enter__(self) -> _progress:
        if self.callback is not None:
            self.callback(self.done, self.failed, self.total)
        if self.enabled:
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
        failed = sum(s.status == FAILED for s in statuses)
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
