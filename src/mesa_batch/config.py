"""``RunConfiguration``: everything one run needs, validated, keyed and seeded.

A run configuration is a frozen value: the model class, its parameters, the iteration, how
long to run and how often to collect data, and the seed. Its :attr:`~RunConfiguration.key`
identifies the run by content (model import path, parameters, occurrence, iteration and run
settings), never by ``run_id`` or by the order configurations were generated in: resume and
de-duplication rely on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mesa_batch.errors import ConfigurationError, ModelClassError, check_int, problem
from mesa_batch.keys import MasterSeed, check_seed_value, content_key, master_seed, run_seed
from mesa_batch.models import inspect_model, model_path

if TYPE_CHECKING:
    import numpy as np

    from mesa_batch.space import ParameterSpace

__all__ = ["DesignInfo", "RunConfiguration"]

#: A reporter: an attribute name, or a function of the model (or of an agent).
Reporter = str | Callable[[Any], Any]

#: Mesa's ``batch_run`` default, kept for familiarity.
DEFAULT_MAX_STEPS = 1000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DesignInfo:
    """Which design made a configuration, recorded so a later analysis can check it fits.

    Attributes:
        name: The design's name, e.g. ``"full_factorial"`` or ``"saltelli"``.
        options: The design's options, e.g. ``{"n": 64, "calc_second_order": True}``, and for
            sampled designs the parameter space (``"space"``, its ``repr``) and, for SALib
            designs, the SALib ``"problem"`` the points were drawn for.
        seed: The master seed the design's seeds and points were derived from.
        common_random_numbers: Whether every design point shares one seed per iteration.
        n_points: How many design points the design has (before iterations).
        space: The design's parameter space, when it has one (grid, sampled and SALib
            designs; the variations of a base case).
        samples: For designs that draw in the unit cube (sampled, Saltelli, Morris): the unit
            sample matrix, one row per point in the design's order and one column per varying
            parameter of ``space``.
        id: A content key of the design (name, options, master seed, points): the same design
            has the same id in every process; a store files the design under it.
    """

    name: str
    options: Mapping[str, Any]
    seed: MasterSeed
    common_random_numbers: bool
    n_points: int
    space: ParameterSpace | None = None
    samples: np.ndarray | None = None
    rebuild: Callable[[MasterSeed], list[RunConfiguration]] | None = dataclasses.field(
        default=None, repr=False
    )
    id: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        identity = {
            "design": self.name,
            "options": dict(self.options),
            "seed": [self.seed.entropy, list(self.seed.spawn_key)],
            "common_random_numbers": bool(self.common_random_numbers),
            "n_points": self.n_points,
        }
        object.__setattr__(self, "id", content_key(identity)[:16])

    @property
    def varying(self) -> tuple[str, ...]:
        """The names of the parameters the design varies (the columns of ``samples``)."""
        return () if self.space is None else self.space.varying

    @property
    def problem(self) -> dict[str, Any] | None:
        """The SALib problem of the design's unit cube (None for designs without samples)."""
        recorded = self.options.get("problem")
        if isinstance(recorded, Mapping):
            return dict(recorded)
        if self.samples is None:
            return None
        names = list(self.varying)
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DesignInfo):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __reduce__(self) -> tuple[Any, ...]:
        # workers need the design's identity, not its samples, space or rebuild function
        return (
            _design_info,
            (self.name, dict(self.options), self.seed, self.common_random_numbers, self.n_points),
        )


def _design_info(
    name: str,
    options: Mapping[str, Any],
    seed: MasterSeed,
    common_random_numbers: bool,
    n_points: int,
) -> DesignInfo:
    return DesignInfo(
        name=name,
        options=options,
        seed=seed,
        common_random_numbers=common_random_numbers,
        n_points=n_points,
    )


def check_max_steps(value: object) -> int:
    """Check ``max_steps``: a positive int."""
    return check_int(
        "max_steps",
        value,
        minimum=1,
        fix="Pass the number of steps a run may take at most, e.g. 100.",
    )


def check_data_collection_period(value: object) -> int:
    """Check ``data_collection_period``: -1 (final state only) or a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or (value != -1 and value < 1):
        raise ConfigurationError(
            problem(
                "data_collection_period",
                "must be -1 (collect the final state only) or a positive int N (every Nth step "
                "and the final state)",
                value,
                "Use 1 to collect every step.",
            )
        )
    return value


def check_iterations(value: object) -> int:
    """Check ``iterations``: a positive int."""
    return check_int(
        "iterations",
        value,
        minimum=1,
        fix="Pass how many replications of each design point to run.",
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunConfiguration:
    """Everything one run needs: model, parameters, iteration, run length, data, seed.

    Constructing one validates it: the model class must be a Mesa ``Model`` subclass that can
    receive a seed, the parameter names must be accepted by the model, and the settings must be
    in range. Designs (``full_factorial`` and the others) build configurations for you; build
    one by hand to run a single scenario.

    Attributes:
        model_cls: The Mesa ``Model`` subclass to run.
        parameters: The model's parameters for this run (keyword arguments, or fields of the
            model's ``Scenario``). Values may be anything, including unhashable dicts and lists.
        run_id: The run's number within its sweep (not part of the key).
        iteration: The replication index of this design point (part of the key and the seed).
        max_steps: The most steps a run takes (it stops earlier when ``model.running`` is False).
        data_collection_period: ``-1`` collects the final state only; ``N`` every Nth step and
            the final state; ``1`` every step.
        seed: The run's seed, an int in ``[0, 2**64)``; None draws one from the OS at
            construction, so that every configuration records the seed it runs with.
        occurrence: How many identical points precede this one in its design (0 for the first);
            it keeps coinciding sampled points distinct runs.
        point: The index of the design point in its design.
        design: Which design made this configuration, if any.
        scenario_cls: The model's ``Scenario`` subclass; found automatically (and then recorded
            here) when not given.
        model_reporters: Model-level values to collect, ``{name: attribute name or
            function(model)}``. With reporters, the run collects them itself and ignores the
            model's own DataCollector or DataRecorder, so a model without any still yields data.
        agent_reporters: Agent-level values to collect, ``{name: attribute name or
            function(agent)}``, for every agent in ``model.agents``.
        key: The run's content key (32 hex characters), computed at construction.
        point_key: The key of the design point alone (no iteration or run settings).

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> config = RunConfiguration(
        ...     model_cls=BoltzmannWealth, parameters={"n": 10}, max_steps=50, seed=1
        ... )
        >>> len(config.key)
        32
    """

    model_cls: type
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    run_id: int = 0
    iteration: int = 0
    max_steps: int = DEFAULT_MAX_STEPS
    data_collection_period: int = -1
    seed: int | None = None
    occurrence: int = 0
    point: int = 0
    design: DesignInfo | None = None
    scenario_cls: type | None = None
    model_reporters: Mapping[str, Reporter] | None = None
    agent_reporters: Mapping[str, Reporter] | None = None
    key: str = dataclasses.field(init=False, repr=False)
    point_key: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        signature = inspect_model(self.model_cls, self.scenario_cls)
        if signature.seed_argument is None:
            raise ModelClassError(
                problem(
                    "model_cls",
                    "must be able to receive a seed: its __init__ takes none of rng=, seed=, "
                    "scenario= or **kwargs",
                    self.model_cls,
                    "Add rng=None to __init__ and call super().__init__(rng=rng).",
                )
            )
        if not isinstance(self.parameters, Mapping):
            raise ConfigurationError(
                problem("parameters", "must be a mapping of names to values", self.parameters)
            )
        parameters = dict(self.parameters)
        signature.check_names(parameters)
        for name in ("run_id", "iteration", "occurrence", "point"):
            check_int(name, getattr(self, name), minimum=0)
        check_max_steps(self.max_steps)
        check_data_collection_period(self.data_collection_period)
        seed = run_seed(master_seed(None), "0" * 32, 0) if self.seed is None else self.seed
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "seed", check_seed_value(seed))
        object.__setattr__(self, "scenario_cls", signature.scenario_cls)
        for name in ("model_reporters", "agent_reporters"):
            object.__setattr__(self, name, check_reporters(name, getattr(self, name)))
        point_key = point_key_of(self.model_cls, parameters, self.occurrence)
        object.__setattr__(self, "point_key", point_key)
        object.__setattr__(self, "key", self._run_key())

    def _run_key(self) -> str:
        identity: dict[str, Any] = {
            "point": self.point_key,
            "iteration": self.iteration,
            "max_steps": self.max_steps,
            "data_collection_period": self.data_collection_period,
        }
        if self.model_reporters or self.agent_reporters:
            # Reporter names, not their code, are part of the key (functions have no stable hash).
            identity["reporters"] = [
                sorted(self.model_reporters or ()),
                sorted(self.agent_reporters or ()),
            ]
        return content_key(identity)

    @property
    def model_path(self) -> str:
        """The model class's import path, ``"package.module:ClassName"``."""
        return model_path(self.model_cls)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunConfiguration):
            return NotImplemented
        return (self.key, self.seed, self.run_id, self.point) == (
            other.key,
            other.seed,
            other.run_id,
            other.point,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.seed, self.run_id))

    def __repr__(self) -> str:
        return (
            f"RunConfiguration(model_cls={self.model_cls.__qualname__}, run_id={self.run_id}, "
            f"iteration={self.iteration}, parameters={self.parameters!r}, "
            f"max_steps={self.max_steps}, data_collection_period={self.data_collection_period}, "
            f"seed={self.seed}, key={self.key!r})"
        )

    def renumbered(self, run_id: int) -> RunConfiguration:
        """This configuration with another run id (the run id is not part of the key).

        Cheaper than ``dataclasses.replace``: nothing is validated or keyed again, which matters
        when a store renumbers 100,000 configurations.
        """
        if run_id == self.run_id:
            return self
        return self._copy(run_id=check_int("run_id", run_id, minimum=0))

    def replica(self, iteration: int, *, run_id: int, seed: int) -> RunConfiguration:
        """This design point at another iteration, with the given run id and seed.

        Cheaper than constructing it again: nothing is validated twice, and the replica shares
        this configuration's ``parameters`` dict and ``point_key`` (100,000 replicates of a
        point hold one dict, not 100,000). Treat ``parameters`` as read-only.

        Args:
            iteration: The replica's iteration index.
            run_id: The replica's run id.
            seed: The replica's seed, an int in ``[0, 2**64)``.

        Returns:
            The replica, with its own key.
        """
        copy = self._copy(
            iteration=check_int("iteration", iteration, minimum=0),
            run_id=check_int("run_id", run_id, minimum=0),
            seed=check_seed_value(seed),
        )
        object.__setattr__(copy, "key", copy._run_key())
        return copy

    def _copy(self, **changes: Any) -> RunConfiguration:
        """This configuration with some fields changed, neither validated nor keyed again."""
        copy = object.__new__(RunConfiguration)
        for field in dataclasses.fields(self):
            object.__setattr__(copy, field.name, changes.get(field.name, getattr(self, field.name)))
        return copy

    def with_iteration(self, iteration: int, *, run_id: int | None = None) -> RunConfiguration:
        """Return this design point at another iteration, with that iteration's seed.

        The seed is derived from the design's master seed exactly as the design would have
        derived it, so ``design(..., iterations=3)`` equals replicating ``iterations=1``.

        Args:
            iteration: The new iteration index.
            run_id: The new run id (unchanged if None).

        Returns:
            The new configuration (a :meth:`replica`: it shares this one's ``parameters``).

        Raises:
            ConfigurationError: The configuration was not made by a design, so there is no
                master seed to derive the seed from.
        """
        if self.design is None:
            raise ConfigurationError(
                problem(
                    "with_iteration()",
                    "needs a configuration made by a design (it holds the master seed)",
                    self,
                    "Use mesa_batch.replicate(configurations, iterations, seed=...) instead.",
                )
            )
        seed = run_seed(
            self.design.seed,
            self.point_key,
            iteration,
            common_random_numbers=self.design.common_random_numbers,
        )
        return self.replica(iteration, run_id=self.run_id if run_id is None else run_id, seed=seed)


def check_reporters(what: str, reporters: object) -> dict[str, Reporter] | None:
    """Check reporters: a mapping of names to attribute names or callables (None if empty)."""
    if reporters is None:
        return None
    if not isinstance(reporters, Mapping):
        raise ConfigurationError(
            problem(
                what,
                "must be a mapping of names to attribute names or functions",
                reporters,
                'Pass e.g. {"Gini": compute_gini, "Agents": "num_agents"}.',
            )
        )
    for name, reporter in reporters.items():
        if not isinstance(name, str) or not (isinstance(reporter, str) or callable(reporter)):
            raise ConfigurationError(
                problem(
                    f"{what}[{name!r}]",
                    "must be an attribute name (str) or a function",
                    reporter,
                )
            )
    return dict(reporters) or None


def point_key_of(model_cls: type, parameters: Mapping[str, Any], occurrence: int) -> str:
    """The key of a design point: model path, parameters and occurrence."""
    data: dict[str, Any] = {"model": model_path(model_cls), "parameters": dict(parameters)}
    if occurrence:
        data["occurrence"] = occurrence
    return content_key(data)
