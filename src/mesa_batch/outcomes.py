"""The vocabulary of one run's outcome, shared by the worker, the store and ``Results``.

=============  ==============================================================
``Status``     ``succeeded``, ``failed``, or ``pending`` (planned, not finished)
``Stage``      where a run failed: ``instantiate``, ``run``, ``collect`` (the model's
               own stages), ``timeout`` (it ran past ``run_timeout``), ``worker``
               (its worker process died) or ``transport`` (its batch could not be
               sent or returned)
``Failure``    why a run failed: stage, exception type, message, traceback
``RunStatus``  the small record that travels back for every finished run
=============  ==============================================================

A failure is stored as the four columns of :data:`FAILURE_FIELDS`; :meth:`Failure.to_row` and
:meth:`Failure.from_row` are the only conversion between the two, used by the store's parts,
its status log and ``Results``.
"""

from __future__ import annotations

import dataclasses
import enum
import traceback
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["FAILURE_FIELDS", "Failure", "RunStatus", "Stage", "Status"]


class Status(enum.StrEnum):
    """A run's status (a ``str``: ``Status.FAILED == "failed"``)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


class Stage(enum.StrEnum):
    """Where a run failed."""

    INSTANTIATE = "instantiate"
    RUN = "run"
    COLLECT = "collect"
    TIMEOUT = "timeout"
    WORKER = "worker"
    TRANSPORT = "transport"


#: The columns a failure is stored as, in order (also the keys of :meth:`Failure.to_row`).
FAILURE_FIELDS: Final = ("failure_stage", "failure_type", "failure_message", "failure_traceback")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """Why a run failed.

    Attributes:
        stage: A :class:`Stage` value: ``"instantiate"``, ``"run"``, ``"collect"``, or, for
            failures outside the model, ``"timeout"`` (it ran past the runner's
            ``run_timeout``), ``"worker"`` (its worker process died) and ``"transport"``
            (its batch could not be sent or returned).
        exception_type: The exception's class name, e.g. ``"ZeroDivisionError"``.
        message: ``str(exception)``.
        traceback: The formatted traceback.
    """

    stage: str
    exception_type: str
    message: str
    traceback: str

    @classmethod
    def from_exception(cls, stage: str, error: BaseException) -> Failure:
        """Record an exception caught at ``stage``."""
        return cls(
            stage=str(stage),
            exception_type=type(error).__qualname__,
            message=str(error),
            traceback="".join(traceback.format_exception(error)),
        )

    def summary(self) -> str:
        """One line: ``"run: ZeroDivisionError: division by zero"``."""
        return f"{self.stage}: {self.exception_type}: {self.message}"

    def to_row(self) -> dict[str, str]:
        """The failure as the stored columns of :data:`FAILURE_FIELDS`."""
        return dict(
            zip(
                FAILURE_FIELDS,
                (self.stage, self.exception_type, self.message, self.traceback),
                strict=True,
            )
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Failure:
        """Read a failure back from its stored columns (missing or null ones become ``""``)."""
        stage, kind, message, trace = (_text(row.get(name)) for name in FAILURE_FIELDS)
        return cls(stage=stage, exception_type=kind, message=message, traceback=trace)


def no_failure_row() -> dict[str, str | None]:
    """The stored failure columns of a run that did not fail."""
    return dict.fromkeys(FAILURE_FIELDS)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunStatus:
    """The outcome of one run (small: this is what travels back for every run).

    Attributes:
        run_id: The run's id.
        key: The run's content key.
        status: ``"succeeded"`` or ``"failed"`` (a :class:`Status`).
        steps: Steps the model made.
        wall_time: Seconds from the start of ``__init__`` to the end of data collection.
        model_time: Seconds spent inside the model: ``__init__`` and ``step()`` calls.
        failure: Why the run failed, if it did.
        worker_time: The run's share of its batch's time in the worker: its wall time plus an
            equal share of what the batch spent outside runs (joining tables, writing parts).
            ``1 - model_time / worker_time`` is the runner's overhead.
    """

    run_id: int
    key: str
    status: str
    steps: int
    wall_time: float
    model_time: float
    failure: Failure | None = None
    worker_time: float = 0.0

    @classmethod
    def failed(cls, run_id: int, key: str, failure: Failure) -> RunStatus:
        """A run that failed before it could report anything (its worker died, say)."""
        return cls(
            run_id=run_id,
            key=key,
            status=Status.FAILED,
            steps=0,
            wall_time=0.0,
            model_time=0.0,
            failure=failure,
        )

    def row(self) -> dict[str, object]:
        """The run's outcome as stored columns: ids, status, steps, times, failure."""
        return {
            "run_id": self.run_id,
            "key": self.key,
            "status": str(self.status),
            "steps": self.steps,
            "wall_time": self.wall_time,
            "model_time": self.model_time,
            "worker_time": self.worker_time,
            **self.failure_row(),
        }

    def failure_row(self) -> dict[str, str | None]:
        """The run's stored failure columns (all None when it did not fail)."""
        if self.failure is None:
            return no_failure_row()
        return dict(self.failure.to_row())
