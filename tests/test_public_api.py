"""Pin the public surface: every name in mesa_batch.__all__, sorted, and nothing more."""

import subprocess
import sys

import mesa_batch

EXPECTED = [
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


def test_all_is_pinned_and_sorted():
    assert mesa_batch.__all__ == EXPECTED
    assert sorted(mesa_batch.__all__) == mesa_batch.__all__


def test_every_public_name_exists_and_is_documented():
    for name in mesa_batch.__all__:
        obj = getattr(mesa_batch, name)
        if callable(obj):
            assert obj.__doc__, name


def test_import_is_cheap_and_silent():
    code = (
        "import sys, warnings; warnings.simplefilter('error'); import mesa_batch; "
        "heavy = {'mesa', 'pandas', 'scipy.stats', 'SALib', 'chaospy', 'loky', 'tqdm'} "
        "& set(sys.modules); "
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert result.stderr == ""
