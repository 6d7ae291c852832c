"""``RunConfiguration``: everything one run needs, validated, keyed and seeded.

A run configuration is a frozen value: the model class, its parameters, the iteration, how
long to run and how often to collect data, and the seed. Its :attr:`~RunConfiguration.key`
identifies the run by content (model import path, parameters, occurrence, iteration and run
settings), never by ``run_id`` or by the order configurations were generated in: resume and
de-duplication rely on it.
"""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import math
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from mesa_batch.errors import ConfigurationError, ModelClassError, check_int, problem
from mesa_batch.keys import (
    MasterSeed,
    check_seed_value,
    content_key,
    key_payload,
    key_text,
    master_seed,
    run_seed,
)
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


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _Settings:
    """What every run of a design shares: the model, the run settings, the run key's template."""

    model_cls: type
    max_steps: int
    data_collection_period: int
    design: DesignInfo | None
    scenario_cls: type | None
    model_reporters: Mapping[str, Reporter] | None
    agent_reporters: Mapping[str, Reporter] | None
    _template: tuple[str, str, str] | None = dataclasses.field(default=None, init=False, repr=False)

    def identity(self, point_key: str, iteration: object) -> dict[str, Any]:
        """What a run's key hashes: its point key, iteration, run settings, reporter names."""
        identity: dict[str, Any] = {
            "point": point_key,
            "iteration": iteration,
            "max_steps": self.max_steps,
            "data_collection_period": self.data_collection_period,
        }
        if self.model_reporters or self.agent_reporters:
            # Reporter names, not their code, are part of the key (functions have no stable hash).
            identity["reporters"] = [
                sorted(self.model_reporters or ()),
                sorted(self.agent_reporters or ()),
            ]
        return identity

    @property
    def template(self) -> tuple[str, str, str]:
        """The text a run's key hashes, cut where its iteration and its point key go.

        Made on first use (the runs of a design use it; a configuration built alone does not).
        """
        if self._template is None:
            payload = key_payload(self.identity(_POINT_HOLE, _ITERATION_HOLE))
            # the keys are sorted: "iteration" comes before "point", both before "reporters"
            before, rest = payload.split(f'"{_ITERATION_HOLE}"', 1)
            middle, after = rest.split(f'"{_POINT_HOLE}"', 1)
            object.__setattr__(self, "_template", (before, middle, after))
        return self._template  # type: ignore[return-value]

    def run_key(self, point_key: str, iteration: int) -> str:
        """The key of the run at ``iteration`` of the point ``point_key``.

        It equals ``content_key(self.identity(point_key, iteration))``, built from the
        template instead of encoding the identity again.
        """
        before, middle, after = self.template
        payload = f'{before}{iteration:d}{middle}"{point_key}"{after}'
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


#: The default parameters of a configuration: none (copied into a dict of its own).
_NO_PARAMETERS: Final[Mapping[str, Any]] = types.MappingProxyType({})
_ITERATION_HOLE: Final = "@iteration@"
_POINT_HOLE: Final = "@point@"


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _Point:
    """A design point, shared by its runs: parameters, occurrence, index and key."""

    parameters: dict[str, Any]
    occurrence: int
    point: int
    key: str


class _Run:
    """One run's own values: a configuration built alone, a replica, a copy (``at`` unused)."""

    __slots__ = ("iteration", "key", "point", "run_id", "seed", "settings")

    def __init__(  # noqa: PLR0917 - its slots in order, as unpickling passes them
        self, settings: _Settings, point: _Point, run_id: int, iteration: int, seed: int, key: str
    ) -> None:
        self.settings, self.point = settings, point
        self.run_id, self.iteration, self.seed, self.key = run_id, iteration, seed, key

    def run_id_of(self, at: int) -> int:
        return self.run_id

    def iteration_of(self, at: int) -> int:
        return self.iteration

    def seed_of(self, at: int) -> int:
        return self.seed

    def key_of(self, at: int) -> str:
        return self.key

    def point_of(self, at: int, *, keep: bool = True) -> _Point:
        return self.point

    def parameters_of(self, at: int) -> dict[str, Any]:
        return self.point.parameters

    def point_index_of(self, at: int) -> int:
        return self.point.point

    def occurrence_of(self, at: int) -> int:
        return self.point.occurrence

    def point_key_of(self, at: int) -> str:
        return self.point.key

    def point_identity(self, at: int) -> object:
        return id(self.point)


class _Points:
    """A design's points as its runs' block holds them: values, 16-byte keys, occurrences.

    ``items`` is any sequence of parameter dicts: a design's list (its dicts become the runs'
    ``parameters`` as they are), or a grid that makes each point's dict when it is asked for.
    """

    __slots__ = ("items", "keys", "occurrences")

    def __init__(
        self, items: Sequence[dict[str, Any]], keys: bytes, occurrences: Sequence[int] | None
    ) -> None:
        self.items, self.keys, self.occurrences = items, keys, occurrences

    def key(self, j: int) -> str:
        """The key of point ``j``, as 32 hex characters."""
        return self.keys[16 * j : 16 * j + 16].hex()

    def occurrence(self, j: int) -> int:
        """The occurrence of point ``j``."""
        return 0 if self.occurrences is None else self.occurrences[j]


class _Runs:
    """The runs of a design in one block of arrays.

    Run ``at`` is iteration ``at // n`` of point ``at % n`` (iteration outer, ``n`` points),
    its seed ``seeds[at]``, its key 16 bytes of ``keys`` at ``16 * at``. A configuration of the block holds only the block and its place in it; its fields are
    read from the block when asked for. ``run_ids`` is None while run ids are the places
    (a renumbered copy of the block has its own array). ``kept`` holds the point objects that
    replicas and copies of the block's runs were made from, so that they share them.
    """

    __slots__ = ("count", "kept", "keys", "points", "run_ids", "seeds", "settings")

    def __init__(
        self,
        settings: _Settings,
        points: _Points,
        seeds: np.ndarray,
        keys: bytes,
        run_ids: np.ndarray | None = None,
    ) -> None:
        self.settings, self.points, self.seeds, self.keys = settings, points, seeds, keys
        self.count = len(points.items)
        self.run_ids = run_ids
        self.kept: dict[int, _Point] = {}

    def __len__(self) -> int:
        return len(self.seeds)

    def run_id_of(self, at: int) -> int:
        return at if self.run_ids is None else int(self.run_ids[at])

    def iteration_of(self, at: int) -> int:
        return at // self.count

    def seed_of(self, at: int) -> int:
        return int(self.seeds[at])

    def key_of(self, at: int) -> str:
        return self.keys[16 * at : 16 * at + 16].hex()

    def point_of(self, at: int, *, keep: bool = True) -> _Point:
        """The point object of run ``at`` (kept with ``keep``: its replicas share it)."""
        j = at % self.count
        point = self.kept.get(j)
        if point is None:
            points = self.points
            point = _Point(points.items[j], points.occurrence(j), j, points.key(j))
            if keep:
                self.kept[j] = point
        return point

    def parameters_of(self, at: int) -> dict[str, Any]:
        return self.points.items[at % self.count]

    def point_index_of(self, at: int) -> int:
        return at % self.count

    def occurrence_of(self, at: int) -> int:
        return self.points.occurrence(at % self.count)

    def point_key_of(self, at: int) -> str:
        return self.points.key(at % self.count)

    def point_identity(self, at: int) -> object:
        return (id(self.points), at % self.count)

    def copy(self, *, settings: _Settings | None = None, renumber: bool = False) -> _Runs:
        """The block with other settings, or with run ids of its own to renumber."""
        run_ids = self.run_ids
        if renumber:
            import numpy as np  # noqa: PLC0415

            run_ids = np.arange(len(self), dtype=np.int64) if run_ids is None else run_ids.copy()
        return _Runs(settings or self.settings, self.points, self.seeds, self.keys, run_ids)


_Block = _Run | _Runs


class RunConfiguration:
    """Everything one run needs: model, parameters, iteration, run length, data, seed.

    Constructing one validates it: the model class must be a Mesa ``Model`` subclass that can
    receive a seed, the parameter names must be accepted by the model, and the settings must be
    in range. Designs (``full_factorial`` and the others) build configurations for you; build
    one by hand to run a single scenario.

    A configuration is frozen, slotted and picklable, and takes keyword arguments only. The
    runs a design builds are one block of arrays (seeds, keys, their points and one settings
    object), and each of its configurations is a view of its place in that block, its fields
    read from it when asked for: a million runs of a million distinct points take ~130 MB.
    A configuration built alone, a replica or a copy holds its own values; any configuration
    pickles as one that stands alone (never with its block).

    Attributes:
        model_cls: The Mesa ``Model`` subclass to run.
        parameters: The model's parameters for this run (keyword arguments, or fields of the
            model's ``Scenario``). Values may be anything, including unhashable dicts and lists.
            Shared by the runs of a design point, or made when asked for (a grid's): treat
            it as read-only.
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

    __slots__ = ("_at", "_block")

    #: The configuration's fields, the keyword arguments of the constructor (and ``key``,
    #: ``point_key``, computed), in order.
    FIELDS: ClassVar[tuple[str, ...]] = (
        "model_cls",
        "parameters",
        "run_id",
        "iteration",
        "max_steps",
        "data_collection_period",
        "seed",
        "occurrence",
        "point",
        "design",
        "scenario_cls",
        "model_reporters",
        "agent_reporters",
        "key",
        "point_key",
    )

    _block: _Block
    _at: int

    def __init__(
        self,
        *,
        model_cls: type,
        parameters: Mapping[str, Any] = _NO_PARAMETERS,
        run_id: int = 0,
        iteration: int = 0,
        max_steps: int = DEFAULT_MAX_STEPS,
        data_collection_period: int = -1,
        seed: int | None = None,
        occurrence: int = 0,
        point: int = 0,
        design: DesignInfo | None = None,
        scenario_cls: type | None = None,
        model_reporters: Mapping[str, Reporter] | None = None,
        agent_reporters: Mapping[str, Reporter] | None = None,
    ) -> None:
        settings = settings_of(
            model_cls,
            max_steps=max_steps,
            data_collection_period=data_collection_period,
            design=design,
            scenario_cls=scenario_cls,
            model_reporters=model_reporters,
            agent_reporters=agent_reporters,
        )
        if not isinstance(parameters, Mapping):
            raise ConfigurationError(
                problem("parameters", "must be a mapping of names to values", parameters)
            )
        checked = dict(parameters)
        inspect_model(model_cls, settings.scenario_cls).check_names(checked)
        run_id = check_int("run_id", run_id, minimum=0)
        iteration = check_int("iteration", iteration, minimum=0)
        occurrence = check_int("occurrence", occurrence, minimum=0)
        point = check_int("point", point, minimum=0)
        if seed is None:
            seed = run_seed(master_seed(None), "0" * 32, 0)
        key = point_key_of(model_cls, checked, occurrence)
        block = _Run(
            settings,
            _Point(checked, occurrence, point, key),
            run_id,
            iteration,
            check_seed_value(seed),
            content_key(settings.identity(key, iteration)),
        )
        _set_block(self, block)
        _set_at(self, 0)

    # -- the fields: a run's own, its point's, its design's ---------------------------------

    @property
    def _settings(self) -> _Settings:
        return self._block.settings

    @property
    def _point(self) -> _Point:
        return self._block.point_of(self._at)

    @property
    def run_id(self) -> int:
        """The run's number within its sweep (not part of the key)."""
        return self._block.run_id_of(self._at)

    @property
    def iteration(self) -> int:
        """The replication index of this design point."""
        return self._block.iteration_of(self._at)

    @property
    def seed(self) -> int:
        """The run's seed, an int in ``[0, 2**64)``."""
        return self._block.seed_of(self._at)

    @property
    def key(self) -> str:
        """The run's content key (32 hex characters)."""
        return self._block.key_of(self._at)

    @property
    def model_cls(self) -> type:
        """The Mesa ``Model`` subclass to run."""
        return self._settings.model_cls

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The model's parameters for this run (treat them as read-only).

        The runs of a point made by a design share one dict, or, for a grid, each is the
        point's values made into a new dict when asked for (equal, not the same object).
        """
        return self._block.parameters_of(self._at)

    @property
    def max_steps(self) -> int:
        """The most steps a run takes."""
        return self._settings.max_steps

    @property
    def data_collection_period(self) -> int:
        """``-1`` (final state only), or every ``N``th step and the final state."""
        return self._settings.data_collection_period

    @property
    def occurrence(self) -> int:
        """How many identical points precede this one in its design."""
        return self._block.occurrence_of(self._at)

    @property
    def point(self) -> int:
        """The index of the design point in its design."""
        return self._block.point_index_of(self._at)

    @property
    def point_key(self) -> str:
        """The key of the design point alone (no iteration or run settings)."""
        return self._block.point_key_of(self._at)

    @property
    def design(self) -> DesignInfo | None:
        """Which design made this configuration, if any."""
        return self._settings.design

    @property
    def scenario_cls(self) -> type | None:
        """The model's ``Scenario`` subclass (None for a model without one)."""
        return self._settings.scenario_cls

    @property
    def model_reporters(self) -> Mapping[str, Reporter] | None:
        """Model-level values to collect, or None."""
        return self._settings.model_reporters

    @property
    def agent_reporters(self) -> Mapping[str, Reporter] | None:
        """Agent-level values to collect, or None."""
        return self._settings.agent_reporters

    @property
    def model_path(self) -> str:
        """The model class's import path, ``"package.module:ClassName"``."""
        return model_path(self.model_cls)

    # -- a frozen value --------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # a configuration pickles standalone: a batch sent to a worker never ships its block
        # (the settings and a point's parameters dict are pickled once per pickle, by memo)
        block, at = self._block, self._at
        point = block.point_of(at, keep=False)
        run = (block.run_id_of(at), block.iteration_of(at), block.seed_of(at), block.key_of(at))
        return (_standalone, (block.settings, point, *run))

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

    # -- variations ------------------------------------------------------------------------

    def replace(self, **changes: Any) -> RunConfiguration:
        """This configuration with some fields changed, validated and keyed again.

        Args:
            **changes: New values of fields (``FIELDS`` but ``key`` and ``point_key``).

        Returns:
            The new configuration.
        """
        fields = {name: getattr(self, name) for name in self.FIELDS[:-2]}
        return RunConfiguration(**(fields | changes))

    def renumbered(self, run_id: int) -> RunConfiguration:
        """This configuration with another run id (the run id is not part of the key).

        Cheaper than :meth:`replace`: nothing is validated or keyed again. The result holds
        its own values; :func:`renumber` renumbers many at once, a design's block staying one
        block (what a store does to a sweep's configurations).
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
        iteration = check_int("iteration", iteration, minimum=0)
        return _make(
            self._block.settings,
            self._block.point_of(self._at),
            run_id=check_int("run_id", run_id, minimum=0),
            iteration=iteration,
            seed=check_seed_value(seed),
        )

    def _copy(self, **changes: Any) -> RunConfiguration:
        """This configuration with some fields changed, neither validated nor keyed again."""
        settings, point = self._settings, self._point
        shared = {name: changes.pop(name) for name in _SETTINGS if name in changes}
        if shared:
            settings = dataclasses.replace(settings, **shared)
        own = {field: changes.pop(name) for name, field in _POINT_FIELDS.items() if name in changes}
        if own:
            point = dataclasses.replace(point, **own)
        copy = _make(
            settings,
            point,
            run_id=changes.pop("run_id", self.run_id),
            iteration=changes.pop("iteration", self.iteration),
            seed=changes.pop("seed", self.seed),
            key=changes.pop("key", self.key),
        )
        if changes:
            raise TypeError(f"unknown fields {sorted(changes)}")
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


_SETTINGS: Final = (
    "model_cls",
    "max_steps",
    "data_collection_period",
    "design",
    "scenario_cls",
    "model_reporters",
    "agent_reporters",
)
_POINT_FIELDS: Final = {
    "parameters": "parameters",
    "occurrence": "occurrence",
    "point": "point",
    "point_key": "key",
}
_new = object.__new__
_DESCRIPTORS: Final[dict[str, Any]] = dict(vars(RunConfiguration))  # the slots' descriptors
_set_block = _DESCRIPTORS["_block"].__set__
_set_at = _DESCRIPTORS["_at"].__set__


def _make(
    settings: _Settings,
    point: _Point,
    *,
    run_id: int,
    iteration: int,
    seed: int,
    key: str | None = None,
) -> RunConfiguration:
    """A configuration from checked parts (its key made from them unless given)."""
    key = settings.run_key(point.key, iteration) if key is None else key
    return _view(_Run(settings, point, run_id, iteration, seed, key), 0)


def _view(block: _Block, at: int) -> RunConfiguration:
    """The configuration of run ``at`` of a block."""
    config = _new(RunConfiguration)
    _set_block(config, block)
    _set_at(config, at)
    return config


def _standalone(  # noqa: PLR0917 - a pickle's arguments, by position
    settings: _Settings, point: _Point, run_id: int, iteration: int, seed: int, key: str
) -> RunConfiguration:
    """A configuration unpickled: a block of its own."""
    return _view(_Run(settings, point, run_id, iteration, seed, key), 0)


def with_settings(configs: Sequence[RunConfiguration], **changes: Any) -> list[RunConfiguration]:
    """The configurations with shared settings changed (``max_steps``...), not keyed again.

    Configurations that shared a settings object share its changed copy, and the runs of
    one block stay one block (a copy sharing its arrays).
    """
    made: dict[int, _Settings] = {}
    blocks: dict[int, _Runs] = {}

    def changed(settings: _Settings) -> _Settings:
        found = made.get(id(settings))
        if found is None:
            found = made[id(settings)] = dataclasses.replace(settings, **changes)
        return found

    result = []
    for config in configs:
        block, at = config._block, config._at
        if isinstance(block, _Runs):
            copy = blocks.get(id(block))
            if copy is None:
                copy = blocks[id(block)] = block.copy(settings=changed(block.settings))
            result.append(_view(copy, at))
            continue
        run = _Run(changed(block.settings), block.point, *_own(block))
        result.append(_view(run, 0))
    return result


def _own(run: _Run) -> tuple[int, int, int, str]:
    return run.run_id, run.iteration, run.seed, run.key


def renumber(configs: Sequence[RunConfiguration], run_ids: Sequence[int]) -> list[RunConfiguration]:
    """The configurations with other run ids: ``config.renumbered(run_id)`` of each, per block.

    The renumbered runs of a design's block stay one block (a copy sharing its arrays, with
    run ids of its own), instead of a standalone configuration per run. The run ids must
    have been checked (ints >= 0).
    """
    copies: dict[int, tuple[_Runs, Any]] = {}
    result = []
    for config, run_id in zip(configs, run_ids, strict=True):
        block, at = config._block, config._at
        if not isinstance(block, _Runs) or run_id == block.run_id_of(at):
            result.append(config.renumbered(run_id))
            continue
        found = copies.get(id(block))
        if found is None:
            import numpy as np  # noqa: PLC0415

            copy = block.copy(renumber=True)
            found = copies[id(block)] = (copy, np.zeros(len(copy), dtype=bool))
        copy, taken = found
        if taken[at]:  # the same run twice: the second is a configuration of its own
            result.append(config.renumbered(run_id))
            continue
        taken[at] = True
        copy.run_ids[at] = run_id  # type: ignore[index]
        result.append(_view(copy, at))
    return result


def parameters_identity(config: RunConfiguration) -> object:
    """What identifies a configuration's parameters while it lives (the same for its point's).

    A store encodes each point's parameters once by it; ``id(parameters)`` cannot serve, since
    a grid's runs make their dict when asked.
    """
    return config._block.point_identity(config._at)


def settings_of(
    model_cls: type,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    data_collection_period: int = -1,
    design: DesignInfo | None = None,
    scenario_cls: type | None = None,
    model_reporters: Mapping[str, Reporter] | None = None,
    agent_reporters: Mapping[str, Reporter] | None = None,
) -> _Settings:
    """Check the model class and the run settings once, for every run that shares them.

    Raises:
        ModelClassError: The model class is not a Mesa model or cannot receive a seed.
        ConfigurationError: A setting is out of range.
    """
    signature = inspect_model(model_cls, scenario_cls)
    if signature.seed_argument is None:
        raise ModelClassError(
            problem(
                "model_cls",
                "must be able to receive a seed: its __init__ takes none of rng=, seed=, "
                "scenario= or **kwargs",
                model_cls,
                "Add rng=None to __init__ and call super().__init__(rng=rng).",
            )
        )
    checked = (
        model_cls,
        check_max_steps(max_steps),
        check_data_collection_period(data_collection_period),
        design,
        signature.scenario_cls,
        check_reporters("model_reporters", model_reporters),
        check_reporters("agent_reporters", agent_reporters),
    )
    # configurations built one by one (a store's plan, read back) mostly repeat the settings
    # of the one before: they share its settings object (the one kept holds its design alive)
    identity = tuple(_identity(part) for part in checked)
    last = _last_settings[0]
    if last is not None and last[0] == identity:
        return last[1]
    made = _Settings(*checked)
    _last_settings[0] = (identity, made)
    return made


#: The settings ``settings_of`` made last, with what they were made from (see there).
_last_settings: list[tuple[tuple[Any, ...], _Settings] | None] = [None]


def _identity(part: object) -> object:
    """A setting as compared for sharing: by value for ints and strings, else by identity."""
    if part is None or type(part) in (int, str):
        return part
    if isinstance(part, Mapping):  # reporters: names and what each is, in order
        return tuple((name, _identity(value)) for name, value in part.items())
    return id(part)


def runs_of(
    settings: _Settings,
    points: Sequence[dict[str, Any]],
    keys: bytes,
    occurrences: Sequence[int] | None,
    *,
    iterations: int,
    seeds: Callable[[int], np.ndarray],
) -> list[RunConfiguration]:
    """The runs of checked design points crossed with iterations (iteration outer), one block.

    The runs are one block of arrays (:class:`_Runs`: seeds, 16-byte run keys, the points
    with their keys), and each configuration is a view of its place in it; every run shares
    ``settings``, and each run's key is made from the settings' template.

    Args:
        settings: The runs' shared settings (from :func:`settings_of`).
        points: The parameters of each point, in order (a point's index is its place
            here); their names must have been checked.
        keys: The points' keys, 16 bytes each (from :func:`point_digests`).
        occurrences: The points' occurrences (None: all 0).
        iterations: How many iterations.
        seeds: The seeds of an iteration's runs, one per point (a uint64 array).

    Returns:
        The configurations, run ids ``0 .. iterations * len(points) - 1``.
    """
    import numpy as np  # noqa: PLC0415

    before, middle, after = settings.template
    blake2b = hashlib.blake2b
    hexed = binascii.hexlify(keys)  # every point key's 32 hex characters, in one bytes
    count = len(points)
    run_keys = bytearray()
    for iteration in range(iterations):
        head, tail = f'{before}{iteration}{middle}"'.encode(), f'"{after}'.encode()
        for j in range(0, 32 * count, 32):
            run_keys += blake2b(head + hexed[j : j + 32] + tail, digest_size=16).digest()
    all_seeds = np.concatenate([seeds(iteration) for iteration in range(iterations)])
    if all_seeds.shape != (iterations * count,) or all_seeds.dtype != np.uint64:
        raise ValueError(f"seeds must give {count} uint64 seeds an iteration, not {all_seeds!r}")
    block = _Runs(settings, _Points(points, keys, occurrences), all_seeds, bytes(run_keys))
    return [_view(block, at) for at in range(iterations * count)]


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


def point_keys(model_cls: type, points: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """The key and occurrence of every point: identical points are numbered 0, 1, ...

    Each key equals :func:`point_key_of`'s (see :func:`point_digests`, which this spells out
    as hex text).

    Args:
        model_cls: The model class (part of the key).
        points: The design points, in order.

    Returns:
        The point keys, and the occurrences, in the order of the points.
    """
    digests, occurrences = point_digests(model_cls, points)
    keys = [digests[i : i + 16].hex() for i in range(0, len(digests), 16)]
    return keys, [0] * len(keys) if occurrences is None else occurrences


def point_digests(
    model_cls: type, points: Sequence[Mapping[str, Any]]
) -> tuple[bytes, list[int] | None]:
    """The keys (16 bytes each, in one bytes) and occurrences of every point.

    Each key is the digest of :func:`point_key_of`'s; the canonical text of the point is
    assembled from the encodings of its values, each value encoded once (ints, strings, bools
    and None by value, floats directly, any other value once per object: a full factorial's
    levels are shared by its points), instead of encoding the whole point again. Repeated
    points are looked for on a sorted array of the keys' first 8 bytes; only when two
    coincide are they numbered with a dict.

    Args:
        model_cls: The model class (part of the key).
        points: The design points, in order.

    Returns:
        The point keys, and the occurrences in the order of the points (None: all 0).

    Raises:
        ParameterError: A value has no stable encoding (see :func:`mesa_batch.keys.canonical`).
    """
    head = key_payload({"model": model_path(model_cls), "parameters": {}})
    prefix, _, suffix = head.partition('"parameters":{"__dict__":[]}')
    body = _PointText(suffix)
    blake2b = hashlib.blake2b
    digests = bytearray()
    for point in points:
        digests += blake2b(f"{prefix}{body(point)}".encode(), digest_size=16).digest()
    if _distinct(digests):
        return bytes(digests), None
    occurrences = [0] * len(points)
    seen: dict[bytes, int] = {}
    for i, point in enumerate(points):
        base = bytes(digests[16 * i : 16 * i + 16])
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        if occurrence:
            payload = f'{prefix}"occurrence":{occurrence},{body(point)}'
            digests[16 * i : 16 * i + 16] = blake2b(payload.encode(), digest_size=16).digest()
            occurrences[i] = occurrence
    return bytes(digests), occurrences


def _distinct(digests: bytes | bytearray) -> bool:
    """Whether no two 16-byte keys are equal (their first 8 bytes, sorted; equal counts as equal)."""
    import numpy as np  # noqa: PLC0415

    heads = np.frombuffer(digests, dtype=np.uint64)[::2].copy()
    heads.sort()
    return not bool((heads[1:] == heads[:-1]).any())


class _PointText:
    """The canonical text of a point's parameters (and what follows them in its payload)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.by_value: dict[tuple[type, Any], str] = {}
        self.by_object: dict[int, tuple[object, str]] = {}
        self.orders: dict[tuple[str, ...], list[tuple[str, str]]] = {}

    def __call__(self, point: Mapping[str, Any]) -> str:
        names = tuple(point)
        order = self.orders.get(names)
        if order is None:  # sorted by the names' canonical text, as canonical() sorts
            order = self.orders[names] = sorted(((key_text(n), n) for n in names), key=_first)
        encoded = self.encoded
        items = ",".join(f"[{text},{encoded(point[name])}]" for text, name in order)
        return f'"parameters":{{"__dict__":[{items}]}}{self.suffix}'

    def encoded(self, value: Any) -> str:
        """The canonical text of one value, encoded once per value or object."""
        kind = type(value)
        if kind is float:
            return _float_text(value)
        if kind in (int, str, bool) or value is None:
            text = self.by_value.get((kind, value))
            if text is None:
                text = self.by_value[kind, value] = key_text(value)
            return text
        found = self.by_object.get(id(value))
        if found is None:  # the entry keeps the object alive, so its id is not reused
            found = self.by_object[id(value)] = (value, key_text(value))
        return found[1]


def _first(pair: tuple[str, str]) -> str:
    return pair[0]


def _float_text(value: float) -> str:
    """A float as the canonical JSON text encodes it (``NaN`` and infinities allowed)."""
    if value != value:  # noqa: PLR0124 - NaN
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
