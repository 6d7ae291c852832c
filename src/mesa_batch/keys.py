"""Stable content keys for parameter values, and the seeds derived from them.

A run's key must be the same on every machine, in every process and in every Python session
for the same run, and different for different runs. It is a BLAKE2b-128 hash of a canonical
JSON encoding of what defines the run (see :func:`canonical`); Python's ``hash()`` is salted
per process and cannot serve.

Seeds come from :class:`numpy.random.SeedSequence`: the master seed's entropy, with the run's
point key and iteration as spawn key. Adding design points or iterations therefore never
changes the seed of an existing run.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import json
import pathlib
import types
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from mesa_batch.errors import ConfigurationError, ParameterError, check_int, problem

__all__ = [
    "KEY_VERSION",
    "MasterSeed",
    "canonical",
    "content_key",
    "master_seed",
    "run_seed",
    "run_seeds",
    "seed_arrays",
]

#: Bumped whenever the canonical encoding changes (it changes every key).
KEY_VERSION: Final = 1
_MAX_SEED: Final = 2**64
#: Spawn-key tag of the stream used to draw design points (kept apart from run seeds).
SAMPLING_TAG: Final = 0x53414D50  # "SAMP"
#: Spawn-key tag of common-random-number seeds (one per iteration, shared by all points).
CRN_TAG: Final = 0x43524E  # "CRN"


def canonical(value: object) -> Any:  # noqa: PLR0911 - one return per kind of value
    """Encode a parameter value as JSON-ready data that identifies it across processes.

    Dict keys are sorted, so insertion order does not matter; ``1``, ``1.0`` and ``True`` stay
    distinct; tuples, sets, bytes and numpy arrays are tagged so that they never collide with
    lists. Classes and functions are encoded by import path, enums by name, dataclasses by their
    fields, and other objects by ``repr`` when they define one.

    Args:
        value: Any parameter value.

    Returns:
        Nested lists, dicts, strings, numbers, booleans and None.

    Raises:
        ParameterError: The value has no stable encoding (a lambda, a local function, or an
            object whose ``repr`` is the default ``<... object at 0x...>``).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):  # before numbers: an IntEnum is an int
        kind = type(value)
        return {"__enum__": [f"{kind.__module__}.{kind.__qualname__}", value.name]}
    if isinstance(value, int | float):  # includes numpy.float64, a float subclass
        return value if type(value) in (int, float) else _number(value)
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"__tuple__": [canonical(v) for v in value]}
    if isinstance(value, Mapping):
        items = [[canonical(k), canonical(v)] for k, v in value.items()]
        return {"__dict__": sorted(items, key=lambda kv: _dumps(kv[0]))}
    if isinstance(value, set | frozenset):
        return {"__set__": sorted((canonical(v) for v in value), key=_dumps)}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": [str(value.dtype), list(value.shape), canonical(value.tolist())]}
    return _canonical_object(value)


def _number(value: int | float) -> int | float:
    return float(value) if isinstance(value, float) else int(value)


def _canonical_object(value: object) -> Any:
    kind = type(value)
    path = f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(value, tuple):  # namedtuple
        return {"__namedtuple__": [path, [canonical(v) for v in value]]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__dataclass__": [path, canonical(fields)]}
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        qualname = value.__qualname__
        if "<lambda>" in qualname or "<locals>" in qualname:
            raise ParameterError(
                problem(
                    "a parameter value",
                    "must have a stable identity, which a lambda or a function defined inside "
                    "another function does not have",
                    value,
                    "Define it at module level (a notebook cell is fine) and pass it by name.",
                )
            )
        return {"__ref__": f"{value.__module__}:{qualname}"}
    if isinstance(
        value,
        complex
        | decimal.Decimal
        | fractions.Fraction
        | datetime.date
        | datetime.time
        | datetime.timedelta
        | pathlib.PurePath
        | uuid.UUID,
    ):
        return {"__value__": [path, str(value)]}
    if kind.__repr__ is object.__repr__:
        raise ParameterError(
            problem(
                "a parameter value",
                "must have a stable representation to be part of a run's key, and objects "
                "with the default repr '<... object at 0x...>' do not",
                value,
                "Make it a dataclass, give its class a __repr__, or pass the plain values "
                "it is built from and build it in the model.",
            )
        )
    return {"__repr__": [path, repr(value)]}


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def content_key(data: Mapping[str, Any]) -> str:
    """Hash canonical data to a 32-character hex key.

    Args:
        data: What defines the thing being keyed; values are encoded with :func:`canonical`.

    Returns:
        The BLAKE2b-128 hex digest of the canonical JSON encoding.
    """
    return hashlib.blake2b(key_payload(data).encode(), digest_size=16).hexdigest()


def key_text(value: object) -> str:
    """The canonical JSON text of one value, as it appears inside :func:`key_payload`."""
    return _dumps(canonical(value))


def key_payload(data: Mapping[str, Any]) -> str:
    """The text :func:`content_key` hashes: the canonical JSON encoding of ``data``."""
    return _dumps({"v": KEY_VERSION, **{k: canonical(v) for k, v in data.items()}})


@dataclasses.dataclass(frozen=True, slots=True)
class MasterSeed:
    """The master seed of a design, as recorded: ``SeedSequence`` entropy and spawn key.

    Attributes:
        entropy: The entropy (drawn from the OS once when the design's seed is None).
        spawn_key: The spawn key of the master ``SeedSequence`` (empty for an int seed).
        drawn: Whether the entropy was drawn from the OS (the design's ``seed`` was None): such
            a design adopts the master seed a store recorded for it, so that it resumes.
    """

    entropy: int
    spawn_key: tuple[int, ...] = ()
    drawn: bool = dataclasses.field(default=False, compare=False)

    def sequence(self, *spawn_key: int) -> np.random.SeedSequence:
        """The ``SeedSequence`` for a stream below this master seed."""
        return np.random.SeedSequence(self.entropy, spawn_key=(*self.spawn_key, *spawn_key))

    def sampling_rng(self) -> np.random.Generator:
        """The generator a design draws its points with (independent of every run seed)."""
        return np.random.default_rng(self.sequence(SAMPLING_TAG))


def master_seed(seed: object, *, what: str = "seed") -> MasterSeed:
    """Normalise a design's ``seed`` argument.

    Args:
        seed: A non-negative int, a ``numpy.random.SeedSequence``, a :class:`MasterSeed`, or None
            (fresh entropy from the OS, drawn once and recorded).
        what: How to name the argument in error messages.

    Returns:
        The master seed.

    Raises:
        ConfigurationError: Any other value.
    """
    if isinstance(seed, MasterSeed):
        return seed
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        return MasterSeed(int(entropy), drawn=True)  # type: ignore[arg-type]
    if isinstance(seed, np.random.SeedSequence):
        entropy = seed.entropy
        if not isinstance(entropy, int | np.integer):
            entropy = int.from_bytes(np.asarray(entropy, dtype=np.uint32).tobytes(), "little")
        return MasterSeed(int(entropy), tuple(int(k) for k in seed.spawn_key))
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return MasterSeed(int(seed))
    raise ConfigurationError(
        problem(
            what,
            "must be a non-negative int, a numpy.random.SeedSequence or None",
            seed,
            "Pass e.g. seed=42; seed=None draws fresh entropy once and records it.",
        )
    )


def key_words(key: str) -> tuple[int, ...]:
    """Split a 32-character hex key into four 32-bit words (a spawn key)."""
    return tuple(int(key[i : i + 8], 16) for i in range(0, 32, 8))


def run_seed(
    master: MasterSeed, point_key: str, iteration: int, *, common_random_numbers: bool = False
) -> int:
    """Derive the seed of one run.

    Args:
        master: The design's master seed.
        point_key: The key of the run's design point (parameters and occurrence).
        iteration: The run's iteration (replication) index.
        common_random_numbers: Give every design point the same seed within an iteration.

    Returns:
        A non-negative int below 2**64.
    """
    if common_random_numbers:
        sequence = master.sequence(CRN_TAG, iteration)
    else:
        sequence = master.sequence(*key_words(point_key), iteration)
    return int(sequence.generate_state(1, np.uint64)[0])


def check_seed_value(seed: object) -> int:
    """Check that a run's seed is a plain int in ``[0, 2**64)``; return it as an int."""
    return check_int(
        "seed",
        seed,
        minimum=0,
        maximum=_MAX_SEED - 1,
        rule="must be an int in [0, 2**64) or None",
        fix="Leave it None to draw one, or give the design a master seed.",
    )


# -- many seeds at once -------------------------------------------------------------------------
#
# ``run_seed`` builds one ``SeedSequence`` per run (~10 us); a million runs take seconds. The
# function below computes the same seeds for many runs with numpy array arithmetic, following
# numpy's documented SeedSequence algorithm (the entropy words are hashed into a pool of four
# 32-bit words, then the pool is hashed into the output words). Every constant multiplier in
# that algorithm advances independently of the data, so one pass over columns of words does
# every run at once. tests/test_keys.py checks it against ``SeedSequence`` itself.

_MASK32: Final = 0xFFFFFFFF
_POOL_SIZE: Final = 4
#: How many point keys :func:`run_seeds` hashes at once.
_SEED_CHUNK: Final = 1 << 16
_INIT_A: Final = 0x43B0D7E5
_MULT_A: Final = 0x931E8875
_INIT_B: Final = 0x8B51F9DD
_MULT_B: Final = 0x58F38DED
_MIX_MULT_L: Final = 0xCA01F9DD
_MIX_MULT_R: Final = 0x4973F715
_XSHIFT: Final = 16


def _words(value: int) -> list[int]:
    """A non-negative int as SeedSequence reads it: 32-bit words, least significant first."""
    words = [value & _MASK32]
    value >>= 32
    while value:
        words.append(value & _MASK32)
        value >>= 32
    return words


class _Hasher:
    """SeedSequence's ``hashmix`` with its running multiplier, on uint64 arrays of 32-bit words."""

    def __init__(self) -> None:
        self.const = _INIT_A

    def hashmix(self, value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint64(self.const)
        self.const = (self.const * _MULT_A) & _MASK32
        value = (value * np.uint64(self.const)) & np.uint64(_MASK32)
        return value ^ (value >> np.uint64(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = x * np.uint64(_MIX_MULT_L) - y * np.uint64(_MIX_MULT_R)
    result &= np.uint64(_MASK32)
    return result ^ (result >> np.uint64(_XSHIFT))


def _pool(entropy: list[np.ndarray], hasher: _Hasher) -> list[np.ndarray]:
    """The entropy pool of SeedSequences whose entropy words are the columns ``entropy``."""
    zero = np.zeros(1, dtype=np.uint64)
    pool = [hasher.hashmix(entropy[i] if i < len(entropy) else zero) for i in range(_POOL_SIZE)]
    for source in range(_POOL_SIZE):
        for target in range(_POOL_SIZE):
            if source != target:
                pool[target] = _mix(pool[target], hasher.hashmix(pool[source]))
    return _add(pool, entropy[_POOL_SIZE:], hasher)


def _add(pool: list[np.ndarray], words: list[np.ndarray], hasher: _Hasher) -> list[np.ndarray]:
    """Mix more entropy words (columns) into a pool."""
    for word in words:
        for target in range(_POOL_SIZE):
            pool[target] = _mix(pool[target], hasher.hashmix(word))
    return pool


def _state64(pool: list[np.ndarray]) -> np.ndarray:
    """``generate_state(1, np.uint64)`` of each pool: two 32-bit words, low word first."""
    const = _INIT_B
    words = []
    for i in range(2):
        value = pool[i % _POOL_SIZE] ^ np.uint64(const)
        const = (const * _MULT_B) & _MASK32
        value = (value * np.uint64(const)) & np.uint64(_MASK32)
        words.append(value ^ (value >> np.uint64(_XSHIFT)))
    return words[0] | (words[1] << np.uint64(32))


def run_seeds(master: MasterSeed, point_keys: list[str]) -> Callable[[int], list[int]]:
    """The seeds of many design points, iteration by iteration: ``run_seed`` of each, at once.

    Args:
        master: The design's master seed.
        point_keys: The design points' keys.

    Returns:
        A function of an iteration giving
        ``[run_seed(master, key, iteration) for key in point_keys]``.
    """
    digests = b"".join(
        bytes.fromhex("".join(point_keys[start : start + _SEED_CHUNK]))
        for start in range(0, len(point_keys), _SEED_CHUNK)
    )
    seeds = seed_arrays(master, digests)
    return lambda iteration: seeds(iteration).tolist()


def seed_arrays(master: MasterSeed, digests: bytes) -> Callable[[int], np.ndarray]:
    """:func:`run_seeds` of points whose keys are 16-byte digests, as uint64 arrays.

    Args:
        master: The design's master seed.
        digests: The design points' keys, 16 bytes each, one after another.

    Returns:
        A function of an iteration giving the seeds of its runs, one per point.
    """
    if not digests:
        return lambda iteration: np.zeros(0, dtype=np.uint64)
    run = _words(master.entropy)
    run += [0] * (_POOL_SIZE - len(run))  # SeedSequence pads the entropy when spawn words follow
    spawn = [word for part in master.spawn_key for word in _words(int(part))]
    constant = [np.full(1, word, dtype=np.uint64) for word in (*run, *spawn)]
    # the pools are made a chunk of keys at a time: the temporary arrays stay small and are
    # reused, instead of ~100 MB of freed million-element arrays left in the heap (issue 12)
    pools = []
    const = _INIT_A
    for start in range(0, len(digests), 16 * _SEED_CHUNK):
        # each 16-byte key is four big-endian 32-bit words, as key_words reads its hex text
        part = digests[start : start + 16 * _SEED_CHUNK]
        words = np.frombuffer(part, dtype=">u4").astype(np.uint64).reshape(-1, 4)
        columns = constant + [np.ascontiguousarray(words[:, i]) for i in range(4)]
        hasher = _Hasher()
        pools.append(_pool(columns, hasher))  # the same for every iteration: its words follow
        const = hasher.const

    def seeds(iteration: int) -> np.ndarray:
        tail = [np.full(1, word, dtype=np.uint64) for word in _words(iteration)]
        found = []
        for pool in pools:
            again = _Hasher()
            again.const = const
            found.append(_state64(_add(list(pool), tail, again)))
        return np.concatenate(found)

    return seeds
