"""Grid designs: the full factorial, and one-at-a-time variations from a base case."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Unpack

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.designs._core import Design, Grid, RunSettings, generate
from mesa_batch.errors import DesignError, problem
from mesa_batch.space import ParameterSpace, level_sequences

__all__ = ["BaseCase", "FullFactorial", "base_case", "full_factorial"]


class FullFactorial(Design):
    """Every combination of the swept values (the first name varies slowest).

    Args:
        parameters: Names mapped to values; plain values follow the rules of
            :func:`mesa_batch.space.to_parameter`.
    """

    name: ClassVar[str] = "full_factorial"

    def __init__(self, parameters: Mapping[str, Any]):
        self.space = ParameterSpace(parameters)
        self._levels = level_sequences(self.space, what="parameters")

    def names(self) -> Iterable[str]:  # noqa: D102
        return self.space.keys()

    def points(self, rng: np.random.Generator) -> Grid:  # noqa: D102
        return Grid(list(self.space), self._levels)

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {"space": repr(self.space)}


class BaseCase(Design):
    """A reference scenario, then each varied parameter changed alone.

    The reference point comes first and appears once; a variation equal to the reference value
    is not repeated.

    Args:
        base: The reference scenario: names mapped to values, taken literally (a list is a list).
        variations: The values each varied parameter takes in turn; plain values follow the
            rules of :func:`mesa_batch.space.to_parameter`.
    """

    name: ClassVar[str] = "base_case"
    where: ClassVar[str] = "base"

    def __init__(self, base: Mapping[str, Any], variations: Mapping[str, Any]):
        if not isinstance(base, Mapping):
            raise DesignError(
                problem("base", "must be a mapping of parameter names to values", base)
            )
        self.base = dict(base)
        self.variations = ParameterSpace(variations, what="variations")
        if not self.variations:
            raise DesignError(problem("variations", "must vary at least one parameter", variations))
        for name in self.variations:
            if name not in self.base:
                raise DesignError(
                    problem(
                        f"variations[{name!r}]",
                        "must have a reference value in base",
                        name,
                        f"Add {name!r} to base with its reference value.",
                    )
                )
        self._levels = level_sequences(self.variations, what="variations")

    @property
    def space(self) -> ParameterSpace:
        """The varied parameters and their values."""
        return self.variations

    def names(self) -> Iterable[str]:  # noqa: D102
        return self.base.keys()

    def points(self, rng: np.random.Generator) -> list[dict[str, Any]]:  # noqa: D102
        points = [dict(self.base)]
        for name, levels in zip(self.variations, self._levels, strict=True):
            points.extend(
                {**self.base, name: value} for value in levels if not _equal(value, self.base[name])
            )
        return points

    def options(self) -> dict[str, Any]:  # noqa: D102
        return {"base": dict(self.base), "variations": repr(self.variations)}


def _equal(a: object, b: object) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def full_factorial(
    model_cls: type, parameters: Mapping[str, Any], **settings: Unpack[RunSettings]
) -> list[RunConfiguration]:
    """Every combination of the swept parameter values, as in Mesa's ``batch_run``.

    Lists, tuples, ranges and arrays are swept; strings, dicts and other scalars are constants;
    ``Values([...])`` sweeps anything; ``Integer``, ``Boolean``, ``Categorical`` and
    ``Real(..., num=k)`` sweep their levels.

    Args:
        model_cls: The Mesa model class.
        parameters: Names mapped to values or parameter types.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        One configuration per combination and iteration, iteration outer.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> configs = full_factorial(
        ...     BoltzmannWealth, {"n": [10, 50], "width": 10}, iterations=3, max_steps=100, seed=42
        ... )
        >>> len(configs)
        6
    """
    return generate(FullFactorial(parameters), model_cls, **settings)


def base_case(
    model_cls: type,
    base: Mapping[str, Any],
    variations: Mapping[str, Any],
    **settings: Unpack[RunSettings],
) -> list[RunConfiguration]:
    """A reference scenario plus one-at-a-time variations of each parameter.

    Args:
        model_cls: The Mesa model class.
        base: The reference scenario (values taken literally).
        variations: For each varied parameter, the values it takes in turn.
        **settings: ``iterations``, ``max_steps``, ``data_collection_period``, ``seed``,
            ``common_random_numbers``, ``scenario_cls`` (see :class:`RunSettings`).

    Returns:
        The reference point first, then every variation, per iteration.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> configs = base_case(
        ...     BoltzmannWealth, {"n": 50, "width": 10}, {"n": [10, 50, 100], "width": [5, 20]},
        ...     seed=1,
        ... )
        >>> len(configs)  # the reference, n=10, n=100, width=5, width=20
        5
    """
    return generate(BaseCase(base, variations), model_cls, **settings)
