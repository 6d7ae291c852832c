"""Manual designs: points given as a list of dicts, a pandas DataFrame or a CSV file."""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import Design, RunSettings, generate, literal_points
from mesa_batch.errors import DesignError, problem

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd

    Points: TypeAlias = Sequence[Mapping[str, Any]] | pd.DataFrame | str | os.PathLike[str]

__all__ = ["Manual", "manual"]


def _is_frame(value: object) -> bool:
    # pandas is imported lazily: if it is not loaded yet, value cannot be a DataFrame.
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


class Manual(Design):
    """Exactly the points given, in the order given; values are taken literally.

    From a DataFrame or a CSV file, each row is a point; an empty cell (NA) leaves that
    parameter out of the point, so the model's default applies; numpy scalars become Python
    scalars, and each value keeps its column's type: an int column with empty cells gives ints
    (see :func:`manual`), a column that mixes types gives its values as they are.

    Args:
        points: A sequence of mappings, a pandas DataFrame, or the path of a CSV file.
    """

    name: ClassVar[str] = "manual"
    where: ClassVar[str] = "points"

    def __init__(self, points: Points):
        self.source = "list"
        if isinstance(points, str | os.PathLike):
            path = pathlib.Path(points)
            if not path.is_file():
                raise DesignError(problem("points", "must name an existing CSV file", str(points)))
            self.source = f"csv:{path}"
            import pandas as pd  # noqa: PLC0415 - pandas is slow to import

            # nullable dtypes: an int column with empty cells stays ints (not float64 and NaN)
            points = pd.read_csv(path, dtype_backend="numpy_nullable")
        if _is_frame(points):
            if self.source == "list":
                self.source = "dataframe"
            self._points = _frame_points(points)  # type: ignore[arg-type]
        elif isinstance(points, Mapping) or not isinstance(points, Iterable):
            raise DesignError(
                problem(
                    "points",
                    "must be a list of dicts, a pandas DataFrame or a CSV path",
                    points,
                    "Wrap a single point in a list: manual(Model, [point]).",
                )
            )
        else:
            self._points = literal_points(points, where="points")
        if not self._points:
            raise DesignError(problem("points", "must hold at least one point", points))

    def names(self) -> Iterable[str]:  # noqa: D102
        return dict.fromkeys(name for point in self._points for name in point).keys()

    def points(self, rng: np.random.Generator) -> list[dict[str, Any]]:  # noqa: D102
        return [dict(point) for point in self._points]

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {"source": self.source}


def _frame_points(frame: pd.DataFrame) -> list[dict[str, Any]]:
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise DesignError(problem("points columns", "must be unique", names))
    frame = frame.astype({c: "Int64" for c in frame.columns if _widened_ints(frame[c])})
    points = []
    for row in frame.itertuples(index=False, name=None):
        point = {}
        for name, value in zip(names, row, strict=True):
            if _is_missing(value):
                continue
            point[name] = value.item() if isinstance(value, np.generic) else value
        points.append(point)
    return points


def _widened_ints(column: pd.Series) -> bool:
    """Whether a column is ints that pandas widened to float64 to hold missing cells (NaN).

    A numpy int column cannot hold NaN, so pandas turns ``[5, None]`` into ``[5.0, nan]``; a
    float64 column with NaN whose other values are all whole numbers is taken back as ints.
    (A nullable ``Float64`` column says "floats" and is kept.)
    """
    if column.dtype != np.float64:
        return False
    values = column.to_numpy()
    missing = np.isnan(values)
    present = values[~missing]
    return bool(missing.any() and len(present) and np.all(present == np.round(present)))


def _is_missing(value: object) -> bool:
    import pandas as pd  # noqa: PLC0415

    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # array-like cells
        return False


def manual(
    model_cls: type, points: Points, **settings: Unpack[RunSettings]
) -> list[RunConfiguration]:
    """Run exactly the points given.

    Args:
        model_cls: The Mesa model class.
        points: A list of dicts, a pandas DataFrame (one point per row), or the path of a CSV
            file (read with ``pandas.read_csv`` and nullable dtypes, so an int column with
            empty cells stays ints). Values are taken literally; an empty cell in a table
            leaves that parameter at the model's default. A DataFrame's float64 column with
            empty cells (NaN) whose other values are all whole numbers is taken as the ints
            pandas widened to hold NaN; give it the ``Float64`` dtype to keep floats.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per point and iteration, iteration outer.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> configs = manual(BoltzmannWealth, [{"n": 10}, {"n": 20, "width": 5}], seed=3)
        >>> [c.parameters for c in configs]
        [{'n': 10}, {'n': 20, 'width': 5}]
    """
    return generate(Manual(points), model_cls, **settings)
