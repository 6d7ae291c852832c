"""Sampled designs: points drawn from a parameter space.

Every sampled design draws in the unit cube (one column per varying parameter) and maps the
samples through the parameter types in one place (:meth:`UnitCubeDesign.points`), so Latin
hypercube, Sobol and Halton points and the SALib designs all respect ``Integer``,
``Categorical`` and ``Distribution`` parameters the same way.

``method="grid"`` is different: it picks a random subset of the full-factorial grid, decoding
random grid indices without ever building the whole grid.
"""

from __future__ import annotations

import math
import random
import sys
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Unpack

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import Design, RunSettings, check_count, generate
from mesa_batch.errors import DesignError, problem
from mesa_batch.space import ParameterSpace, level_sequences

__all__ = ["GridSubset", "Sample", "UnitCubeDesign", "sample"]


class UnitCubeDesign(Design):
    """A design that draws points in the unit cube and maps them through a parameter space.

    Subclasses implement :meth:`unit_points`.

    Args:
        space: Names mapped to parameter types (plain values follow the rules of
            :func:`mesa_batch.space.to_parameter`); constants are passed to every run.
    """

    where: ClassVar[str] = "space"

    def __init__(self, space: Mapping[str, Any]):
        self.space = ParameterSpace(space, what="space")
        if not self.space.varying:
            raise DesignError(
                problem(
                    "space",
                    f"must have at least one varying parameter for a {self.name} design",
                    self.space,
                    "Give a range such as Real(0, 1) or Integer(1, 10), or use manual(...).",
                )
            )

    @property
    def dimensions(self) -> int:
        """The number of varying parameters (the unit cube's dimension)."""
        return len(self.space.varying)

    @abstractmethod
    def unit_points(self, rng: np.random.Generator) -> np.ndarray:
        """Draw the design in the unit cube: shape ``(n, self.dimensions)``."""

    def names(self) -> Iterable[str]:  # noqa: D102
        return self.space.keys()

    def points(self, rng: np.random.Generator) -> list[dict[str, Any]]:  # noqa: D102
        return self.draw(rng)[0]

    def draw(self, rng: np.random.Generator) -> tuple[list[dict[str, Any]], np.ndarray | None]:
        """The points and the unit-cube sample (``n x dimensions``) they were mapped from."""
        unit = np.asarray(self.unit_points(rng), dtype=float)
        return self.space.from_unit(unit), unit

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {"space": repr(self.space)}


def _random(d: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((n, d))


def _qmc(engine: str) -> Callable[[int, int, np.random.Generator], np.ndarray]:
    def draw(d: int, n: int, rng: np.random.Generator) -> np.ndarray:
        from scipy.stats import qmc  # noqa: PLC0415 - scipy.stats is slow to import

        sampler = {"lhs": qmc.LatinHypercube, "sobol": qmc.Sobol, "halton": qmc.Halton}[engine]
        kwargs = {} if engine == "lhs" else {"scramble": True}
        return np.asarray(sampler(d, rng=rng, **kwargs).random(n))

    return draw


#: The unit-cube samplers of :func:`sample`, by method name.
SAMPLERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "random": _random,
    "lhs": _qmc("lhs"),
    "sobol": _qmc("sobol"),
    "halton": _qmc("halton"),
}
#: Every method :func:`sample` accepts.
METHODS = (*SAMPLERS, "grid")


class Sample(UnitCubeDesign):
    """``n`` points from a unit-cube sampler: Monte Carlo, Latin hypercube, Sobol or Halton.

    Sobol and Halton points are scrambled. Sobol points keep their balance properties only
    when ``n`` is a power of 2 (scipy warns otherwise).

    Args:
        space: The parameter space.
        n: The number of points.
        method: ``"random"``, ``"lhs"``, ``"sobol"`` or ``"halton"``.
    """

    name: ClassVar[str] = "sample"

    def __init__(self, space: Mapping[str, Any], n: int, method: str = "lhs"):
        super().__init__(space)
        self.n = check_count("n", n)
        self.method = method
        self._draw = SAMPLERS[method]

    def unit_points(self, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        return self._draw(self.dimensions, self.n, rng)

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {**super().options(), "method": self.method, "n": self.n}


class GridSubset(Design):
    """A random subset of ``n`` distinct points of the full-factorial grid.

    Grid points are numbered like ``itertools.product`` (the last name varies fastest); ``n``
    distinct numbers are drawn and decoded, so a grid of 10**30 points costs no more than a
    grid of 100. Points are returned in grid order.

    Args:
        space: The parameter space; every parameter needs finite levels.
        n: The number of points, at most the grid's size.
    """

    name: ClassVar[str] = "sample"
    where: ClassVar[str] = "space"

    def __init__(self, space: Mapping[str, Any], n: int):
        self.space = ParameterSpace(space, what="space")
        self._levels = level_sequences(self.space, what="space")
        self.n = check_count("n", n)
        self.size = math.prod(len(levels) for levels in self._levels)
        if self.n > self.size:
            raise DesignError(
                problem(
                    "n",
                    f"must be at most the grid's size ({self.size} points)",
                    n,
                    "Ask for fewer points, or use full_factorial(...) for the whole grid.",
                )
            )

    def names(self) -> Iterable[str]:  # noqa: D102
        return self.space.keys()

    def points(self, rng: np.random.Generator) -> list[dict[str, Any]]:  # noqa: D102
        indices = sorted(self._distinct_indices(random.Random(int(rng.integers(2**63)))))
        names = list(self.space)
        return [dict(zip(names, self._decode(index), strict=True)) for index in indices]

    def _distinct_indices(self, local: random.Random) -> set[int] | list[int]:
        """``n`` distinct grid indices; a local stdlib Random handles ints of any size."""
        if self.size < sys.maxsize:
            return local.sample(range(self.size), self.n)
        # range() of more than sys.maxsize items has no len(); with so many points, n is a
        # vanishing fraction of the grid and rejection of repeats is cheap.
        chosen: set[int] = set()
        while len(chosen) < self.n:
            chosen.add(local.randrange(self.size))
        return chosen

    def _decode(self, index: int) -> list[Any]:
        values = []
        for levels in reversed(self._levels):
            index, digit = divmod(index, len(levels))
            values.append(levels[digit])
        return values[::-1]

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {"space": repr(self.space), "method": "grid", "n": self.n, "grid_size": self.size}


def sample(
    model_cls: type,
    space: Mapping[str, Any],
    n: int,
    method: str = "lhs",
    **settings: Unpack[RunSettings],
) -> list[RunConfiguration]:
    """``n`` design points sampled from a parameter space.

    Args:
        model_cls: The Mesa model class.
        space: Names mapped to parameter types (``Real``, ``Integer``, ``Categorical``,
            ``Boolean``, ``Distribution`` or a scipy frozen distribution); plain values are
            constants, lists are swept as ``Values``.
        n: The number of design points.
        method: ``"lhs"`` (Latin hypercube, default), ``"random"`` (Monte Carlo),
            ``"sobol"`` (scrambled Sobol), ``"halton"`` (scrambled Halton), or ``"grid"`` (a
            random subset of the full-factorial grid, without building the grid).
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`). The points
            are drawn from the master seed too, so a fixed seed gives the same design.

    Returns:
        One configuration per point and iteration, iteration outer.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import Integer
        >>> configs = sample(BoltzmannWealth, {"n": Integer(10, 100), "width": 10}, 8, seed=1)
        >>> len(configs), all(10 <= c.parameters["n"] <= 100 for c in configs)
        (8, True)
    """
    if method not in METHODS:
        raise DesignError(
            problem(
                "method",
                f"must be one of {', '.join(map(repr, METHODS))}",
                method,
            )
        )
    design: Design = GridSubset(space, n) if method == "grid" else Sample(space, n, method)
    return generate(design, model_cls, **settings)
