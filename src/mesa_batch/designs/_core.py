"""The shared core of every design: validate, pick points, key, seed, number.

A design only says how it picks its points (:meth:`Design.points`). :func:`generate` does the
rest, the same way for every design:

1. check the model class, the run settings and the parameter names (before any point is drawn);
2. draw the points with a generator derived from the master seed;
3. number identical points (``occurrence``), so that coinciding sampled points stay distinct;
4. cross the points with ``iterations`` (iteration outer, point inner, like Mesa's
   ``batch_run``), derive every run's seed and number the runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, TypedDict, TypeVar, Unpack

import numpy as np

from mesa_batch.config import (
    DEFAULT_MAX_STEPS,
    DesignInfo,
    Reporter,
    RunConfiguration,
    check_data_collection_period,
    check_iterations,
    check_max_steps,
    check_reporters,
    point_digests,
    runs_of,
    settings_of,
)
from mesa_batch.errors import ConfigurationError, DesignError, check_int, problem
from mesa_batch.keys import MasterSeed, master_seed, run_seed, seed_arrays
from mesa_batch.models import check_model_class, inspect_model

__all__ = ["Design", "Grid", "RunSettings", "crossed", "generate"]

#: A design point, as :func:`crossed` takes it (a configuration, or a driver's own record).
Point = TypeVar("Point")


class RunSettings(TypedDict, total=False):
    """The keyword-only settings every design takes (all optional).

    Attributes:
        iterations: Replications of each design point (default 1).
        max_steps: The most steps a run takes (default 1000, as Mesa's ``batch_run``).
        data_collection_period: ``-1`` (default) collects the final state only; ``N`` every Nth
            step and the final state; ``1`` every step.
        seed: The master seed: a non-negative int, a ``numpy.random.SeedSequence``, or None
            (default: fresh entropy, drawn once and recorded in every configuration).
        common_random_numbers: Give every design point the same seed within an iteration, as
            Mesa's ``batch_run`` does (default False: every run its own seed).
        scenario_cls: The model's ``Scenario`` subclass, for Scenario models whose Scenario
            cannot be found from the ``scenario`` annotation or the model's module.
        model_reporters: Model-level values to collect, ``{name: attribute or function(model)}``
            (instead of the model's own DataCollector or DataRecorder).
        agent_reporters: Agent-level values to collect, ``{name: attribute or function(agent)}``.
    """

    iterations: int
    max_steps: int
    data_collection_period: int
    seed: object
    common_random_numbers: bool
    scenario_cls: type | None
    model_reporters: Mapping[str, Reporter] | None
    agent_reporters: Mapping[str, Reporter] | None


class Design(ABC):
    """How a design picks its points; everything else is shared (see :func:`generate`).

    Subclasses set :attr:`name` and implement :meth:`points`, :meth:`names` and
    :meth:`options`.
    """

    #: The design's name, recorded in every configuration's :class:`DesignInfo`.
    name: ClassVar[str]
    #: How the design's parameter argument is named in error messages.
    where: ClassVar[str] = "parameters"

    @abstractmethod
    def names(self) -> Iterable[str]:
        """The parameter names the points will use (checked before points are drawn)."""

    @abstractmethod
    def points(self, rng: np.random.Generator) -> Sequence[dict[str, Any]]:
        """Pick the design points.

        Args:
            rng: The generator to draw with (derived from the master seed; deterministic).

        Returns:
            The points, each a complete mapping of parameter names to values: a list, or a
            :class:`Grid` (whose points are made when asked for).
        """

    def options(self) -> dict[str, Any]:
        """The design's options, recorded in :class:`DesignInfo`."""
        return {}

    def count(self) -> int | None:
        """How many points the design makes, computed without making them (None: unknown).

        Known for the designs of this package from their options: grids from their level
        counts, sampled and SALib designs from ``n``, ``trajectories`` and the dimensions.
        """
        levels = getattr(self, "_levels", None)
        if self.name == "full_factorial" and levels is not None:
            return math.prod(len(level) for level in levels)
        if self.name == "base_case" and levels is not None:
            return 1 + sum(len(level) for level in levels)
        d = getattr(self, "dimensions", None)
        n = getattr(self, "n", None)
        if self.name == "saltelli" and isinstance(n, int) and isinstance(d, int):
            return n * (2 * d + 2 if getattr(self, "calc_second_order", True) else d + 2)
        if self.name == "morris" and isinstance(d, int):
            kept = getattr(self, "optimal_trajectories", None) or self.trajectories  # type: ignore[attr-defined]
            return int(kept) * (d + 1)
        if self.name == "sample" and isinstance(n, int):
            return n
        return None

    def draw(self, rng: np.random.Generator) -> tuple[Sequence[dict[str, Any]], np.ndarray | None]:
        """Pick the points, with the unit-cube sample they came from (None if there is none)."""
        return self.points(rng), None


def generate(
    design: Design, model_cls: type, **settings: Unpack[RunSettings]
) -> list[RunConfiguration]:
    """Turn a design into run configurations (see the module docstring for the steps).

    Args:
        design: The design.
        model_cls: The Mesa model class.
        **settings: The run settings (see :class:`RunSettings`).

    Returns:
        The configurations, run ids ``0 .. len - 1``.

    Raises:
        MesaBatchError: Any invalid input, before anything is generated.
    """
    unknown = set(settings) - set(RunSettings.__annotations__)
    if unknown:
        raise DesignError(
            problem(
                f"{design.name}()",
                "got unexpected keyword arguments",
                sorted(unknown),
                f"Run settings are: {', '.join(RunSettings.__annotations__)}.",
            )
        )
    iterations = check_iterations(settings.get("iterations", 1))
    max_steps = check_max_steps(settings.get("max_steps", DEFAULT_MAX_STEPS))
    data_collection_period = check_data_collection_period(
        settings.get("data_collection_period", -1)
    )
    common_random_numbers = bool(settings.get("common_random_numbers", False))
    scenario_cls = settings.get("scenario_cls")
    model_reporters = check_reporters("model_reporters", settings.get("model_reporters"))
    agent_reporters = check_reporters("agent_reporters", settings.get("agent_reporters"))
    check_model_class(model_cls)
    signature = inspect_model(model_cls, scenario_cls)
    master = master_seed(settings.get("seed"))
    signature.check_names(design.names(), where=design.where)
    check_run_count(design.name, design.count(), iterations)
    points, samples = design.draw(master.sampling_rng())
    check_run_count(design.name, len(points), iterations)
    if not points:
        raise DesignError(problem(f"the {design.name} design", "produced no points", points))

    def rebuild(seed: MasterSeed) -> list[RunConfiguration]:
        """The design's first iteration again, from another master seed."""
        again: Any = {**settings, "seed": seed, "iterations": 1}
        return generate(design, model_cls, **again)

    info = DesignInfo(
        name=design.name,
        options=design.options(),
        seed=master,
        common_random_numbers=bool(common_random_numbers),
        n_points=len(points),
        space=getattr(design, "space", None),
        samples=samples,
        rebuild=rebuild,
    )
    return cross(
        model_cls,
        points,
        iterations,
        _common_seeds(master) if common_random_numbers else lambda keys: seed_arrays(master, keys),
        max_steps=max_steps,
        data_collection_period=data_collection_period,
        design=info,
        scenario_cls=scenario_cls,
        model_reporters=model_reporters,
        agent_reporters=agent_reporters,
    )


def _common_seeds(master: MasterSeed) -> Callable[[bytes], Callable[[int], np.ndarray]]:
    """Common random numbers: every point of an iteration gets that iteration's one seed."""

    def seeds_of(keys: bytes) -> Callable[[int], np.ndarray]:
        return lambda iteration: np.full(
            len(keys) // 16,
            run_seed(master, "", iteration, common_random_numbers=True),
            dtype=np.uint64,
        )

    return seeds_of


class Grid(Sequence[dict[str, Any]]):
    """Every combination of some levels, the first varying slowest: a grid design's points.

    Point ``j`` is made (a new dict) when it is asked for, so a grid of a million points holds
    only its levels; its runs' ``parameters`` are made from it the same way.

    Args:
        names: The parameter names.
        levels: The levels of each parameter, in the order of ``names``.
    """

    def __init__(self, names: Sequence[str], levels: Sequence[Sequence[Any]]) -> None:
        self.names = tuple(names)
        self.levels = tuple(tuple(level) for level in levels)
        self._size = math.prod(len(level) for level in self.levels)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, j: Any) -> Any:
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(self._size))]
        if not -self._size <= j < self._size:
            raise IndexError(j)
        j %= self._size
        values = []
        for level in reversed(self.levels):
            j, i = divmod(j, len(level))
            values.append(level[i])
        return dict(zip(self.names, reversed(values), strict=True))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = self.names
        for combo in itertools.product(*self.levels):
            yield dict(zip(names, combo, strict=True))


#: The most runs a design may make unless raised (``MESA_BATCH_MAX_RUNS``, ``run_limit``,
#: ``max_runs`` in an experiment file): 10,000,000 runs take ~10 GB of configurations.
MAX_RUNS: Final = 10_000_000
_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar("max_runs", default=None)


def max_runs() -> int:
    """The run limit in force: :func:`run_limit`'s, else ``$MESA_BATCH_MAX_RUNS``, else 10**7."""
    found = _limit.get()
    if found is not None:
        return found
    text = os.environ.get("MESA_BATCH_MAX_RUNS", "")
    return int(text) if text.isdigit() and int(text) > 0 else MAX_RUNS


@contextlib.contextmanager
def run_limit(limit: int | None) -> Iterator[None]:
    """Designs built inside may make up to ``limit`` runs (None: the default limit)."""
    token = _limit.set(None if limit is None else check_int("max_runs", limit, minimum=1))
    try:
        yield
    finally:
        _limit.reset(token)


def check_run_count(name: str, points: int | None, iterations: int) -> None:
    """Refuse a design of more runs than the limit, before its points or runs are built.

    Raises:
        DesignError: ``points * iterations`` exceeds :func:`max_runs`.
    """
    limit = max_runs()
    if points is None or points * iterations <= limit:
        return
    raise DesignError(
        problem(
            f"the {name} design",
            f"must make at most {limit:,} runs (the limit that keeps a mistyped size from "
            "filling the memory)",
            f"{points:,} points x {iterations:,} iterations = {points * iterations:,} runs",
            "Make the design smaller, or raise the limit: max_runs = N in [experiment] "
            "(mesa-batch validate --max-runs N), MESA_BATCH_MAX_RUNS=N in the environment, or "
            "`with mesa_batch.designs.run_limit(N):` in Python.",
        )
    )


def cross(
    model_cls: type,
    points: Sequence[Mapping[str, Any]],
    iterations: int,
    seeds_of: Callable[[bytes], Callable[[int], np.ndarray]],
    **settings: Any,
) -> list[RunConfiguration]:
    """Cross design points with iterations (iteration outer, like Mesa's ``batch_run``).

    The model class and the run settings are checked once, each parameter name once (the
    first point that uses it), and each point's values once, as its key is made; the runs of
    a point share its parameters dict and key.

    Args:
        model_cls: The model class.
        points: The design points, in order (identical points get occurrences 0, 1, ...);
            a point that is a ``dict`` becomes its runs' ``parameters`` as it is (designs make
            a fresh one per point); a :class:`Grid` is kept as it is (its names are checked
            once).
        iterations: How many iterations.
        seeds_of: Given the point keys (16 bytes each), a function of an iteration that
            returns the seeds of that iteration's runs, one per point (a uint64 array).
        **settings: Other ``RunConfiguration`` fields, the same for every run.

    Returns:
        The configurations, run ids ``0 .. len - 1``.
    """
    shared = settings_of(model_cls, **settings)
    signature = inspect_model(model_cls, shared.scenario_cls)
    if isinstance(points, Grid):
        signature.check_names(points.names)
        keys, occurrences = point_digests(model_cls, points)
        return runs_of(
            shared, points, keys, occurrences, iterations=iterations, seeds=seeds_of(keys)
        )
    seen: set[str] = set()
    checked = []
    for point in points:
        if not isinstance(point, Mapping):
            raise ConfigurationError(
                problem("parameters", "must be a mapping of names to values", point)
            )
        # the designs make a fresh dict per point: it becomes the runs' (read-only) parameters
        parameters = point if type(point) is dict else dict(point)
        if not seen.issuperset(parameters):
            signature.check_names(parameters)
            seen.update(parameters)
        checked.append(parameters)
    keys, occurrences = point_digests(model_cls, checked)
    return runs_of(shared, checked, keys, occurrences, iterations=iterations, seeds=seeds_of(keys))


def crossed(
    points: Sequence[Point],
    spans: Sequence[range],
    make: Callable[[Point, int, int], RunConfiguration],
    *,
    start: int = 0,
) -> list[RunConfiguration]:
    """Design points crossed with their iterations, iteration outer (like Mesa's ``batch_run``).

    The one loop that adds iterations to existing runs' points: ``replicate`` (a design's
    points, more iterations) and ``replicate_until`` (a round's new iterations per point).
    :func:`cross` builds a design's own runs all at once (``runs_of``), in the same order.

    Args:
        points: The design points, in order.
        spans: The iterations of each point (``range`` objects with step 1).
        make: Builds a run from its point, iteration and run id.
        start: The first run id; the runs are numbered on from it in order.

    Returns:
        The runs: for each iteration, the points that have it, in order.
    """
    runs: list[RunConfiguration] = []
    if not points:
        return runs
    low, high = min(s.start for s in spans), max(s.stop for s in spans)
    for iteration in range(low, high):
        for point, span in zip(points, spans, strict=True):
            if iteration in span:
                runs.append(make(point, iteration, start + len(runs)))
    return runs


def check_count(what: str, value: object, minimum: int = 1) -> int:
    """Check a count argument (``n``, ``trajectories``, ``level``...)."""
    return check_int(what, value, minimum=minimum, error=DesignError)


def literal_points(points: Iterable[object], *, where: str) -> list[dict[str, Any]]:
    """Check that every point is a mapping with string keys; copy them to dicts."""
    result = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise DesignError(
                problem(
                    f"{where}[{i}]",
                    "must be a mapping of parameter names to values",
                    point,
                    "Pass each point as a dict, e.g. {'n': 10, 'width': 5}.",
                )
            )
        result.append(dict(point))
    return result
