"""The writing session (parent side): the lock, the plan, the designs, the log, ``store.json``.

:func:`open_session` locks a store, checks the configurations against what it holds (one
model; every stored run keeps its id and its seed), records new designs and plan rows, and
finds what is left to run. A design whose seed was drawn fresh (``seed=None``) adopts the
master seed the store recorded for it, so the same script run twice finishes the sweep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import os
import pathlib
import platform
import socket
import stat
import sys
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from mesa_batch.config import DesignInfo, RunConfiguration, renumber
from mesa_batch.errors import (
    SeedAdoptedWarning,
    StoreConflictError,
    StoreLockedError,
    StoreWriteError,
    problem,
)
from mesa_batch.keys import MasterSeed
from mesa_batch.models import model_path
from mesa_batch.outcomes import RunStatus
from mesa_batch.store.files import atomic_write, is_temporary, read_json, write_json
from mesa_batch.store.reader import FORMAT, VERSION, StoreState, check_format, read_state
from mesa_batch.store.records import design_record, plan_table
from mesa_batch.store.writer import PartWriter

__all__ = ["Lock", "Session", "is_locked", "open_session", "release_arrow_memory"]

#: The store's own directories: the only places cleanup looks for temporary files.
DIRECTORIES = ("plan", "runs", "designs", "data", "quarantine")


def release_arrow_memory() -> None:
    """Give Arrow's freed buffers back to the OS (its pool keeps them otherwise)."""
    import pyarrow as pa  # noqa: PLC0415

    pa.default_memory_pool().release_unused()


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

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise write_error(self.path.parent, error) from error
        file = os.fdopen(_open_own(self.path, os.O_RDWR | os.O_CREAT), "r+")
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


def _open_own(path: pathlib.Path, flags: int) -> int:
    """Open a file the store keeps (``.lock``, ``status.jsonl``), never through a link.

    Raises:
        StoreConflictError: The file is a symbolic link (or not a regular file).
        StoreWriteError: It cannot be opened or created (a read-only store, permissions).
    """
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        if path.is_symlink() or error.errno == errno.ELOOP:
            raise StoreConflictError(
                problem(
                    f"the store's {path.name}",
                    "must be a plain file the store made; mesa_batch never writes through a "
                    "symbolic link",
                    f"a link to {os.readlink(path) if path.is_symlink() else '?'}",
                    f"Remove the link {path} (its target is left alone), then run again.",
                )
            ) from error
        raise write_error(path, error) from error
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreConflictError(
            problem(f"the store's {path.name}", "must be a plain file", str(path), None)
        )
    return fd


def write_error(path: pathlib.Path, error: OSError) -> StoreWriteError:
    """A failed write of the store as :class:`StoreWriteError`, with the path and the fix."""
    return StoreWriteError(
        problem(
            f"the store file {path}",
            "could not be written",
            f"{type(error).__name__}: {error}",
            "Make the store writable (permissions, a read-only mount), free disk space or "
            "raise the file size limit (ulimit -f), then run the same sweep again: it resumes.",
        )
    )


def is_locked(root: str | os.PathLike[str]) -> bool:
    """Whether a process is writing to the store now (it holds the lock)."""
    import fcntl  # noqa: PLC0415

    path = pathlib.Path(root) / ".lock"
    if not path.exists() or path.is_symlink():
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
        configurations: The configurations, with the store's run ids (and, for designs that
            adopted the store's master seed, that seed).
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

    def record(self, statuses: Sequence[RunStatus]) -> None:
        """Append finished runs to the status log (one flush per call)."""
        lines = []
        for status in statuses:
            entry: dict[str, Any] = {
                "t": time.time(),
                "session": self.session,
                "event": str(status.status),
                "run_id": status.run_id,
                "key": status.key,
                "steps": status.steps,
                "wall_time": round(status.wall_time, 6),
            }
            if status.failure is not None:
                entry |= status.failure.to_row()
            lines.append(json.dumps(entry))
        self._append(lines)

    def _append(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        try:
            self.log.write("\n".join(lines) + "\n")
            self.log.flush()
        except OSError as error:
            raise write_error(self.root / "status.jsonl", error) from error

    def event(self, name: str, **fields: Any) -> None:
        """Append a session event (``start``, ``end``, ``reproducibility``) to the status log."""
        self._append(
            [json.dumps({"t": time.time(), "session": self.session, "event": name} | fields)]
        )

    def note(self, **fields: Any) -> None:
        """Record facts about the sweep in ``store.json`` (e.g. its reproducibility check)."""
        with contextlib.suppress(OSError):
            meta = read_json(self.root / "store.json")
            meta.update(fields)
            meta["updated"] = _now()
            write_json(self.root / "store.json", meta)

    def compact(self) -> list[str]:
        """Compact the sessions that left many batch parts (:mod:`mesa_batch.store.compact`).

        The runner calls it when every run of the session is done, while the session holds
        the lock; once the lock is released it does nothing.

        Returns:
            The ids of the sessions compacted (logged as a ``compacted`` event).
        """
        from mesa_batch.store.compact import compact_store  # noqa: PLC0415

        if self.lock.file is None:
            return []
        compacted = compact_store(self.root)
        if compacted:
            self.event("compacted", sessions=compacted)
        release_arrow_memory()
        return compacted

    def close(self, reason: str) -> None:
        """End the session: log why, update ``store.json``, release the lock."""
        with contextlib.suppress(OSError):  # a failed write already stopped the sweep
            self.event("end", reason=reason)
        with contextlib.suppress(OSError):
            _update_meta(self.root, self.session, end=_now(), reason=reason)
        if self.log is not None:
            self.log.close()
        self.lock.release()


def _update_meta(root: pathlib.Path, session: str, **fields: Any) -> None:
    meta = read_json(root / "store.json")
    meta["updated"] = _now()
    for entry in meta.get("sessions", []):
        if isinstance(entry, dict) and entry.get("id") == session:
            entry.update(fields)
    write_json(root / "store.json", meta)


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
        StoreConflictError: The directory is not a store, or the configurations are for
            another model, or give a run already in the store another seed.
    """
    path = pathlib.Path(root)
    _refuse_foreign(path)
    if replace_store and path.exists():
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        path.rename(path.with_name(f"{path.name}.replaced-{stamp}"))
    lock = Lock(path)
    lock.acquire()
    try:
        session = datetime.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        _clean(path)
        state = read_state(path, verify=True)
        if "format" in state.meta or "version" in state.meta:
            check_format(path, state.meta)
        _quarantine(path, state.corrupt)
        if state.corrupt:
            notes = state.notes
            state = read_state(path)
            state.notes[:0] = notes
        configs = adopt_seeds(state, configurations)
        try:
            configs = _plan(path, session, state, configs)
            done = state.done_keys()
            failed = set() if retry_failed else state.failed_keys()
            todo = [c for c in configs if c.key not in done and c.key not in failed]
            _start_meta(path, session, state.meta, configs, len(todo))
        except StoreWriteError:
            raise
        except OSError as error:
            raise write_error(_failed_path(error, path), error) from error
        log = _open_log(path / "status.jsonl")
        opened = Session(path, session, configs, todo, PartWriter(str(path), session), lock, log)
        opened.event("start", pid=os.getpid(), host=socket.gethostname(), todo=len(todo))
        release_arrow_memory()  # writing the plan of 100,000 runs leaves ~40 MB in Arrow's pool
    except BaseException:
        lock.release()
        raise
    return opened


#: What a store directory holds: a non-empty directory with none of these is not a store.
OWN_ENTRIES = frozenset({"store.json", "status.jsonl", ".lock", *DIRECTORIES})


def _refuse_foreign(path: pathlib.Path) -> None:
    """Refuse a path that exists and is not a store, before anything in it is touched."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise StoreConflictError(
            problem("store", "must be a directory (a new one is created)", str(path))
        )
    try:
        entries = {entry.name for entry in path.iterdir()}
    except FileNotFoundError:
        return
    except OSError as error:
        raise write_error(path, error) from error
    if entries and not entries & OWN_ENTRIES:
        shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
        raise StoreConflictError(
            problem(
                f"the directory {path}",
                "must be a mesa_batch store or empty; it holds other files, which a store "
                "never touches",
                shown,
                "Give store= a new or empty directory (e.g. a subdirectory of it).",
            )
        )


def _failed_path(error: OSError, root: pathlib.Path) -> pathlib.Path:
    """The store file a write failed on (its final name, not its temporary one)."""
    if not error.filename:
        return root
    failed = pathlib.Path(str(error.filename))
    if is_temporary(failed, top=failed.parent == root):
        return failed.with_name(failed.name[1:-13])
    return failed


def _open_log(path: pathlib.Path) -> Any:
    """Open the status log for appending; a torn last line is ended first."""
    fd = _open_own(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")  # a torn line stays alone: this session's lines start fresh
    except OSError as error:
        os.close(fd)
        raise write_error(path, error) from error
    return os.fdopen(fd, "a")


def _clean(root: pathlib.Path) -> None:
    """Remove temporary files a crashed writer left, in the store's own directories only."""
    folders = [root, *(root / name for name in DIRECTORIES if name != "data")]
    with contextlib.suppress(OSError):
        folders += [d for d in (root / "data").iterdir() if d.is_dir() and not d.is_symlink()]
    for folder in folders:
        if folder.is_symlink():
            continue
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if (
                is_temporary(entry, top=folder == root)
                and not entry.is_symlink()
                and entry.is_file()
            ):
                with contextlib.suppress(OSError):
                    entry.unlink()


def _quarantine(root: pathlib.Path, corrupt: Iterable[pathlib.Path]) -> None:
    for path in corrupt:
        target = root / "quarantine" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(path, target)


# -- seeds ------------------------------------------------------------------------------------


def adopt_seeds(
    state: StoreState, configurations: Sequence[RunConfiguration]
) -> list[RunConfiguration]:
    """Give designs that drew a fresh master seed the one the store recorded for them.

    A design made with ``seed=None`` draws new entropy every time it is built, so its seeds
    (and a sampled design's points) differ from those in the store. When the store records a
    design of the same name (and the same common-random-numbers setting), the design is built
    again with that master seed, and its configurations take the rebuilt seeds and points.
    Designs given an explicit seed are left as they are.

    Returns:
        The configurations, those of adopting designs rebuilt (run ids kept).
    """
    fresh = {
        c.design.id: c.design
        for c in configurations
        if c.design is not None and c.design.seed.drawn and c.design.rebuild is not None
    }
    if not fresh or not state.meta:
        return list(configurations)
    adopted: dict[str, dict[int, RunConfiguration]] = {}
    for design_id, design in fresh.items():
        stored = _stored_design(state, design)
        if stored is None or design.rebuild is None:
            continue
        rebuilt = design.rebuild(stored.seed)
        adopted[design_id] = {c.point: c for c in rebuilt}
        warnings.warn(
            f"the {design.name} design drew a fresh master seed (seed=None); the store "
            f"{state.root} records its master seed {_describe(stored.seed)}, which is used so "
            "that the sweep resumes. Give the design seed=... to choose the seed yourself.",
            SeedAdoptedWarning,
            stacklevel=4,
        )
    if not adopted:
        return list(configurations)
    out = []
    for config in configurations:
        points = adopted.get(config.design.id) if config.design is not None else None
        if points is None or config.point not in points:
            out.append(config)
            continue
        base = points[config.point]
        out.append(
            base.renumbered(config.run_id)
            if config.iteration == 0
            else base.with_iteration(config.iteration, run_id=config.run_id)
        )
    return out


def _stored_design(state: StoreState, design: DesignInfo) -> DesignInfo | None:
    """The most recently recorded design of the store that ``design`` resumes."""
    recorded = state.meta.get("designs")
    order = [d for d in recorded if isinstance(d, str)] if isinstance(recorded, list) else []
    candidates = [
        state.designs[d]
        for d in order
        if d in state.designs
        and state.designs[d].name == design.name
        and state.designs[d].common_random_numbers == design.common_random_numbers
    ]
    exact = [d for d in candidates if _same_design(d, design)]
    found = exact or candidates
    return found[-1] if found else None


def _same_design(stored: DesignInfo, design: DesignInfo) -> bool:
    from mesa_batch.store.encoding import encode  # noqa: PLC0415

    return stored.n_points == design.n_points and encode(dict(stored.options)) == encode(
        dict(design.options)
    )


def _describe(seed: MasterSeed) -> str:
    spawn = f", spawn_key={seed.spawn_key}" if seed.spawn_key else ""
    return f"(entropy {seed.entropy}{spawn})"


# -- the plan ---------------------------------------------------------------------------------


def _plan(
    root: pathlib.Path,
    session: str,
    state: StoreState,
    configurations: Sequence[RunConfiguration],
) -> list[RunConfiguration]:
    """Check the configurations against the plan; give them the store's run ids; extend it.

    Run ids come from the keys: a key the store knows (from its plan or, when the plan lost
    it, from its runs parts) keeps its id; a new key gets an id no run of the store ever had.
    """
    models = {model_path(c.model_cls) for c in configurations}
    stored_model = state.meta.get("model")
    if state.meta.get("recovered") and not stored_model:
        raise StoreConflictError(
            problem(
                f"the store {root}",
                "must say which model its runs are of; its store.json is missing or garbled "
                "and its plan does not name one model",
                sorted(models),
                "Restore store.json from a backup, or start a new store with "
                "replace_store=True (command line: mesa-batch run FILE --fresh).",
            )
        )
    if len(models) > 1 or (stored_model and models and models != {stored_model}):
        raise StoreConflictError(
            problem(
                f"the store {root}",
                f"holds runs of {stored_model or 'one model'}; a store holds one model",
                sorted(models),
                "Use another store for another model, or start a new store with "
                "replace_store=True (command line: mesa-batch run FILE --fresh).",
            )
        )
    plan = state.plan
    known, next_id = state.identities()
    seeds = dict(zip(plan["key"].tolist(), plan["seed"].tolist(), strict=True))
    in_plan = set(plan.loc[plan["seed"].notna(), "key"].tolist()) if len(plan) else set()
    run_ids, planned = [], []
    for config in configurations:
        run_id = known.get(config.key)
        if run_id is None:
            run_id, next_id = next_id, next_id + 1
        elif config.key in in_plan and int(seeds[config.key]) != config.seed:
            raise StoreConflictError(_seed_conflict(root, state, config, int(seeds[config.key])))
        run_ids.append(int(run_id))
        planned.append(config.key in in_plan)
    configs = renumber(configurations, run_ids)  # a design's block stays one block
    # new, or a finished run whose plan row was lost
    new = [fresh for fresh, known_run in zip(configs, planned, strict=True) if not known_run]
    _write_designs(root, state, configs)
    if new:
        _write_plan(new, root / "plan" / f"{session}.parquet")
    return configs


def _seed_conflict(
    root: pathlib.Path, state: StoreState, config: RunConfiguration, stored: int
) -> str:
    plan = state.plan
    row = plan.loc[plan["key"] == config.key].iloc[0]
    design = state.designs.get(str(row.get("design"))) if row.get("design") else None
    if design is not None:
        master = f"master seed {_master_text(design.seed)} of its {design.name} design"
        fix = f"Pass seed={_master_text(design.seed)} to the design to resume the stored sweep"
    else:
        master = "another master seed"
        fix = "Give the design the master seed of the stored sweep to resume it"
    given = (
        f"master seed {_master_text(config.design.seed)}"
        if config.design is not None
        else "a seed of its own"
    )
    return problem(
        f"the run {config.parameters!r}, iteration {config.iteration}",
        f"is in the store {root} with seed {stored} (from the {master}), and this design gives "
        f"it seed {config.seed} (from {given})",
        config.seed,
        f"{fix}, or start a new store with replace_store=True (command line: mesa-batch run "
        "FILE --fresh).",
    )


def _master_text(seed: MasterSeed) -> str:
    if seed.spawn_key:
        return f"numpy.random.SeedSequence({seed.entropy}, spawn_key={seed.spawn_key})"
    return str(seed.entropy)


def _write_designs(
    root: pathlib.Path, state: StoreState, configs: Sequence[RunConfiguration]
) -> None:
    """Record every design that contributes runs (once: a design's id names its record)."""
    import pyarrow as pa  # noqa: PLC0415

    from mesa_batch.store.files import write_parquet  # noqa: PLC0415

    designs = {c.design.id: c.design for c in configs if c.design is not None}
    for design_id, design in designs.items():
        if design_id in state.designs:
            continue
        if design.samples is not None and design.samples.ndim == 2:
            names = list(design.varying) or [f"u{j}" for j in range(design.samples.shape[1])]
            if len(names) != design.samples.shape[1]:
                names = [f"u{j}" for j in range(design.samples.shape[1])]
            table = pa.table({n: design.samples[:, j] for j, n in enumerate(names)})
            write_parquet(table, root / "designs" / f"{design_id}.samples.parquet")
        write_json(root / "designs" / f"{design_id}.json", design_record(design))
        state.designs[design_id] = design
    recorded = state.meta.setdefault("designs", [])
    if isinstance(recorded, list):
        recorded.extend(d for d in designs if d not in recorded)


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

    atomic_write(path, write)


def _start_meta(
    root: pathlib.Path,
    session: str,
    meta: dict[str, Any],
    configs: Sequence[RunConfiguration],
    todo: int,
) -> None:
    now = _now()
    if "format" not in meta:
        meta.update({"format": FORMAT, "version": VERSION, "created": now})
    meta.pop("recovered", None)
    meta["version"] = VERSION  # a version-1 store is read and written as version 2 from now on
    if configs:
        meta["model"] = configs[0].model_path
    meta["updated"] = now
    meta["host"] = socket.gethostname()
    meta["versions"] = _versions()
    meta["platform"] = platform.platform()
    sessions = meta.get("sessions")
    if not isinstance(sessions, list):
        sessions = meta["sessions"] = []
    sessions.append(
        {
            "id": session,
            "start": now,
            "pid": os.getpid(),
            "planned": len(configs),
            "todo": todo,
            # what made the store: an experiment file, a script (resume hints, `show`)
            "command": [str(arg) for arg in sys.argv],
            "cwd": _cwd(),
        }
    )
    write_json(root / "store.json", meta)


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the working directory was removed
        return None
