"""Smolyak sparse grids over real and integer ranges (nodes from chaospy).

A sparse grid of level ``L`` resolves every axis as finely as a full grid of ``2**L + 1``
nested Clenshaw-Curtis nodes per axis, but combines axes sparsely: in 2-D, level 2 has 13
points against the full grid's 25; in 6-D, level 3 has 389 points against 531,441.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Unpack

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import RunSettings, check_count, generate
from mesa_batch.designs.sampling import UnitCubeDesign
from mesa_batch.errors import DesignError, problem
from mesa_batch.keys import canonical
from mesa_batch.space import Integer, Real

__all__ = ["SparseGrid", "sparse_grid"]


class SparseGrid(UnitCubeDesign):
    """A Smolyak sparse grid of nested Clenshaw-Curtis nodes.

    Integer ranges round the nodes to the nearest integer; points made identical by rounding
    are kept once.

    Args:
        space: The parameter space; every varying parameter is a ``Real`` or an ``Integer``.
        level: The grid level (0 is the centre point alone).
    """

    name: ClassVar[str] = "sparse_grid"

    def __init__(self, space: Mapping[str, Any], level: int):
        super().__init__(space)
        self.level = check_count("level", level, minimum=0)
        for name in self.space.varying:
            parameter = self.space[name]
            if not isinstance(parameter, Real | Integer):
                raise DesignError(
                    problem(
                        f"space[{name!r}]",
                        "must be a Real or an Integer range for a sparse grid",
                        parameter,
                        "Fix it with Constant(...), or cross the grid with it using "
                        "concat() of one sparse_grid per value.",
                    )
                )

    def unit_points(self, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        import chaospy  # noqa: PLC0415 - chaospy is slow to import

        joint = chaospy.J(*[chaospy.Uniform(0, 1) for _ in range(self.dimensions)])
        nodes, _weights = chaospy.generate_quadrature(
            self.level, joint, rule="clenshaw_curtis", sparse=True, growth=True
        )
        return np.clip(np.round(np.asarray(nodes, dtype=float).T, 12), 0.0, 1.0)

    def draw(self, rng: np.random.Generator) -> tuple[list[dict[str, Any]], np.ndarray | None]:
        """The grid's points and the unit-cube nodes of the points kept.

        Integers are rounded to the nearest node; duplicate points are dropped.
        """
        unit = self.unit_points(rng)
        columns = {}
        for j, name in enumerate(self.space.varying):
            parameter = self.space[name]
            if isinstance(parameter, Integer):
                span = parameter.high - parameter.low
                columns[name] = (parameter.low + np.rint(unit[:, j] * span)).astype(int).tolist()
            else:
                columns[name] = parameter.from_unit(unit[:, j])
        constants = self.space.constants
        points: dict[str, tuple[int, dict[str, Any]]] = {}
        for i in range(unit.shape[0]):
            point = {
                name: columns[name][i] if name in columns else constants[name]
                for name in self.space
            }
            points.setdefault(repr(canonical(point)), (i, point))
        kept = [i for i, _ in points.values()]
        return [point for _, point in points.values()], unit[kept]

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {**super().options(), "level": self.level, "rule": "clenshaw_curtis"}


def sparse_grid(
    model_cls: type, space: Mapping[str, Any], level: int, **settings: Unpack[RunSettings]
) -> list[RunConfiguration]:
    """A Smolyak sparse grid over real and integer ranges.

    Args:
        model_cls: The Mesa model class.
        space: Names mapped to ``Real`` or ``Integer`` ranges; plain values are constants.
        level: The grid level: each axis is resolved like a full grid of ``2**level + 1``
            points, with far fewer points in all.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per point and iteration, iteration outer.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import Integer
        >>> space = {"n": Integer(10, 100), "width": Integer(5, 20)}
        >>> len(sparse_grid(BoltzmannWealth, space, 2, seed=1))  # the full grid has 25
        13
    """
    return generate(SparseGrid(space, level), model_cls, **settings)
