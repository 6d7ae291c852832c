"""The exception tree of mesa_batch and the one template its messages follow.

Every error mesa_batch raises derives from :class:`MesaBatchError`. Errors about bad input also
derive from the built-in exception that describes them (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working for callers who do not know this package.

Messages follow one template, built by :func:`problem`: *what* is wrong (the parameter), the
*rule* it breaks, what was *received*, and, when there is one, *how to fix it*.
"""

from __future__ import annotations

import reprlib

__all__ = [
    "ConfigurationError",
    "DesignError",
    "MesaBatchError",
    "ModelClassError",
    "ParameterError",
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


class ModelClassError(MesaBatchError, TypeError):
    """The model class is not a Mesa ``Model`` subclass or cannot be introspected."""


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
