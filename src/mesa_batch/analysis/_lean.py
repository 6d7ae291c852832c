"""A store read for one analysis: only the runs' outcomes, points and parameters, in numpy.

:class:`Results.open <mesa_batch.Results.open>` builds every run's whole outcome (keys, seeds,
times, failures) in pandas, which an aggregate never looks at. :func:`lean_source` decides
each run's outcome from the plan's and the runs parts' ids and keys alone
(:func:`~mesa_batch.store.counting.resolve_runs`, the same decision), reads the plan's
``iteration``, ``point``, ``design`` and ``parameters`` (repeated texts as dictionaries: each
distinct point is decoded once), and scans the data parts as ``Results.scan`` does. It gives
the analyses what they read of a ``Results``: :attr:`~LeanSource.tables`,
:attr:`~LeanSource.parameter_names`, :meth:`~LeanSource._run_table` and
:meth:`~LeanSource.scan`, with the same values.

Any store whose plan and runs parts disagree, or that the lean reading does not cover (see
:mod:`mesa_batch.store.counting`), is opened with ``Results.open`` instead.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mesa_batch.store.counting import Resolved
    from mesa_batch.store.reader import StoreState

__all__ = ["LeanSource", "lean_source"]

#: The plan columns the run table is made of (with ``run_id``).
PLAN_COLUMNS = ("iteration", "point", "design", "parameters")


def lean_source(path: pathlib.Path) -> LeanSource | None:
    """The lean reading of the store at ``path``, or None where ``Results.open`` must read it.

    None for anything but a store whose ``store.json`` is readable and of a format this code
    reads, whose plan and runs parts agree, and whose plan parts are version 2 and readable.
    """
    from mesa_batch.errors import StoreConflictError  # noqa: PLC0415
    from mesa_batch.store.counting import resolve_runs  # noqa: PLC0415
    from mesa_batch.store.files import read_json  # noqa: PLC0415
    from mesa_batch.store.reader import check_format  # noqa: PLC0415

    if path.is_symlink() or not path.is_dir():
        return None
    meta = read_json(path / "store.json")
    if not meta:
        return None
    try:
        check_format(path, meta)
    except StoreConflictError:
        return None
    resolved = resolve_runs(path, meta, plan_columns=PLAN_COLUMNS)
    if resolved is None:
        return None
    return LeanSource(path, meta, resolved)


class LeanSource:
    """What the analyses read of a store's ``Results``, read leanly (see the module).

    Args:
        root: The store directory.
        meta: Its ``store.json``.
        resolved: Each run's outcome, with the plan's :data:`PLAN_COLUMNS`.
    """

    def __init__(self, root: pathlib.Path, meta: dict[str, Any], resolved: Resolved):
        self._resolved = resolved
        self._plan = resolved.plan.to_pandas(split_blocks=True)
        self._state = _scanning_state(root, meta, resolved)
        self._parameters: dict[str, Any] | None = None

    @property
    def tables(self) -> list[str]:
        """``runs``, then the data tables with rows (as ``Results.tables``)."""
        order = {"model": 0, "agents": 1}
        names = [name for name, parts in self._state.batches.items() if parts]
        return ["runs", *sorted(names, key=lambda n: (order.get(n, 2), n))]

    @property
    def parameter_names(self) -> list[str]:
        """The parameter names of the sweep (as ``Results.parameter_names``)."""
        return list(self._parameter_columns())

    def _parameter_columns(self) -> dict[str, Any]:
        from mesa_batch.results import _leading, parameter_columns  # noqa: PLC0415
        from mesa_batch.store.reader import (  # noqa: PLC0415
            parameter_codes,
            plain_parameter_columns,
        )

        if self._parameters is None:
            found = plain_parameter_columns(self._plan)
            if found is None:
                found = parameter_columns(*parameter_codes(self._plan))
            taken = set(_leading(None))
            self._parameters = {
                name if name not in taken else f"{name} (parameter)": column
                for name, column in found.items()
            }
        return self._parameters

    def _run_table(self) -> pd.DataFrame:
        """``run_id``, ``iteration``, ``status``, ``point``, ``design`` and the parameters.

        As ``Results``' run table for analyses, without ``steps`` (no analysis of this
        reading uses it).
        """
        from mesa_batch.outcomes import Status  # noqa: PLC0415

        ids = self._resolved.ids
        names = [str(Status.PENDING), str(Status.FAILED), str(Status.SUCCEEDED)]
        codes = np.zeros(len(ids), np.int8)  # a category per status: no str per run
        codes[np.searchsorted(ids, self._resolved.failed)] = 1
        codes[np.searchsorted(ids, self._resolved.succeeded)] = 2
        plan = self._plan
        data: dict[str, Any] = {
            "run_id": ids,
            "iteration": plan["iteration"].to_numpy(),
            "status": pd.Categorical.from_codes(codes, categories=pd.Index(names)),
            "point": plan["point"].astype("Int64").array,
            "design": _sorted_categories(plan["design"]),
        }
        return pd.DataFrame(data | self._parameter_columns())

    def scan(self, table: str, columns: Sequence[str] | None = None) -> Iterator[Any]:
        """A table's rows of the runs it holds the outcome of, piece by piece (as ``scan``)."""
        yield from self._state.scan(table, columns=columns)


def _sorted_categories(column: pd.Series) -> pd.Series:
    """A column read as a dictionary, as a categorical that groups in the order of its text.

    (A category per distinct text, not a str per run; grouping shows it as text.)
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column
    return column.cat.reorder_categories(sorted(column.cat.categories))


def _scanning_state(root: pathlib.Path, meta: dict[str, Any], resolved: Resolved) -> StoreState:
    """A :class:`StoreState` that scans the data parts of the runs ``resolved`` holds done.

    Its parts and the runs each contributes are those ``read_state`` finds; only its scanning
    is used (its ``runs`` is empty).
    """
    from mesa_batch.store.reader import StoreState  # noqa: PLC0415

    contributes = resolved.contributions()
    nothing = np.empty(0, dtype=np.int64)
    by_table = {
        table: {part: contributes.get(batch, nothing) for part, batch in parts.items()}
        for table, parts in resolved.batches.items()
    }
    # a part holds rows of its batch's succeeded runs only: where they all count, no filter
    whole = {
        batch
        for batch, ids in contributes.items()
        if resolved.recorded.get(batch) == len(ids) and resolved.checks.get(batch)
    }
    return StoreState(root, meta, pd.DataFrame(), by_table, [], [], _whole=whole)
