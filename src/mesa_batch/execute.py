"""The worker side: run one configuration, or a batch of them, and never raise for a run.

A run goes through three stages, and a failure in any of them is recorded as data
(:class:`Failure`), never raised: the batch goes on with its next run. That holds for any
exception, ``SystemExit`` (a model calling ``sys.exit()``) included; only ``KeyboardInterrupt``
(Ctrl-C) goes through.

=============  ================================================================
stage          what runs
=============  ================================================================
instantiate    building the model (``__init__``)
run            ``model.step()`` until it stops or ``max_steps`` is reached (a
               DataCollector the model calls in ``step`` fails here)
collect        finding the model's data source, collecting the configuration's
               reporters, reading the model's data into columnar tables
=============  ================================================================

With a time limit (``run_timeout``, seconds), a run past it is stopped and recorded as failed at
stage ``timeout``; its batch goes on with the next run. In the main thread of a process with
``signal.setitimer`` (the calling process, local pool workers, MPI workers; not Windows), a
``SIGALRM`` timer interrupts the run wherever Python code runs, a ``step()`` that sleeps or
loops forever included; its handler is installed only for that run and the previous handler
and timer are restored after. In other threads (a Dask worker's, a thread of yours), a timer
thread raises :class:`RunTimeout` in the run's thread at the limit: Python code is stopped at
its next instruction, a single blocking call only when it returns. On Windows the limit is
checked between steps. A run stuck in C code that never returns to Python is not stopped by
any of them (a local pool kills its worker, Dask restarts it: see :mod:`mesa_batch.runner`).

A batch returns one :class:`RunStatus` per run and, per table, the rows of all its runs as
columns (numpy arrays), tagged with ``run_id``: data never travels as one dict per row. With a
store, the worker commits the batch's rows to it (:class:`Writer`) and returns only the
statuses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from mesa_batch.adapters import instantiate, open_source
from mesa_batch.columns import Columns, concat_columns
from mesa_batch.config import RunConfiguration
from mesa_batch.outcomes import Failure, RunStatus, Stage, Status

__all__ = ["BatchResult", "RunTimeout", "execute_batch", "execute_run", "timeout_message"]


class RunTimeout(BaseException):
    """Raised inside a run that took longer than its time limit (``run_timeout``).

    A ``BaseException``, so that a model's own ``except Exception`` does not swallow it.
    """


def timeout_message(seconds: float, where: str, *, subject: str = "the run") -> str:
    """The message of a run stopped at its time limit, with the way to raise the limit."""
    return (
        f"{subject} took longer than run_timeout={seconds:g} s and was stopped {where}. "
        "If it needs longer, raise the limit (BatchRunner(run_timeout=...), run_timeout in "
        "the experiment file's [execution] table, or mesa-batch run --run-timeout) and run "
        "it again with retry_failed=True (--retry-failed)"
    )


def execute_run(
    config: RunConfiguration, *, run_timeout: float | None = None
) -> tuple[RunStatus, dict[str, Columns]]:
    """Run one configuration; failures are returned, not raised.

    Args:
        config: The run configuration.
        run_timeout: Seconds the run may take (None: no limit); past it the run is stopped
            and fails at stage ``timeout`` (see the module docstring for how).

    Returns:
        The run's status and its tables (empty when it failed).
    """
    start = time.perf_counter()
    stage, steps, model_time = Stage.INSTANTIATE, 0, 0.0
    try:
        with _time_limit(run_timeout, lambda: _where(stage, steps)) as check:
            model = instantiate(config)
            model_time = time.perf_counter() - start
            stage = Stage.COLLECT
            source = open_source(model, config)
            source.after_step(model, 0)
            while steps < config.max_steps and model.running:
                check()
                source.before_step(steps + 1)
                stage = Stage.RUN
                tick = time.perf_counter()
                model.step()
                model_time += time.perf_counter() - tick
                steps += 1
                stage = Stage.COLLECT
                source.after_step(model, steps)
            tables = source.tables(model, steps)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too: a model's sys.exit() fails its run only
        failed_at = Stage.TIMEOUT if isinstance(error, RunTimeout) else stage
        if isinstance(error, _Overrun):  # raised by class, without a message: give it one
            error = RunTimeout(timeout_message(run_timeout or 0.0, _where(stage, steps)))
        failure = Failure.from_exception(failed_at, error)
        return _status(
            config,
            status=Status.FAILED,
            steps=steps,
            start=start,
            model_time=model_time,
            failure=failure,
        ), {}
    return _status(
        config, status=Status.SUCCEEDED, steps=steps, start=start, model_time=model_time
    ), tables


@contextlib.contextmanager
def _time_limit(seconds: float | None, where: Callable[[], str]) -> Iterator[Callable[[], None]]:
    """Limit the run inside to ``seconds``; yield the check to call between steps.

    In the main thread, with ``signal.setitimer``, a ``SIGALRM`` timer raises
    :class:`RunTimeout` wherever the run is; the previous handler and timer are restored after
    (a timer of the caller's that came due meanwhile fires right after). In another thread,
    :func:`_thread_limit` raises it there; the check between steps stops the run too.
    """
    if seconds is None:
        yield _no_check
        return
    deadline = time.perf_counter() + seconds

    def check() -> None:
        if time.perf_counter() >= deadline:
            raise RunTimeout(timeout_message(seconds, where()))

    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        with _thread_limit(seconds):
            yield check
        return
    armed = True

    def alarm(signum: int, frame: Any) -> None:
        if armed and time.perf_counter() >= deadline:
            raise RunTimeout(timeout_message(seconds, where()))
        if callable(previous):  # the caller's signal (it came as the timer was set): theirs
            previous(signum, frame)

    # SIGALRM held back while the handler and the timer are set: a caller's signal arriving
    # then reaches the handler inside the try below, so the finally always puts theirs back
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    previous = signal.signal(signal.SIGALRM, alarm)
    started = time.perf_counter()
    outer, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        yield check
    finally:
        try:
            armed = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer > 0:  # the caller's timer, less the time this run took
                left = outer - (time.perf_counter() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)


class _Overrun(RunTimeout):
    """Raised in a run's thread by :func:`_thread_limit` (an exception class, no message)."""


@contextlib.contextmanager
def _thread_limit(seconds: float) -> Iterator[None]:
    """Outside the main thread: raise :class:`RunTimeout` in this thread at the deadline.

    A timer thread raises it asynchronously (CPython's ``PyThreadState_SetAsyncExc``), so a
    ``step()`` that loops in Python code forever is stopped at its next bytecode; one blocked
    in a single call (a long ``time.sleep``, a lock, C code) is stopped only when the call
    returns. An exception not yet raised when the run ends is withdrawn, under a lock the timer
    holds while it raises: it never reaches code after the run. Elsewhere than CPython the
    check between steps is the only limit.
    """
    try:
        import ctypes  # noqa: PLC0415

        name = ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
        # private prototypes (pythonapi's own function object is shared: left as it is)
        raise_in = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(name)
        withdraw = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(name)
    except (ImportError, AttributeError):  # not CPython
        yield
        return
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"running": True, "fired": False}

    def fire() -> None:
        with lock:
            if state["running"]:
                state["fired"] = raise_in(target, _Overrun) == 1

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["running"] = False
            if state["fired"]:  # withdraw it if it was not raised yet
                withdraw(target, None)


def _where(stage: str, steps: int) -> str:
    """Where a run is, for the message of a run stopped there."""
    if stage == Stage.INSTANTIATE:
        return "while its model was built"
    if stage == Stage.RUN:
        return f"in step {steps + 1}"
    return f"after {steps} steps"


def _no_check() -> None:
    """No time limit: nothing to check."""


def _status(
    config: RunConfiguration,
    *,
    status: str,
    steps: int,
    start: float,
    model_time: float,
    failure: Failure | None = None,
) -> RunStatus:
    return RunStatus(
        run_id=config.run_id,
        key=config.key,
        status=status,
        steps=steps,
        wall_time=time.perf_counter() - start,
        model_time=model_time,
        failure=failure,
    )


@dataclasses.dataclass(slots=True, kw_only=True)
class BatchResult:
    """What a batch returns: a status per run and the rows of all its runs, by table.

    Attributes:
        statuses: One status per run that finished (succeeded or failed), in order.
        tables: Table name -> column name -> numpy array; every table has a ``run_id`` column.
        interrupted: Whether the batch stopped early on KeyboardInterrupt (in-process only);
            runs without a status did not run.
        storage_error: Why the batch could not be committed to the store (then ``statuses``
            is empty: none of its runs counts as done).
    """

    statuses: list[RunStatus]
    tables: dict[str, dict[str, np.ndarray]]
    interrupted: bool = False
    storage_error: str | None = None


class Writer(Protocol):
    """Commits a batch's rows and statuses to a store (see :class:`mesa_batch.store.PartWriter`)."""

    def commit(
        self,
        tables: dict[str, dict[str, np.ndarray]],
        statuses: list[RunStatus],
        batch: str,
        *,
        started: float,
    ) -> list[RunStatus]:
        """Commit a batch atomically under the id ``batch``; raise ``OSError`` if it cannot.

        Returns the statuses as committed: with their worker time (see
        :func:`with_worker_time`), measured from ``started`` once the batch's data is written.
        """
        ...


def execute_batch(
    configs: Sequence[RunConfiguration],
    *,
    task: str = "",
    writer: Writer | None = None,
    stop_on_interrupt: bool = False,
    run_timeout: float | None = None,
) -> BatchResult:
    """Run a batch of configurations one after the other.

    Args:
        configs: The runs.
        task: The batch's id, unique per submitted batch. It names the batch's parts in a
            store, so that an engine that runs a task twice writes the same files twice, and it
            keeps executors that merge identical tasks (Dask's ``pure=True``) from merging two
            batches.
        writer: Commit the batch to a store; the result then carries only the statuses.
        stop_on_interrupt: Return what finished when KeyboardInterrupt arrives, instead of
            raising it (used when the batch runs in the calling process).
        run_timeout: Seconds each run may take (None: no limit), see :func:`execute_run`.

    Returns:
        The batch's statuses and columnar tables.
    """
    start = time.perf_counter()
    statuses: list[RunStatus] = []
    chunks: dict[str, list[Columns]] = {}
    interrupted = False
    for config in configs:
        try:
            status, tables = execute_run(config, run_timeout=run_timeout)
        except KeyboardInterrupt:
            if not stop_on_interrupt:
                raise
            interrupted = True
            break
        statuses.append(status)
        for name, columns in tables.items():
            chunks.setdefault(name, []).append(_with_run_id(columns, config.run_id))
    tables = {name: concat_columns(parts) for name, parts in chunks.items()}
    if writer is not None:
        try:
            committed = writer.commit(tables, statuses, task or _fresh_task(), started=start)
        except OSError as error:
            return BatchResult(
                statuses=[], tables={}, interrupted=interrupted, storage_error=str(error)
            )
        return BatchResult(statuses=committed, tables={}, interrupted=interrupted)
    return BatchResult(
        statuses=with_worker_time(statuses, start), tables=tables, interrupted=interrupted
    )


def _fresh_task() -> str:
    import uuid  # noqa: PLC0415

    return uuid.uuid4().hex[:12]


def with_worker_time(statuses: list[RunStatus], start: float) -> list[RunStatus]:
    """Give each run an equal share of its batch's time (since ``start``) spent outside runs.

    That time is the batch's own work: joining the runs' tables, writing its parts.
    """
    if not statuses:
        return statuses
    elapsed = time.perf_counter() - start
    extra = max(elapsed - sum(s.wall_time for s in statuses), 0.0) / len(statuses)
    return [dataclasses.replace(s, worker_time=s.wall_time + extra) for s in statuses]


def _with_run_id(columns: Columns, run_id: int) -> Columns:
    n = len(next(iter(columns.values()), []))
    # an array, not a list: a batch joins arrays with one copy, and checks no value's type
    return {"run_id": np.full(n, run_id, dtype=np.int64), **columns}
