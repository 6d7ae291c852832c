"""Experimental designs: generators of run configurations.

Every design takes the model class first and the same keyword-only run settings
(:class:`~mesa_batch.designs._core.RunSettings`), and returns ``list[RunConfiguration]``.

=====================  ==========================================================
``full_factorial``      every combination of swept values
``base_case``           a reference scenario plus one-at-a-time variations
``manual``              points from a list of dicts, a DataFrame or a CSV file
``sample``              random, Latin hypercube, Sobol, Halton, or a grid subset
``saltelli``            Saltelli's design for Sobol indices (SALib)
``morris``              Morris elementary-effects trajectories (SALib)
``fast``                extended FAST search curves (SALib)
``sparse_grid``         a Smolyak sparse grid over real and integer ranges
``concat``              several designs as one, duplicates kept once
``replicate``           a design crossed with replications
=====================  ==========================================================
"""

from mesa_batch.designs._core import MAX_RUNS, Design, RunSettings, generate, max_runs, run_limit
from mesa_batch.designs.compose import concat, replicate
from mesa_batch.designs.grid import base_case, full_factorial
from mesa_batch.designs.manual import manual
from mesa_batch.designs.sampling import METHODS, sample
from mesa_batch.designs.sensitivity import fast, morris, saltelli
from mesa_batch.designs.sparse import sparse_grid

__all__ = [
    "MAX_RUNS",
    "METHODS",
    "Design",
    "RunSettings",
    "base_case",
    "concat",
    "fast",
    "full_factorial",
    "generate",
    "manual",
    "max_runs",
    "morris",
    "replicate",
    "run_limit",
    "saltelli",
    "sample",
    "sparse_grid",
]
