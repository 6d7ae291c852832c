"""The store's files: atomic writes, safe reads, names of table directories.

Every file the store writes is written under a temporary name in its own directory
(``.<name>.<8 hex digits>.tmp``), flushed to disk, renamed into place and the directory synced:
a reader sees the whole file or nothing. Reads never follow a symbolic link: a store is a
directory of plain files, and a link in it was not made by mesa_batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import re
import uuid
from collections.abc import Callable
from typing import IO, Any, Final

__all__ = [
    "atomic_write",
    "digest",
    "file_digest",
    "is_temporary",
    "read_json",
    "table_directory",
    "table_name",
    "write_parquet",
]

#: The name of a temporary file the store writes (and the only kind it ever deletes).
TEMPORARY: Final = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
#: The most bytes of a JSON metadata file read (``store.json``, a design record).
MAX_JSON: Final = 64 * 1024 * 1024


def fsync_directory(directory: pathlib.Path) -> None:
    """Flush a directory's entries to disk (where the platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: pathlib.Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write a file under a temporary name, flush it to disk, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if error.filename is None or error.filename == str(temporary):
            error.filename = str(path)  # name the file the store writes, not its temporary
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_directory(path.parent)


def write_json(path: pathlib.Path, data: Any) -> None:
    """Write JSON atomically (strict: no NaN tokens)."""
    text = json.dumps(data, indent=2, allow_nan=False).encode()
    atomic_write(path, lambda file: file.write(text))


def write_parquet(table: Any, path: pathlib.Path) -> None:
    """Write an Arrow table as a Parquet file, atomically."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    atomic_write(path, lambda file: pq.write_table(table, file))


#: The names the store writes atomically: parts and design records, and at the top
#: ``store.json``.
OWN_NAME: Final = re.compile(r"^[A-Za-z0-9_-]+(\.samples)?\.(parquet|json)$")


def is_temporary(path: pathlib.Path, *, top: bool = False) -> bool:
    """Whether a file is one of the store's temporary files (``.<name>.<8 hex>.tmp``).

    Only names the store writes count: ``store.json`` at the store's top (``top``), part and
    design names in its folders; a user's ``.notes.swp.tmp`` is never one.
    """
    if not TEMPORARY.match(path.name):
        return False
    inner = path.name[1:-13]
    return inner == "store.json" if top else bool(OWN_NAME.match(inner))


def open_no_follow(path: pathlib.Path, flags: int = os.O_RDONLY) -> int:
    """Open a file without following a symbolic link at its last component.

    Raises:
        OSError: The file is missing, a link (``ELOOP``), or cannot be opened.
    """
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)


def read_bytes(path: pathlib.Path, limit: int) -> bytes:
    """A plain file's bytes (never through a link); at most ``limit`` bytes are read.

    Raises:
        OSError: The file is missing, a link, not a regular file, or larger than ``limit``.
    """
    fd = open_no_follow(path)
    with os.fdopen(fd, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit} bytes")
    return data


def digest(data: Any) -> str:
    """A data part's checksum, as its batch records it: blake2b-128, in hex."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_digest(path: pathlib.Path) -> str:
    """The :func:`digest` of a plain file's bytes, read in chunks (never through a link).

    Raises:
        OSError: The file is missing, a link, or cannot be read.
    """
    with os.fdopen(open_no_follow(path), "rb") as file:
        return hashlib.file_digest(file, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def read_json(path: pathlib.Path) -> dict[str, Any]:
    """A JSON object from a file; {} when it is missing, a link, garbled or not an object."""
    try:
        data = json.loads(read_bytes(path, MAX_JSON))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def table_directory(name: str) -> str:
    """A table name as a safe directory name (letters, digits, ``.``, ``_``, ``-`` kept)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else _escape(c) for c in name)
    return safe if safe not in ("", ".", "..") else f"%{safe}"


def _escape(character: str) -> str:
    return "".join(f"%{byte:02X}" for byte in character.encode())


def table_name(directory: str) -> str | None:
    """The table name a directory name stands for; None when it is not one the store made."""
    raw = bytearray()
    i = 0
    while i < len(directory):
        c = directory[i]
        if c == "%":
            digits = directory[i + 1 : i + 3]
            if len(digits) != 2 or not all(d in "0123456789ABCDEF" for d in digits):
                return None
            raw.append(int(digits, 16))
            i += 3
        elif c.isascii() and (c.isalnum() or c in "._-"):
            raw.append(ord(c))
            i += 1
        else:
            return None
    try:
        name = raw.decode()
    except UnicodeDecodeError:
        return None
    return name if table_directory(name) == directory else None
