"""Sensitivity-analysis designs from SALib: Saltelli (Sobol indices), Morris and FAST.

SALib draws in the unit cube (every bound ``[0, 1]``) and the points are mapped through the
parameter space, so ``Integer``, ``Categorical`` and ``Distribution`` parameters work like in
every sampled design. Each configuration's :class:`~mesa_batch.config.DesignInfo` records the
design's name, options and the SALib ``problem`` the points were drawn for; points keep the
design's order in ``RunConfiguration.point``, which the SALib analysers need.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Unpack

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import RunSettings, check_count, generate
from mesa_batch.designs.sampling import UnitCubeDesign
from mesa_batch.errors import DesignError, problem

__all__ = ["Fast", "Morris", "Saltelli", "fast", "morris", "saltelli"]


class _SALibDesign(UnitCubeDesign):
    def problem(self) -> dict[str, Any]:
        """The SALib problem the points are drawn for: the varying names, unit bounds."""
        names = list(self.space.varying)
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    def options(self) -> dict[str, Any]:
        """The design's options, with the SALib problem the points were drawn for."""
        return {**super().options(), "problem": self.problem()}


class Saltelli(_SALibDesign):
    """Saltelli's extension of the Sobol sequence, for first-, total- and second-order indices.

    It has ``n * (2 * d + 2)`` points with second-order indices, ``n * (d + 2)`` without, for
    ``d`` varying parameters. ``n`` should be a power of 2 (SALib warns otherwise).

    Args:
        space: The parameter space.
        n: The base sample size.
        calc_second_order: Whether the design supports second-order indices.
    """

    name: ClassVar[str] = "saltelli"

    def __init__(self, space: Mapping[str, Any], n: int, *, calc_second_order: bool = True):
        super().__init__(space)
        self.n = check_count("n", n)
        self.calc_second_order = bool(calc_second_order)

    def unit_points(self, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        from SALib.sample import sobol  # noqa: PLC0415 - SALib is slow to import

        return np.asarray(
            sobol.sample(self.problem(), self.n, calc_second_order=self.calc_second_order, seed=rng)
        )

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {**super().options(), "n": self.n, "calc_second_order": self.calc_second_order}


class Morris(_SALibDesign):
    """Morris elementary-effects trajectories: ``trajectories * (d + 1)`` points.

    Args:
        space: The parameter space.
        trajectories: The number of trajectories (SALib's ``N``).
        num_levels: The number of grid levels per parameter (even, at least 2).
        optimal_trajectories: Keep only this many trajectories, chosen for spread from
            ``trajectories`` candidates (None keeps them all).
        local_optimization: Use SALib's fast local optimisation to choose them.
    """

    name: ClassVar[str] = "morris"

    def __init__(
        self,
        space: Mapping[str, Any],
        trajectories: int,
        *,
        num_levels: int = 4,
        optimal_trajectories: int | None = None,
        local_optimization: bool = True,
    ):
        super().__init__(space)
        self.trajectories = check_count("trajectories", trajectories)
        self.num_levels = check_count("num_levels", num_levels, minimum=2)
        if self.num_levels % 2:
            raise DesignError(
                problem("num_levels", "must be even (Morris grids need it)", num_levels)
            )
        self.optimal_trajectories = optimal_trajectories
        if optimal_trajectories is not None:
            check_count("optimal_trajectories", optimal_trajectories, minimum=2)
            if optimal_trajectories >= self.trajectories:
                raise DesignError(
                    problem(
                        "optimal_trajectories",
                        "must be less than trajectories (it picks a subset of them)",
                        optimal_trajectories,
                    )
                )
        self.local_optimization = bool(local_optimization)

    def unit_points(self, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        from SALib.sample import morris as salib_morris  # noqa: PLC0415

        return np.asarray(
            salib_morris.sample(
                self.problem(),
                self.trajectories,
                num_levels=self.num_levels,
                optimal_trajectories=self.optimal_trajectories,
                local_optimization=self.local_optimization,
                seed=rng,
            )
        )

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {
            **super().options(),
            "trajectories": self.trajectories,
            "num_levels": self.num_levels,
            "optimal_trajectories": self.optimal_trajectories,
            "local_optimization": self.local_optimization,
        }


class Fast(_SALibDesign):
    """The extended Fourier amplitude sensitivity test's search curves: ``n * d`` points.

    One curve of ``n`` points per varying parameter, in SALib's order (the curve of the first
    parameter first), each with a random phase shift drawn from the design's generator.

    Args:
        space: The parameter space.
        n: The points per curve (SALib's ``N``); it must exceed ``4 * M**2``.
        M: The interference factor: the harmonics summed in the Fourier decomposition.
    """

    name: ClassVar[str] = "fast"

    def __init__(self, space: Mapping[str, Any], n: int, *, M: int = 4):  # noqa: N803 - SALib's name
        super().__init__(space)
        self.M = check_count("M", M)
        self.n = check_count("n", n)
        if self.n <= 4 * self.M**2:
            raise DesignError(
                problem(
                    "n",
                    f"must be greater than 4 * M**2 = {4 * self.M**2} (M = {self.M}), the fewest "
                    "points per curve that separate M harmonics",
                    n,
                    f"Pass n={4 * self.M**2 + 1} or more (a few hundred gives stable indices), "
                    "or a smaller M.",
                )
            )

    def count(self) -> int:  # noqa: D102
        return self.n * self.dimensions

    def unit_points(self, rng: np.random.Generator) -> np.ndarray:  # noqa: D102
        from SALib.sample import fast_sampler  # noqa: PLC0415

        return np.asarray(fast_sampler.sample(self.problem(), self.n, M=self.M, seed=rng))

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {**super().options(), "n": self.n, "M": self.M}


def saltelli(
    model_cls: type,
    space: Mapping[str, Any],
    n: int,
    *,
    calc_second_order: bool = True,
    **settings: Unpack[RunSettings],
) -> list[RunConfiguration]:
    """Saltelli's design for Sobol sensitivity indices (via SALib).

    Args:
        model_cls: The Mesa model class.
        space: Names mapped to parameter types; plain values are constants.
        n: The base sample size (a power of 2); the design has ``n * (2d + 2)`` points, or
            ``n * (d + 2)`` without second-order indices, for ``d`` varying parameters.
        calc_second_order: Whether the design supports second-order indices.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per point and iteration, in the design's order within an iteration.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import Integer
        >>> space = {"n": Integer(10, 100), "width": Integer(5, 20)}
        >>> len(saltelli(BoltzmannWealth, space, 8, seed=1))  # 8 * (2 * 2 + 2)
        48
    """
    design = Saltelli(space, n, calc_second_order=calc_second_order)
    return generate(design, model_cls, **settings)


def morris(
    model_cls: type,
    space: Mapping[str, Any],
    trajectories: int,
    *,
    num_levels: int = 4,
    optimal_trajectories: int | None = None,
    local_optimization: bool = True,
    **settings: Unpack[RunSettings],
) -> list[RunConfiguration]:
    """Morris elementary-effects screening design (via SALib).

    Args:
        model_cls: The Mesa model class.
        space: Names mapped to parameter types; plain values are constants.
        trajectories: The number of trajectories; the design has ``trajectories * (d + 1)``
            points for ``d`` varying parameters (``optimal_trajectories * (d + 1)`` when given).
        num_levels: Grid levels per parameter (even).
        optimal_trajectories: Keep only this many well-spread trajectories.
        local_optimization: Use SALib's local optimisation to choose them.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per point and iteration, in the design's order within an iteration.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import Integer
        >>> space = {"n": Integer(10, 100), "width": Integer(5, 20)}
        >>> len(morris(BoltzmannWealth, space, 4, seed=1))  # 4 * (2 + 1)
        12
    """
    design = Morris(
        space,
        trajectories,
        num_levels=num_levels,
        optimal_trajectories=optimal_trajectories,
        local_optimization=local_optimization,
    )
    return generate(design, model_cls, **settings)


def fast(
    model_cls: type,
    space: Mapping[str, Any],
    n: int,
    *,
    M: int = 4,  # noqa: N803 - SALib's name
    **settings: Unpack[RunSettings],
) -> list[RunConfiguration]:
    """The extended FAST design, for first-order and total indices (via SALib).

    Analyse its results with ``mesa_batch.analysis.sensitivity(..., method="fast")``.

    Args:
        model_cls: The Mesa model class.
        space: Names mapped to parameter types; plain values are constants.
        n: The points per search curve (SALib's ``N``, greater than ``4 * M**2``); the
            design has ``n * d`` points for ``d`` varying parameters.
        M: The interference factor (SALib's ``M``, default 4).
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per point and iteration, in the design's order within an iteration.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import Integer
        >>> space = {"n": Integer(10, 100), "width": Integer(5, 20)}
        >>> len(fast(BoltzmannWealth, space, 65, seed=1))  # 65 * 2
        130
    """
    return generate(Fast(space, n, M=M), model_cls, **settings)
