"""The exception tree of mesa_batch, its warnings, and the one template its messages follow.

Every error mesa_batch raises derives from :class:`MesaBatchError`. Errors about bad input also
derive from the built-in exception that describes them (``ValueError``, ``TypeError``,
``OSError``...), so ``except ValueError`` keeps working for callers who do not know this package::

    MesaBatchError
    ├── ConfigurationError (ValueError)      a run configuration or setting is invalid
    │   ├── ParameterError                   a parameter, its name or its values
    │   ├── DesignError                      a design cannot be built from its arguments
    │   ├── ExperimentError                  an experiment file breaks a rule
    │   └── StoreConflictError               configurations that do not fit a store
    ├── ModelClassError (TypeError)          not a Mesa model class, or not introspectable
    ├── DataNotFoundError (LookupError)      a model has no data source
    ├── StoreLockedError (RuntimeError)      another process writes to the store
    ├── StoreWriteError (OSError)            a store file could not be written
    ├── ExecutorBrokenError (RuntimeError)   an executor passed in broke
    └── MissingExtraError (ImportError)      an optional backend is not installed

``Interrupted`` (a ``KeyboardInterrupt``) ends a sweep stopped by Ctrl-C; ``RunFailedWarning``
and ``NotReproducibleWarning`` report what a sweep found without stopping it.

Messages follow one template, built by :func:`problem`: *what* is wrong (the parameter), the
*rule* it breaks, what was *received*, and, when there is one, *how to fix it*.
"""

from __future__ import annotations

import numbers
import reprlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesa_batch.results import Results

__all__ = [
    "ConfigurationError",
    "DataNotFoundError",
    "DesignError",
    "ExecutorBrokenError",
    "ExperimentError",
    "Interrupted",
    "MesaBatchError",
    "MissingExtraError",
    "ModelClassError",
    "NotReproducibleWarning",
    "ParameterError",
    "RunFailedWarning",
    "SeedAdoptedWarning",
    "StoreConflictError",
    "StoreLockedError",
    "StoreWriteError",
    "check_int",
    "problem",
]

_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80
_short.maxlist = 8
_short.maxdict = 8


class MesaBatchError(Exception):
    """Base class of every error raised by mesa_batch."""


class ConfigurationError(MesaBatchError, ValueError):
    """A run configuration or one of its settings is invalid."""


class ParameterError(ConfigurationError):
    """A model parameter, its name or its values are invalid."""


class DesignError(ConfigurationError):
    """An experimental design cannot be built from the arguments given."""


class ExperimentError(ConfigurationError):
    """An experiment file is invalid; the message names each key, its line and the fix."""


class StoreConflictError(ConfigurationError):
    """The configurations do not fit the store (another model, or a run with another seed)."""


class ModelClassError(MesaBatchError, TypeError):
    """The model class is not a Mesa ``Model`` subclass or cannot be introspected."""


class DataNotFoundError(MesaBatchError, LookupError):
    """A model has no data source: no reporters, no DataCollector, no DataRecorder."""


class StoreLockedError(MesaBatchError, RuntimeError):
    """Another process is writing to the store."""


class StoreWriteError(MesaBatchError, OSError):
    """A store file could not be written (disk full, file too large, permissions)."""


class ExecutorBrokenError(MesaBatchError, RuntimeError):
    """An executor passed to the runner broke; the runs that finished are kept."""


class MissingExtraError(MesaBatchError, ImportError):
    """An optional backend is used but not installed."""


class Interrupted(KeyboardInterrupt):
    """The sweep was interrupted (Ctrl-C); ``results`` holds every run that finished."""

    def __init__(self, results: Results):
        super().__init__("sweep interrupted")
        self.results = results


class RunFailedWarning(UserWarning):
    """Some runs of a sweep failed; the others completed (see ``Results.failures``)."""


class NotReproducibleWarning(UserWarning):
    """Runs run again with their recorded seed gave other data: the model is not reproducible."""


class SeedAdoptedWarning(UserWarning):
    """A design that drew fresh entropy took the master seed recorded in the store instead."""


def problem(what: str, rule: str, received: object, fix: str | None = None) -> str:
    """Format an error message from the project's template.

    Args:
        what: The parameter or object at fault, e.g. ``"max_steps"``.
        rule: The rule it breaks, phrased to follow ``what``, e.g. ``"must be a positive int"``.
        received: The value that was received; shown with a shortened ``repr``.
        fix: How to fix it, as a full sentence, when there is a fix to suggest.

    Returns:
        The message, e.g. ``"max_steps must be a positive int; received 0. Pass ..."``.

    Examples:
        >>> problem("max_steps", "must be a positive int", 0, "Pass e.g. max_steps=100.")
        'max_steps must be a positive int; received 0. Pass e.g. max_steps=100.'
    """
    message = f"{what} {rule}; received {_short.repr(received)}."
    return f"{message} {fix}" if fix else message


def check_int(
    what: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fix: str | None = None,
    rule: str | None = None,
    error: type[MesaBatchError] = ConfigurationError,
) -> int:
    """Check that a value is an int (not a bool) in ``[minimum, maximum]``; return it as int.

    numpy integers are accepted and returned as Python ints.

    Args:
        what: The argument's name in the message.
        value: The value.
        minimum: The smallest value allowed, if any.
        maximum: The largest value allowed, if any.
        fix: How to fix it, as a sentence.
        rule: The rule, when the one made from the bounds does not read well.
        error: The exception class to raise.

    Returns:
        The value as an ``int``.

    Raises:
        MesaBatchError: ``error``, with the project's message.

    Examples:
        >>> check_int("iterations", 3, minimum=1)
        3
        >>> check_int("iterations", 0, minimum=1)
        Traceback (most recent call last):
        ...
        mesa_batch.errors.ConfigurationError: iterations must be a positive int; received 0.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    number: Any = value
    if ok and (minimum is None or number >= minimum) and (maximum is None or number <= maximum):
        return int(number)
    if rule is not None:
        pass
    elif minimum == 1 and maximum is None:
        rule = "must be a positive int"
    elif minimum is not None and maximum is not None:
        rule = f"must be an int in [{minimum}, {maximum}]"
    elif minimum is not None:
        rule = f"must be an int >= {minimum}"
    elif maximum is not None:
        rule = f"must be an int <= {maximum}"
    else:
        rule = "must be an int"
    raise error(problem(what, rule, value, fix))
