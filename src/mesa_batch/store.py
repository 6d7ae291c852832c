"""The Parquet store: a directory that keeps every finished run, for resume and for reading.

Layout (``docs/store-format.md`` is the full description)::

    STORE/
      store.json                     format, versions, model, sessions    (parent, atomic)
      plan/<session>.parquet         the runs planned by a session        (parent, atomic)
      runs/<batch>.parquet           one row per run of a batch: status   (worker, atomic)
      data/<table>/<batch>.parquet   the batch's rows of that table       (worker, atomic)
      status.jsonl                   every finished run and session event (parent, append)
      .lock                          held by the one process writing
      quarantine/                    files found torn or unreadable, moved aside

Workers write their own part files, one per table per batch, each committed atomically
(written under a temporary name, flushed to disk, renamed), and the batch's ``runs`` part last:
**a run is done when its batch's runs part and every data part that part names are committed
and readable**. Only small statuses travel to the parent, which appends them to ``status.jsonl``
(the only record of runs whose worker died) and keeps ``store.json`` up to date.

Reading tolerates everything a crash can leave: temporary files are ignored, unreadable parts
are skipped (and moved to ``quarantine/`` by the next writing session, so their runs are run
again), a torn last line of the status log is ignored, and a run executed twice (engines run
tasks at least once) is read once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import pickle
import platform
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.columns import arrow_table
from mesa_batch.config import RunConfiguration
from mesa_batch.errors import ConfigurationError, MesaBatchError, problem
from mesa_batch.execute import FAILED, SUCCEEDED, Failure, RunStatus, with_worker_time
from mesa_batch.models import model_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PartWriter",
    "StoreConflictError",
    "StoreLockedError",
    "StoreState",
    "StoreWriteError",
    "open_session",
    "read_state",
]

FORMAT: Final = "mesa_batch.store"
VERSION: Final = 1
#: Columns of a runs part, in order.
RUN_FIELDS: Final = (
    "run_id",
    "key",
    "status",
    "steps",
    "wall_time",
    "model_time",
    "worker_time",
    "failure_stage",
    "failure_type",
    "failure_message",
    "failure_traceback",
    "batch",
    "parts",
)


class StoreLockedError(MesaBatchError, RuntimeError):
    """Another process is writing to the store."""


class StoreConflictError(ConfigurationError):
    """The configurations do not fit the store (another model, or a run with another seed)."""


class StoreWriteError(MesaBatchError, OSError):
    """A part could not be written (disk full, file too large, permissions)."""


# -- atomic files ---------------------------------------------------------------------------


def _fsync_directory(directory: pathlib.Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: pathlib.Path, write: Any) -> None:
    """Write a file under a temporary name, flush it to disk, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _fsync_directory(path.parent)


def _write_parquet(table: Any, path: pathlib.Path) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    _atomic_write(path, lambda file: pq.write_table(table, file))


def _table_directory(name: str) -> str:
    """A table name as a safe directory name (letters, digits, ``.``, ``_``, ``-`` kept)."""
    safe = "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in name)
    return safe if safe not in ("", ".", "..") else f"%{safe}"


def _table_name(directory: str) -> str:
    out, i = [], 0
    while i < len(directory):
        if directory[i] == "%":
            out.append(chr(int(directory[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(directory[i])
            i += 1
    return "".join(out)


# -- the worker side --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PartWriter:
    """What a worker needs to commit a batch to the store (picklable, small).

    Attributes:
        root: The store directory.
        session: The writing session's id (prefix of every batch id).
    """

    root: str
    session: str

    def commit(
        self,
        tables: Mapping[str, Mapping[str, np.ndarray]],
        statuses: list[RunStatus],
        batch: str,
        *,
        started: float,
    ) -> list[RunStatus]:
        """Commit a batch: its data parts, then its runs part.

        Args:
            tables: The batch's rows by table (columns with ``run_id``).
            statuses: The batch's run statuses.
            batch: The batch's task id; the parts are named ``<session>-<batch>``, so a task
                executed twice replaces its own files with the same content.
            started: When the batch started (``time.perf_counter()``): the worker times of
                its runs include writing its data parts.

        Returns:
            The statuses as committed, with their worker times.

        Raises:
            StoreWriteError: A part could not be written; nothing of the batch is committed.
        """
        batch = f"{self.session}-{batch}"
        root = pathlib.Path(self.root)
        written = [name for name, columns in tables.items() if columns]
        try:
            for name in written:
                table, _ = arrow_table(tables[name])
                _write_parquet(table, root / "data" / _table_directory(name) / f"{batch}.parquet")
            statuses = with_worker_time(statuses, started)
            runs, _ = arrow_table(_runs_columns(statuses, batch, written))
            _write_parquet(runs, root / "runs" / f"{batch}.parquet")
        except OSError as error:
            raise StoreWriteError(
                problem(
                    f"the store {self.root}",
                    "could not be written",
                    f"{type(error).__name__}: {error}",
                    "Free disk space (or raise the file size limit), then run the same "
                    "sweep again: it resumes with the runs not yet committed.",
                )
            ) from error
        return statuses


def _runs_columns(
    statuses: Sequence[RunStatus], batch: str, parts: Sequence[str]
) -> dict[str, Any]:
    columns: dict[str, list[Any]] = {name: [] for name in RUN_FIELDS}
    for status in statuses:
        failure = status.failure
        row = {
            "run_id": status.run_id,
            "key": status.key,
            "status": status.status,
            "steps": status.steps,
            "wall_time": status.wall_time,
            "model_time": status.model_time,
            "worker_time": status.worker_time,
            "failure_stage": failure.stage if failure else None,
            "failure_type": failure.exception_type if failure else None,
            "failure_message": failure.message if failure else None,
            "failure_traceback": failure.traceback if failure else None,
            "batch": batch,
            "parts": ",".join(parts),
        }
        for name, value in row.items():
            columns[name].append(value)
    return {
        name: np.asarray(values, dtype=np.int64) if name in ("run_id", "steps") else values
        for name, values in columns.items()
    }


# -- reading --------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class StoreState:
    """What a store holds, read without loading any data table.

    Attributes:
        root: The store directory.
        meta: The contents of ``store.json`` (empty for a store never written).
        runs: The authoritative outcome of every finished run, one row per key (its ``batch``
            column may be categorical: batch ids are read as a dictionary).
        batches: Per table, the committed, readable parts and the run ids each may contribute.
        corrupt: Files that could not be read.
    """

    root: pathlib.Path
    meta: dict[str, Any]
    runs: pd.DataFrame
    batches: dict[str, dict[pathlib.Path, np.ndarray]]
    corrupt: list[pathlib.Path]
    _plan: pd.DataFrame | None = None

    @property
    def plan(self) -> pd.DataFrame:
        """One row per planned run (``run_id``, ``key``, ``iteration``, ``seed``, ...).

        Read on first use: counting a sweep's outcomes does not need it.
        """
        if self._plan is None:
            self._plan = _read_plan(self.root)
        return self._plan

    def planned_run_ids(self) -> np.ndarray:
        """The run ids of every planned run, sorted (only the run id and key columns are read)."""
        plan = self._plan if self._plan is not None else _read_plan(self.root, ("run_id", "key"))
        return np.sort(plan["run_id"].to_numpy(dtype=np.int64))

    def full_plan(self) -> pd.DataFrame:
        """The plan with every column, the parameters included (read from disk now)."""
        return _read_plan(self.root, columns=None)

    def done_keys(self) -> set[str]:
        """Keys of runs that succeeded and whose data is committed."""
        return set(self.runs.loc[self.runs["status"] == SUCCEEDED, "key"])

    def failed_keys(self) -> set[str]:
        """Keys of runs recorded as failed (and never succeeded)."""
        return set(self.runs.loc[self.runs["status"] == FAILED, "key"])

    def read_table(self, name: str, run_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Read one data table: every committed part, schemas unified, duplicates removed.

        A column present in only some parts is null elsewhere; a run executed twice is read from
        the batch that the store counts as its outcome.

        Args:
            name: The table name (``model``, ``agents``, ...).
            run_ids: Keep only these runs (all by default).

        Returns:
            The table as a DataFrame, ordered by ``run_id`` (then as collected).
        """
        import pandas as pd  # noqa: PLC0415
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        wanted = None if run_ids is None else np.fromiter(run_ids, np.int64)
        pieces = []
        for path, contributes in sorted(self.batches.get(name, {}).items()):
            keep = contributes if wanted is None else contributes[np.isin(contributes, wanted)]
            if not len(keep):
                continue
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowException):
                continue  # vanished or unreadable since the state was read
            mask = pc.is_in(table.column("run_id"), value_set=pa.array(keep, pa.int64()))
            pieces.append(table.filter(mask))
        if not pieces:
            return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "step": []})
        table = pa.concat_tables(pieces, promote_options="permissive")
        frame = table.to_pandas()
        return frame.sort_values("run_id", kind="stable", ignore_index=True)


def read_state(root: str | os.PathLike[str]) -> StoreState:
    """Read a store's metadata and run outcomes (no data table; the plan on first use).

    Args:
        root: The store directory.

    Returns:
        The store's state.
    """
    path = pathlib.Path(root)
    meta = _read_json(path / "store.json")
    corrupt: list[pathlib.Path] = []
    outcomes, batch_parts = _read_runs_parts(path, corrupt)
    batches, complete = _data_parts(path, batch_parts, corrupt)
    runs = _authoritative_runs(outcomes, complete, read_log(path, events=[FAILED]))
    del outcomes  # converted to pandas column by column: not usable any more
    release_arrow_memory()
    succeeded = runs[runs["status"] == SUCCEEDED]
    contributes = {
        str(batch): np.asarray(run_ids, dtype=np.int64)
        for batch, run_ids in succeeded.groupby("batch", sort=False, observed=True)["run_id"]
        .unique()
        .items()
    }
    nothing = np.empty(0, dtype=np.int64)
    by_table = {
        table: {p: contributes.get(batch, nothing) for p, batch in parts.items()}
        for table, parts in batches.items()
    }
    return StoreState(path, meta, runs, by_table, corrupt)


def release_arrow_memory() -> None:
    """Give Arrow's freed buffers back to the OS (its pool keeps them otherwise)."""
    import pyarrow as pa  # noqa: PLC0415

    pa.default_memory_pool().release_unused()


def _read_json(path: pathlib.Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _read_parquet(
    path: pathlib.Path, corrupt: list[pathlib.Path], *, dictionary: Sequence[str] = ()
) -> Any:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        return pq.read_table(path, read_dictionary=list(dictionary) or None)
    except (OSError, pa.ArrowException):
        corrupt.append(path)
        return None


#: The plan columns read with a store's state; the parameters are read when needed.
PLAN_COLUMNS: Final = (
    "run_id",
    "key",
    "iteration",
    "seed",
    "max_steps",
    "data_collection_period",
    "model",
    "design",
)


def _read_plan(root: pathlib.Path, columns: Sequence[str] | None = PLAN_COLUMNS) -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    frames = []
    for path in sorted((root / "plan").glob("*.parquet")):
        try:
            present = None if columns is None else set(pq.read_schema(path).names)
            wanted = None if present is None else [c for c in columns or () if c in present]
            table = pq.read_table(path, columns=wanted)
        except (OSError, pa.ArrowException):
            continue
        frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "key": pd.Series(dtype=str)})
    plan = pd.concat(frames, ignore_index=True).drop_duplicates("key", keep="first")
    return plan.sort_values("run_id", ignore_index=True)


def _read_runs_parts(
    root: pathlib.Path, corrupt: list[pathlib.Path]
) -> tuple[Any, dict[str, list[str]]]:
    """Every runs part as one Arrow table (None if there is none), and each batch's parts."""
    import pyarrow as pa  # noqa: PLC0415

    tables, parts = [], {}
    for path in sorted((root / "runs").glob("*.parquet")):
        # a batch id repeats on every row of its batch: read it as a dictionary (~10 MB less
        # for 100,000 runs, and pandas gets a categorical column)
        table = _read_parquet(path, corrupt, dictionary=["batch"])
        if table is None:
            continue
        tables.append(table)
        named = str(table.column("parts")[0]) if table.num_rows else ""
        parts[path.stem] = [p for p in named.split(",") if p]
    if not tables:
        return None, parts
    return pa.concat_tables(tables, promote_options="permissive").drop_columns(["parts"]), parts


def _data_parts(
    root: pathlib.Path, batch_parts: Mapping[str, list[str]], corrupt: list[pathlib.Path]
) -> tuple[dict[str, dict[pathlib.Path, str]], set[str]]:
    """Readable data parts by table, and the batches whose every named part is readable."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    readable: dict[str, dict[pathlib.Path, str]] = {}
    for directory in sorted((root / "data").glob("*")):
        if not directory.is_dir():
            continue
        table = _table_name(directory.name)
        for path in sorted(directory.glob("*.parquet")):
            try:
                pq.read_metadata(path)
            except (OSError, pa.ArrowException):
                corrupt.append(path)
                continue
            readable.setdefault(table, {})[path] = path.stem
    present = {(table, batch) for table, parts in readable.items() for batch in parts.values()}
    complete = {
        batch
        for batch, tables in batch_parts.items()
        if all((table, batch) in present for table in tables)
    }
    batches = {
        table: {path: batch for path, batch in parts.items() if batch in complete}
        for table, parts in readable.items()
    }
    return batches, complete


def _authoritative_runs(parts: Any, complete: set[str], log: list[dict[str, Any]]) -> pd.DataFrame:
    """One outcome per key: its first committed success, else its latest recorded failure.

    ``parts`` (the runs parts, an Arrow table or None) is converted to pandas column by column,
    freeing each column as it goes: it must not be used afterwards.
    """
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    logged = [_log_failure(entry) for entry in log if entry.get("event") == FAILED]
    frames = [pd.DataFrame(logged)] if logged else []
    if parts is not None and parts.num_rows:
        good = pc.and_(
            pc.equal(parts.column("status"), SUCCEEDED),
            pc.is_in(parts.column("batch"), value_set=pa.array(sorted(complete), pa.string())),
        ).fill_null(False)
        common = pc.all(good).as_py() and pc.count_distinct(parts.column("key")).as_py() == len(
            parts
        )  # every run succeeded once and is committed: no Python object per run needed
        if common and not frames:
            return _by_run_id(parts.to_pandas(self_destruct=True, split_blocks=True))
        index = parts.column_names.index("batch")  # batch ids get sorted as text below
        parts = parts.set_column(index, "batch", parts.column("batch").cast(pa.string()))
        frames.insert(0, parts.to_pandas(self_destruct=True, split_blocks=True))
    if not frames:
        return pd.DataFrame({name: [] for name in RUN_FIELDS})
    runs = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    succeeded = (runs["status"] == SUCCEEDED).to_numpy(dtype=bool, na_value=False)
    succeeded = succeeded & string_isin(runs["batch"], complete)
    failed = (runs["status"] == FAILED).to_numpy(dtype=bool, na_value=False)
    good = runs[succeeded]
    if not good["key"].is_unique:  # an engine ran a batch twice, or a run was retried
        good = good.sort_values(["key", "batch"]).drop_duplicates("key", keep="first")
    if failed.any():
        bad = runs[failed]
        bad = bad[~string_isin(bad["key"], good["key"])]
        bad = bad.drop_duplicates("key", keep="last")  # parts by batch id, then the log
        good = pd.concat([good, bad], ignore_index=True)
    return _by_run_id(good)


def _by_run_id(runs: pd.DataFrame) -> pd.DataFrame:
    """The outcomes ordered by run id (a copy only when they are not in order already)."""
    import pandas as pd  # noqa: PLC0415

    if runs["run_id"].is_monotonic_increasing:
        if isinstance(runs.index, pd.RangeIndex) and runs.index.start == 0 and runs.index.step == 1:
            return runs
        return runs.reset_index(drop=True)
    return runs.sort_values("run_id", ignore_index=True)


def string_isin(column: pd.Series, values: Iterable[str]) -> np.ndarray:
    """``column.isin(values)`` for string columns, computed in Arrow.

    pandas' own ``isin`` on Arrow-backed strings goes through Python objects: over a second for
    100,000 runs.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    value_set = pa.array(list(values), pa.string())
    found = pc.is_in(pa.array(column, pa.string(), from_pandas=True), value_set=value_set)
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _log_failure(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {name: entry.get(name) for name in RUN_FIELDS} | {"status": FAILED}


def read_log(
    root: str | os.PathLike[str], *, events: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The status log's entries; a torn or garbled line (a crash mid-append) is skipped.

    Args:
        root: The store directory.
        events: Only entries of these events (``"failed"``, ``"start"``, ...); lines of other
            events are not even decoded, which matters for a log of 100,000s of runs.
    """
    kinds = None if events is None else set(events)
    wanted = None if kinds is None else [f'"event": "{event}"' for event in kinds]
    entries = []
    try:
        file = open(pathlib.Path(root) / "status.jsonl", errors="replace")  # noqa: SIM115
    except OSError:
        return []
    with file:
        for line in file:
            if wanted is not None and not any(marker in line for marker in wanted):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if kinds is None or (isinstance(entry, dict) and entry.get("event") in kinds):
                entries.append(entry)
    return entries


# -- the writing session (parent side) ------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    found = {"python": sys.version.split()[0]}
    for package in ("mesa-batch", "mesa", "numpy", "pandas", "pyarrow"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class Lock:
    """An exclusive lock on a store, held by the one process that writes to it.

    An OS-level lock (``flock``) on ``STORE/.lock``: released by the OS when the process ends,
    however it ends, so a crash never leaves a stale lock behind.
    """

    def __init__(self, root: pathlib.Path):
        self.path = root / ".lock"
        self.file: Any = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StoreLockedError` naming the holder."""
        import fcntl  # noqa: PLC0415 - POSIX; see docs/store-format.md

        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = open(self.path, "a+")  # noqa: SIM115 - held open while locked
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            file.close()
            raise StoreLockedError(
                problem(
                    f"the store {self.path.parent}",
                    "is being written by another process",
                    holder,
                    "Wait for that sweep to finish (or stop it), or use another store.",
                )
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} on {socket.gethostname()} since {_now()}\n")
        file.flush()
        self.file = file

    def release(self) -> None:
        """Release the lock."""
        if self.file is not None:
            self.file.close()
            self.file = None


def is_locked(root: str | os.PathLike[str]) -> bool:
    """Whether a process is writing to the store now (it holds the lock)."""
    import fcntl  # noqa: PLC0415

    path = pathlib.Path(root) / ".lock"
    if not path.exists():
        return False
    with open(path) as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
    return False


@dataclasses.dataclass(slots=True)
class Session:
    """A writing session on a store: the lock, the plan, what is left to run.

    Attributes:
        root: The store directory.
        session: The session id.
        configurations: The configurations, with the store's run ids.
        todo: The configurations still to run.
        writer: What workers commit with.
    """

    root: pathlib.Path
    session: str
    configurations: list[RunConfiguration]
    todo: list[RunConfiguration]
    writer: PartWriter
    lock: Lock
    log: Any = None

    def record(self, statuses: Sequence[RunStatus], *, failures_only: bool = False) -> None:
        """Append finished runs to the status log (one flush per call)."""
        lines = []
        for status in statuses:
            if failures_only and status.status != FAILED:
                continue
            failure = status.failure
            entry = {
                "t": time.time(),
                "session": self.session,
                "event": status.status,
                "run_id": status.run_id,
                "key": status.key,
                "steps": status.steps,
                "wall_time": round(status.wall_time, 6),
            }
            if failure is not None:
                entry |= {
                    "failure_stage": failure.stage,
                    "failure_type": failure.exception_type,
                    "failure_message": failure.message,
                    "failure_traceback": failure.traceback,
                }
            lines.append(json.dumps(entry))
        self._append(lines)

    def _append(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        with contextlib.suppress(OSError):  # a full disk is reported by the workers' commits
            self.log.write("\n".join(lines) + "\n")
            self.log.flush()

    def event(self, name: str, **fields: Any) -> None:
        """Append a session event (``start``, ``end``) to the status log."""
        self._append(
            [json.dumps({"t": time.time(), "session": self.session, "event": name} | fields)]
        )

    def close(self, reason: str) -> None:
        """End the session: log why, update ``store.json``, release the lock."""
        self.event("end", reason=reason)
        with contextlib.suppress(OSError):
            _update_meta(self.root, self.session, end=_now(), reason=reason)
        if self.log is not None:
            self.log.close()
        self.lock.release()


def _update_meta(root: pathlib.Path, session: str, **fields: Any) -> None:
    meta = _read_json(root / "store.json")
    meta["updated"] = _now()
    for entry in meta.get("sessions", []):
        if entry.get("id") == session:
            entry.update(fields)
    data = json.dumps(meta, indent=2).encode()
    _atomic_write(root / "store.json", lambda file: file.write(data))


def open_session(
    root: str | os.PathLike[str],
    configurations: Sequence[RunConfiguration],
    *,
    retry_failed: bool = False,
    replace_store: bool = False,
) -> Session:
    """Open a store for writing: lock it, check and extend its plan, find what is left to run.

    Args:
        root: The store directory (created if missing).
        configurations: The sweep's configurations.
        retry_failed: Run again the runs the store records as failed.
        replace_store: Move an existing store aside (to ``ROOT.replaced-<time>``) and start a
            new one, instead of resuming it.

    Returns:
        The session.

    Raises:
        StoreLockedError: Another process writes to the store.
        StoreConflictError: The configurations are for another model, or give a run already in
            the store another seed.
    """
    path = pathlib.Path(root)
    if replace_store and path.exists():
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        path.rename(path.with_name(f"{path.name}.replaced-{stamp}"))
    lock = Lock(path)
    lock.acquire()
    try:
        session = datetime.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        _clean(path)
        state = read_state(path)
        _quarantine(path, state.corrupt)
        if state.corrupt:
            state = read_state(path)
        configs = _plan(path, session, state, configurations)
        done = state.done_keys()
        failed = set() if retry_failed else state.failed_keys()
        todo = [c for c in configs if c.key not in done and c.key not in failed]
        _start_meta(path, session, configs, len(todo))
        log = open(path / "status.jsonl", "a")  # noqa: SIM115 - held for the session
        opened = Session(path, session, configs, todo, PartWriter(str(path), session), lock, log)
        opened.event("start", pid=os.getpid(), host=socket.gethostname(), todo=len(todo))
        release_arrow_memory()  # writing the plan of 100,000 runs leaves ~40 MB in Arrow's pool
    except BaseException:
        lock.release()
        raise
    return opened


def _clean(root: pathlib.Path) -> None:
    """Remove temporary files a crashed writer left (safe: this process holds the lock)."""
    for temporary in root.glob("**/.*.tmp"):
        with contextlib.suppress(OSError):
            temporary.unlink()


def _quarantine(root: pathlib.Path, corrupt: Iterable[pathlib.Path]) -> None:
    for path in corrupt:
        target = root / "quarantine" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(path, target)


def _plan(
    root: pathlib.Path,
    session: str,
    state: StoreState,
    configurations: Sequence[RunConfiguration],
) -> list[RunConfiguration]:
    """Check the configurations against the plan; give them the store's run ids; extend it."""
    models = {model_path(c.model_cls) for c in configurations}
    stored_model = state.meta.get("model")
    if len(models) > 1 or (stored_model and models and models != {stored_model}):
        raise StoreConflictError(
            problem(
                f"the store {root}",
                f"holds runs of {stored_model or 'one model'}; a store holds one model",
                sorted(models),
                "Use another store for another model, or replace_store=True to start anew.",
            )
        )
    planned = dict(zip(state.plan["key"], state.plan["run_id"], strict=True))
    seeds = (
        dict(zip(state.plan["key"], state.plan["seed"], strict=True))
        if "seed" in state.plan
        else {}
    )
    next_id = int(state.plan["run_id"].max()) + 1 if len(state.plan) else 0
    configs, new = [], []
    for config in configurations:
        if config.key in planned:
            if int(seeds[config.key]) != config.seed:
                raise StoreConflictError(
                    problem(
                        f"the run {config.parameters!r}, iteration {config.iteration}",
                        f"is in the store {root} with seed {int(seeds[config.key])}, and given "
                        "another seed now",
                        config.seed,
                        "Use the design's master seed of the stored sweep (see store.json), "
                        "or replace_store=True to start a new store.",
                    )
                )
            configs.append(config.renumbered(int(planned[config.key])))
        else:
            fresh = config.renumbered(next_id)  # keys are unique: BatchRunner checked them
            next_id += 1
            configs.append(fresh)
            new.append(fresh)
    if new:
        _write_plan(new, root / "plan" / f"{session}.parquet")
    return configs


def _write_plan(configs: Sequence[RunConfiguration], path: pathlib.Path) -> None:
    """Write plan rows atomically, a row group per chunk: a huge plan never sits in memory."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    chunk = 20_000

    def write(file: Any) -> None:
        first = plan_table(configs[:chunk])
        with pq.ParquetWriter(file, first.schema) as writer:
            writer.write_table(first)
            for start in range(chunk, len(configs), chunk):
                writer.write_table(plan_table(configs[start : start + chunk]))

    _atomic_write(path, write)


def plan_table(configs: Sequence[RunConfiguration]) -> Any:
    """The plan rows of configurations as an Arrow table."""
    import pyarrow as pa  # noqa: PLC0415

    columns = {
        "run_id": pa.array([c.run_id for c in configs], pa.int64()),
        "key": [c.key for c in configs],
        "point_key": [c.point_key for c in configs],
        "iteration": pa.array([c.iteration for c in configs], pa.int64()),
        "occurrence": pa.array([c.occurrence for c in configs], pa.int64()),
        "point": pa.array([c.point for c in configs], pa.int64()),
        "seed": pa.array([c.seed for c in configs], pa.uint64()),
        "max_steps": pa.array([c.max_steps for c in configs], pa.int64()),
        "data_collection_period": pa.array([c.data_collection_period for c in configs], pa.int64()),
        "model": [c.model_path for c in configs],
        "design": [c.design.name if c.design else None for c in configs],
        "parameters": [repr(dict(c.parameters)) for c in configs],
        "parameters_pickle": pa.array([_pickled(c.parameters) for c in configs], pa.binary()),
    }
    return pa.table(columns)


def _pickled(parameters: Mapping[str, Any]) -> bytes | None:
    try:
        return pickle.dumps(dict(parameters), protocol=5)
    except Exception:
        return None


def plan_parameters(plan: pd.DataFrame) -> list[dict[str, Any]]:
    """The parameters of each planned run, unpickled (their ``repr`` text if that fails)."""
    out = []
    for data, text in zip(plan["parameters_pickle"], plan["parameters"], strict=True):
        try:
            out.append(dict(pickle.loads(data)))
        except Exception:
            out.append({"parameters": text})
    return out


def _start_meta(
    root: pathlib.Path, session: str, configs: Sequence[RunConfiguration], todo: int
) -> None:
    meta = _read_json(root / "store.json")
    now = _now()
    if not meta:
        meta = {"format": FORMAT, "version": VERSION, "created": now}
    if meta.get("format") != FORMAT or meta.get("version", 0) > VERSION:
        raise StoreConflictError(
            problem(
                f"the directory {root}",
                f"must be a {FORMAT} store of version <= {VERSION}",
                {k: meta.get(k) for k in ("format", "version")},
                "Use an empty directory, or upgrade mesa_batch.",
            )
        )
    if configs:
        meta["model"] = configs[0].model_path
    meta["updated"] = now
    meta["host"] = socket.gethostname()
    meta["versions"] = _versions()
    meta["platform"] = platform.platform()
    meta.setdefault("sessions", []).append(
        {"id": session, "start": now, "pid": os.getpid(), "planned": len(configs), "todo": todo}
    )
    data = json.dumps(meta, indent=2).encode()
    _atomic_write(root / "store.json", lambda file: file.write(data))


def run_statuses(runs: pd.DataFrame) -> list[RunStatus]:
    """The statuses recorded in a store's runs table."""
    if "worker_time" not in runs:
        runs = runs.assign(worker_time=0.0)
    columns = runs[["run_id", "steps", "wall_time", "model_time", "worker_time"]]
    numbers: list[list[float]] = columns.astype(float).fillna(0.0).to_numpy().tolist()
    failures = (
        {
            index: Failure(
                stage=str(row.failure_stage),
                exception_type=str(row.failure_type),
                message=str(row.failure_message),
                traceback=str(row.failure_traceback or ""),
            )
            for index, row in enumerate(runs.itertuples(index=False))
            if row.status == FAILED
        }
        if (runs["status"] == FAILED).any()
        else {}
    )
    return [
        RunStatus(
            run_id=int(run_id),
            key=key,
            status=status,
            steps=int(steps),
            wall_time=times[0],
            model_time=times[1],
            failure=failures.get(index),
            worker_time=times[2],
        )
        for index, ((run_id, steps, *times), key, status) in enumerate(
            zip(numbers, runs["key"].tolist(), runs["status"].tolist(), strict=True)
        )
    ]
