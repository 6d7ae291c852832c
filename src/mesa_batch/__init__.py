"""mesa_batch: the next-generation batch runner for Mesa agent-based models.

The public API, by stage:

Preparation
    :class:`RunConfiguration` (one run: model, parameters, iteration, run length, seed);
    parameter types :class:`Real`, :class:`Integer`, :class:`Categorical`, :class:`Boolean`,
    :class:`Constant`, :class:`Values`, :class:`Distribution` and :class:`ParameterSpace`;
    designs :func:`full_factorial`, :func:`base_case`, :func:`manual`, :func:`sample`,
    :func:`saltelli`, :func:`morris`, :func:`fast`, :func:`sparse_grid`, composed with
    :func:`concat` and :func:`replicate`.

Running
    :class:`BatchRunner` (``run()`` → :class:`Results`, ``run_all()`` → records; a local pool,
    a Parquet ``store=``, any ``executor=``), :class:`RayExecutor` (experimental), the drop-in
    :func:`batch_run`; :func:`replicate_until` (each point replicated until its CI is narrow
    enough), with :func:`replication_status`, :func:`replication_summary` and
    :func:`replications_needed`.

Processing
    :class:`Results` (``runs``, ``model``, ``agents`` DataFrames, records, Parquet, ``scan``
    for reading out of core, ``designs``, ``configurations``, ``rerun`` → :class:`RerunReport`;
    ``Results.open(store)``), :class:`RunFailure`.

Errors
    :class:`MesaBatchError` and its subclasses (the tree is in :mod:`mesa_batch.errors`):
    configuration errors (``ConfigurationError``, ``ParameterError``, ``DesignError``,
    ``ExperimentError``, ``ModelClassError``), ``DataNotFoundError``, store errors
    (``StoreConflictError``, ``StoreLockedError``, ``StoreWriteError``),
    ``ExecutorBrokenError``, ``MissingExtraError``; ``Interrupted`` (a ``KeyboardInterrupt``);
    the warnings ``RunFailedWarning``, ``NotReproducibleWarning``, ``SeedAdoptedWarning``.

Importing mesa_batch is cheap: Mesa, scipy.stats, SALib and chaospy load on first use.
"""

from mesa_batch.backends import RayExecutor
from mesa_batch.compat import batch_run
from mesa_batch.config import DesignInfo, RunConfiguration
from mesa_batch.designs import (
    base_case,
    concat,
    fast,
    full_factorial,
    manual,
    morris,
    replicate,
    saltelli,
    sample,
    sparse_grid,
)
from mesa_batch.errors import (
    ConfigurationError,
    DataNotFoundError,
    DesignError,
    ExecutorBrokenError,
    ExperimentError,
    Interrupted,
    MesaBatchError,
    MissingExtraError,
    ModelClassError,
    NotReproducibleWarning,
    ParameterError,
    RunFailedWarning,
    SeedAdoptedWarning,
    StoreConflictError,
    StoreLockedError,
    StoreWriteError,
)
from mesa_batch.keys import MasterSeed
from mesa_batch.replications import (
    replicate_until,
    replication_status,
    replication_summary,
    replications_needed,
)
from mesa_batch.reproduce import RerunReport
from mesa_batch.results import Results, RunFailure
from mesa_batch.runner import BatchRunner
from mesa_batch.space import (
    Boolean,
    Categorical,
    Constant,
    Distribution,
    Integer,
    ParameterSpace,
    Real,
    Values,
)

__version__ = "0.1.0"

__all__ = [
    "BatchRunner",
    "Boolean",
    "Categorical",
    "ConfigurationError",
    "Constant",
    "DataNotFoundError",
    "DesignError",
    "DesignInfo",
    "Distribution",
    "ExecutorBrokenError",
    "ExperimentError",
    "Integer",
    "Interrupted",
    "MasterSeed",
    "MesaBatchError",
    "MissingExtraError",
    "ModelClassError",
    "NotReproducibleWarning",
    "ParameterError",
    "ParameterSpace",
    "RayExecutor",
    "Real",
    "RerunReport",
    "Results",
    "RunConfiguration",
    "RunFailedWarning",
    "RunFailure",
    "SeedAdoptedWarning",
    "StoreConflictError",
    "StoreLockedError",
    "StoreWriteError",
    "Values",
    "__version__",
    "base_case",
    "batch_run",
    "concat",
    "fast",
    "full_factorial",
    "manual",
    "morris",
    "replicate",
    "replicate_until",
    "replication_status",
    "replication_summary",
    "replications_needed",
    "saltelli",
    "sample",
    "sparse_grid",
]
