"""Typed model parameters and parameter spaces.

A parameter type knows two things: how to map samples from the unit interval to values
(``from_unit``, used by the sampled and sensitivity designs) and, when it has finitely many
values, what they are (``levels``, used by the grid designs).

========================  =====================================  ==========================
type                      values                                 levels (for grids)
========================  =====================================  ==========================
``Real(low, high)``       floats in ``[low, high]``              ``num`` evenly spaced, if
                                                                 ``num=`` is given
``Integer(low, high)``    ints ``low .. high`` (both included)    all of them
``Categorical(values)``   one of ``values``                      ``values``
``Boolean()``             ``False`` or ``True``                  both
``Constant(value)``       always ``value``                       ``value``
``Values(values)``        one of ``values`` (the sweep marker)   ``values``
``Distribution(dist)``    a scipy frozen distribution's ``ppf``  none
========================  =====================================  ==========================

Plain values in a parameter mapping follow fixed rules (:func:`to_parameter`): lists, tuples,
ranges, numpy arrays, pandas Series and iterators are swept (as ``Values``); strings, bytes,
dicts and every other scalar are constants; sets are refused (they have no order), and so are
file objects (they would be swept over their lines); an empty sweep is an error. Wrap any value in ``Values([...])`` to sweep it, dicts included, or in
``Constant(...)`` to keep a list fixed.
"""

from __future__ import annotations

import io
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final

import numpy as np

from mesa_batch.errors import ParameterError, problem

__all__ = [
    "Boolean",
    "Categorical",
    "Constant",
    "Distribution",
    "Integer",
    "Parameter",
    "ParameterSpace",
    "Real",
    "Values",
    "to_parameter",
]

#: Unbounded distributions map the unit values 0 and 1 to these quantiles instead of -inf/+inf.
TAIL_QUANTILE: Final = 1e-6


class Parameter(ABC):
    """A typed model parameter.

    Subclasses implement :meth:`from_unit`, :meth:`contains` and, when they have finitely many
    values, :attr:`levels`.
    """

    __slots__ = ()

    @abstractmethod
    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map samples from the unit interval ``[0, 1]`` to parameter values.

        Args:
            u: A 1-D array of floats in ``[0, 1]``.

        Returns:
            One value per sample, as plain Python objects.
        """

    @abstractmethod
    def contains(self, value: object) -> bool:
        """Whether ``value`` is a value this parameter can take."""

    @property
    def levels(self) -> tuple[Any, ...] | None:
        """The finitely many values of this parameter, or None if it is continuous."""
        return None

    @property
    def is_constant(self) -> bool:
        """Whether this parameter has exactly one value (it is then not a design dimension)."""
        return False


_INTS = (int, np.integer)
_REALS = (int, float, np.integer, np.floating)


def _check_number(owner: str, name: str, value: object, kind: tuple[type, ...]) -> None:
    if isinstance(value, bool) or not isinstance(value, kind):
        kind_name = "an int" if kind is _INTS else "a real number"
        raise ParameterError(problem(f"{owner} {name}", f"must be {kind_name}", value))
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(problem(f"{owner} {name}", "must be finite", value))


class Real(Parameter):
    """A real number in ``[low, high]``.

    Args:
        low: The lower bound.
        high: The upper bound, greater than ``low``.
        num: How many evenly spaced levels a grid design uses (at least 2); without it a grid
            design cannot sweep this parameter.
        log: Whether values are spread evenly on a log scale (needs ``low > 0``).

    Examples:
        >>> Real(0.0, 1.0).from_unit(np.array([0.0, 0.5, 1.0]))
        [0.0, 0.5, 1.0]
        >>> Real(0.0, 1.0, num=3).levels
        (0.0, 0.5, 1.0)
    """

    __slots__ = ("high", "log", "low", "num")

    def __init__(self, low: float, high: float, *, num: int | None = None, log: bool = False):
        for name, value in (("low", low), ("high", high)):
            _check_number("Real", name, value, _REALS)
        self.low = float(low)
        self.high = float(high)
        if not self.low < self.high:
            fix = f"Use Constant({low!r}) for a fixed value." if low == high else "Swap them."
            raise ParameterError(problem("Real low", "must be less than high", (low, high), fix))
        if num is not None:
            _check_number("Real", "num", num, _INTS)
            if num < 2:
                raise ParameterError(problem("Real num", "must be at least 2", num))
        self.num = None if num is None else int(num)
        if log and self.low <= 0:
            raise ParameterError(problem("Real low", "must be positive when log=True", low))
        self.log = bool(log)

    def from_unit(self, u: np.ndarray) -> list[Any]:  # noqa: D102
        u = np.asarray(u, dtype=float)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            values = np.exp(lo + u * (hi - lo))
        else:
            values = self.low + u * (self.high - self.low)
        return list(np.clip(values, self.low, self.high).tolist())

    def contains(self, value: object) -> bool:  # noqa: D102
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and bool(self.low <= value <= self.high)
        )

    @property
    def levels(self) -> tuple[Any, ...] | None:  # noqa: D102
        if self.num is None:
            return None
        return tuple(self.from_unit(np.linspace(0.0, 1.0, self.num)))

    def __repr__(self) -> str:
        options = "".join(
            [f", num={self.num}" if self.num is not None else "", ", log=True" if self.log else ""]
        )
        return f"Real({self.low!r}, {self.high!r}{options})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Real) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class Integer(Parameter):
    """An integer in ``low .. high``, both included.

    Args:
        low: The smallest value.
        high: The largest value, greater than ``low``.

    Examples:
        >>> Integer(1, 3).levels
        (1, 2, 3)
        >>> Integer(1, 3).from_unit(np.array([0.0, 0.5, 1.0]))
        [1, 2, 3]
    """

    __slots__ = ("high", "low")

    def __init__(self, low: int, high: int):
        for name, value in (("low", low), ("high", high)):
            _check_number("Integer", name, value, _INTS)
        self.low = int(low)
        self.high = int(high)
        if not self.low < self.high:
            fix = f"Use Constant({low!r}) for a fixed value." if low == high else "Swap them."
            raise ParameterError(problem("Integer low", "must be less than high", (low, high), fix))

    def from_unit(self, u: np.ndarray) -> list[Any]:  # noqa: D102
        u = np.asarray(u, dtype=float)
        values = self.low + np.floor(u * (self.high - self.low + 1)).astype(np.int64)
        return list(np.clip(values, self.low, self.high).tolist())

    def contains(self, value: object) -> bool:  # noqa: D102
        return (
            isinstance(value, int | np.integer)
            and not isinstance(value, bool)
            and bool(self.low <= value <= self.high)
        )

    @property
    def levels(self) -> tuple[Any, ...]:  # noqa: D102
        return tuple(range(self.low, self.high + 1))

    def __repr__(self) -> str:
        return f"Integer({self.low!r}, {self.high!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Integer) and (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash((Integer, self.low, self.high))


class Categorical(Parameter):
    """One of a finite sequence of values, in the order given.

    Args:
        values: The values; at least one. Any objects, including dicts and lists.

    Examples:
        >>> Categorical(["a", "b"]).from_unit(np.array([0.0, 0.49, 0.5, 1.0]))
        ['a', 'a', 'b', 'b']
    """

    __slots__ = ("values",)
    _name: ClassVar[str] = "Categorical"

    def __init__(self, values: Iterable[Any]):
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise ParameterError(
                problem(
                    f"{self._name} values",
                    "must be a list of values",
                    values,
                    f"Wrap a single value in a list: {self._name}([{values!r}]).",
                )
            )
        self.values: tuple[Any, ...] = tuple(values)
        if not self.values:
            raise ParameterError(
                problem(
                    f"{self._name} values", "must not be empty", values, "Give at least one value."
                )
            )

    def from_unit(self, u: np.ndarray) -> list[Any]:  # noqa: D102
        u = np.asarray(u, dtype=float)
        k = len(self.values)
        index = np.clip(np.floor(u * k).astype(np.int64), 0, k - 1)
        return [self.values[i] for i in index.tolist()]

    def contains(self, value: object) -> bool:  # noqa: D102
        return any(_same(value, v) for v in self.values)

    @property
    def levels(self) -> tuple[Any, ...]:  # noqa: D102
        return self.values

    @property
    def is_constant(self) -> bool:  # noqa: D102
        return False

    def __repr__(self) -> str:
        return f"{self._name}({list(self.values)!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class Values(Categorical):
    """The explicit sweep marker: sweep over exactly these values, whatever they are.

    In a plain parameter mapping a dict or a string is a constant; ``Values([...])`` sweeps
    anything, dicts included.

    Examples:
        >>> Values([{"h": 10}, {"h": 20}]).levels
        ({'h': 10}, {'h': 20})
    """

    __slots__ = ()
    _name: ClassVar[str] = "Values"


class Boolean(Categorical):
    """``False`` or ``True``.

    Examples:
        >>> Boolean().levels
        (False, True)
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((False, True))

    def __repr__(self) -> str:
        return "Boolean()"


class Constant(Parameter):
    """A fixed value, passed to every run unchanged (a list stays a list).

    Examples:
        >>> Constant([1, 2]).levels
        ([1, 2],)
    """

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def from_unit(self, u: np.ndarray) -> list[Any]:  # noqa: D102
        return [self.value] * len(np.asarray(u))

    def contains(self, value: object) -> bool:  # noqa: D102
        return _same(value, self.value)

    @property
    def levels(self) -> tuple[Any, ...]:  # noqa: D102
        return (self.value,)

    @property
    def is_constant(self) -> bool:  # noqa: D102
        return True

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constant) and _same(self.value, other.value)

    def __hash__(self) -> int:
        return hash(repr(self))


class Distribution(Parameter):
    """Values drawn through a scipy frozen distribution's inverse CDF (``ppf``).

    Sampled designs place points in the unit cube; this maps them to the distribution's
    quantiles, so a Latin hypercube stays a Latin hypercube in probability. Unbounded
    distributions map the unit values 0 and 1 to the ``TAIL_QUANTILE`` and
    ``1 - TAIL_QUANTILE`` quantiles. Discrete distributions give ints.

    Args:
        dist: A frozen distribution, e.g. ``scipy.stats.norm(loc=0, scale=1)``.

    Examples:
        >>> import scipy.stats
        >>> Distribution(scipy.stats.uniform(loc=2, scale=4)).from_unit(np.array([0.5]))
        [4.0]
    """

    __slots__ = ("dist",)

    def __init__(self, dist: Any):
        if not _is_frozen_distribution(dist):
            raise ParameterError(
                problem(
                    "Distribution dist",
                    "must be a scipy.stats frozen distribution",
                    dist,
                    "Call the distribution with its parameters, e.g. scipy.stats.norm(0, 1).",
                )
            )
        self.dist = dist

    @property
    def discrete(self) -> bool:
        """Whether the distribution is discrete (its values are ints)."""
        import scipy.stats  # noqa: PLC0415

        return isinstance(self.dist.dist, scipy.stats.rv_discrete)

    def from_unit(self, u: np.ndarray) -> list[Any]:  # noqa: D102
        u = np.asarray(u, dtype=float)
        values = np.asarray(self.dist.ppf(u), dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            clipped = np.clip(u[bad], TAIL_QUANTILE, 1 - TAIL_QUANTILE)
            values[bad] = self.dist.ppf(clipped)
        # scipy's discrete ppf(0) is one below the support; keep every value inside it.
        values = np.clip(values, *self.dist.support())
        if self.discrete:
            return list(values.astype(np.int64).tolist())
        return list(values.tolist())

    def contains(self, value: object) -> bool:  # noqa: D102
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            return False
        low, high = self.dist.support()
        return bool(low <= value <= high)

    def __repr__(self) -> str:
        args = [repr(a) for a in self.dist.args]
        args += [f"{k}={v!r}" for k, v in self.dist.kwds.items()]
        return f"Distribution(scipy.stats.{self.dist.dist.name}({', '.join(args)}))"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Distribution) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


def _is_frozen_distribution(value: object) -> bool:
    return hasattr(value, "ppf") and hasattr(value, "dist") and hasattr(value, "support")


def _same(a: object, b: object) -> bool:
    """Equality that tolerates values whose ``==`` is elementwise (numpy arrays)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


def to_parameter(value: object, *, what: str = "parameter") -> Parameter:
    """Turn a plain value from a parameter mapping into a parameter type.

    The rules (the same for every design):

    * a :class:`Parameter` is kept, and a scipy frozen distribution becomes a ``Distribution``;
    * lists, tuples, ranges, numpy arrays (one level per row), pandas Series/Index and
      iterators are swept: they become ``Values``;
    * strings, bytes, dicts and every other scalar are constants;
    * sets are refused (they have no order), file objects too (iterating one reads its lines),
      and so is an empty sweep.

    Args:
        value: The value from the mapping.
        what: How to name the value in error messages, e.g. ``"parameters['n']"``.

    Returns:
        The parameter type.

    Raises:
        ParameterError: The value is a set, a file object or an empty sweep.

    Examples:
        >>> to_parameter([1, 2])
        Values([1, 2])
        >>> to_parameter({"h": 10})
        Constant({'h': 10})
        >>> to_parameter("abc")
        Constant('abc')
    """
    if isinstance(value, Parameter):
        return value
    if _is_frozen_distribution(value):
        return Distribution(value)
    if isinstance(value, str | bytes | bytearray | Mapping):
        return Constant(value)
    refuse_file_object(value, what=what)
    if isinstance(value, set | frozenset):
        raise ParameterError(
            problem(
                what,
                "must not be a set: a set has no order to sweep in",
                value,
                "Sweep a sorted list instead, or wrap it in Constant(...) to pass the set as is.",
            )
        )
    swept = _swept_values(value)
    if swept is None:
        return Constant(value)
    if not swept:
        raise ParameterError(
            problem(what, "must not be an empty sweep", value, "Give at least one value.")
        )
    return Values(swept)


def refuse_file_object(value: object, *, what: str) -> None:
    """Refuse an open file as a parameter value: iterating it would sweep over its lines.

    Args:
        value: The value from a parameter mapping.
        what: How to name the value in the message, e.g. ``"parameters['data']"``.

    Raises:
        ParameterError: The value is a file object (``io.IOBase``, or a wrapper of one such as
            ``tempfile.NamedTemporaryFile``).

    Examples:
        >>> import io
        >>> refuse_file_object(io.StringIO("1 2"), what="n")
        Traceback (most recent call last):
        ...
        mesa_batch.errors.ParameterError: n must not be a file object: ...
    """
    if isinstance(value, io.IOBase) or isinstance(getattr(value, "file", None), io.IOBase):
        raise ParameterError(
            problem(
                what,
                "must not be a file object: it would be swept over its lines",
                value,
                "Read the values first (e.g. [float(line) for line in f]) or pass the file's "
                "path as a string.",
            )
        )


def _swept_values(value: object) -> list[Any] | None:
    """The values a plain value sweeps over, or None if it is a constant."""
    if isinstance(value, list | tuple | range):
        return list(value)
    if isinstance(value, np.ndarray):
        return None if value.ndim == 0 else list(value.tolist())
    if type(value).__module__.startswith("pandas") and hasattr(value, "tolist"):
        return list(value.tolist())  # Series, Index
    if isinstance(value, Iterator):
        return list(value)
    return None


class ParameterSpace(Mapping[str, Parameter]):
    """An ordered mapping from parameter names to parameter types.

    Built from any mapping; plain values follow the rules of :func:`to_parameter`. The order of
    names is the order given, and it is the order of the columns of a sampled design.

    Args:
        parameters: Names mapped to parameter types or plain values.
        what: How to name the mapping in error messages.

    Examples:
        >>> space = ParameterSpace({"n": Integer(10, 100), "width": 10})
        >>> space
        ParameterSpace({'n': Integer(10, 100), 'width': Constant(10)})
        >>> space.varying
        ('n',)
        >>> space.from_unit(np.array([[0.0], [1.0]]))
        [{'n': 10, 'width': 10}, {'n': 100, 'width': 10}]
    """

    __slots__ = ("_parameters",)

    def __init__(self, parameters: Mapping[str, Any], *, what: str = "parameters"):
        if isinstance(parameters, ParameterSpace):
            self._parameters: dict[str, Parameter] = dict(parameters)
            return
        if not isinstance(parameters, Mapping):
            raise ParameterError(
                problem(
                    what,
                    "must be a mapping of parameter names to values",
                    parameters,
                    "Pass a dict such as {'n': [10, 50], 'width': 10}.",
                )
            )
        self._parameters = {
            name: to_parameter(value, what=f"{what}[{name!r}]")
            for name, value in parameters.items()
        }

    def __getitem__(self, name: str) -> Parameter:
        return self._parameters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def __repr__(self) -> str:
        return f"ParameterSpace({self._parameters!r})"

    @property
    def varying(self) -> tuple[str, ...]:
        """The names of the parameters that are design dimensions (not constants)."""
        return tuple(name for name, p in self._parameters.items() if not p.is_constant)

    @property
    def constants(self) -> dict[str, Any]:
        """The constant parameters and their values."""
        return {name: p.value for name, p in self._parameters.items() if isinstance(p, Constant)}

    def from_unit(self, u: np.ndarray) -> list[dict[str, Any]]:
        """Map unit-cube samples, one column per varying parameter, to parameter points.

        Args:
            u: An array of shape ``(n, len(self.varying))`` with values in ``[0, 1]``.

        Returns:
            ``n`` points, each a dict holding every parameter (constants included) in the order
            of this space.
        """
        u = np.asarray(u, dtype=float)
        varying = self.varying
        if u.ndim != 2 or u.shape[1] != len(varying):
            raise ParameterError(
                problem("unit samples", f"must have shape (n, {len(varying)})", u.shape)
            )
        columns = {name: self[name].from_unit(u[:, j]) for j, name in enumerate(varying)}
        constants = self.constants
        return [
            {
                name: (columns[name][i] if name in columns else constants[name])
                for name in self._parameters
            }
            for i in range(u.shape[0])
        ]

    def contains(self, point: Mapping[str, Any]) -> bool:
        """Whether a point has exactly this space's names, each with a value it can take."""
        return set(point) == set(self._parameters) and all(
            self._parameters[name].contains(value) for name, value in point.items()
        )


#: The most levels one parameter of a grid design may have (more could never run: see
#: ``mesa_batch.designs.MAX_RUNS``), checked before any level is built.
MAX_LEVELS: Final = 10_000_000


def level_count(parameter: Parameter) -> int | None:
    """How many levels a parameter has, computed without building them (None: continuous)."""
    if isinstance(parameter, Real):
        return parameter.num
    if isinstance(parameter, Integer):
        return parameter.high - parameter.low + 1
    levels = parameter.levels
    return None if levels is None else len(levels)


def level_sequences(space: ParameterSpace, *, what: str) -> list[Sequence[Any]]:
    """The levels of every parameter of a space, for grid designs.

    Args:
        space: The space.
        what: How to name the mapping in error messages.

    Returns:
        One sequence of levels per parameter, in the space's order.

    Raises:
        ParameterError: A parameter has no finite levels (a ``Real`` without ``num``, a
            ``Distribution``).
    """
    levels: list[Sequence[Any]] = []
    for name, parameter in space.items():
        count = level_count(parameter)
        if count is not None and count > MAX_LEVELS:
            raise ParameterError(
                problem(
                    f"{what}[{name!r}]",
                    f"must have at most {MAX_LEVELS:,} levels for a grid",
                    f"{parameter!r} ({count:,} levels)",
                    "Use fewer levels, or a sampled design such as sample(...).",
                )
            )
        values = parameter.levels
        if values is None:
            fix = (
                f"Give it levels, e.g. Real({parameter.low!r}, {parameter.high!r}, num=5), or a list."
                if isinstance(parameter, Real)
                else "Use a list of values, or a sampled design such as sample(...)."
            )
            raise ParameterError(
                problem(
                    f"{what}[{name!r}]", "must have finitely many levels for a grid", parameter, fix
                )
            )
        levels.append(values)
    return levels
