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

Importing mesa_batch is cheap: each name above is imported on first use (``from mesa_batch
import BatchRunner`` loads the runner, not the analysis), and Mesa, scipy.stats, SALib and
chaospy load when first needed.
"""

from __future__ import annotations

import importlib

# typing.TYPE_CHECKING without importing typing (~10-35 ms): `python -m mesa_batch` imports
# this module before the entry point's Ctrl-C handling starts (mypy and ruff read the name)
TYPE_CHECKING = False

if TYPE_CHECKING:  # the names, for type checkers and IDEs
    from typing import Any

    from mesa_batch.backends import RayExecutor
    from mesa_batch.compat import batch_run
    from mesa_batch.config import DesignInfo, RunConfiguration
    from mesa_batch.designs import (
        base_case,
        concat,
        fast,
        full_factorial,
        morris,
        replicate,
        saltelli,
        sample,
        sparse_grid,
    )
    from mesa_batch.designs.manual import manual  # the function, not its module
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

#: Where each public name lives: imported on first use (PEP 562), so importing the package
#: is quick (a Ctrl-C while the command line starts is then caught by it, not by Python).
_HOMES: dict[str, str] = {
    "BatchRunner": "mesa_batch.runner",
    "Boolean": "mesa_batch.space",
    "Categorical": "mesa_batch.space",
    "ConfigurationError": "mesa_batch.errors",
    "Constant": "mesa_batch.space",
    "DataNotFoundError": "mesa_batch.errors",
    "DesignError": "mesa_batch.errors",
    "DesignInfo": "mesa_batch.config",
    "Distribution": "mesa_batch.space",
    "ExecutorBrokenError": "mesa_batch.errors",
    "ExperimentError": "mesa_batch.errors",
    "Integer": "mesa_batch.space",
    "Interrupted": "mesa_batch.errors",
    "MasterSeed": "mesa_batch.keys",
    "MesaBatchError": "mesa_batch.errors",
    "MissingExtraError": "mesa_batch.errors",
    "ModelClassError": "mesa_batch.errors",
    "NotReproducibleWarning": "mesa_batch.errors",
    "ParameterError": "mesa_batch.errors",
    "ParameterSpace": "mesa_batch.space",
    "RayExecutor": "mesa_batch.backends",
    "Real": "mesa_batch.space",
    "RerunReport": "mesa_batch.reproduce",
    "Results": "mesa_batch.results",
    "RunConfiguration": "mesa_batch.config",
    "RunFailedWarning": "mesa_batch.errors",
    "RunFailure": "mesa_batch.results",
    "SeedAdoptedWarning": "mesa_batch.errors",
    "StoreConflictError": "mesa_batch.errors",
    "StoreLockedError": "mesa_batch.errors",
    "StoreWriteError": "mesa_batch.errors",
    "Values": "mesa_batch.space",
    "base_case": "mesa_batch.designs",
    "batch_run": "mesa_batch.compat",
    "concat": "mesa_batch.designs",
    "fast": "mesa_batch.designs",
    "full_factorial": "mesa_batch.designs",
    "manual": "mesa_batch.designs",
    "morris": "mesa_batch.designs",
    "replicate": "mesa_batch.designs",
    "replicate_until": "mesa_batch.replications",
    "replication_status": "mesa_batch.replications",
    "replication_summary": "mesa_batch.replications",
    "replications_needed": "mesa_batch.replications",
    "saltelli": "mesa_batch.designs",
    "sample": "mesa_batch.designs",
    "sparse_grid": "mesa_batch.designs",
}

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


def __getattr__(name: str) -> Any:
    """A public name, or a submodule, imported on first use (and kept)."""
    home = _HOMES.get(name)
    if home is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
