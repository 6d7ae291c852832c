"""What a store records about runs and designs, and how it is read back.

A plan row holds everything that defines a run (its parameters in the safe encoding of
:mod:`mesa_batch.store.encoding`, its seed, run settings, design, point and reporters); a
design record holds a design's name, options, master seed, parameter space and unit-cube
sample. Reading them back never imports or runs anything, except where a caller asks for
configurations: then the model (and function reporters) are imported by their recorded paths.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.config import DesignInfo, RunConfiguration, parameters_identity
from mesa_batch.keys import MasterSeed
from mesa_batch.store.encoding import Opaque, decode, dumps, encode, encode_parameters, loads

if TYPE_CHECKING:
    from mesa_batch.space import Parameter, ParameterSpace

__all__ = [
    "PLAN_FORMAT",
    "design_from_record",
    "design_record",
    "import_path",
    "plan_table",
    "plan_version_2",
    "reporters_from_text",
]

#: The schema metadata key and value that mark a plan part of store format version 2.
PLAN_FORMAT: Final = (b"mesa_batch.plan", b"2")


def plan_version_2(schema: Any) -> bool:
    """Whether a plan part's Arrow schema is that of format version 2 (its metadata says so)."""
    return bool((schema.metadata or {}).get(PLAN_FORMAT[0]) == PLAN_FORMAT[1])


#: An import path the store may name: ``package.module:Qual.Name``, identifiers only.
IMPORT_PATH: Final = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


# -- plan rows --------------------------------------------------------------------------------


def plan_table(configs: Sequence[RunConfiguration]) -> Any:
    """The plan rows of configurations as an Arrow table (format version 2)."""
    import pyarrow as pa  # noqa: PLC0415

    encoded: dict[object, tuple[str, bool]] = {}  # each point's parameters encoded once
    texts, exact = [], []
    for config in configs:
        point = parameters_identity(config)
        found = encoded.get(point)
        if found is None:
            found = encoded[point] = encode_parameters(config.parameters)
        texts.append(found[0])
        exact.append(found[1])
    columns = {
        "run_id": pa.array([c.run_id for c in configs], pa.int64()),
        "key": pa.array([c.key for c in configs], pa.string()),
        "point_key": pa.array([c.point_key for c in configs], pa.string()),
        "iteration": pa.array([c.iteration for c in configs], pa.int64()),
        "occurrence": pa.array([c.occurrence for c in configs], pa.int64()),
        "point": pa.array([c.point for c in configs], pa.int64()),
        "seed": pa.array([c.seed for c in configs], pa.uint64()),
        "max_steps": pa.array([c.max_steps for c in configs], pa.int64()),
        "data_collection_period": pa.array([c.data_collection_period for c in configs], pa.int64()),
        "model": pa.array([c.model_path for c in configs], pa.string()),
        "design": pa.array([c.design.id if c.design else None for c in configs], pa.string()),
        "design_name": pa.array([c.design.name if c.design else None for c in configs]),
        "scenario_cls": pa.array([_path(c.scenario_cls) for c in configs], pa.string()),
        "reporters": pa.array([reporters_text(c) for c in configs], pa.string()),
        "parameters": pa.array(texts, pa.string()),
        "parameters_exact": pa.array(exact, pa.bool_()),
    }
    return pa.table(columns).replace_schema_metadata(dict([PLAN_FORMAT]))


def _path(cls: type | None) -> str | None:
    return None if cls is None else f"{cls.__module__}:{cls.__qualname__}"


def reporters_text(config: RunConfiguration) -> str | None:
    """A configuration's reporters as JSON: attribute names as data, functions by name only."""
    if not config.model_reporters and not config.agent_reporters:
        return None
    record = {}
    for kind, reporters in (("model", config.model_reporters), ("agents", config.agent_reporters)):
        record[kind] = {
            name: {"attribute": reporter}
            if isinstance(reporter, str)
            else {"function": _function_path(reporter)}
            for name, reporter in (reporters or {}).items()
        }
    return dumps(record)


def _function_path(function: Any) -> str:
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}:{name}"


def reporters_from_text(text: object) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The reporters of a plan row, functions imported by name (an unimportable one raises).

    Raises:
        ImportError: A function reporter cannot be imported by its recorded name (a lambda or
            a function defined inside another one).
    """
    data = loads(text) if text is not None else None
    if not isinstance(data, dict):
        return None, None
    found: list[dict[str, Any] | None] = []
    for kind in ("model", "agents"):
        reporters: dict[str, Any] = {}
        for name, spec in (data.get(kind) or {}).items():
            if isinstance(spec, dict) and isinstance(spec.get("attribute"), str):
                reporters[str(name)] = spec["attribute"]
            elif isinstance(spec, dict) and isinstance(spec.get("function"), str):
                reporters[str(name)] = import_path(spec["function"])
        found.append(reporters or None)
    return found[0], found[1]


def import_path(path: str) -> Any:
    """Import ``package.module:Qual.Name`` (only identifiers: never a file or an expression).

    Raises:
        ImportError: The path is not of that form, or the module or name is not there.
    """
    if not isinstance(path, str) or not IMPORT_PATH.match(path):
        raise ImportError(f"{path!r} is not an import path of the form 'package.module:Name'")
    module_name, _, attribute = path.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as error:
            raise ImportError(f"{path!r}: {module_name} has no {attribute}") from error
    return found


# -- design records ---------------------------------------------------------------------------


def design_record(info: DesignInfo) -> dict[str, Any]:
    """A design as the JSON record ``designs/<id>.json`` (its sample matrix goes apart)."""
    options, _ = encode(dict(info.options))
    return {
        "id": info.id,
        "name": info.name,
        "options": options,
        "seed": {
            "entropy": info.seed.entropy,
            "spawn_key": list(info.seed.spawn_key),
            "drawn": info.seed.drawn,
        },
        "common_random_numbers": bool(info.common_random_numbers),
        "n_points": info.n_points,
        "space": None if info.space is None else space_record(info.space),
        "varying": list(info.varying),
        "problem": info.problem,
        "samples": None if info.samples is None else f"{info.id}.samples.parquet",
    }


def design_from_record(record: Mapping[str, Any], samples: np.ndarray | None) -> DesignInfo | None:
    """A design read back from its record (None when the record is not a valid one)."""
    try:
        seed = record["seed"]
        master = MasterSeed(
            int(seed["entropy"]),
            tuple(int(k) for k in seed.get("spawn_key", ())),
            drawn=bool(seed.get("drawn", False)),
        )
        options = decode(record.get("options") or {})
        info = DesignInfo(
            name=str(record["name"]),
            options=options if isinstance(options, dict) else {},
            seed=master,
            common_random_numbers=bool(record.get("common_random_numbers", False)),
            n_points=int(record["n_points"]),
            space=space_from_record(record.get("space")),
            samples=samples,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return info


def space_record(space: ParameterSpace) -> list[dict[str, Any]]:
    """A parameter space as data: one spec per parameter, in order."""
    return [{"name": name, **_parameter_record(parameter)} for name, parameter in space.items()]


def _parameter_record(parameter: Parameter) -> dict[str, Any]:
    from mesa_batch import space as types  # noqa: PLC0415

    record: dict[str, Any] = {"repr": repr(parameter)}
    if isinstance(parameter, types.Real):
        record |= {"kind": "real", "low": parameter.low, "high": parameter.high}
        record |= {"num": parameter.num, "log": parameter.log}
    elif isinstance(parameter, types.Integer):
        record |= {"kind": "integer", "low": parameter.low, "high": parameter.high}
    elif isinstance(parameter, types.Boolean):
        record["kind"] = "boolean"
    elif isinstance(parameter, types.Categorical):  # Values too
        kind = "values" if isinstance(parameter, types.Values) else "categorical"
        record |= {"kind": kind, "values": encode(list(parameter.values))[0]}
    elif isinstance(parameter, types.Constant):
        record |= {"kind": "constant", "value": encode(parameter.value)[0]}
    else:  # a Distribution: kept as text (rebuilding it would mean naming scipy code)
        low, high = parameter.dist.support() if hasattr(parameter, "dist") else (None, None)
        record |= {"kind": "distribution", "support": [_finite(low), _finite(high)]}
    return record


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def space_from_record(record: object) -> ParameterSpace | None:
    """A parameter space from its record (None if a parameter cannot be rebuilt from data)."""
    from mesa_batch import space as types  # noqa: PLC0415

    if not isinstance(record, list):
        return None
    parameters: dict[str, Parameter] = {}
    for spec in record:
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind == "real":
            parameters[spec["name"]] = types.Real(
                spec["low"], spec["high"], num=spec.get("num"), log=bool(spec.get("log"))
            )
        elif kind == "integer":
            parameters[spec["name"]] = types.Integer(spec["low"], spec["high"])
        elif kind == "boolean":
            parameters[spec["name"]] = types.Boolean()
        elif kind in ("categorical", "values"):
            values = decode(spec.get("values"))
            cls = types.Values if kind == "values" else types.Categorical
            parameters[spec["name"]] = cls(values)
        elif kind == "constant":
            parameters[spec["name"]] = types.Constant(decode(spec.get("value")))
        else:
            return None
    return types.ParameterSpace(parameters)


# -- configurations from plan rows -----------------------------------------------------------


def configuration(
    row: Mapping[str, Any],
    parameters: Mapping[str, Any],
    model_cls: type,
    designs: Mapping[str, DesignInfo],
) -> RunConfiguration:
    """A run's configuration rebuilt from its plan row and decoded parameters.

    Raises:
        MesaBatchError: The row does not make a valid configuration for ``model_cls``.
        ImportError: Its scenario class or a function reporter cannot be imported.
    """
    scenario = row.get("scenario_cls")
    model_reporters, agent_reporters = reporters_from_text(row.get("reporters"))
    design = designs.get(str(row.get("design"))) if row.get("design") else None
    return RunConfiguration(
        model_cls=model_cls,
        parameters=dict(parameters),
        run_id=int(row["run_id"]),
        iteration=int(row["iteration"]),
        max_steps=int(row["max_steps"]),
        data_collection_period=int(row["data_collection_period"]),
        seed=int(row["seed"]),
        occurrence=int(row.get("occurrence") or 0),
        point=int(row.get("point") or 0),
        design=design,
        scenario_cls=import_path(scenario) if isinstance(scenario, str) else None,
        model_reporters=model_reporters,
        agent_reporters=agent_reporters,
    )


def has_opaque(value: Any) -> bool:
    """Whether a decoded value holds an :class:`Opaque` anywhere."""
    if isinstance(value, Opaque):
        return True
    if isinstance(value, dict):
        return any(has_opaque(k) or has_opaque(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_opaque(v) for v in value)
    return False
