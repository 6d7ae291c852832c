"""A sweep's report: one self-contained HTML page (no scripts, no network, figures inline).

``report(results_or_store, path="report.html", outcomes=None)`` (also ``mesa-batch report``)
writes a page a modeller can send to a colleague or a reviewer:

1. **the experiment** — model and import path, designs with their options and master seeds,
   the parameter space, versions, host, sessions and how each ended;
2. **run status** — counts, the distribution of run times, the runner's overhead, failures
   grouped by stage and exception with one reproduction command each;
3. **replications** — for a store :func:`~mesa_batch.replicate_until` wrote, its record: per
   point and outcome the iterations run, the final CI and its half-width, whether the target
   was met and why the point stopped;
4. **per outcome** — final values per design point with confidence intervals, the number of
   replications and the CI half-width per point (where more runs are needed), time series with
   CI bands, response curves (or a heatmap for two swept parameters);
5. **sensitivity** — indices with their CIs when the recorded design supports a method.

Every number comes from :mod:`mesa_batch.analysis`, which reads a store out of core; every
text taken from a store is escaped. Figures are SVG drawn by matplotlib, embedded in the page.
A store that is still being written is reported as it is, and the page says so.
"""

from __future__ import annotations

import datetime
import html
import io
import pathlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mesa_batch.errors import ConfigurationError, MesaBatchError, problem

if TYPE_CHECKING:
    import pandas as pd

    from mesa_batch.results import Results

__all__ = ["report"]

#: The design a sensitivity method needs, by the recorded design's name.
SENSITIVITY_METHODS: Final = {
    "saltelli": "sobol",
    "morris": "morris",
    "fast": "fast",
    "sample": "rbd_fast",
}
#: The seed of the sensitivity section's bootstrap: a store's report shows the same CIs each time.
SENSITIVITY_SEED: Final = 0
#: At most this many outcomes get a section when none are named.
MOST_OUTCOMES: Final = 6
#: At most this many rows of a per-point table are shown (the widest CIs first).
MOST_ROWS: Final = 60

STYLE: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1d2330; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem;
     border-bottom: 2px solid #d8dde6; padding-bottom: 0.2rem; }
h3 { margin-top: 1.4rem; } .muted { color: #5b6475; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d8dde6; padding: 0.25rem 0.55rem; text-align: left;
         vertical-align: top; }
th { background: #f2f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.banner { padding: 0.7rem 1rem; border-radius: 6px; margin: 1rem 0; }
.running { background: #fff4d6; border: 1px solid #e6c35c; }
.bad { background: #fde4e4; border: 1px solid #e39a9a; }
.good { background: #e3f5e6; border: 1px solid #8fcf99; }
figure { margin: 0.8rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #5b6475; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85rem; }
pre { background: #f6f8fa; padding: 0.5rem; overflow-x: auto; }
.grid { display: flex; flex-wrap: wrap; gap: 1rem; } .grid figure { flex: 1 1 28rem; }
"""


def report(
    results_or_store: Results | str | pathlib.Path,
    path: str | pathlib.Path = "report.html",
    outcomes: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
) -> pathlib.Path:
    """Write a sweep's report: one self-contained HTML page.

    Args:
        results_or_store: A :class:`~mesa_batch.Results`, or the path of a store.
        path: Where to write the page.
        outcomes: The model-table columns to report (default: its numeric columns, at most
            six).
        confidence: The confidence level of every interval.

    Returns:
        The path written.

    Raises:
        ConfigurationError: An outcome is not a column of the model table.
    """
    from mesa_batch.results import Results  # noqa: PLC0415

    results = (
        results_or_store
        if isinstance(results_or_store, Results)
        else Results.open(results_or_store)
    )
    chosen = _outcomes(results, outcomes)
    body = [
        _header(results),
        _experiment(results),
        _status(results),
        _replications(results),
        *(_outcome(results, name, confidence) for name in chosen),
        _sensitivity(results, chosen, confidence),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(_title(results))}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


# -- text helpers -----------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape any text for HTML (a store's text is never trusted)."""
    return html.escape(str(value), quote=True)


def _number(value: object, digits: int = 4) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _e(value)
    if not np.isfinite(number):
        return "n/a"
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.{digits}g}"


def _table(
    head: Sequence[str], rows: Iterable[Sequence[Any]], *, css: str = "", data: str = ""
) -> str:
    """A table; numeric cells are right-aligned and carry their exact value as ``data-value``."""
    out = [f'<table class="{_e(css)}"{data}><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, int | float | np.integer | np.floating) and not isinstance(
                cell, bool
            ):
                out.append(
                    f'<td class="num" data-value="{_e(repr(float(cell)))}">{_number(cell)}</td>'
                )
            else:
                out.append(f"<td>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _title(results: Results) -> str:
    model = str(results.store_info.get("model") or _model_of(results))
    return f"mesa_batch report: {model.rpartition(':')[2] or model}"


def _model_of(results: Results) -> str:
    configs = results._configurations
    first = next(iter(configs.values()), None)
    return first.model_path if first is not None else "(unknown model)"


# -- figures ----------------------------------------------------------------------------------


def _figure(draw: Any, caption: str, *, size: tuple[float, float] = (6.4, 3.6)) -> str:
    """Draw on a fresh matplotlib Figure (no global state) and embed it as SVG."""
    try:
        from matplotlib import rc_context  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:
        return (
            f'<p class="muted">{_e(caption)}: figures need matplotlib '
            "(pip install 'mesa-batch[plot]').</p>"
        )
    with rc_context({"svg.fonttype": "path", "svg.hashsalt": "mesa_batch"}):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure.add_subplot())
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog inside HTML
    return f'<figure class="figure">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


# -- sections ---------------------------------------------------------------------------------


def _header(results: Results) -> str:
    from mesa_batch.store import is_locked  # noqa: PLC0415

    counts = results.counts()
    total = sum(counts.values())
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    where = f"store <code>{_e(results.store)}</code>" if results.store else "results in memory"
    parts = [f"<h1>{_e(_title(results))}</h1>", f'<p class="muted">{where}; written {now}</p>']
    if results.store is not None and is_locked(results.store):
        parts.append(
            '<div class="banner running"><strong>This store is being written now.</strong> '
            f"{counts['succeeded']:,} of {total:,} runs are done; this report shows them.</div>"
        )
    elif counts["pending"]:
        parts.append(
            f'<div class="banner running">{counts["pending"]:,} of {total:,} runs are '
            "pending: the sweep has not finished (run it again to resume).</div>"
        )
    if results.reproducible is False:
        parts.append(
            '<div class="banner bad"><strong>Not reproducible:</strong> runs run again with '
            "their recorded seeds gave other data.</div>"
        )
    return "".join(parts)


def _experiment(results: Results) -> str:
    meta = results.store_info
    runs = results.runs
    model = meta.get("model") or _model_of(results)
    out = ["<h2>The experiment</h2>", f"<p>Model <code>{_e(model)}</code>.</p>"]
    designs = results.designs
    per_design = runs["design"].value_counts(dropna=False).to_dict() if len(runs) else {}
    rows = []
    for design_id, count in per_design.items():
        design = designs.get(str(design_id))
        if design is None:
            rows.append([str(design_id), "", "", count, "", ""])
            continue
        options = {k: v for k, v in design.options.items() if k not in ("space", "problem")}
        crn = "yes" if design.common_random_numbers else "no"
        rows.append([design.name, design.id, design.n_points, count, str(design.seed.entropy), crn])
        rows[-1].append(", ".join(f"{k}={v!r}" for k, v in options.items()))
    out.append(
        _table(
            ["design", "id", "points", "runs", "master seed", "common random numbers", "options"],
            rows,
            css="designs",
        )
    )
    spaces = [d.space for d in designs.values() if d.space is not None]
    if spaces:
        out.append("<h3>Parameter space</h3>")
        out.append(
            _table(
                ["parameter", "type"],
                [[name, repr(parameter)] for space in spaces for name, parameter in space.items()],
                css="space",
            )
        )
    versions = meta.get("versions")
    if isinstance(versions, dict):
        listed = ", ".join(f"{k} {v}" for k, v in versions.items())
        out.append(f"<p>Versions: {_e(listed)}. Host: {_e(meta.get('host', '?'))}.</p>")
    sessions = [s for s in meta.get("sessions", []) if isinstance(s, dict)]
    if sessions:
        out.append("<h3>Sessions</h3>")
        out.append(
            _table(
                ["session", "start", "end", "planned", "to do", "outcome"],
                [
                    [
                        s.get("id", ""),
                        s.get("start", ""),
                        s.get("end", "") or "",
                        s.get("planned", ""),
                        s.get("todo", ""),
                        s.get("reason") or "no end recorded (killed, or still running)",
                    ]
                    for s in sessions
                ],
                css="sessions",
            )
        )
    return "".join(out)


def _status(results: Results) -> str:
    counts = results.counts()
    runs = results.runs
    out = ["<h2>Run status</h2>"]
    out.append(
        _table(
            ["succeeded", "failed", "pending", "all"],
            [[counts["succeeded"], counts["failed"], counts["pending"], sum(counts.values())]],
            css="counts",
        )
    )
    times = runs.loc[runs["status"] == "succeeded", "wall_time"].astype(float).to_numpy()
    overhead = results.runner_overhead
    if len(times):
        median = float(np.median(times))
        text = f"Run time: median {median:.3g} s, longest {float(np.max(times)):.3g} s"
        if overhead is not None:
            text += f"; runner overhead {overhead:.1%} of worker time outside model code"
        out.append(f"<p>{_e(text)}.</p>")

        def histogram(ax: Any) -> None:
            ax.hist(times, bins=min(40, max(5, len(times) // 5)), color="#4c72b0")
            ax.set_xlabel("run time (s)")
            ax.set_ylabel("runs")

        out.append(_figure(histogram, "Distribution of run times (succeeded runs)"))
    failures = results.failures
    if failures:
        out.append("<h3>Failures</h3>")
        groups: dict[tuple[str, str], list[Any]] = {}
        for failure in failures:
            groups.setdefault((failure.stage, failure.exception_type), []).append(failure)
        store = str(results.store) if results.store is not None else "STORE"
        rows = [
            [
                stage,
                kind,
                len(found),
                found[0].message[:200],
                f"mesa-batch rerun {store} {found[0].run_id}",
            ]
            for (stage, kind), found in sorted(groups.items(), key=lambda g: -len(g[1]))
        ]
        out.append(
            _table(
                ["stage", "exception", "runs", "first message", "reproduce one"],
                rows,
                css="failures",
            )
        )
    return "".join(out)


def _replications(results: Results) -> str:
    """The record of ``replicate_until`` (empty when no such sweep wrote the store)."""
    from mesa_batch.replications.record import (  # noqa: PLC0415
        RECORD_COLUMNS,
        record_frame,
        record_of,
        replication_headline,
    )

    record, _ = record_of(results)
    if record is None:
        return ""
    frame = record_frame(record, results)
    headline = _e(replication_headline(record, frame))
    text = (
        f"<p>{headline}. Each point ran until its CI was narrow enough for every outcome (or "
        "a limit stopped it); the widest relative CI first.</p>"
    )
    out = ['<h2 id="replications">Replications</h2>', text]
    parameters = [c for c in frame.columns if c not in RECORD_COLUMNS]
    shown = frame.sort_values(
        "relative_half_width", ascending=False, na_position="first", kind="stable"
    ).head(MOST_ROWS)
    columns = ["point", *parameters, "outcome", "iterations", "values", "mean", "half_width"]
    columns += ["relative_half_width", "low", "high"]
    rows = [
        [*(row[c] for c in columns), "yes" if row["target_met"] else "no", row["status"]]
        for row in shown.to_dict("records")
    ]
    head = [*(c.replace("_", "-") for c in columns), "target met", "stopped"]
    out.append(_table(head, rows, css="replications"))
    if len(frame) > MOST_ROWS:
        out.append(f'<p class="muted">{len(frame) - MOST_ROWS} more rows not shown.</p>')
    out.append(_figure(lambda ax: _draw_replications(ax, frame, record), _REPLICATIONS_CAPTION))
    return "".join(out)


_REPLICATIONS_CAPTION = (
    "Relative CI half-width against iterations, one marker per point and outcome (filled: "
    "target met); the dashed line is the relative target"
)


def _draw_replications(ax: Any, frame: pd.DataFrame, record: dict[str, Any]) -> None:
    met = frame["target_met"].to_numpy(dtype=bool)
    x = frame["iterations"].to_numpy(dtype=float)
    y = frame["relative_half_width"].to_numpy(dtype=float)
    ax.scatter(x[met], y[met], color="#4c72b0", label="target met")
    ax.scatter(x[~met], y[~met], facecolors="none", edgecolors="#c44e52", label="not met")
    if record.get("rel_precision"):
        ax.axhline(record["rel_precision"], color="#5b6475", linestyle="--", label="target")
    ax.set_xlabel("iterations")
    ax.set_ylabel("CI half-width / |mean|")
    ax.legend(loc="best")


def _outcomes(results: Results, outcomes: Sequence[str] | None) -> list[str]:
    if "model" not in results.tables:
        return []
    columns = _model_columns(results)
    if outcomes is None:
        return [name for name, numeric in columns.items() if numeric][:MOST_OUTCOMES]
    for name in outcomes:
        if name not in columns:
            raise ConfigurationError(
                problem(
                    "outcomes",
                    f"must name columns of the model table ({', '.join(columns) or 'none'})",
                    name,
                )
            )
    return list(outcomes)


def _model_columns(results: Results) -> dict[str, bool]:
    """The model table's value columns and whether each is numeric (from one piece's schema)."""
    import pyarrow as pa  # noqa: PLC0415

    for piece in results.scan("model"):
        return {
            field.name: pa.types.is_integer(field.type)
            or pa.types.is_floating(field.type)
            or pa.types.is_boolean(field.type)
            for field in piece.schema
            if field.name not in ("run_id", "step")
        }
    return {}


def _swept(results: Results) -> list[str]:
    runs = results.runs
    swept = []
    for name in results.parameter_names:
        column = runs[name]
        try:
            distinct = column.dropna().nunique()
        except TypeError:  # unhashable values
            distinct = column.map(repr).nunique()
        if distinct > 1 and _is_numeric(column):
            swept.append(name)
    return swept


def _is_numeric(column: pd.Series) -> bool:
    import pandas as pd  # noqa: PLC0415

    return bool(pd.api.types.is_numeric_dtype(column)) and not pd.api.types.is_bool_dtype(column)


def _outcome(results: Results, outcome: str, confidence: float) -> str:
    from mesa_batch.analysis import aggregate  # noqa: PLC0415
    from mesa_batch.analysis.aggregate import STATISTICS  # noqa: PLC0415

    level = f"{confidence:.0%}"
    out = [f'<h2 id="outcome-{_e(outcome)}">Outcome: {_e(outcome)}</h2>']
    try:
        per_point = aggregate(results, outcome, confidence=confidence)
    except MesaBatchError as error:
        return "".join([*out, f'<p class="muted">No summary: {_e(error)}</p>'])
    groups = [c for c in per_point.columns if c not in STATISTICS]
    frame = per_point.assign(half_width=(per_point["ci_high"] - per_point["ci_low"]) / 2)
    shown = frame.sort_values("half_width", ascending=False, na_position="first").head(MOST_ROWS)
    out.append(
        f"<p>Final value per design point, mean over replications with a {level} confidence "
        "interval; <em>half-width</em> is how far the interval reaches: the widest first, "
        "where more replications would help most.</p>"
    )
    columns = [*groups, "n", "mean", "std", "ci_low", "ci_high", "n_failed", "half_width"]
    rows = shown.reindex(columns=columns).itertuples(index=False, name=None)
    head = [c.replace("_", "-") if c == "half_width" else c for c in columns]
    out.append(_table(head, rows, css="aggregate", data=f' data-outcome="{_e(outcome)}"'))
    if len(frame) > MOST_ROWS:
        out.append(f'<p class="muted">{len(frame) - MOST_ROWS} more points not shown.</p>')
    swept = _swept(results)
    figures = [_series(results, outcome, swept, confidence)]
    if len(swept) == 2:
        figures.append(_heatmap(results, outcome, swept, confidence))
    figures += [_response(results, outcome, name, confidence) for name in swept[:4]]
    out.append('<div class="grid">' + "".join(f for f in figures if f) + "</div>")
    return "".join(out)


def _series(results: Results, outcome: str, swept: list[str], confidence: float) -> str:
    from mesa_batch.analysis import aggregate, plot_timeseries  # noqa: PLC0415

    try:
        steps = aggregate(results, outcome, at="all", by=swept[:1] or None, confidence=confidence)
    except MesaBatchError:
        return ""
    if steps["step"].nunique() < 2:
        return ""
    by = swept[0] if swept else "design point"
    return _figure(
        lambda ax: plot_timeseries(steps, ax=ax),
        f"{outcome} over time, mean per {by} with its {confidence:.0%} CI band",
    )


def _response(results: Results, outcome: str, parameter: str, confidence: float) -> str:
    from mesa_batch.analysis import aggregate, plot_response  # noqa: PLC0415

    try:
        curve = aggregate(results, outcome, by=[parameter], confidence=confidence)
    except MesaBatchError:
        return ""
    column = next((c for c in curve.columns if c.split(" (")[0] == parameter), parameter)
    return _figure(
        lambda ax: plot_response(curve, column, ax=ax),
        f"Final {outcome} against {parameter}, pooling the other parameters ({confidence:.0%} CI)",
    )


def _heatmap(results: Results, outcome: str, swept: list[str], confidence: float) -> str:
    from mesa_batch.analysis import aggregate, plot_heatmap  # noqa: PLC0415

    try:
        grid = aggregate(results, outcome, by=swept, confidence=confidence)
    except MesaBatchError:
        return ""
    names = [next(c for c in grid.columns if c.split(" (")[0] == s) for s in swept]
    return _figure(
        lambda ax: plot_heatmap(grid, names[1], names[0], ax=ax),
        f"Final {outcome} (mean) over {swept[0]} and {swept[1]}",
    )


def _sensitivity(results: Results, outcomes: Sequence[str], confidence: float) -> str:
    from mesa_batch.analysis import plot_indices, plot_morris, sensitivity  # noqa: PLC0415

    names = {design.name for design in results.designs.values()}
    methods = [SENSITIVITY_METHODS[n] for n in sorted(names) if n in SENSITIVITY_METHODS]
    if not methods or not outcomes:
        return (
            '<h2>Sensitivity</h2><p class="muted">The design does not support sensitivity '
            "indices: use saltelli() (Sobol indices), morris() (elementary effects), fast() "
            "(FAST indices) or a sampled design.</p>"
        )
    method = methods[0]
    out = [f"<h2>Sensitivity ({_e(method)})</h2>"]
    for outcome in outcomes:
        try:
            indices = sensitivity(
                results, outcome, method=method, on_failure="drop", seed=SENSITIVITY_SEED
            )
        except MesaBatchError as error:
            out.append(f'<p class="muted">{_e(outcome)}: {_e(error)}</p>')
            continue
        columns = [c for c in indices.columns if indices[c].dtype.kind in "fi"]
        rows = [[name, *(row[c] for c in columns)] for name, row in indices.iterrows()]
        out.append(f"<h3>{_e(outcome)}</h3>")
        out.append(
            _table(
                ["parameter", *columns],
                rows,
                css="sensitivity",
                data=f' data-outcome="{_e(outcome)}" data-method="{_e(method)}"',
            )
        )
        plot = plot_morris if method == "morris" else plot_indices
        out.append(
            _figure(
                lambda ax, indices=indices, plot=plot: plot(indices, ax=ax),
                f"{method} indices of {outcome} per parameter, with their confidence intervals",
            )
        )
    return "".join(out)
