"""What a Mesa model class accepts: its parameter names, how it takes a seed, its Scenario.

Mesa models take their parameters in one of two ways:

* as keyword arguments of ``__init__`` (``MoneyModel(n=10, width=10, rng=42)``), the Mesa 3
  convention, seeded with ``rng=`` (Mesa >= 3.1) or ``seed=`` (older models);
* through a ``Scenario`` (``BoltzmannWealth(scenario=BoltzmannScenario(n=10, rng=42))``), the
  convention of Mesa 3.5's and Mesa 4's own example models, seeded through the scenario.

:func:`inspect_model` finds out which, once per class, so that parameter names can be checked
before anything runs and so that the runner knows how to build each model.
"""

from __future__ import annotations

import difflib
import enum
import functools
import inspect
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mesa_batch.errors import ModelClassError, ParameterError, problem

__all__ = ["ModelSignature", "SeedArgument", "inspect_model", "model_path"]

#: Names mesa_batch sets itself; a design may not use them as parameter names.
RESERVED_NAMES = frozenset({"rng", "seed", "scenario"})
#: Attributes of Mesa's ``Scenario`` that are not model parameters.
_SCENARIO_INTERNALS = frozenset({"rng", "model", "scenario_id", "replication_id"})


class SeedArgument(enum.Enum):
    """How a model class receives the seed of a run."""

    RNG = "rng"
    """``model_cls(..., rng=seed)`` (Mesa >= 3.1 and Mesa 4)."""
    SEED = "seed"
    """``model_cls(..., seed=seed)`` (models written for Mesa < 3.1)."""
    SCENARIO = "scenario"
    """``model_cls(scenario=ScenarioCls(rng=seed, **parameters))``."""


@dataclass(frozen=True, slots=True)
class ModelSignature:
    """What one model class accepts, as found by :func:`inspect_model`.

    Attributes:
        model_cls: The model class.
        init_names: Names ``__init__`` accepts as keywords, without ``rng``, ``seed`` and
            ``scenario``.
        var_keyword: Whether ``__init__`` takes ``**kwargs`` (then any name is accepted).
        scenario_cls: The ``Scenario`` subclass the model takes through ``scenario=``, if any.
        scenario_fields: The parameter fields that Scenario declares.
        seed_argument: How the model receives a seed, or None when it cannot receive one.
    """

    model_cls: type
    init_names: frozenset[str]
    var_keyword: bool
    scenario_cls: type | None
    scenario_fields: frozenset[str]
    seed_argument: SeedArgument | None

    @property
    def accepts_any_name(self) -> bool:
        """Whether any parameter name is accepted (``**kwargs`` or an open base Scenario)."""
        open_scenario = self.scenario_cls is not None and not self.scenario_fields
        return self.var_keyword or open_scenario

    @property
    def accepted_names(self) -> frozenset[str]:
        """The parameter names the model declares (meaningful unless ``accepts_any_name``)."""
        return self.init_names | self.scenario_fields

    def describe(self) -> str:
        """Name the model and, for Scenario models, the Scenario its parameters go to."""
        name = self.model_cls.__qualname__
        if self.scenario_cls is None:
            return name
        return f"{name} (through its Scenario {self.scenario_cls.__qualname__})"

    def check_names(self, names: Iterable[str], *, where: str = "parameters") -> None:
        """Check parameter names against what the model accepts.

        Args:
            names: The parameter names to check.
            where: What the names came from, used in the message (e.g. ``"variations"``).

        Raises:
            ParameterError: A name is reserved, not a string, or not accepted by the model; the
                message lists the accepted names.
        """
        for name in names:
            if not isinstance(name, str):
                raise ParameterError(
                    problem(f"{where} name", "must be a str", name, "Use the keyword's name.")
                )
            if name in RESERVED_NAMES:
                raise ParameterError(
                    problem(
                        f"{where}[{name!r}]",
                        "is reserved: mesa_batch passes every run's seed to the model itself",
                        name,
                        "Remove it; give the design a master seed with seed=... instead.",
                    )
                )
            if self.accepts_any_name or name in self.accepted_names:
                continue
            accepted = sorted(self.accepted_names)
            close = difflib.get_close_matches(name, accepted, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                problem(
                    f"{where}[{name!r}]",
                    f"is not accepted by {self.describe()}",
                    name,
                    f"Accepted names: {', '.join(map(repr, accepted)) or '(none)'}.{hint}",
                )
            )


def model_path(model_cls: type) -> str:
    """Return the import path of a class, ``"package.module:QualName"``.

    Args:
        model_cls: Any class.

    Returns:
        The path, stable across processes for classes defined at module level (including
        ``__main__``).
    """
    return f"{model_cls.__module__}:{model_cls.__qualname__}"


def check_model_class(model_cls: object) -> type:
    """Check that ``model_cls`` is a subclass of ``mesa.Model``.

    Args:
        model_cls: The object given as a model class.

    Returns:
        The class, unchanged.

    Raises:
        ModelClassError: It is not a class, or not a Mesa ``Model`` subclass.
    """
    from mesa import Model  # noqa: PLC0415 - importing Mesa is deferred to first use

    if not isinstance(model_cls, type) or not issubclass(model_cls, Model):
        fix = "Pass the class itself (e.g. BoltzmannWealth), not an instance or a module."
        if isinstance(model_cls, Model):
            fix = f"Pass the class type(model) = {type(model_cls).__qualname__}, not an instance."
        raise ModelClassError(
            problem("model_cls", "must be a subclass of mesa.Model", model_cls, fix)
        )
    return model_cls


@functools.lru_cache(maxsize=256)
def inspect_model(model_cls: type, scenario_cls: type | None = None) -> ModelSignature:
    """Find out which parameters a model class accepts and how it takes a seed.

    The Scenario of a model that takes ``scenario=`` is, in order: ``scenario_cls`` if given,
    the ``scenario`` parameter's annotation or default, or the single ``Scenario`` subclass
    defined in the model's module.

    Args:
        model_cls: A subclass of ``mesa.Model``.
        scenario_cls: The model's ``Scenario`` subclass, when it cannot be found automatically.

    Returns:
        The model's signature.

    Raises:
        ModelClassError: ``model_cls`` is not a Mesa model, ``scenario_cls`` is not a Scenario
            subclass, or the model's Scenario is ambiguous.
    """
    from mesa import Model  # noqa: PLC0415

    check_model_class(model_cls)
    if model_cls.__init__ is Model.__init__:  # type: ignore[misc]
        # A model that does not define __init__ takes Mesa's own (rng=..., **kwargs).
        return ModelSignature(model_cls, frozenset(), True, None, frozenset(), SeedArgument.RNG)
    params = _init_parameters(model_cls)
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    names = {
        name
        for name, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    found_scenario: type | None = None
    if scenario_cls is not None:
        found_scenario = _check_scenario_class(scenario_cls)
    elif "scenario" in names:
        found_scenario = _find_scenario_class(model_cls, params["scenario"])
    fields = _scenario_fields(found_scenario) if found_scenario is not None else frozenset()
    if found_scenario is not None:
        seed_argument: SeedArgument | None = SeedArgument.SCENARIO
    elif "rng" in names:
        seed_argument = SeedArgument.RNG
    elif "seed" in names:
        seed_argument = SeedArgument.SEED
    elif var_keyword:
        seed_argument = SeedArgument.RNG
    else:
        seed_argument = None
    return ModelSignature(
        model_cls=model_cls,
        init_names=frozenset(names - RESERVED_NAMES),
        var_keyword=var_keyword,
        scenario_cls=found_scenario,
        scenario_fields=fields,
        seed_argument=seed_argument,
    )


def _init_parameters(model_cls: type) -> dict[str, inspect.Parameter]:
    try:
        signature = inspect.signature(model_cls.__init__)  # type: ignore[misc]
    except (TypeError, ValueError) as e:
        raise ModelClassError(
            problem(
                "model_cls",
                "must have an introspectable __init__ signature",
                model_cls,
                "Define __init__ in Python with named keyword parameters.",
            )
        ) from e
    return dict(list(signature.parameters.items())[1:])  # drop self


def _scenario_base() -> type | None:
    try:
        from mesa.experimental.scenarios import Scenario  # noqa: PLC0415
    except ImportError:  # Mesa < 3.5 has no Scenario
        return None
    return typing.cast(type, Scenario)


def _is_scenario_class(obj: object) -> bool:
    base = _scenario_base()
    return base is not None and isinstance(obj, type) and issubclass(obj, base)


def _check_scenario_class(scenario_cls: object) -> type:
    if not _is_scenario_class(scenario_cls):
        raise ModelClassError(
            problem(
                "scenario_cls",
                "must be a subclass of mesa.experimental.scenarios.Scenario",
                scenario_cls,
                "Pass the Scenario subclass the model's scenario= parameter expects.",
            )
        )
    return typing.cast(type, scenario_cls)


def _find_scenario_class(model_cls: type, parameter: inspect.Parameter) -> type | None:
    """Find the Scenario subclass of a model whose ``__init__`` takes ``scenario``."""
    base = _scenario_base()
    if base is None:  # "scenario" is then an ordinary parameter
        return None
    for found in (*_annotation_classes(model_cls), parameter.default):
        candidate = type(found) if isinstance(found, base) else found
        if _is_scenario_class(candidate) and candidate is not base:
            return typing.cast(type, candidate)
    module = sys.modules.get(model_cls.__module__)
    defined_here = (
        [
            obj
            for obj in vars(module).values()
            if _is_scenario_class(obj)
            and obj is not base
            and obj.__module__ == model_cls.__module__
        ]
        if module is not None
        else []
    )
    if len(defined_here) == 1:
        return typing.cast(type, defined_here[0])
    if len(defined_here) > 1:
        names = ", ".join(sorted(c.__qualname__ for c in defined_here))
        raise ModelClassError(
            problem(
                f"the Scenario of {model_cls.__qualname__}",
                "must be unambiguous, but its module defines several Scenario subclasses",
                names,
                "Pass scenario_cls=... to the design, or annotate the scenario parameter.",
            )
        )
    return base  # an open Scenario: any name is accepted


def _annotation_classes(model_cls: type) -> list[object]:
    """Classes named by the annotation of ``__init__``'s ``scenario`` parameter."""
    init = model_cls.__init__  # type: ignore[misc]
    try:
        annotation = typing.get_type_hints(init).get("scenario")
    except Exception:  # unresolvable forward references: fall back to the raw annotation
        annotation = inspect.signature(init).parameters["scenario"].annotation
        if isinstance(annotation, str):
            annotation = getattr(sys.modules.get(model_cls.__module__), annotation, None)
    if annotation is None or annotation is inspect.Parameter.empty:
        return []
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return list(typing.get_args(annotation))
    if origin is type:  # type[MyScenario]
        return list(typing.get_args(annotation))
    return [annotation]


def _scenario_fields(scenario_cls: type) -> frozenset[str]:
    """The public annotated fields of a Scenario subclass and its bases (not Scenario itself)."""
    base = _scenario_base()
    fields: set[str] = set()
    for klass in scenario_cls.__mro__:
        if klass is base or klass is object:
            continue
        annotations: dict[str, Any] = inspect.get_annotations(klass)
        fields.update(name for name in annotations if not name.startswith("_"))
    return frozenset(fields - _SCENARIO_INTERNALS)
