"""A safe, self-describing encoding of parameter values for the store (JSON, never pickle).

Decoding a store never imports a module, calls a constructor named by the data, or runs any
code the data chose: it only builds values of a fixed list of types. What that list holds
round-trips exactly; everything else is kept as its ``repr`` text, marked as not exact, and
decodes to an :class:`Opaque` placeholder (a run with such a value is re-created from the
user's design, not from the store).

============================  =========================================================
value                         encoded as
============================  =========================================================
None, bool, str, int, float   themselves (ints of any size); non-finite floats
                              ``{"__float__": "nan" | "inf" | "-inf"}``
list                          a JSON array
dict                          a JSON object when every key is a str (and the dict is not
                              one key that looks like a tag), else
                              ``{"__dict__": [[key, value], ...]}``; order is kept
tuple, set, frozenset         ``{"__tuple__": [...]}``, ``{"__set__": [...]}``,
                              ``{"__frozenset__": [...]}``
bytes, bytearray              ``{"__bytes__": hex}``, ``{"__bytearray__": hex}``
complex                       ``{"__complex__": [real, imag]}``
numpy scalars                 ``{"__numpy__": [dtype, value]}`` (bool, int, uint, float,
                              complex dtypes)
numpy arrays                  ``{"__ndarray__": [dtype, shape, [values...]]}`` (the same
                              dtypes)
Decimal, Fraction, UUID       ``{"__decimal__": text}``, ``{"__fraction__": text}``,
                              ``{"__uuid__": text}``
date, datetime, time,         ``{"__date__": iso}``, ``{"__datetime__": iso}``,
timedelta, pathlib paths      ``{"__time__": iso}``, ``{"__timedelta__": [days, s, us]}``,
                              ``{"__path__": text}``
anything else                 ``{"__opaque__": [type path, repr text]}`` (not exact)
============================  =========================================================
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import json
import math
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

__all__ = [
    "Opaque",
    "decode",
    "decode_parameters",
    "dumps",
    "encode",
    "encode_parameters",
    "loads",
]

#: numpy dtypes whose scalars and arrays are encoded exactly (nothing else is decoded).
NUMPY_DTYPES: Final = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)
#: The most characters of encoded text decoded for one value (a crafted store cannot make a
#: reader allocate without bound).
MAX_TEXT: Final = 16 * 1024 * 1024
_TAGS: Final = frozenset(
    {
        "__float__",
        "__dict__",
        "__tuple__",
        "__set__",
        "__frozenset__",
        "__bytes__",
        "__bytearray__",
        "__complex__",
        "__numpy__",
        "__ndarray__",
        "__decimal__",
        "__fraction__",
        "__uuid__",
        "__date__",
        "__datetime__",
        "__time__",
        "__timedelta__",
        "__path__",
        "__opaque__",
    }
)


class Opaque:
    """A value the store kept only as text: its type's path and its ``repr``.

    It is never turned back into the original object (that would mean importing and running
    the code the store names). Its ``repr`` is the original ``repr``.

    Attributes:
        type_path: ``"module.QualName"`` of the original value's type.
        text: The original value's ``repr``.
    """

    __slots__ = ("text", "type_path")

    def __init__(self, type_path: str, text: str):
        self.type_path = str(type_path)
        self.text = str(text)

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_path, self.text) == (
            other.type_path,
            other.text,
        )

    def __hash__(self) -> int:
        return hash((self.type_path, self.text))


def encode(value: object) -> tuple[Any, bool]:
    """Encode a value as JSON-ready data.

    Args:
        value: Any value.

    Returns:
        The data, and whether it decodes back to an equal value of the same type (False when
        some part of it was kept as text).
    """
    exact = [True]
    data = _encode(value, exact)
    return data, exact[0]


def _encode(value: object, exact: list[bool]) -> Any:  # noqa: PLR0911 - one per kind
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value
    if kind is float:
        number: float = value  # type: ignore[assignment]
        return number if math.isfinite(number) else {"__float__": repr(number)}
    if kind is list:
        return [_encode(v, exact) for v in value]  # type: ignore[attr-defined]
    if kind is dict:
        mapping: dict[Any, Any] = value  # type: ignore[assignment]
        if all(type(k) is str for k in mapping) and not (
            len(mapping) == 1 and next(iter(mapping)) in _TAGS
        ):
            return {k: _encode(v, exact) for k, v in mapping.items()}
        return {"__dict__": [[_encode(k, exact), _encode(v, exact)] for k, v in mapping.items()]}
    if kind is tuple:
        return {"__tuple__": [_encode(v, exact) for v in value]}  # type: ignore[attr-defined]
    if kind in (set, frozenset):
        tag = "__set__" if kind is set else "__frozenset__"
        return {tag: [_encode(v, exact) for v in value]}  # type: ignore[attr-defined]
    if kind in (bytes, bytearray):
        tag = "__bytes__" if kind is bytes else "__bytearray__"
        raw: bytes | bytearray = value  # type: ignore[assignment]
        return {tag: bytes(raw).hex()}
    if kind is complex:
        z: complex = value  # type: ignore[assignment]
        return {"__complex__": [_encode(z.real, exact), _encode(z.imag, exact)]}
    if isinstance(value, np.generic) and value.dtype.name in NUMPY_DTYPES:
        return {"__numpy__": [value.dtype.name, _encode(value.item(), exact)]}
    if isinstance(value, np.ndarray) and value.dtype.name in NUMPY_DTYPES:
        flat = [_encode(v, exact) for v in value.ravel().tolist()]
        return {"__ndarray__": [value.dtype.name, list(value.shape), flat]}
    return _encode_other(value, exact)


def _encode_other(value: object, exact: list[bool]) -> Any:  # noqa: PLR0911
    kind = type(value)
    if kind is decimal.Decimal:
        return {"__decimal__": str(value)}
    if kind is fractions.Fraction:
        return {"__fraction__": str(value)}
    if kind is uuid.UUID:
        return {"__uuid__": str(value)}
    if kind is datetime.datetime:
        return {"__datetime__": value.isoformat()}  # type: ignore[attr-defined]
    if kind is datetime.date:
        return {"__date__": value.isoformat()}  # type: ignore[attr-defined]
    if kind is datetime.time:
        return {"__time__": value.isoformat()}  # type: ignore[attr-defined]
    if kind is datetime.timedelta:
        delta: datetime.timedelta = value  # type: ignore[assignment]
        return {"__timedelta__": [delta.days, delta.seconds, delta.microseconds]}
    if kind is type(pathlib.Path()):
        return {"__path__": str(value)}
    exact[0] = False
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not break the store
        text = f"<{kind.__qualname__}: repr failed: {type(error).__name__}>"
    return {"__opaque__": [f"{kind.__module__}.{kind.__qualname__}", text]}


def decode(data: Any) -> Any:
    """Turn encoded data back into a value (see the module docstring for the types).

    Anything not of the documented form (a crafted or damaged store) decodes to plain data or
    to an :class:`Opaque`; nothing is imported or called.

    Args:
        data: Data made by :func:`encode` (after a JSON round trip).

    Returns:
        The value.
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((tag, body),) = data.items()
        if tag in _TAGS:
            try:
                return _decode_tag(tag, body)
            except (TypeError, ValueError, OverflowError, ArithmeticError, KeyError):
                return Opaque("invalid", json.dumps(data)[:200])
    return {k: decode(v) for k, v in data.items()}


def _decode_tag(tag: str, body: Any) -> Any:  # noqa: PLR0911 - one branch per tag
    if tag == "__float__":
        if body not in ("nan", "inf", "-inf"):
            raise ValueError(body)
        return float(body)
    if tag == "__dict__":
        return {_hashable(decode(k)): decode(v) for k, v in body}
    if tag == "__tuple__":
        return tuple(decode(v) for v in _list(body))
    if tag in ("__set__", "__frozenset__"):
        items = (_hashable(decode(v)) for v in _list(body))
        return set(items) if tag == "__set__" else frozenset(items)
    if tag in ("__bytes__", "__bytearray__"):
        raw = bytes.fromhex(str(body))
        return raw if tag == "__bytes__" else bytearray(raw)
    if tag == "__complex__":
        real, imag = body
        return complex(decode(real), decode(imag))
    if tag == "__numpy__":
        dtype, value = body
        return _dtype(dtype).type(decode(value))
    if tag == "__ndarray__":
        dtype, shape, flat = body
        values = [decode(v) for v in _list(flat)]
        return np.asarray(values, dtype=_dtype(dtype)).reshape([int(n) for n in shape])
    return _decode_text(tag, body)


def _decode_text(tag: str, body: Any) -> Any:
    if tag == "__timedelta__":
        days, seconds, micros = (int(v) for v in body)
        return datetime.timedelta(days=days, seconds=seconds, microseconds=micros)
    if tag == "__opaque__":
        type_path, text = body
        return Opaque(str(type_path), str(text))
    text = str(body)
    parse: Any = {
        "__decimal__": decimal.Decimal,
        "__fraction__": fractions.Fraction,
        "__uuid__": uuid.UUID,
        "__date__": datetime.date.fromisoformat,
        "__datetime__": datetime.datetime.fromisoformat,
        "__time__": datetime.time.fromisoformat,
        "__path__": pathlib.Path,
    }[tag]
    return parse(text)


def _list(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise TypeError(type(body).__name__)
    return body


def _dtype(name: object) -> np.dtype[Any]:
    if name not in NUMPY_DTYPES:
        raise ValueError(f"dtype {name!r} is not one the store decodes")
    return np.dtype(str(name))


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return Opaque(type(value).__name__, repr(value))
    return value


def dumps(data: Any) -> str:
    """Encoded data as compact JSON text (strict: no NaN tokens)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def loads(text: object) -> Any:
    """Parse JSON text written by :func:`dumps`; invalid or oversized text gives None."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def encode_parameters(parameters: Mapping[str, Any]) -> tuple[str, bool]:
    """A run's parameters as JSON text, and whether every value round-trips exactly."""
    data, exact = encode(dict(parameters))
    return dumps(data), exact


def decode_parameters(text: object) -> dict[str, Any] | None:
    """A run's parameters from their JSON text (None if the text is not a valid encoding)."""
    data = loads(text)
    if not isinstance(data, dict):
        return None
    value = decode(data)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return None
    return value
