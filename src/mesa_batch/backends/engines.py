"""Other executors: Dask, MPI, Ray, or any ``concurrent.futures``-style executor.

``BatchRunner(configs, executor=...)`` runs the sweep's batches on any object whose
``submit(fn, *args, **kwargs)`` returns a future (``concurrent.futures.Future`` or one
``concurrent.futures.wait`` accepts). The executor stays the caller's: mesa_batch never shuts it
down. Every batch is submitted with a unique task id, so executors that merge identical tasks
(Dask's ``pure=True``) never merge two batches, and an engine that runs a task twice writes the
same store files twice.

======================  ===============================================================
executor                how
======================  ===============================================================
Dask distributed        a ``distributed.Client`` or ``client.get_executor()``, used
                        through :class:`DaskExecutor`; workers need the store path on a
                        shared file system
MPI                     ``mpi4py.futures.MPIPoolExecutor`` under ``mpiexec -n N python -m
                        mpi4py.futures script.py``; a store is required (an MPI worker that
                        dies ends the whole job: resume from the store)
Ray (experimental)      :class:`RayExecutor`, Ray tasks as futures
loky / ProcessPool      an executor of your own (its breakage stops the sweep)
======================  ===============================================================

These backends are optional extras (``pip install 'mesa-batch[dask]'``, ``[mpi]``, ``[ray]``)
and are imported only when used.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import importlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from mesa_batch.backends.local import Stuck
from mesa_batch.errors import ConfigurationError, ExecutorBrokenError, MissingExtraError, problem

__all__ = [
    "DaskExecutor",
    "RayExecutor",
    "adapt_executor",
    "executor_workers",
    "lost_worker",
    "require",
    "requires_store",
]

#: Seconds a Dask cluster started from this process may have no worker at all (none running,
#: none starting) before the sweep stops: its batches can no longer run.
NO_WORKERS_GRACE: Final = 10.0
#: Seconds a stuck batch's worker may take to restart (shut down and come back).
RESTART_TIMEOUT: Final = 20.0
#: How a stuck batch whose worker could not be restarted was stopped (see ``timeout_message``).
GIVEN_UP: Final = "only in the sweep, which no longer waits for it"


def require(module: str, extra: str, what: str) -> Any:
    """Import an optional backend's module, or fail with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            problem(
                what,
                f"needs the optional package {module.split('.', maxsplit=1)[0]!r}, which is not installed",
                module,
                f"Install it with: pip install 'mesa-batch[{extra}]'",
            )
        ) from error


def _module(executor: object) -> str:
    return type(executor).__module__ or ""


def adapt_executor(executor: object) -> Any:
    """Turn what the user passed into an object with ``submit`` returning futures.

    A Dask ``Client``, or its ``client.get_executor(...)``, becomes a :class:`DaskExecutor`
    (with the executor's options); anything else with a callable ``submit`` is used as it is.

    Raises:
        ConfigurationError: The object has no ``submit``.
    """
    if _module(executor).startswith("distributed"):
        if hasattr(executor, "get_executor"):  # a Client
            return DaskExecutor(executor)
        client = getattr(executor, "_client", None)  # a ClientExecutor: its client and options
        if client is not None:
            return DaskExecutor(client, **getattr(executor, "_kwargs", {}))
    if not callable(getattr(executor, "submit", None)):
        raise ConfigurationError(
            problem(
                "executor",
                "must be a concurrent.futures-style executor (an object with submit())",
                executor,
                "Pass e.g. a dask distributed Client, mpi4py.futures.MPIPoolExecutor(), or a "
                "concurrent.futures.ProcessPoolExecutor.",
            )
        )
    return executor


def executor_workers(executor: object) -> int:
    """How many tasks an executor runs at once (for batch sizing and the in-flight bound).

    Dask: the cluster's threads; MPI: its worker processes; process and thread pools: their
    ``max_workers``; otherwise the machine's CPUs.
    """
    client = getattr(executor, "_client", None)  # DaskExecutor, distributed's ClientExecutor
    if client is not None and hasattr(client, "nthreads"):
        return max(1, sum(client.nthreads().values()))
    for attribute in ("num_workers", "_max_workers"):  # mpi4py; concurrent.futures and loky
        value = getattr(executor, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return os.cpu_count() or 1


def lost_worker(error: BaseException) -> bool:
    """Whether a batch's error says its worker died (Dask's ``KilledWorker``), not its code."""
    kind = type(error)
    return kind.__name__ == "KilledWorker" and kind.__module__.startswith("distributed")


class DaskExecutor(cf.Executor):
    """A Dask ``Client`` as an executor whose futures always settle.

    Each ``submit`` is a Dask task (``pure=False`` unless given); its ``concurrent.futures``
    future is settled from the Dask future's callback, whatever happens to the task (its
    result lost with a worker and recomputed, an error while fetching it), and the Dask
    future is released at once, so a finished batch is never recomputed when the worker that
    held its result dies. :meth:`unfinished` tells the runner which batches can no longer
    finish; :meth:`stop_stuck` stops a batch stuck past its time budget by restarting its
    worker. The client stays the caller's.

    Args:
        client: A ``distributed.Client``.
        options: ``client.submit`` options (``pure``, ``workers``, ``resources``,
            ``retries``, ...).
    """

    def __init__(self, client: Any, **options: Any):
        self._client = client
        self._options = {"pure": False, **options}
        self._tasks: dict[cf.Future[Any], Any] = {}
        self._sent: dict[cf.Future[Any], float] = {}
        self._lock = threading.Lock()
        self._erred: set[cf.Future[Any]] = set()
        self._no_workers_since: float | None = None
        #: Threads of workers without a nanny left busy by a stuck batch, by worker address.
        self._busy: Counter[str] = Counter()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> cf.Future[Any]:  # noqa: D102
        task = self._client.submit(fn, *args, **self._options, **kwargs)
        future: cf.Future[Any] = cf.Future()
        with self._lock:
            self._tasks[future] = task
            self._sent[future] = time.monotonic()
        future.add_done_callback(self._forget)
        task.add_done_callback(functools.partial(_settle, future))
        return future

    def _forget(self, future: cf.Future[Any]) -> None:
        """Release the Dask future of a settled one (cancelling its task if it was cancelled)."""
        with self._lock:
            task = self._tasks.pop(future, None)
            self._sent.pop(future, None)
            self._erred.discard(future)
        if task is not None and future.cancelled():
            task.cancel()

    def unfinished(self, futures: Iterable[cf.Future[Any]]) -> dict[cf.Future[Any], BaseException]:
        """The pending futures whose task erred or was cancelled (seen twice, to let callbacks run).

        Raises:
            ExecutorBrokenError: The cluster started from this process has had no worker,
                running or starting, for :data:`NO_WORKERS_GRACE` seconds.
        """
        gone: dict[cf.Future[Any], BaseException] = {}
        for future in futures:
            with self._lock:
                task = self._tasks.get(future)
            if task is None or future.done() or task.status not in {"error", "cancelled"}:
                continue
            if future in self._erred:
                gone[future] = _error_of(task)
            self._erred.add(future)
        self._check_workers()
        return gone

    def stop_stuck(self, budgets: Mapping[cf.Future[Any], float]) -> dict[cf.Future[Any], Stuck]:
        """Cancel the tasks executing longer than their budget (seconds); restart their workers.

        Only tasks sent longer ago than their budget are asked about: one call to the
        scheduler, which knows since when each worker has been executing each task (from the
        workers' heartbeats). Each task over its budget is cancelled (so that it never runs
        again elsewhere) and its worker restarted by its nanny, which frees the worker's
        thread; a worker without a nanny (``LocalCluster(processes=False)``) cannot be: its
        thread stays busy, and once all its threads are, it is retired from the cluster, so
        that no batch waits behind them.
        """
        now = time.monotonic()
        with self._lock:
            keys = {
                task.key: future
                for future, task in self._tasks.items()
                if future in budgets and now - self._sent[future] >= budgets[future]
            }
        if not keys:
            return {}
        executing = self._client.run_on_scheduler(_executing_query(), list(keys))
        stuck: dict[cf.Future[Any], Stuck] = {}
        for key, (address, elapsed, nanny, threads) in executing.items():
            future = keys[key]
            if elapsed < budgets[future] or not future.cancel():  # cancels its task too
                continue
            stuck[future] = self._replace(address, elapsed, nanny=nanny, threads=threads)
        return stuck

    def _replace(self, address: str, elapsed: float, *, nanny: bool, threads: int) -> Stuck:
        """Free the worker thread a cancelled task keeps busy: restart its worker if it can be."""
        busy = f"its Dask worker {address}, busy with it for {elapsed:.0f} s"
        return self._restart(address, busy) if nanny else self._give_up(address, busy, threads)

    def _restart(self, address: str, busy: str) -> Stuck:
        """Have the worker's nanny replace it; stopped once the old worker left the scheduler."""
        try:
            status = self._client.restart_workers(
                [address], timeout=RESTART_TIMEOUT, raise_for_error=False
            )
            outcome = status.get(address)
        except Exception as error:  # the sweep goes on: say why in the run's failure
            outcome = f"{type(error).__name__}: {error}"
        if outcome == "OK":
            return Stuck(stopped=True, how=f"by restarting {busy} (its step never returned)")
        try:
            gone = address not in self._client.scheduler_info()["workers"]
        except Exception:
            gone = False
        if gone:  # shut down, but not back in time (or a LocalCluster dropped it)
            return Stuck(
                stopped=True,
                how=f"by restarting {busy} (its step never returned; the restart: {outcome})",
            )
        return Stuck(
            stopped=False,
            how=f"{GIVEN_UP}: restarting {busy}, did not succeed ({outcome}), so that "
            "worker's thread may stay busy with it",
        )

    def _give_up(self, address: str, busy: str, threads: int) -> Stuck:
        """A worker without a nanny: its thread stays busy; retire it once none is free."""
        self._busy[address] += 1
        retired = ""
        if self._busy[address] >= threads:  # no thread of it left: nothing may queue there
            try:
                self._client.retire_workers([address])
                retired = ", and the worker, with no thread left free, was retired"
            except Exception as error:
                retired = f"; retiring the worker failed ({type(error).__name__}: {error})"
        return Stuck(
            stopped=False,
            how=f"{GIVEN_UP}: {busy}, has no nanny to restart it, so the worker thread could "
            f"not be stopped and stays busy with it{retired}",
        )

    def _check_workers(self) -> None:
        cluster = getattr(self._client, "cluster", None)
        if cluster is None or len(getattr(cluster, "workers", {}) or {}) > 0:
            self._no_workers_since = None
            return
        if self._client.scheduler_info().get("workers"):
            self._no_workers_since = None
            return
        now = time.monotonic()
        if self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since > NO_WORKERS_GRACE:
            raise ExecutorBrokenError(
                problem(
                    "the Dask cluster passed to BatchRunner",
                    f"has had no worker, running or starting, for {NO_WORKERS_GRACE:g} s, so "
                    "the batches it was given can no longer run",
                    type(cluster).__qualname__,
                    "Every run that finished is kept (in the store, or in runner.results); "
                    "start a cluster with workers and run again to resume.",
                )
            )


def _executing_query() -> Callable[..., dict[str, tuple[str, float, bool, int]]]:
    """The scheduler-side question of :meth:`DaskExecutor.stop_stuck`.

    A function made here is pickled by value (cloudpickle), so the scheduler runs it without
    mesa_batch installed. It reads the scheduler's public state: each task's worker
    (``TaskState.processing_on``) and how long the worker said it had been executing it
    (``WorkerState.executing``, as of its last heartbeat, ``WorkerState.last_seen``).
    """

    def executing(keys: list[str], dask_scheduler: Any) -> dict[str, tuple[str, float, bool, int]]:
        import time  # noqa: PLC0415 - run on the scheduler

        now = time.time()
        found = {}
        for key in keys:
            task = dask_scheduler.tasks.get(key)
            worker = None if task is None else task.processing_on
            if worker is not None and task in worker.executing:
                elapsed = worker.executing[task] + max(now - worker.last_seen, 0.0)
                found[key] = (worker.address, elapsed, worker.nanny is not None, worker.nthreads)
        return found

    return executing


def _settle(future: cf.Future[Any], task: Any) -> None:
    """Give a Dask task's outcome to its ``concurrent.futures`` future (in Dask's callback thread)."""
    if future.done():
        return
    outcome: Any = None
    error: BaseException | None = None
    try:
        if task.status == "finished":
            outcome, error = task.result(), None
        elif task.status == "cancelled":
            outcome, error = None, cf.CancelledError(f"the Dask task {task.key} was cancelled")
        else:
            outcome, error = None, _error_of(task)
    except BaseException as failure:  # the result could not be fetched: say why
        outcome, error = None, failure
    try:
        if error is None:
            future.set_result(outcome)
        else:
            future.set_exception(error)
    except cf.InvalidStateError:  # cancelled meanwhile by the runner
        pass


def _error_of(task: Any) -> BaseException:
    try:
        error = task.exception(timeout=5)
    except BaseException as failure:
        return failure
    if error is None:
        return cf.CancelledError(f"the Dask task {task.key} was {task.status}")
    return error


def requires_store(executor: object) -> bool:
    """Whether results must go to a store with this executor (MPI: yes)."""
    return _module(executor).startswith("mpi4py")


class RayExecutor(cf.Executor):
    """Ray tasks behind the ``concurrent.futures`` interface (experimental).

    Each ``submit`` runs ``fn`` as a Ray task (``num_cpus`` each) and returns the future Ray
    gives for its result. Start Ray first (``ray.init(...)``); shutting Ray down stays yours.

    Args:
        num_cpus: CPUs reserved by each task.
        max_retries: How often Ray reruns a task whose worker died.
    """

    def __init__(self, *, num_cpus: float = 1, max_retries: int = 3):
        self._ray = require("ray", "ray", "RayExecutor")
        self._options = {"num_cpus": num_cpus, "max_retries": max_retries}
        self._remotes: dict[Any, Any] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> cf.Future[Any]:  # noqa: D102
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = self._ray.remote(**self._options)(fn)
        future: cf.Future[Any] = remote.remote(*args, **kwargs).future()
        return future

    @property
    def num_workers(self) -> int:
        """The CPUs of the Ray cluster, divided by the CPUs a task takes."""
        cpus = self._ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // self._options["num_cpus"]))
