"""The Parquet store: a directory that keeps the whole experiment, for resume and for reading.

Layout (``docs/store-format.md`` is the full description)::

    STORE/
      store.json                     format, versions, model, designs, sessions (parent, atomic)
      designs/<id>.json              a design: name, options, master seed, space (parent, atomic)
      designs/<id>.samples.parquet   its unit-cube sample, in the design's order (parent, atomic)
      plan/<session>.parquet         the runs planned by a session: parameters,  (parent, atomic)
                                     seed, settings, design, point
      runs/<batch>.parquet           one row per run of a batch: status          (worker, atomic)
      data/<table>/<batch>.parquet   the batch's rows of that table              (worker, atomic)
      runs/<session>.parquet         a session's batches, compacted              (parent, atomic)
      data/<table>/<session>.parquet their rows of that table, compacted         (parent, atomic)
      status.jsonl                   every finished run and session event        (parent, append)
      .lock                          held by the one process writing
      quarantine/                    files found torn or unreadable, moved aside

=================  ==============================================================
module             what it does
=================  ==============================================================
``files``          atomic files, reads that never follow a link, table directories
``encoding``       the safe encoding of parameter values (JSON; never pickle)
``records``        plan rows and design records, and how they are read back
``writer``         the worker side: a batch's data parts, then its runs part
``reader``         all reading: outcomes, plan (checked against the runs parts),
                   designs, data tables column by column
``counting``       a store's run counts in numpy, part by part (``mesa-batch status``)
``unify``          one type per column across parts (never a failed read on types)
``compact``        a finished session's batch parts rewritten as one part per table
``session``        the writing session: lock, seeds, plan, designs, log, store.json
=================  ==============================================================

**A run is done when its batch's runs part and every data part that part names are committed,
readable and match the rows, size and checksum the runs part recorded of them.** Reading tolerates everything a crash can leave: temporary files are ignored,
unreadable parts are skipped (and moved to ``quarantine/`` by the next writing session, so their
runs are run again), a torn last line of the status log is ignored, and a run executed twice
(engines run tasks at least once) is read once.
"""

from mesa_batch.errors import StoreConflictError, StoreLockedError, StoreWriteError
from mesa_batch.store.reader import (
    FORMAT,
    VERSION,
    CorruptPartWarning,
    StoreState,
    read_log,
    read_state,
)
from mesa_batch.store.session import Session, is_locked, open_session
from mesa_batch.store.unify import ColumnTypesWarning
from mesa_batch.store.writer import PartWriter

__all__ = [
    "FORMAT",
    "VERSION",
    "ColumnTypesWarning",
    "CorruptPartWarning",
    "PartWriter",
    "Session",
    "StoreConflictError",
    "StoreLockedError",
    "StoreState",
    "StoreWriteError",
    "is_locked",
    "open_session",
    "read_log",
    "read_state",
]
