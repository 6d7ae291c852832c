"""Where batches run: the calling process, a local pool, or any executor (Dask, MPI, Ray).

=====================  ==================================================================
``local``              :class:`Backend` (``submit`` returns futures), :class:`SerialBackend`,
                       :class:`ExecutorBackend` (any executor, never shut down),
                       :class:`ProcessPoolBackend` (loky's reusable pool), :class:`BatchSizer`
``adaptive``           :class:`AdaptiveBackend` (``number_processes=None``): the calling
                       process first, the pool of every CPU once the work left pays for it
``engines``            the optional engines: :func:`adapt_executor` (a Dask ``Client``
                       becomes a :class:`DaskExecutor`), :func:`lost_worker`,
                       :func:`executor_workers`, :func:`requires_store` (MPI),
                       :class:`RayExecutor`, lazy imports with install hints (:func:`require`)
=====================  ==================================================================
"""

from mesa_batch.backends.engines import (
    DaskExecutor,
    RayExecutor,
    adapt_executor,
    executor_workers,
    lost_worker,
    require,
    requires_store,
)
from mesa_batch.backends.local import (
    Backend,
    BatchSizer,
    ExecutorBackend,
    ProcessPoolBackend,
    SerialBackend,
    cpu_count,
    local_pool,
)

__all__ = [
    "Backend",
    "BatchSizer",
    "DaskExecutor",
    "ExecutorBackend",
    "ProcessPoolBackend",
    "RayExecutor",
    "SerialBackend",
    "adapt_executor",
    "cpu_count",
    "executor_workers",
    "local_pool",
    "lost_worker",
    "require",
    "requires_store",
]
