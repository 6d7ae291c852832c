"""Composing designs: concatenation, and crossing a design with replications."""

from __future__ import annotations

from collections.abc import Iterable

from mesa_batch.config import RunConfiguration, check_iterations, renumber
from mesa_batch.designs._core import crossed
from mesa_batch.errors import ConfigurationError, problem
from mesa_batch.keys import master_seed, run_seed

__all__ = ["concat", "design_points", "replicate"]


def _configurations(designs: Iterable[object], what: str) -> list[RunConfiguration]:
    configs = []
    for i, design in enumerate(designs):
        items = [design] if isinstance(design, RunConfiguration) else design
        if not isinstance(items, Iterable):
            raise ConfigurationError(
                problem(f"{what}[{i}]", "must be a list of RunConfiguration", design)
            )
        for config in items:
            if not isinstance(config, RunConfiguration):
                raise ConfigurationError(
                    problem(
                        f"{what}[{i}]",
                        "must hold only RunConfiguration objects",
                        config,
                        "Build configurations with a design such as full_factorial(...).",
                    )
                )
            configs.append(config)
    return configs


def concat(*designs: Iterable[RunConfiguration]) -> list[RunConfiguration]:
    """Concatenate designs into one list of configurations.

    A run that appears in several designs (same key, e.g. the reference point of a base case
    that is also in a factorial design) is kept once, where it first appears. Run ids are
    renumbered ``0 .. len - 1``; everything else is kept, seeds included.

    Args:
        *designs: Lists of configurations (or single configurations).

    Returns:
        The combined configurations.

    Raises:
        ConfigurationError: The same run appears with different seeds (designs built with
            different master seeds): the result would depend on which copy is kept.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import base_case, full_factorial
        >>> grid = full_factorial(BoltzmannWealth, {"n": [10, 50]}, seed=1)
        >>> oat = base_case(BoltzmannWealth, {"n": 50}, {"n": [50, 100]}, seed=1)
        >>> [c.parameters["n"] for c in concat(grid, oat)]  # n=50 is in both
        [10, 50, 100]
    """
    kept: dict[str, RunConfiguration] = {}
    for config in _configurations(designs, "designs"):
        earlier = kept.get(config.key)
        if earlier is None:
            kept[config.key] = config
        elif earlier.seed != config.seed:
            raise ConfigurationError(
                problem(
                    f"the run {config.parameters!r}, iteration {config.iteration}",
                    "must have one seed, but it appears in two designs with different seeds",
                    (earlier.seed, config.seed),
                    "Build the designs with the same master seed=.",
                )
            )
    return renumber(list(kept.values()), range(len(kept)))


def replicate(
    configurations: Iterable[RunConfiguration], iterations: int, *, seed: object = None
) -> list[RunConfiguration]:
    """Cross a design with ``iterations`` replications of each of its design points.

    Each distinct design point (iterations already present are folded together) is repeated
    for iterations ``0 .. iterations - 1``, iteration outer. Seeds are derived exactly as the
    design would derive them, so ``replicate(design(..., seed=s), 3)`` equals
    ``design(..., iterations=3, seed=s)``.

    Args:
        configurations: The configurations to replicate.
        iterations: Replications of each design point.
        seed: A master seed for configurations not made by a design (ignored for the others,
            which keep their design's master seed).

    Returns:
        The replicated configurations, run ids ``0 .. len - 1``.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import full_factorial
        >>> once = full_factorial(BoltzmannWealth, {"n": [10, 50]}, seed=1)
        >>> replicate(once, 3) == full_factorial(BoltzmannWealth, {"n": [10, 50]}, iterations=3, seed=1)
        True
    """
    check_iterations(iterations)
    points = design_points(configurations)
    fallback = master_seed(seed)

    def make(config: RunConfiguration, iteration: int, run_id: int) -> RunConfiguration:
        if config.design is not None:
            return config.with_iteration(iteration, run_id=run_id)
        derived = run_seed(fallback, config.point_key, iteration)
        return config.replica(iteration, seed=derived, run_id=run_id)

    return crossed(points, [range(iterations)] * len(points), make)


def design_points(
    configurations: Iterable[RunConfiguration], what: str = "configurations"
) -> list[RunConfiguration]:
    """The distinct design points of some configurations: the first run of each point key.

    Args:
        configurations: Configurations of any design (or several).
        what: The argument's name, for the message when it is not a list of configurations.

    Returns:
        One configuration per design point, in the order the points first appear.
    """
    points: dict[str, RunConfiguration] = {}
    for config in _configurations([configurations], what):
        points.setdefault(config.point_key, config)
    return list(points.values())
