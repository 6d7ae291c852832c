"""Plots of the analysis tables, like seaborn's axes-level functions.

Each takes the tidy table an analysis returned, accepts ``ax=None`` (a new figure is made,
with matplotlib's Agg canvas, outside pyplot: nothing global changes, nothing is shown or
saved), labels the axes from the column names, and returns the ``Axes``. matplotlib is the
optional extra ``plot``: ``pip install 'mesa-batch[plot]'``.

=====================  ===============================  ====================================
function               takes                            draws
=====================  ===============================  ====================================
``plot_timeseries``    ``aggregate(..., at="all")``     mean per step, CI band per group
``plot_response``      ``aggregate(..., by=[p, ...])``  mean against ``p`` with CI bars
``plot_heatmap``       ``aggregate(..., by=[x, y])``    the mean over two parameters
``plot_indices``       ``sensitivity(...)``             index bars with their CIs
``plot_morris``        ``sensitivity(method="morris")``  mu* against sigma
=====================  ===============================  ====================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.errors import ConfigurationError, problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plot_heatmap", "plot_indices", "plot_morris", "plot_response", "plot_timeseries"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    from mesa_batch.backends.engines import require  # noqa: PLC0415

    figure_module = require("matplotlib.figure", "plot", "mesa_batch.analysis plots")
    agg = require("matplotlib.backends.backend_agg", "plot", "mesa_batch.analysis plots")
    figure = figure_module.Figure()
    agg.FigureCanvasAgg(figure)
    return figure.subplots()


def _need(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise ConfigurationError(
                problem(
                    what,
                    f"needs a column {column!r} in its table (columns: {list(frame.columns)})",
                    column,
                    "Pass the table the matching analysis returned (see the plot's docstring).",
                )
            )


def _label(frame: pd.DataFrame) -> str:
    return str(frame.attrs.get("outcome", "mean"))


def plot_timeseries(
    frame: pd.DataFrame, *, hue: str | None = None, band: bool = True, ax: Any = None
) -> Any:
    """The mean per step, one line per group, with its confidence band.

    Args:
        frame: ``aggregate(..., at="all")``.
        hue: The column that tells the groups apart (default: ``point``, or the first
            grouping column).
        band: Draw the ``ci_low`` to ``ci_high`` band.
        ax: The Axes to draw on (a new figure by default).

    Returns:
        The Axes.
    """
    _need(frame, ["step", "mean", "ci_low", "ci_high"], "plot_timeseries")
    ax = _axes(ax)
    hue = hue or _first_group(frame)
    for value, unsorted in frame.groupby(hue, sort=True):
        group = unsorted.sort_values("step")
        (line,) = ax.plot(group["step"], group["mean"], label=f"{hue}={value}")
        if band:
            ax.fill_between(
                group["step"], group["ci_low"], group["ci_high"], alpha=0.25,
                color=line.get_color(), linewidth=0,
            )  # fmt: skip
    ax.set_xlabel("step")
    ax.set_ylabel(_label(frame))
    ax.legend(title=None, fontsize="small")
    return ax


def _first_group(frame: pd.DataFrame) -> str:
    from mesa_batch.analysis.aggregate import STATISTICS  # noqa: PLC0415

    columns = [c for c in frame.columns if c not in (*STATISTICS, "step", "design")]
    if not columns:
        raise ConfigurationError(
            problem("frame", "must have a grouping column", list(frame.columns))
        )
    return str(columns[0])


def plot_response(
    frame: pd.DataFrame, parameter: str, *, hue: str | None = None, ax: Any = None
) -> Any:
    """The mean outcome against a parameter, with confidence-interval error bars.

    Args:
        frame: ``aggregate(..., by=[parameter, ...])`` (or by point).
        parameter: The column on the x axis.
        hue: A column drawn as separate lines.
        ax: The Axes to draw on.

    Returns:
        The Axes.
    """
    _need(frame, [parameter, "mean", "ci_low", "ci_high"], "plot_response")
    ax = _axes(ax)
    groups = frame.groupby(hue, sort=True) if hue else [(None, frame)]
    for value, unsorted in groups:
        group = unsorted.sort_values(parameter)
        errors = np.vstack([group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]])
        label = None if hue is None else f"{hue}={value!s}"
        ax.errorbar(
            group[parameter], group["mean"], yerr=errors, marker="o", capsize=3, label=label
        )
    ax.set_xlabel(parameter)
    ax.set_ylabel(_label(frame))
    if hue:
        ax.legend(fontsize="small")
    return ax


def plot_heatmap(
    frame: pd.DataFrame, x: str, y: str, *, value: str = "mean", ax: Any = None
) -> Any:
    """An outcome's ``value`` over two parameters, as a colour grid with a colour bar.

    Args:
        frame: ``aggregate(..., by=[x, y])``.
        x: The parameter across.
        y: The parameter up.
        value: The column coloured (``mean`` by default).
        ax: The Axes to draw on.

    Returns:
        The Axes.
    """
    _need(frame, [x, y, value], "plot_heatmap")
    ax = _axes(ax)
    grid = frame.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index()
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(i) for i in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.figure.colorbar(image, ax=ax, label=f"{_label(frame)} ({value})")
    return ax


def plot_indices(
    frame: pd.DataFrame, indices: tuple[str, ...] | None = None, *, ax: Any = None
) -> Any:
    """Sensitivity indices as grouped bars, with their ``*_conf`` half-widths as error bars.

    Args:
        frame: ``sensitivity(...)``.
        indices: The index columns (default: ``S1`` and ``ST`` where present, else the
            first column).
        ax: The Axes to draw on.

    Returns:
        The Axes.
    """
    if indices is None:
        found = tuple(c for c in ("S1", "ST") if c in frame.columns)
        indices = found or (str(frame.columns[0]),)
    _need(frame, list(indices), "plot_indices")
    ax = _axes(ax)
    positions = np.arange(len(frame.index))
    width = 0.8 / len(indices)
    for k, index in enumerate(indices):
        conf = frame.get(f"{index}_conf")
        ax.bar(
            positions + (k - (len(indices) - 1) / 2) * width, frame[index], width,
            yerr=None if conf is None else conf, capsize=3, label=index,
        )  # fmt: skip
    ax.set_xticks(positions, [str(p) for p in frame.index])
    ax.set_xlabel(str(frame.index.name or "parameter"))
    ax.set_ylabel("index")
    ax.legend(fontsize="small")
    return ax


def plot_morris(frame: pd.DataFrame, *, ax: Any = None) -> Any:
    """Morris's screening plot: ``mu_star`` (with its CI) against ``sigma``, one point each.

    Args:
        frame: ``sensitivity(..., method="morris")``.
        ax: The Axes to draw on.

    Returns:
        The Axes.
    """
    _need(frame, ["mu_star", "sigma", "mu_star_conf"], "plot_morris")
    ax = _axes(ax)
    ax.errorbar(frame["mu_star"], frame["sigma"], xerr=frame["mu_star_conf"], fmt="o", capsize=3)
    for name, row in frame.iterrows():
        ax.annotate(
            str(name), (row["mu_star"], row["sigma"]), textcoords="offset points", xytext=(4, 4)
        )
    ax.set_xlabel("mu_star")
    ax.set_ylabel("sigma")
    return ax
