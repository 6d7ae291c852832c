"""Reading a store: what is done, the plan, the designs, and the data tables (column by column).

All reading of a store goes through :func:`read_state` and the :class:`StoreState` it returns.
Nothing read from a store is unpickled, evaluated or imported: parameters come from the safe
encoding of :mod:`mesa_batch.store.encoding` (version 1 stores: from their ``repr`` text, with
:func:`ast.literal_eval`), designs from JSON records.

**Identity.** A run's id in a store is tied to its key. The runs parts carry both, next to the
data, so they are the authority: on every read, the plan is checked against them — a plan row
whose key the runs parts give another id gets that id, a plan row whose id the runs parts give
another key is dropped, and a finished run the plan lost is listed from its runs part (its
parameters unknown until its configuration is given again). A run's data can never be read
under another run's id.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import pathlib
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.config import DesignInfo
from mesa_batch.errors import StoreConflictError, problem
from mesa_batch.outcomes import Status
from mesa_batch.store.encoding import decode_parameters, dumps, encode, loads
from mesa_batch.store.files import file_digest, open_no_follow, read_json, table_name
from mesa_batch.store.records import design_from_record, plan_version_2
from mesa_batch.store.unify import conform, decode_frame, target_types
from mesa_batch.store.writer import RUN_FIELDS, part_names


class CorruptPartWarning(UserWarning):
    """A data part could not be read: the rows of its runs are left out of what is read."""


if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMAT",
    "VERSION",
    "StoreState",
    "check_format",
    "decoded_parameters",
    "parameter_codes",
    "plain_parameter_columns",
    "read_designs",
    "read_log",
    "read_plan",
    "read_state",
    "reconcile",
    "string_isin",
]

FORMAT: Final = "mesa_batch.store"
#: The store format version written; versions 1 and 2 are read.
VERSION: Final = 2
#: The plan columns, in order, as every reader returns them.
PLAN_COLUMNS: Final = (
    "run_id",
    "key",
    "point_key",
    "iteration",
    "occurrence",
    "point",
    "seed",
    "max_steps",
    "data_collection_period",
    "model",
    "design",
    "design_name",
    "scenario_cls",
    "reporters",
    "parameters",
    "parameters_exact",
)
#: The plan columns results are read from (:meth:`StoreState.plan_columns`).
LEAN_COLUMNS: Final = (
    "run_id",
    "key",
    "point_key",
    "iteration",
    "point",
    "seed",
    "max_steps",
    "data_collection_period",
    "design",
    "parameters",
)
#: A file name the store writes for a part: a batch or session id and ``.parquet``.
PART_NAME: Final = re.compile(r"^[A-Za-z0-9_-]+\.parquet$")
#: The longest ``repr`` of version-1 parameters that is parsed.
MAX_REPR: Final = 1_000_000


def check_format(root: pathlib.Path, meta: Mapping[str, Any]) -> None:
    """Refuse a ``store.json`` that is not a store of a version this code reads.

    Raises:
        StoreConflictError: Another format, or a newer version.
    """
    version = meta.get("version")
    if meta.get("format") == FORMAT and isinstance(version, int) and 1 <= version <= VERSION:
        return
    raise StoreConflictError(
        problem(
            f"the directory {root}",
            f"must be a {FORMAT} store of version <= {VERSION}",
            {k: meta.get(k) for k in ("format", "version")},
            "Use an empty directory, or upgrade mesa_batch.",
        )
    )


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
        notes: What was found wrong and how it was read (a plan that disagrees with the runs
            parts, runs the plan lost), one sentence each.
    """

    root: pathlib.Path
    meta: dict[str, Any]
    runs: pd.DataFrame
    batches: dict[str, dict[pathlib.Path, np.ndarray]]
    corrupt: list[pathlib.Path]
    notes: list[str] = dataclasses.field(default_factory=list)
    _plan: pd.DataFrame | None = None
    _designs: dict[str, DesignInfo] | None = None
    _types: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    _lean: list[pd.DataFrame] = dataclasses.field(default_factory=list)
    _whole: set[str] = dataclasses.field(default_factory=set)

    def plan_columns(self, columns: Sequence[str]) -> pd.DataFrame:
        """The plan (as :attr:`plan`), only some of its columns (``run_id`` and ``key`` too).

        Reading the results of a store needs the run ids, seeds, points and parameters, not
        each run's model path, reporters or Scenario class: only :data:`LEAN_COLUMNS` are read
        for that, once, unless the whole plan is read already.
        """
        wanted = list(dict.fromkeys(["run_id", "key", *columns]))
        if self._plan is not None:
            return self._plan[wanted]
        if not set(wanted) <= set(LEAN_COLUMNS):
            return self.plan[wanted]
        for read in self._lean:
            if set(wanted) <= set(read.columns):
                return read[wanted]
        # only what is asked (counting runs reads ids and keys), or all the lean columns
        names = wanted if set(wanted) <= {"run_id", "key"} else list(LEAN_COLUMNS)
        lean, notes = reconcile(read_plan(self.root, names), self.runs)
        self.notes.extend(n for n in notes if n not in self.notes)
        self._lean.append(lean)
        return lean[wanted]

    @property
    def plan(self) -> pd.DataFrame:
        """One row per planned run (:data:`PLAN_COLUMNS`), checked against the runs parts.

        Read on first use: counting a sweep's outcomes does not need it.
        """
        if self._plan is None:
            plan, notes = reconcile(read_plan(self.root), self.runs)
            self.notes.extend(n for n in notes if n not in self.notes)
            self._plan, self._lean = plan, []
        return self._plan

    @property
    def designs(self) -> dict[str, DesignInfo]:
        """The designs recorded in the store, by id (read on first use)."""
        if self._designs is None:
            self._designs = read_designs(self.root)
        return self._designs

    def planned_run_ids(self) -> np.ndarray:
        """The run ids of every planned run, sorted."""
        return np.sort(self.plan["run_id"].to_numpy(dtype=np.int64))

    def parameters(self, plan: pd.DataFrame | None = None) -> list[dict[str, Any] | None]:
        """The decoded parameters of each plan row (None where they are unknown)."""
        return decoded_parameters(self.plan if plan is None else plan)

    def done_keys(self) -> set[str]:
        """Keys of runs that succeeded and whose data is committed."""
        return set(self.runs.loc[self.runs["status"] == Status.SUCCEEDED, "key"])

    def failed_keys(self) -> set[str]:
        """Keys of runs recorded as failed (and never succeeded)."""
        return set(self.runs.loc[self.runs["status"] == Status.FAILED, "key"])

    def identities(self) -> tuple[dict[str, int], int]:
        """Every known key's run id, and the smallest run id never used in this store."""
        plan = self.plan
        known = dict(zip(plan["key"].tolist(), plan["run_id"].tolist(), strict=True))
        used = [int(plan["run_id"].max()) if len(plan) else -1]
        used.append(int(self.runs["run_id"].max()) if len(self.runs) else -1)
        return known, max(used) + 1

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

        pieces = list(self.scan(name, run_ids=run_ids))
        if not pieces:
            return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "step": []})
        table = pa.concat_tables(pieces, promote_options="permissive")
        frame = decode_frame(table.to_pandas(), table)
        return frame.sort_values("run_id", kind="stable", ignore_index=True)

    def column_names(self, name: str) -> list[str]:
        """A table's column names across its parts (from their footers; no data is read)."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        names: dict[str, None] = {}
        for path in sorted(self.batches.get(name, {})):
            try:
                names |= dict.fromkeys(pq.read_schema(path).names)
            except (OSError, pa.ArrowException):
                continue
        return list(names)

    def column_types(self, name: str) -> dict[str, Any]:
        """The type each column of a table is read as where its parts disagree.

        See :mod:`mesa_batch.store.unify`; computed once per table, so it warns once.
        """
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        found = self._types.get(name)
        if found is None:
            schemas = {}
            for path in sorted(self.batches.get(name, {})):
                try:
                    schemas[path] = pq.read_schema(path)
                except (OSError, pa.ArrowException):
                    continue

            def read_column(path: pathlib.Path, column: str) -> Any:
                return pq.ParquetFile(path).read(columns=[column]).column(column)

            found = self._types[name] = target_types(name, schemas, read_column)
        return found

    def scan(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        run_ids: Iterable[int] | None = None,
    ) -> Iterator[Any]:
        """The committed rows of one table, one Arrow table per row group, column by column.

        Only the ``columns`` asked for (and ``run_id``) are read from each part, a row group at
        a time (a batch's part is one; a compacted session's part holds whole batches of about
        a million rows each), and only the rows of runs that part contributes (its batch is
        the run's outcome).

        Args:
            name: The table name.
            columns: The columns to read (all by default); a part without one of them gives
                nulls for it.
            run_ids: Keep only these runs.

        Yields:
            ``pyarrow.Table`` pieces, each with ``run_id`` first.
        """
        wanted = None if run_ids is None else np.fromiter(run_ids, np.int64)
        targets = self.column_types(name)
        for path, contributes in sorted(self.batches.get(name, {}).items()):
            keep = contributes if wanted is None else contributes[np.isin(contributes, wanted)]
            if len(keep):
                every = wanted is None and path.stem in self._whole
                yield from _scan_part(path, name, keep, columns, targets, every=every)


def _scan_part(
    path: pathlib.Path,
    name: str,
    keep: np.ndarray,
    columns: Sequence[str] | None,
    targets: Mapping[str, Any],
    *,
    every: bool = False,
) -> Iterator[Any]:
    """One part's rows of the runs ``keep``, a row group at a time (see :meth:`StoreState.scan`).

    With ``every``, every row of the part is one of ``keep``'s: no row is filtered.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    value_set = pa.array(keep, pa.int64())
    file, group = None, 0
    try:
        file = pq.ParquetFile(path)
        present = file.schema_arrow.names
        chosen = None
        if columns is not None:
            chosen = ["run_id", *(c for c in columns if c in present and c != "run_id")]
        for group in range(file.num_row_groups):
            table = file.read_row_group(group, columns=chosen)
            if columns is not None:
                for column in columns:
                    if column not in table.column_names:
                        table = table.append_column(column, pa.nulls(len(table)))
                table = table.select(["run_id", *(c for c in columns if c != "run_id")])
            if not every:
                table = table.filter(pc.is_in(table.column("run_id"), value_set=value_set))
            yield conform(table, targets)
    except (OSError, pa.ArrowException) as error:
        missing = _unread(file, group, keep)
        warnings.warn(
            f"the data part {path} of the table {name!r} cannot be read "
            f"({type(error).__name__}: {error}); the rows of runs "
            f"{_ids(missing)} are left out. Resume the sweep: its writing session moves the "
            "part to quarantine/ and runs them again.",
            CorruptPartWarning,
            stacklevel=4,
        )


def _unread(file: Any, failed: int, keep: np.ndarray) -> np.ndarray:
    """The runs of ``keep`` with no rows in the row groups read before the one that failed."""
    import pyarrow as pa  # noqa: PLC0415

    read = []
    for group in range(failed if file is not None else 0):
        try:
            read.append(file.read_row_group(group, columns=["run_id"]).column("run_id"))
        except (OSError, pa.ArrowException):
            continue
    if not read:
        return keep
    return np.setdiff1d(keep, np.concatenate([c.to_numpy() for c in read]))


#: The outcome columns :func:`read_state` reads with ``counting=True``.
COUNTED: Final = ("run_id", "key", "status", "batch")


def read_state(
    root: str | os.PathLike[str], *, verify: bool = False, counting: bool = False
) -> StoreState:
    """Read a store's metadata and run outcomes (no data table; the plan on first use).

    Every data part is checked against what its batch's runs part recorded of it: its row count
    and size always (from its footer and the file system: cheap), its checksum with ``verify``
    (reads every byte; a writing session does it when it opens the store).

    Args:
        root: The store directory.
        verify: Also check every data part's checksum.
        counting: Read only the outcome columns that counting runs needs (:data:`COUNTED`:
            no times, no failures), e.g. for ``mesa-batch status`` of millions of runs.

    Returns:
        The store's state.
    """
    from mesa_batch.store.session import release_arrow_memory  # noqa: PLC0415

    path = pathlib.Path(root)
    meta = read_json(path / "store.json")
    notes: list[str] = []
    if not meta:
        meta = recovered_meta(path, notes)
    corrupt: list[pathlib.Path] = []
    found = _Found(corrupt, notes, sessions=_sessions(meta))
    outcomes, batch_parts = _read_runs_parts(path, found, COUNTED if counting else None)
    release_arrow_memory()  # the pages decoded to read the runs parts
    batches, complete = _data_parts(path, batch_parts, found, verify=verify)
    if found.damaged and outcomes is not None:
        _note_damaged(found, outcomes)
    recorded = _successes_by_batch(outcomes)
    runs = _authoritative_runs(outcomes, complete, read_log(path, events=[Status.FAILED]))
    del outcomes  # converted to pandas column by column: not usable any more
    release_arrow_memory()
    succeeded = runs[runs["status"] == Status.SUCCEEDED]
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
    # a part holds rows of its batch's succeeded runs only (its checks say it is the part
    # the batch wrote): where they all count, its rows need no filter
    whole = {
        b for b, ids in contributes.items() if recorded.get(b) == len(ids) and found.checks.get(b)
    }
    return StoreState(path, meta, runs, by_table, corrupt, found.notes, _whole=whole)


def _successes_by_batch(outcomes: Any) -> dict[str, int]:
    """How many succeeded rows each batch's runs part has (before any deduplication)."""
    import pyarrow.compute as pc  # noqa: PLC0415

    if outcomes is None or not outcomes.num_rows:
        return {}
    ok = pc.equal(outcomes.column("status"), str(Status.SUCCEEDED)).fill_null(False)
    counts = pc.value_counts(outcomes.column("batch").filter(ok))  # by dictionary: no strings
    return dict(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )


def recovered_meta(root: pathlib.Path, notes: list[str]) -> dict[str, Any]:
    """What ``store.json`` said, rebuilt from the plan when it is missing or garbled.

    Only for a directory that holds store parts (``plan/`` or ``runs/``); {} otherwise. The
    model is the one every plan row names (none when they name several, or there is no plan).
    """
    if not (_parts(root / "plan") or _parts(root / "runs")):
        return {}
    plan = read_plan(root, columns=("run_id", "key", "model"))
    models = sorted({m for m in plan["model"].tolist() if isinstance(m, str)})
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "recovered": True}
    found = {session_of(p.stem) for d in ("plan", "runs") for p in _parts(root / d)}
    meta["sessions"] = [{"id": session, "recovered": True} for session in sorted(found)]
    if len(models) == 1:
        meta["model"] = models[0]
    notes.append(
        f"store.json is missing or garbled; its format and model ({', '.join(models) or 'unknown'})"
        " are taken from the plan, and the next writing session writes it again"
    )
    return meta


def _parts(directory: pathlib.Path) -> list[pathlib.Path]:
    """The part files of a store directory: plain files with a store part's name, sorted."""
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    return [
        entry
        for entry in entries
        if PART_NAME.match(entry.name) and not entry.is_symlink() and entry.is_file()
    ]


def _read_parquet(
    path: pathlib.Path,
    corrupt: list[pathlib.Path],
    *,
    dictionary: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> Any:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        # ParquetFile, not read_table: one file needs no dataset (nor pyarrow.dataset's import)
        names = pq.read_schema(path).names
        wanted = [name for name in dictionary if name in names]
        chosen = None if columns is None else [c for c in columns if c in names]
        return pq.ParquetFile(path, read_dictionary=wanted or None).read(columns=chosen)
    except (OSError, pa.ArrowException):
        corrupt.append(path)
        return None


# -- the plan ---------------------------------------------------------------------------------


#: Plan columns that repeat across runs (a model path, a design): read as dictionaries.
REPEATED: Final = ("model", "design", "design_name", "scenario_cls", "reporters")


def read_plan(root: pathlib.Path, columns: Sequence[str] = PLAN_COLUMNS) -> pd.DataFrame:
    """Every plan part's rows (version 1 and 2), first planning of a key kept, by run id.

    The parts are joined, deduplicated and sorted in Arrow; pandas gets the result once
    (columns of repeated text as categoricals).
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    tables = []
    for path in _parts(root / "plan"):
        try:
            schema = pq.read_schema(path)
            version2 = plan_version_2(schema)
            wanted = [c for c in columns if c in schema.names]
            if not version2 and "parameters" in columns and "parameters" in schema.names:
                wanted.append("parameters")
            repeated = [c for c in REPEATED if c in wanted] if version2 else None
            file = pq.ParquetFile(path, read_dictionary=repeated)
            table = file.read(columns=list(dict.fromkeys(wanted)))
            if not version2:
                upgraded = _upgrade_plan(table.to_pandas())
                table = pa.Table.from_pandas(upgraded, preserve_index=False)
            table = _plan_types(table)
        except (OSError, pa.ArrowException):
            continue
        tables.append(table)
    if not tables:
        return _empty_plan(columns)
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException:  # parts whose columns no type holds together: as pandas does
        table = pa.concat_tables(
            [pa.Table.from_pandas(t.to_pandas().astype(object)) for t in tables],
            promote_options="permissive",
        )
    del tables
    table = _first_of_each_key(table.unify_dictionaries() if table.num_columns else table)
    table = table.take(pc.sort_indices(table, sort_keys=[("run_id", "ascending")]))
    plan = _plan_frame(table)
    del table
    pa.default_memory_pool().release_unused()  # the pages decoded, the keys hashed
    for column in columns:
        if column not in plan:
            plan[column] = None
    return plan[list(columns)]


def _plan_types(table: Any) -> Any:
    """A plan part in the types every part is joined in.

    Seeds are ``uint64``, the text of :data:`REPEATED` dictionary-encoded, and the schema
    metadata dropped.
    """
    import pyarrow as pa  # noqa: PLC0415

    for index, field in enumerate(table.schema):
        column = table.column(index)
        if field.name == "seed" and field.type != pa.uint64():
            column = column.cast(pa.uint64())
        elif field.name in REPEATED and not pa.types.is_dictionary(field.type):
            column = column.cast(pa.string()).dictionary_encode()
        else:
            continue
        table = table.set_column(index, field.name, column)
    return table.replace_schema_metadata(None)


def _first_of_each_key(table: Any) -> Any:
    """The rows of a plan table, only the first of each key."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if "key" not in table.column_names or pc.count_distinct(table.column("key")).as_py() == len(
        table
    ):
        return table
    index = pa.array(np.arange(len(table), dtype=np.int64))
    rows = pa.table({"key": table.column("key"), "i": index})
    first = rows.group_by("key", use_threads=False).aggregate([("i", "min")])
    return table.take(pa.array(np.sort(first.column("i_min").to_numpy())))


def _plan_frame(table: Any) -> pd.DataFrame:
    """A plan table in pandas: seeds as ``UInt64`` (never floats), nulls as None."""
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    def types(kind: Any) -> Any:
        return pd.UInt64Dtype() if kind == pa.uint64() else None

    frame = table.to_pandas(types_mapper=types, split_blocks=True)
    if "seed" in frame:
        frame["seed"] = frame["seed"].astype("UInt64")
    return frame


def _empty_plan(columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415

    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    frame["run_id"] = frame["run_id"].astype("int64")
    if "seed" in frame:
        frame["seed"] = frame["seed"].astype("UInt64")
    return frame


def _upgrade_plan(frame: pd.DataFrame) -> pd.DataFrame:
    """A version-1 plan part in version 2's columns: parameters from their ``repr`` text."""
    if "design" in frame:
        frame["design_name"] = frame["design"]
        frame["design"] = None
    if "parameters" in frame:
        texts = {text: _from_repr(text) for text in frame["parameters"].unique()}
        frame["parameters_exact"] = [texts[t][1] for t in frame["parameters"]]
        frame["parameters"] = [texts[t][0] for t in frame["parameters"]]
    return frame


def _from_repr(text: object) -> tuple[str | None, bool]:
    """Version 1 kept parameters as ``repr`` text: parse it as literals, never evaluate it."""
    if not isinstance(text, str) or len(text) > MAX_REPR:
        return None, False
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        data, _ = encode({"parameters": _opaque_text(text)})
        return dumps(data), False
    if not isinstance(value, dict):
        return None, False
    data, exact = encode(value)
    return dumps(data), exact


def _opaque_text(text: str) -> Any:
    from mesa_batch.store.encoding import Opaque  # noqa: PLC0415

    return Opaque("repr", text)


def decoded_parameters(plan: pd.DataFrame) -> list[dict[str, Any] | None]:
    """The parameters of each plan row, decoded once per distinct text."""
    texts = plan["parameters"].tolist() if "parameters" in plan else [None] * len(plan)
    cache: dict[Any, dict[str, Any] | None] = {}
    out = []
    for text in texts:
        if text not in cache:
            cache[text] = decode_parameters(text) if isinstance(text, str) else None
        found = cache[text]
        out.append(None if found is None else dict(found))
    return out


def parameter_codes(plan: pd.DataFrame) -> tuple[np.ndarray, list[dict[str, Any] | None]]:
    """The distinct parameters of the plan rows, decoded once each, and each row's index.

    Returns:
        Each row's index into the points (``-1`` where its parameters are unknown), and the
        points.
    """
    import pandas as pd  # noqa: PLC0415

    if "parameters" not in plan or not len(plan):
        return np.full(len(plan), -1, dtype=np.int64), []
    codes, texts = pd.factorize(plan["parameters"], use_na_sentinel=True)
    points = [decode_parameters(t) if isinstance(t, str) else None for t in texts.tolist()]
    return np.asarray(codes, dtype=np.int64), points


def plain_parameter_columns(plan: pd.DataFrame) -> dict[str, Any] | None:
    """The parameter columns of the plan rows, parsed by Arrow when they are plain JSON.

    Plain means: every distinct text is a JSON object whose values are numbers, bools or
    strings of one kind per name, as most designs make. Arrow parses the texts at once, and
    no Python object is made per point. Anything else (tagged values, ints past int64, names
    with values of several kinds, unknown parameters) gives None: the caller decodes each text
    (:func:`parameter_codes`).

    Returns:
        The columns as :func:`mesa_batch.results.parameter_columns` makes them, or None.
    """
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    if "parameters" not in plan or not len(plan):
        return None
    codes, texts = pd.factorize(plan["parameters"], use_na_sentinel=True)
    table = _parsed(texts.tolist()) if len(texts) and not (codes < 0).any() else None
    if table is None:
        return None
    columns: dict[str, Any] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        tagged = field.name.startswith("__") and field.name.endswith("__")
        plain = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        plain = plain or pa.types.is_boolean(kind) or pa.types.is_string(kind)
        if tagged or not plain:
            return None
        if pa.types.is_floating(kind) and _past_exact_ints(column):
            return None  # Arrow reads an int past int64 as a rounded float
        if column.null_count or pa.types.is_string(kind):  # Python objects, None kept
            values = np.asarray([*column.to_pylist(), None], dtype=object)[:-1]
            columns[field.name] = pd.Series(values[codes], dtype=object)
        else:
            columns[field.name] = column.to_numpy()[codes]
    return columns


def _past_exact_ints(column: Any) -> bool:
    """Whether a float column holds a value at or past 2**53 (where floats skip ints)."""
    import pyarrow.compute as pc  # noqa: PLC0415

    largest = pc.max(pc.abs(column)).as_py()
    return largest is not None and largest >= 2**53


def _parsed(texts: list[str]) -> Any:
    """JSON object texts parsed by Arrow, one row each (None if they do not parse so)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.json as pj  # noqa: PLC0415

    lines = "\n".join(texts)
    if lines.count("\n") != len(texts) - 1:  # a raw newline in a text: not one row each
        return None
    try:
        table = pj.read_json(pa.BufferReader(lines.encode()))
    except (pa.ArrowException, ValueError):
        return None
    return table if table.num_rows == len(texts) else None


def reconcile(plan: pd.DataFrame, runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Check the plan against the runs parts' keys and ids; the runs parts win.

    Returns:
        The plan with every finished run in it under the id its runs part gives, and a note per
        kind of repair made.
    """
    import pandas as pd  # noqa: PLC0415

    if not len(runs):
        return plan, []
    if _consistent(plan, runs):
        return plan, []
    done = pd.DataFrame(
        {"key": runs["key"].astype(str).to_numpy(), "done_id": runs["run_id"].to_numpy()}
    ).drop_duplicates("key")
    merged = plan.merge(done, on="key", how="left")
    moved = merged["done_id"].notna() & (merged["done_id"] != merged["run_id"])
    if not moved.any() and len(merged) and merged["done_id"].notna().sum() == len(done):
        return plan, []  # every finished run is in the plan under its own id
    notes = []
    if moved.any():
        notes.append(
            f"{int(moved.sum())} plan rows give a run another id than its runs part; the runs "
            "part's id is used"
        )
        merged.loc[moved, "run_id"] = merged.loc[moved, "done_id"]
    taken = set(done["done_id"].tolist())
    clash = merged["done_id"].isna() & merged["run_id"].isin(taken)
    if clash.any():
        notes.append(
            f"{int(clash.sum())} plan rows use the id of another finished run; they are left out"
        )
        merged = merged[~clash]
    merged = merged.drop(columns=["done_id"]).drop_duplicates("run_id", keep="first")
    lost = done[~done["key"].isin(set(merged["key"]))]
    if len(lost):
        notes.append(
            f"{len(lost)} finished runs are not in the plan (it was lost or truncated); they are "
            "listed with unknown parameters until the sweep is resumed with their configurations"
        )
        orphans = pd.DataFrame({"run_id": lost["done_id"].astype("int64"), "key": lost["key"]})
        merged = pd.concat([merged, orphans], ignore_index=True)
    merged["run_id"] = merged["run_id"].astype("int64")
    return merged.sort_values("run_id", ignore_index=True), notes


def _consistent(plan: pd.DataFrame, runs: pd.DataFrame) -> bool:
    """Whether every finished run is in the plan, under its own id (checked in numpy and Arrow).

    The common case, and what :func:`reconcile` would find after a merge on 100,000s of keys.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    ids = plan["run_id"].to_numpy(dtype=np.int64)
    if not len(ids) or not (ids[1:] > ids[:-1]).all():
        return False  # not sorted and unique: let the merge decide
    done = runs["run_id"].to_numpy(dtype=np.int64)
    at = np.searchsorted(ids, done)
    if (at >= len(ids)).any() or (ids[np.minimum(at, len(ids) - 1)] != done).any():
        return False
    planned = pa.array(plan["key"], pa.string(), from_pandas=True).take(pa.array(at))
    keys = pa.array(runs["key"], pa.string(), from_pandas=True)
    if planned.null_count or keys.null_count:
        return False
    # the outcomes hold one row per key, and the plan's keys are unique (read_plan): equal
    # keys at equal ids leave no key of the plan to another finished run
    return bool(pc.all(pc.equal(planned, keys)).as_py())


# -- designs ----------------------------------------------------------------------------------


def read_designs(root: pathlib.Path) -> dict[str, DesignInfo]:
    """The design records of a store, by id (invalid ones are left out)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    designs: dict[str, DesignInfo] = {}
    directory = root / "designs"
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return designs
    for entry in entries:
        if not re.fullmatch(r"[0-9a-f]{16}\.json", entry.name) or entry.is_symlink():
            continue
        record = read_json(entry)
        samples = None
        name = record.get("samples")
        if isinstance(name, str) and re.fullmatch(r"[0-9a-f]{16}\.samples\.parquet", name):
            path = directory / name
            try:
                if not path.is_symlink():
                    table = pq.read_table(path)
                    samples = np.column_stack(
                        [table.column(i).to_numpy() for i in range(table.num_columns)]
                    ).astype(float)
            except (OSError, pa.ArrowException, ValueError):
                samples = None
        info = design_from_record(record, samples)
        if info is not None and info.id == entry.stem:
            designs[info.id] = info
    return designs


# -- runs parts and data parts ----------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Found:
    """What reading the parts found wrong: files to quarantine, notes, damaged batches."""

    corrupt: list[pathlib.Path]
    notes: list[str]
    sessions: set[str] | None
    checks: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    damaged: dict[str, str] = dataclasses.field(default_factory=dict)  # batch -> why


def _sessions(meta: Mapping[str, Any]) -> set[str] | None:
    """The ids of the sessions ``store.json`` records (None when it records none)."""
    entries = meta.get("sessions")
    if not isinstance(entries, list):
        return None
    ids = {str(e.get("id")) for e in entries if isinstance(e, dict) and e.get("id")}
    return ids or None


def session_of(batch: str) -> str:
    """The session id a batch or plan part name starts with (``<date>T<time>-<6 hex>``)."""
    return "-".join(batch.split("-")[:2])


def _read_runs_parts(
    root: pathlib.Path, found: _Found, columns: Sequence[str] | None = None
) -> tuple[Any, dict[str, list[str]]]:
    """Every runs part as one Arrow table (None if there is none), and each batch's parts.

    The parts are those :func:`runs_part_tables` accepts.
    """
    import pyarrow as pa  # noqa: PLC0415

    parts: dict[str, list[str]] = {}
    tables = [table for _, table in runs_part_tables(root, found, parts, columns)]
    if not tables:
        return None, parts
    return pa.concat_tables(tables, promote_options="permissive"), parts


def runs_part_tables(
    root: pathlib.Path,
    found: _Found,
    parts: dict[str, list[str]],
    columns: Sequence[str] | None = None,
) -> Iterator[tuple[str, Any]]:
    """Each readable runs part's batch id and rows (an Arrow table), one part at a time.

    A runs part of a session ``store.json`` does not record (copied in from another store),
    or whose rows name another batch than its file, is left out with a note (once every part
    was read); an unreadable one, or one without the columns every runs part has, is added to
    ``found.corrupt``. Each accepted batch's data part names go to ``parts`` and its checks to
    ``found.checks``; the tables yielded have neither column.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    foreign = []
    for path in _parts(root / "runs"):
        if found.sessions is not None and session_of(path.stem) not in found.sessions:
            foreign.append(path.name)
            continue
        # a batch id, its parts and checks repeat on every row of its batch (of its session,
        # compacted): read them as dictionaries (~10 MB less for 100,000 runs, and pandas gets
        # a categorical batch column)
        wanted = None if columns is None else [*columns, "parts", "checks"]
        table = _read_parquet(
            path, found.corrupt, dictionary=["batch", "parts", "checks"], columns=wanted
        )
        if table is None:
            continue
        if not {"run_id", "key", "status", "batch", "parts"} <= set(table.column_names):
            found.corrupt.append(path)
            continue
        batches = pc.unique(table.column("batch").cast(pa.string())).to_pylist()
        if table.num_rows and batches != [path.stem]:
            foreign.append(path.name)
            continue
        parts[path.stem] = part_names(table.column("parts")[0].as_py() if table.num_rows else "")
        if "checks" in table.column_names:
            checks = loads(table.column("checks")[0].as_py()) if table.num_rows else None
            found.checks[path.stem] = checks if isinstance(checks, dict) else {}
            table = table.drop_columns(["checks"])
        yield path.stem, table.drop_columns(["parts"])
    if foreign:
        found.notes.append(
            f"{len(foreign)} runs parts were not written by this store's sessions (copied in "
            f"from another store or renamed: {', '.join(foreign[:5])}); they are left out"
        )


def _data_parts(
    root: pathlib.Path,
    batch_parts: Mapping[str, list[str]],
    found: _Found,
    *,
    verify: bool,
) -> tuple[dict[str, dict[pathlib.Path, str]], set[str]]:
    """Readable data parts by table, and the batches whose every named part is sound."""
    readable: dict[str, dict[pathlib.Path, str]] = {}
    try:
        directories = sorted((root / "data").iterdir())
    except OSError:
        directories = []
    strays = []
    for directory in directories:
        table = table_name(directory.name)
        if table is None or directory.is_symlink() or not directory.is_dir():
            strays.append(directory.name)
            continue
        for path in _parts(directory):
            why = _check_part(path, found.checks.get(path.stem, {}).get(table), verify=verify)
            if why is not None:
                found.corrupt.append(path)
                found.damaged[path.stem] = f"{path.relative_to(root)}: {why}"
                continue
            readable.setdefault(table, {})[path] = path.stem
    if strays:
        found.notes.append(
            f"data/ holds entries that are not table directories the store made "
            f"({', '.join(sorted(strays)[:5])}); they are ignored"
        )
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


def _check_part(path: pathlib.Path, check: object, *, verify: bool) -> str | None:
    """Why a data part is not sound (None when it is): its footer, size, rows, checksum."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        metadata = pq.read_metadata(path)
        size = path.stat().st_size
    except (OSError, pa.ArrowException) as error:
        return f"unreadable ({type(error).__name__})"
    if not (isinstance(check, list) and len(check) == 3):
        return None  # written before parts were checked (version 2 without checks)
    rows, expected_size, digest = check
    if metadata.num_rows != rows or size != expected_size:
        return f"{metadata.num_rows} rows, {size} bytes; its batch recorded {rows}, {expected_size}"
    if verify and _digest(path) != digest:
        return "its checksum differs from the one its batch recorded (damaged pages)"
    return None


def _digest(path: pathlib.Path) -> str | None:
    try:
        return file_digest(path)
    except OSError:
        return None


def _note_damaged(found: _Found, outcomes: Any) -> None:
    """Say which runs lost their data to damaged parts."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    batch = outcomes.column("batch").cast(pa.string())
    for name, why in sorted(found.damaged.items()):
        mask = pc.equal(batch, name)
        run_ids = outcomes.filter(mask).column("run_id").to_numpy()
        found.notes.append(
            f"the data part {why}; runs {_ids(run_ids)} of its batch are not done (a writing "
            "session moves the part to quarantine/ and runs them again)"
        )


def _ids(run_ids: Any) -> str:
    ids = sorted(int(i) for i in np.asarray(run_ids).tolist())
    shown = ", ".join(str(i) for i in ids[:10])
    return f"[{shown}{', ...' if len(ids) > 10 else ''}] ({len(ids)} runs)"


def _authoritative_runs(parts: Any, complete: set[str], log: list[dict[str, Any]]) -> pd.DataFrame:
    """One outcome per key: its first committed success, else its latest recorded failure.

    ``parts`` (the runs parts, an Arrow table or None) is converted to pandas column by column,
    freeing each column as it goes: it must not be used afterwards.
    """
    import pandas as pd  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    logged = [_log_failure(entry) for entry in log if entry.get("event") == Status.FAILED]
    frames = [pd.DataFrame(logged)] if logged else []
    if parts is not None and parts.num_rows:
        good = pc.and_(
            pc.equal(parts.column("status"), str(Status.SUCCEEDED)),
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
        return pd.DataFrame({name: [] for name in RUN_FIELDS if name not in ("parts", "checks")})
    runs = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    succeeded = (runs["status"] == Status.SUCCEEDED).to_numpy(dtype=bool, na_value=False)
    succeeded = succeeded & string_isin(runs["batch"], complete)
    failed = (runs["status"] == Status.FAILED).to_numpy(dtype=bool, na_value=False)
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
    return {name: entry.get(name) for name in RUN_FIELDS if name not in ("parts", "checks")} | {
        "status": str(Status.FAILED)
    }


#: The longest status log line read; a longer one (no line the store writes is) is skipped.
MAX_LINE: Final = 1024 * 1024


def _bounded_lines(file: Any) -> Iterator[bytes]:
    """The lines of a binary file, a line longer than :data:`MAX_LINE` skipped unread."""
    while True:
        line = file.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) <= MAX_LINE or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):  # the rest of the long line, in pieces
            line = file.readline(MAX_LINE)


def read_log(
    root: str | os.PathLike[str], *, events: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The status log's entries; a torn or garbled line (a crash mid-append) is skipped.

    Args:
        root: The store directory.
        events: Only entries of these events (``"failed"``, ``"start"``, ...); the log is then
            searched for them in blocks, and only their lines are decoded, which matters for a
            log of 100,000s of runs.
    """
    kinds = None if events is None else {str(event) for event in events}
    path = pathlib.Path(root) / "status.jsonl"
    try:
        file = os.fdopen(open_no_follow(path), "rb")
    except OSError:
        return []
    entries = []
    with file:
        if kinds is None:
            lines: Iterable[bytes] = _bounded_lines(file)
        else:
            lines = _lines_with(file, [f'"event": "{event}"'.encode() for event in sorted(kinds)])
        for raw in lines:
            try:
                entry = json.loads(raw.decode(errors="replace"))
            except ValueError:
                continue
            if kinds is None or (isinstance(entry, dict) and entry.get("event") in kinds):
                entries.append(entry)
    return entries


#: How much of the status log is searched at a time.
LOG_BLOCK: Final = 1024 * 1024


def _lines_with(file: Any, markers: Sequence[bytes]) -> Iterator[bytes]:
    """The lines of a binary file that hold one of ``markers``, in order, found block by block.

    Lines longer than :data:`MAX_LINE` are skipped, as :func:`_bounded_lines` does.
    """
    pending, skipping = b"", False
    while block := file.read(LOG_BLOCK):
        if skipping:  # the rest of a line too long to keep
            cut = block.find(b"\n")
            if cut < 0:
                continue
            block, skipping = block[cut + 1 :], False
        data = pending + block
        last = data.rfind(b"\n") + 1
        pending = data[last:]
        if len(pending) > MAX_LINE:
            pending, skipping = b"", True
        yield from _matching(data[:last], markers)
    if pending and not skipping:  # a last line without its newline (torn, or being written)
        yield from _matching(pending, markers)


def _matching(data: bytes, markers: Sequence[bytes]) -> Iterator[bytes]:
    """The lines of ``data`` (whole lines) that hold a marker, in order."""
    starts = set()
    for marker in markers:
        at = data.find(marker)
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            starts.add(start)
            end = data.find(b"\n", at)
            at = data.find(marker, end) if end >= 0 else -1
    for start in sorted(starts):
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start : end + 1]
        if len(line) <= MAX_LINE:
            yield line
