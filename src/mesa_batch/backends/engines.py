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
Dask distributed        a ``distributed.Client`` (used through ``client.get_executor(
                        pure=False)``) or ``client.get_executor()``; workers need the store
                        path on a shared file system
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
import importlib
import os
from typing import Any

from mesa_batch.errors import ConfigurationError, MissingExtraError, problem

__all__ = ["RayExecutor", "adapt_executor", "executor_workers", "require", "requires_store"]


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

    A Dask ``Client`` becomes ``client.get_executor(pure=False)``; anything else with a
    callable ``submit`` is used as it is.

    Raises:
        ConfigurationError: The object has no ``submit``.
    """
    if _module(executor).startswith("distributed") and hasattr(executor, "get_executor"):
        return executor.get_executor(pure=False)
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
    client = getattr(executor, "_client", None)  # distributed's ClientExecutor
    if client is not None and hasattr(client, "nthreads"):
        return max(1, sum(client.nthreads().values()))
    for attribute in ("num_workers", "_max_workers"):  # mpi4py; concurrent.futures and loky
        value = getattr(executor, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return os.cpu_count() or 1


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
