"""The analysis commands of ``mesa-batch``: ``summarize`` and ``sensitivity``.

They read a store (never rerun a model) and print a table, or CSV for other tools. They are
registered on the app in :mod:`mesa_batch.cli`.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mesa_batch.errors import MesaBatchError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sensitivity", "summarize"]

USAGE = 2
FORMATS = ("table", "csv")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

StoreArgument = Annotated[
    pathlib.Path, typer.Argument(help="A store directory (written by `mesa-batch run`).")
]
OutcomeArgument = Annotated[str, typer.Argument(help="The outcome column, e.g. Gini.")]
FormatOption = Annotated[str, typer.Option(help="table (printed) or csv (to standard output).")]
TableOption = Annotated[str, typer.Option(help="The data table the outcome is in.")]


def _fail(message: str) -> typer.Exit:
    errors.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(USAGE)


def _show(frame: pd.DataFrame, format: str, title: str, *, index: bool = False) -> None:
    if format == "csv":
        typer.echo(frame.to_csv(index=index), nl=False)
        return
    shown = frame.reset_index() if index else frame
    table = Table(*map(str, shown.columns), title=title)
    for row in shown.itertuples(index=False):
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}; received {format!r}")


def summarize(  # noqa: PLR0917 - typer passes options by position
    store: StoreArgument,
    outcome: OutcomeArgument,
    by: Annotated[
        list[str] | None, typer.Option(help="Group by this parameter (repeat it for several).")
    ] = None,
    at: Annotated[str, typer.Option(help="final, all, or a step.")] = "final",
    table: TableOption = "model",
    confidence: Annotated[float, typer.Option(help="The interval's confidence level.")] = 0.95,
    format: FormatOption = "table",
) -> None:
    """Mean, spread and a confidence interval of an outcome per design point or group."""
    from mesa_batch.analysis.aggregate import aggregate  # noqa: PLC0415

    _check_format(format)
    step: str | int = int(at) if at.isdigit() else at
    try:
        frame = aggregate(
            store, outcome, by=by or None, at=step, table=table, confidence=confidence
        )
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    _show(frame, format, f"{outcome} ({at}, {confidence:.0%} t interval)")


def sensitivity(  # noqa: PLR0917 - typer passes options by position
    store: StoreArgument,
    outcome: OutcomeArgument,
    method: Annotated[
        str, typer.Option(help="sobol, morris, fast, rbd_fast, delta or pawn.")
    ] = "sobol",
    table: TableOption = "model",
    on_failure: Annotated[str, typer.Option(help="raise, drop or impute.")] = "raise",
    design: Annotated[str | None, typer.Option(help="The design id, if there are several.")] = None,
    seed: Annotated[int | None, typer.Option(help="The bootstrap's seed.")] = None,
    format: FormatOption = "table",
) -> None:
    """Sensitivity indices of an outcome from the store's sensitivity design (via SALib)."""
    import warnings  # noqa: PLC0415

    from mesa_batch.analysis.sensitivity import sensitivity as indices  # noqa: PLC0415

    _check_format(format)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            frame = indices(
                store, outcome, method=method, table=table, on_failure=on_failure,
                design=design, seed=seed,
            )  # fmt: skip
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    for warning in caught:
        errors.print(f"note: {warning.message}", markup=False, highlight=False)
    _show(frame, format, f"{method} indices of {outcome}", index=True)
