"""Experiment files: a whole experiment in TOML, validated before anything runs.

```toml
[experiment]
model = "mesa.examples:BoltzmannWealth"   # "package.module:Class" or "path/to/model.py:Class"
store = "results/boltzmann"                # the Parquet store (default: results/<file name>);
                                           # paths are relative to this file's directory
seed = 42                                  # required: running the file again resumes
iterations = 5
max_steps = 100
data_collection_period = 10

[design]
kind = "full_factorial"    # full_factorial, base_case, manual, sample, saltelli, morris, fast,
                           # sparse_grid

[design.parameters]
n = [10, 50, 100]                 # lists are swept, scalars are constants
width = { integer = [5, 20] }     # typed: integer, real, categorical, boolean, constant,
height = 10                       #        values, distribution

[execution]
processes = 2                     # or "all"; or scheduler = "tcp://host:8786" (Dask)
run_timeout = 60                  # optional: seconds a run may take (stage "timeout" past it)

[reporters.model]                 # optional: collect these instead of the model's own collector
Gini = "gini"                     # an attribute, or { function = "package.module:function" }

[replications]                    # optional: replicate each point until its CI is narrow enough
outcome = "Gini"                  # (mesa_batch.replicate_until; iterations is then ignored)
rel_precision = 0.05
```

Every error names the key and its line, and says what is expected (validation by pydantic).
"""

from __future__ import annotations

import collections.abc
import importlib
import importlib.util
import inspect
import pathlib
import re
import sys
import tomllib
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictInt,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from mesa_batch.config import RunConfiguration
from mesa_batch.errors import ExperimentError, MesaBatchError
from mesa_batch.space import (
    Boolean,
    Categorical,
    Constant,
    Distribution,
    Integer,
    Parameter,
    Real,
    Values,
)

__all__ = ["ExperimentError", "ExperimentFile", "load"]

DESIGNS = (
    "full_factorial",
    "base_case",
    "manual",
    "sample",
    "saltelli",
    "morris",
    "fast",
    "sparse_grid",
)
TYPED = ("real", "integer", "categorical", "boolean", "constant", "values", "distribution")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Experiment(_Strict):
    """The ``[experiment]`` table."""

    model: str = Field(pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_.]*$")
    store: str | None = None
    seed: Annotated[StrictInt, Field(ge=0)] | None = None  # not true, not 1.0
    iterations: PositiveInt = 1
    max_runs: PositiveInt | None = None  # the run limit (default mesa_batch.designs.MAX_RUNS)
    max_steps: PositiveInt = 1000
    data_collection_period: int = -1
    common_random_numbers: bool = False
    scenario_cls: str | None = None

    @field_validator("data_collection_period")
    @classmethod
    def _period(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("must be -1 (the final state only) or a positive int")
        return value


class Execution(_Strict):
    """The ``[execution]`` table."""

    processes: PositiveInt | Literal["all"] = "all"
    scheduler: str | None = None
    retry_failed: bool = False
    run_timeout: float | None = None  # BatchRunner's run_timeout (seconds)

    @field_validator("run_timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        from mesa_batch.runner import check_timeout  # noqa: PLC0415

        try:
            return check_timeout(value, "run_timeout", "run_timeout = 60")
        except MesaBatchError as error:
            raise ValueError(str(error).removeprefix("run_timeout ")) from None


class Replications(_Strict):
    """The ``[replications]`` table: run each point until its CI is narrow enough.

    Its keys are :func:`mesa_batch.replicate_until`'s options; ``[experiment] iterations`` is
    then ignored (``min_iterations`` and ``max_iterations`` bound each point's).
    """

    outcome: str | list[str]
    rel_precision: PositiveFloat | None = 0.05
    abs_precision: PositiveFloat | None = None
    confidence: float = Field(0.95, gt=0, lt=1)
    min_iterations: int = Field(3, ge=2)
    max_iterations: PositiveInt = 100
    max_runs: PositiveInt | None = None
    look_ahead: NonNegativeInt = 5


class FunctionReporter(_Strict):
    """A reporter that is a function: ``{ function = "package.module:name" }``."""

    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$")


class Reporters(_Strict):
    """The ``[reporters]`` table: ``model`` and ``agents`` reporters."""

    model: dict[str, str | FunctionReporter] = {}
    agents: dict[str, str | FunctionReporter] = {}


def _check_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    checked = {}
    for name, value in values.items():
        try:
            checked[name] = parameter(value, name)
        except ValueError as error:  # name the parameter: its key gets the error's line
            raise ValueError(f"[{name!r}] {error}") from None
    return checked


class _DesignTable(_Strict):
    """A design's table: its parameter mappings hold typed parameter tables."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("parameters", "variations", "space", check_fields=False)
    @classmethod
    def _typed(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_parameters(value)


class Manual(_Strict):
    """``kind = "manual"``: ``[[design.points]]`` tables, or ``csv = "points.csv"``."""

    kind: Literal["manual"]
    points: list[dict[str, Any]] | None = None
    csv: str | None = None

    def build(self, designs: Any, model_cls: type, settings: dict[str, Any]) -> Any:
        """The configurations of this design."""
        return designs.manual(
            model_cls, self.points if self.points is not None else self.csv, **settings
        )

    @model_validator(mode="after")
    def _one_source(self) -> Manual:
        if (self.points is None) == (self.csv is None):
            raise ValueError("needs exactly one of points (a [[design.points]] list) or csv")
        return self


def _whole(value: Any) -> Any:
    """A whole float (TOML's ``1e8``) is an int; anything else goes to the strict int check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _design_model(kind: str, function: Callable[..., Any]) -> type[_DesignTable]:
    """The table of a design, made from its function's signature (one schema per design).

    Every argument after the model class becomes a key of ``[design]`` with the function's
    type and default; parameter mappings (``Mapping`` arguments) become tables of typed
    parameters. Values must have the argument's type exactly (TOML has ints, floats, strings
    and booleans apart); ranges and other rules are the design's own, checked when it builds.
    """
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function)
    fields: dict[str, Any] = {"kind": (Literal[kind], ...)}
    arguments = []
    for name, argument in list(signature.parameters.items())[1:]:
        if argument.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        annotation = hints.get(name, Any)
        if typing.get_origin(annotation) in (Mapping, collections.abc.Mapping):
            annotation = dict[str, Any]
        elif annotation is int or int in typing.get_args(annotation):
            annotation = Annotated[annotation, BeforeValidator(_whole)]
        default = ... if argument.default is inspect.Parameter.empty else argument.default
        fields[name] = (annotation, default)
        arguments.append(name)

    def build(self: Any, designs: Any, model_cls: type, settings: dict[str, Any]) -> Any:
        """The configurations of this design."""
        return function(model_cls, **{name: getattr(self, name) for name in arguments}, **settings)

    model: type[_DesignTable] = create_model(
        "".join(part.title() for part in kind.split("_")),
        __base__=_DesignTable,
        __doc__=f'``kind = "{kind}"``: the arguments of ``mesa_batch.{kind}``.',
        **fields,
    )
    model.build = build  # type: ignore[attr-defined]
    return model


def _design_tables() -> dict[str, type[BaseModel]]:
    from mesa_batch import designs  # noqa: PLC0415

    tables: dict[str, type[BaseModel]] = {
        kind: _design_model(kind, getattr(designs, kind)) for kind in DESIGNS if kind != "manual"
    }
    tables["manual"] = Manual
    return {kind: tables[kind] for kind in DESIGNS}


DESIGN_TABLES: Final = _design_tables()
if TYPE_CHECKING:
    Design = BaseModel
else:
    Design = Annotated[Union[tuple(DESIGN_TABLES.values())], Field(discriminator="kind")]  # noqa: UP007


class ExperimentFile(_Strict):
    """A whole experiment file."""

    experiment: Experiment
    design: Design
    execution: Execution = Execution()
    reporters: Reporters = Reporters()
    replications: Replications | None = None


def parameter(value: Any, name: str) -> Any:
    """A TOML parameter value as a parameter: a typed table, or the plain-value rules.

    ``{ real = [low, high], num = 5, log = false }``, ``{ integer = [low, high] }``,
    ``{ categorical = [...] }``, ``{ boolean = true }``, ``{ constant = value }``,
    ``{ values = [...] }`` and ``{ distribution = "norm", loc = 0, scale = 1 }`` are typed; any
    other value follows the rules of :func:`mesa_batch.space.to_parameter`.
    """
    if not isinstance(value, dict):
        return value
    kinds = [k for k in TYPED if k in value]
    if not kinds:
        return value  # a dict constant
    if len(kinds) > 1:
        raise ValueError(f"names several parameter types {kinds}; give one")
    kind, options = kinds[0], {k: v for k, v in value.items() if k != kinds[0]}
    given = value[kind]
    try:
        return _typed(kind, given, options, name)
    except (TypeError, MesaBatchError) as error:
        raise ValueError(str(error)) from None


def _typed(kind: str, given: Any, options: dict[str, Any], name: str) -> Parameter:
    allowed = {"real": {"num", "log"}}.get(kind, set())
    if kind == "distribution":
        return _distribution(given, options, name)
    extra = set(options) - allowed
    if extra:
        raise ValueError(f"has unknown options {sorted(extra)} for {kind}")
    if kind in ("real", "integer"):
        if not isinstance(given, list) or len(given) != 2:
            raise ValueError(f"{kind} needs [low, high]; received {given!r}")
        if kind == "real":
            return Real(given[0], given[1], **options)
        return Integer(given[0], given[1])
    if kind == "boolean":
        return Boolean()
    if kind == "constant":
        return Constant(given)
    return Categorical(given) if kind == "categorical" else Values(given)


def _distribution(given: Any, options: dict[str, Any], name: str) -> Parameter:
    import numpy as np  # noqa: PLC0415
    import scipy.stats  # noqa: PLC0415

    dist = getattr(scipy.stats, str(given), None)
    if dist is None or not hasattr(dist, "ppf"):
        raise ValueError(f"{given!r} is not a scipy.stats distribution (e.g. 'norm')")
    try:
        frozen = dist(**options)
        valid = bool(np.isfinite(frozen.ppf(0.5)))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{given!r} does not take these options {options}: {error}") from None
    if not valid:
        raise ValueError(
            f"{given!r} with {options} is not a valid distribution (e.g. scale must be > 0)"
        )
    return Distribution(frozen)


# -- loading ----------------------------------------------------------------------------------


def load(path: str | pathlib.Path) -> ExperimentFile:
    """Read and validate an experiment file.

    Args:
        path: The TOML file.

    Returns:
        The validated experiment.

    Raises:
        ExperimentError: The file cannot be read, is not TOML, or breaks a rule; the message
            lists every problem with its key and line.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ExperimentError(f"{path}: cannot be read ({error.strerror or error})") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError(f"{path}: is not valid TOML: {error}") from error
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as error:
        lines = _key_lines(text)
        problems = [_describe(problem, lines) for problem in error.errors()]
        raise ExperimentError(f"{path}: " + "\n".join(problems)) from None


def _describe(problem: Mapping[str, Any], lines: Mapping[tuple[str, ...], int]) -> str:
    loc = tuple(str(part) for part in problem["loc"])
    if len(loc) >= 2 and loc[0] == "design" and loc[1] in DESIGNS:
        loc = ("design", *loc[2:])  # the discriminator pydantic puts in the path
    loc = tuple(
        p for p in loc if not re.fullmatch(r"(str|FunctionReporter|function-after\[.*\])", p)
    )
    message = str(problem["msg"]).removeprefix("Value error, ")
    named = re.match(r"\['([^']+)'\] (.*)", message, re.S)
    if named:  # a parameter's error: point at its key
        loc = (*loc, named.group(1))
        message = named.group(2)
    if problem["type"] == "union_tag_invalid":
        loc = (*loc, "kind")
    key = ".".join(loc) or "(the file)"
    line = _line(lines, loc)
    where = f"line {line}: " if line else ""
    if problem["type"] == "extra_forbidden":
        message = "is not a known key (check its spelling)"
    elif problem["type"] == "missing":
        message = "is required but missing"
    elif problem["type"] == "union_tag_invalid":
        message = f"kind must be one of {', '.join(DESIGNS)}"
    return f"{where}{key}: {message}"


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The first line of each key and table path in a TOML text (a small, tolerant scan)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            for i in range(1, len(table) + 1):
                lines.setdefault(table[:i], number)
            continue
        assignment = re.match(r'("[^"]+"|[A-Za-z0-9_.-]+)\s*=', line)
        if assignment:
            key = tuple(part.strip('"') for part in assignment.group(1).split("."))
            for i in range(1, len(key) + 1):
                lines.setdefault((*table, *key[:i]), number)
    return lines


def _line(lines: Mapping[tuple[str, ...], int], loc: Sequence[str]) -> int | None:
    for end in range(len(loc), 0, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None


# -- building ---------------------------------------------------------------------------------


def import_object(reference: str, *, what: str, base: pathlib.Path | None = None) -> Any:
    """Import ``"package.module:Name"`` or ``"path/to/file.py:Name"``.

    A file path is relative to ``base`` (the experiment file's directory). The file's directory
    is put first on ``sys.path`` and the file is imported as a module of its own name, so that
    worker processes can import it too.

    Raises:
        ExperimentError: The module or the name cannot be imported.
    """
    module_name, _, attribute = reference.rpartition(":")
    try:
        if module_name.endswith(".py"):
            file = ((base or pathlib.Path()) / module_name).resolve()
            if not file.is_file():
                raise ImportError(f"no file {file}")
            directory = str(file.parent)
            if directory not in sys.path:
                sys.path.insert(0, directory)
            module = importlib.import_module(file.stem)
        else:
            module = importlib.import_module(module_name)
        found: Any = module
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise ExperimentError(f"{what} = {reference!r} cannot be imported: {error}") from error
    return found


def configurations(
    experiment: ExperimentFile, path: str | pathlib.Path, *, seed: int | None = None
) -> list[RunConfiguration]:
    """Build the experiment's run configurations (this checks parameter names, too).

    Args:
        experiment: The validated experiment.
        path: Its file (for the line numbers of errors).
        seed: A master seed that replaces the file's.

    Returns:
        The configurations.

    Raises:
        ExperimentError: The model cannot be imported, or the design is invalid for it.
    """
    from mesa_batch import designs  # noqa: PLC0415

    spec = experiment.experiment
    base = pathlib.Path(path).parent
    model_cls = _imported(path, ("experiment", "model"), spec.model, base)
    settings: dict[str, Any] = {
        "iterations": spec.iterations,
        "max_steps": spec.max_steps,
        "data_collection_period": spec.data_collection_period,
        "seed": spec.seed if seed is None else seed,
        "common_random_numbers": spec.common_random_numbers,
    }
    if spec.scenario_cls:
        settings["scenario_cls"] = _imported(
            path, ("experiment", "scenario_cls"), spec.scenario_cls, base
        )
    for kind, kind_key, reporters in (
        ("model", "model", experiment.reporters.model),
        ("agent", "agents", experiment.reporters.agents),
    ):
        if reporters:
            settings[f"{kind}_reporters"] = {
                name: r
                if isinstance(r, str)
                else _imported(path, ("reporters", kind_key, name), r.function, None)
                for name, r in reporters.items()
            }
    design = experiment.design
    if isinstance(design, Manual) and design.csv is not None:  # relative to the file
        design = design.model_copy(update={"csv": str(base / design.csv)})
    try:
        with designs.run_limit(spec.max_runs):
            return design.build(designs, model_cls, settings)  # type: ignore[attr-defined]
    except MesaBatchError as error:
        raise ExperimentError(f"{path}: {_design_problem(path, str(error))}") from error


def _imported(
    path: str | pathlib.Path, key: tuple[str, ...], reference: str, base: pathlib.Path | None
) -> Any:
    """Import what a key of the file names; an error names the file, the line and the key."""
    try:
        return import_object(reference, what=".".join(key), base=base)
    except ExperimentError as error:
        try:
            lines = _key_lines(pathlib.Path(path).read_text())
        except OSError:
            lines = {}
        line = _line(lines, key)
        where = f"line {line}: " if line else ""
        raise ExperimentError(f"{path}: {where}{error}") from error.__cause__


def run_count(experiment: ExperimentFile) -> int | None:
    """How many runs the experiment makes, computed without building them (None: unknown).

    Only the design's own object is made (its options checked, grid levels counted without
    being built); a design whose size is not known in advance (a sparse grid, a CSV file)
    gives None, and is checked against the limit when it is built.
    """
    from mesa_batch.designs import grid, sampling, sensitivity  # noqa: PLC0415

    spec, table = experiment.experiment, experiment.design
    kind = getattr(table, "kind", None)
    design: Any
    try:
        if kind == "full_factorial":
            design = grid.FullFactorial(table.parameters)  # type: ignore[attr-defined]
        elif kind == "base_case":
            design = grid.BaseCase(table.base, table.variations)  # type: ignore[attr-defined]
        elif kind == "sample" and table.method != "grid":  # type: ignore[attr-defined]
            design = sampling.Sample(table.space, table.n, table.method)  # type: ignore[attr-defined]
        elif kind == "saltelli":
            design = sensitivity.Saltelli(
                table.space,  # type: ignore[attr-defined]
                table.n,  # type: ignore[attr-defined]
                calc_second_order=table.calc_second_order,  # type: ignore[attr-defined]
            )
        elif kind == "morris":
            design = sensitivity.Morris(
                table.space,  # type: ignore[attr-defined]
                table.trajectories,  # type: ignore[attr-defined]
                num_levels=table.num_levels,  # type: ignore[attr-defined]
                optimal_trajectories=table.optimal_trajectories,  # type: ignore[attr-defined]
            )
        elif kind == "fast":
            design = sensitivity.Fast(table.space, table.n, M=table.M)  # type: ignore[attr-defined]
        elif isinstance(table, Manual) and table.points is not None:
            return len(table.points) * spec.iterations
        else:
            return None
        points = design.count()
    except MesaBatchError:
        return None  # building the configurations reports it, with its line
    return None if points is None else points * spec.iterations


def _design_problem(path: str | pathlib.Path, message: str) -> str:
    """Prefix a design's error with the line of the key it names, e.g. ``parameters['n']``."""
    try:
        lines = _key_lines(pathlib.Path(path).read_text())
    except OSError:
        lines = {}
    named = re.match(r"(parameters|space|base|variations|points)\['([^']+)'\]", message)
    option = re.match(r"([a-z_]+) must ", message)
    if named is not None:
        section, name = named.groups()
        line = _line(lines, ("design", section, name))
        return f"{f'line {line}: ' if line else ''}design.{section}.{name}: {message}"
    if option is not None and ("design", option.group(1)) in lines:
        line = lines[("design", option.group(1))]
        return f"line {line}: design.{option.group(1)}: {message}"
    return f"design: {message}"


def store_of(experiment: ExperimentFile, path: str | pathlib.Path) -> pathlib.Path:
    """The experiment's store: ``[experiment] store``, else ``results/<file name>``.

    Relative paths are relative to the experiment file's directory, like every path in it.
    """
    path = pathlib.Path(path)
    store = pathlib.Path(experiment.experiment.store or pathlib.Path("results") / path.stem)
    return store if store.is_absolute() else path.parent / store
