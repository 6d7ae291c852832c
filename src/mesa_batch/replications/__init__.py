"""Adaptive replications: run each design point until its confidence interval is narrow enough.

Data flow::

    configurations (any design) ──► one base per design point (by point_key)
          │                          iterations derived with with_iteration(): the seeds a
          │                          fixed design with iterations=k+1 gives its runs 0..k
          ▼
    round: BatchRunner(the round's new runs, store=..., executor=...)          driver
          │   first round: min_iterations per point (or what the store already planned)
          ▼
    each run's outcome: the model table at its final collected step (only those columns
          │   and runs are read, results.scan), or statistic(the run's model rows)   values
          ▼
    per point: mean, half-width t(n-1, (1+confidence)/2) s/sqrt(n)
          │   (analysis.stats.t_half_width, the function aggregate uses)
          │   met when half-width <= rel_precision |mean| or <= abs_precision, for every
          │   outcome; done when it stayed met for look_ahead more runs (Hoad, Robinson and
          │   Davies 2010)                                                           rule
          ▼
    points not done get iterations up to their estimated need (at most 4x per round,
    max_iterations, the max_runs budget; a round has at least one run per worker)    plan
          │   ... next round, until every point is done or stopped
          ▼
    ReplicationResults: the Results of all runs; .replications (one row per point and
    outcome: iterations, CI, whether the target was met); a store records it in
    store.json, which Results.summary(), mesa-batch show and the report read back    record

Resuming: the store's plan holds every round's runs as soon as the round starts. Run again
with the same arguments, the first round is what the store planned (its unfinished runs run),
and every later decision is a function of the runs' data alone, so the final store is the one
an uninterrupted call writes.

Modules: ``target`` (the options, validated), ``rule`` (the stopping rule), ``plan`` (a
point's state and the next round), ``values`` (reading the runs' outcomes), ``record`` (the
per-point record: written, read back safely, shown), ``estimate`` (:func:`replications_needed`
from a fixed sweep), ``driver`` (:func:`replicate_until`'s rounds).
"""

from mesa_batch.replications.driver import replicate_until
from mesa_batch.replications.estimate import replications_needed
from mesa_batch.replications.record import (
    ReplicationResults,
    replication_status,
    replication_summary,
)

__all__ = [
    "ReplicationResults",
    "replicate_until",
    "replication_status",
    "replication_summary",
    "replications_needed",
]
