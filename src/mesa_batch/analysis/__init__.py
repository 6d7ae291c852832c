"""From a sweep's results to answers: final values, means with intervals, sensitivity, plots.

Every function takes a :class:`~mesa_batch.Results` or the path of a store, and reads only
the columns and runs it needs (out of core, with :meth:`Results.scan
<mesa_batch.Results.scan>`); what comes back is a small tidy DataFrame.

==========================  ==========================================================
function                    gives
==========================  ==========================================================
:func:`final`               one row per succeeded run: parameters, outcomes at its last step
:func:`aggregate`           mean, std, sem and a confidence interval per point or group
                            (and per step with ``at="all"``)
:func:`effects`             a base-case design's variations against its reference
:func:`sensitivity`         sensitivity indices (Sobol, Morris, FAST, RBD-FAST, delta,
                            PAWN) from a sensitivity design, as SALib names them
``plot_*``                  matplotlib plots of those tables, returning the ``Axes``
==========================  ==========================================================

See ``docs/analysis.md`` for a worked example.
"""

from mesa_batch.analysis.aggregate import aggregate, final
from mesa_batch.analysis.effects import effects
from mesa_batch.analysis.plots import (
    plot_heatmap,
    plot_indices,
    plot_morris,
    plot_response,
    plot_timeseries,
)
from mesa_batch.analysis.sensitivity import METHODS, sensitivity

__all__ = [
    "METHODS",
    "aggregate",
    "effects",
    "final",
    "plot_heatmap",
    "plot_indices",
    "plot_morris",
    "plot_response",
    "plot_timeseries",
    "sensitivity",
]
