"""The ``mesa-batch`` command line (also ``python -m mesa_batch``).

Exit codes: 0 every run done; 1 some runs failed or still pending; 2 usage or validation error;
130 interrupted.
"""

from __future__ import annotations

import math
import pathlib
import tempfile
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperCommand

from mesa_batch._entry import not_started, sigint_seen
from mesa_batch.errors import MesaBatchError

OK, FAILED_RUNS, USAGE, INTERRUPTED = 0, 1, 2, 130


class _Command(TyperCommand):
    """A command whose usage line names its arguments plainly: ``run [OPTIONS] FILE``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line's pieces: ``[OPTIONS]``, then each argument's name."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces


app = typer.Typer(
    name="mesa-batch",
    help=(
        "Run Mesa sweeps from experiment files, resume them, inspect and export their stores.\n\n"
        "Exit codes: 0 every run done, 1 some runs failed or still pending, 2 usage or "
        "validation error, 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

StoreArgument = Annotated[
    pathlib.Path,
    typer.Argument(help="A store directory (written by `mesa-batch run`).", metavar="STORE"),
]


def main() -> None:
    """Entry point of the console script."""
    app()


def _version(value: bool) -> None:
    if value:
        from mesa_batch import __version__  # noqa: PLC0415

        console.print(f"mesa-batch {__version__}")
        raise typer.Exit(OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Run Mesa sweeps from experiment files, resume them, inspect and export their stores."""


def _fail(message: str, code: int = USAGE) -> typer.Exit:
    errors.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def _open(store: pathlib.Path) -> Any:
    from mesa_batch.results import Results  # noqa: PLC0415

    try:
        return Results.open(store)
    except MesaBatchError as error:
        raise _fail(str(error)) from None


def _counts(store: pathlib.Path, session: str | None = None) -> tuple[int, dict[str, int]]:
    from mesa_batch.results import store_counts  # noqa: PLC0415

    try:
        return store_counts(store, session=session)
    except MesaBatchError as error:
        raise _fail(str(error)) from None


# -- run and validate -------------------------------------------------------------------------


def _load(
    file: pathlib.Path, seed: int | None, read: Callable[[Any], None] | None = None
) -> tuple[Any, list[Any]]:
    """The experiment and its configurations; ``read(experiment)`` is called between the two."""
    from mesa_batch import experiment  # noqa: PLC0415

    try:
        loaded = experiment.load(file)
        if read is not None:
            read(loaded)
        configs = experiment.configurations(loaded, file, seed=seed)
    except MesaBatchError as error:
        if sigint_seen():  # a Ctrl-C while the model imported: not a bad model path
            raise KeyboardInterrupt from None
        raise _fail(str(error)) from None
    if sigint_seen():  # a Ctrl-C some import caught and dropped: still a Ctrl-C
        raise KeyboardInterrupt
    return loaded, configs


@app.command(
    cls=_Command,
    epilog="Example: mesa-batch run examples/boltzmann.toml --processes 2",
)
def run(  # noqa: PLR0917 - typer passes options by position
    file: Annotated[
        pathlib.Path, typer.Argument(help="The experiment file (TOML).", metavar="FILE")
    ],
    processes: Annotated[
        int | None, typer.Option(help="Worker processes (default: the file's, else all CPUs).")
    ] = None,
    store: Annotated[
        pathlib.Path | None, typer.Option(help="The store directory (default: the file's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="A master seed replacing the file's.")] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run again the runs the store has as failed.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start a new store: the existing one is moved aside to STORE.replaced-<time>.",
        ),
    ] = False,
    run_timeout: Annotated[
        float | None,
        typer.Option(
            "--run-timeout",
            help="Seconds a run may take; a run past it fails at stage timeout "
            "(default: the file's [execution] run_timeout, else no limit).",
            metavar="SECONDS",
        ),
    ] = None,
) -> None:
    """Run an experiment into its store; running it again resumes it.

    Shows runs done, failed, the rate and the time left. Ctrl-C stops within seconds (exit
    130): every finished run is in the store, and the command it prints (the options given,
    --fresh left out) resumes. Without a seed, the first run draws one and records it;
    running the file again resumes with it. Even --processes 1 runs in a worker process: a
    model that ends its process fails its run, not the command (exit 1).
    """
    hint = _command_line(
        file,
        processes=processes,
        store=store,
        seed=seed,
        retry_failed=retry_failed,
        run_timeout=run_timeout,
    )
    state: dict[str, Any] = {}
    try:
        _run(
            file,
            state,
            processes=processes,
            store=store,
            seed=seed,
            retry_failed=retry_failed,
            fresh=fresh,
            run_timeout=run_timeout,
        )
    except KeyboardInterrupt:  # Ctrl-C before the sweep started (or after it ended)
        _stop_pool(state)
        raise _interrupted(state, hint) from None
    except typer.Exit as stop:
        if stop.exit_code == USAGE:  # bad input: workers started for it are not wanted
            _stop_pool(state)
        raise


def _stop_pool(state: dict[str, Any]) -> None:
    if state.get("pool") is not None:
        state["pool"].close(kill=True)


def _run(
    file: pathlib.Path,
    state: dict[str, Any],
    *,
    processes: int | None,
    store: pathlib.Path | None,
    seed: int | None,
    retry_failed: bool,
    fresh: bool,
    run_timeout: float | None,
) -> None:
    """The run command; ``state`` receives the store and the results for a Ctrl-C report."""
    import warnings  # noqa: PLC0415

    from mesa_batch import experiment  # noqa: PLC0415
    from mesa_batch.errors import SeedAdoptedWarning  # noqa: PLC0415
    from mesa_batch.runner import BatchRunner, check_timeout, in_workers  # noqa: PLC0415

    try:
        limit = check_timeout(run_timeout, "--run-timeout", "--run-timeout 60")
    except MesaBatchError as error:
        raise _fail(str(error)) from None

    def start_workers(loaded: Any) -> None:  # they import Mesa while the runs are built
        state["store"] = store or experiment.store_of(loaded, file)
        state["pool"] = pool = _early_pool(loaded, state["store"], processes, fresh=fresh)
        if pool is not None:  # kept in state first: a Ctrl-C while it starts still stops it
            pool.warm_up()

    loaded, configs = _load(file, seed, start_workers)
    limit = limit if limit is not None else loaded.execution.run_timeout
    directory = state["store"]
    execution = loaded.execution
    client = _client(execution.scheduler) if execution.scheduler else None
    count = processes or (None if execution.processes == "all" else execution.processes)
    console.print(f"[bold]{len(configs)}[/] runs of {loaded.experiment.model} into {directory}")
    with _progress_display(directory) as (progress, update):
        runner = state["runner"] = BatchRunner(
            configs,
            count,
            update,
            store=directory,
            retry_failed=retry_failed or execution.retry_failed,
            replace_store=fresh,
            executor=client,
            run_timeout=limit,
        )
        try:
            # even one process is a worker: a model ending its process fails its run only
            with warnings.catch_warnings(record=True) as caught, in_workers():
                warnings.simplefilter("always", SeedAdoptedWarning)
                # [replications]: the same runner settings, driven by replicate_until
                results = (
                    runner.run() if loaded.replications is None else _replicate(loaded, runner)
                )
            for warning in caught:
                errors.print(f"note: {warning.message}", markup=False, highlight=False)
        except KeyboardInterrupt as stop:  # Interrupted carries the results
            progress.stop()
            state["results"] = getattr(stop, "results", None)
            raise
        except MesaBatchError as error:
            progress.stop()
            raise _fail(str(error), FAILED_RUNS if runner.results else USAGE) from None
        finally:
            if client is not None:
                client.close()
    state["results"] = results
    if elsewhere := _made_elsewhere(results, file, len(configs)):
        errors.print(f"note: {elsewhere}", markup=False, highlight=False)
    _print_summary(results, directory)
    counts = results.counts()
    raise typer.Exit(FAILED_RUNS if counts["failed"] or counts["pending"] else OK)


def _early_pool(loaded: Any, directory: pathlib.Path, processes: int | None, *, fresh: bool) -> Any:
    """The local pool to start the workers of now, for a new store (None: no pool, or not yet).

    A fresh worker spends about a second importing Mesa; started before the runs are built
    (which imports the model here), the two overlap. The runner then finds the same pool
    (loky's reusable executor, same size). A store that exists may have nothing left to do:
    its workers start when the runner knows.
    """
    from mesa_batch import experiment  # noqa: PLC0415
    from mesa_batch.backends import cpu_count, local_pool  # noqa: PLC0415

    if loaded.execution.scheduler or ((directory / "store.json").exists() and not fresh):
        return None
    if _names_a_file(loaded.model_dump()):  # its directory goes on the import path later,
        return None  # and a worker started now would not see it
    wanted = processes or loaded.execution.processes
    workers = cpu_count() if wanted in (None, "all") else int(wanted)
    runs = experiment.run_count(loaded)
    workers = max(1, min(workers, runs if runs is not None else workers))
    return local_pool(workers)


def _made_elsewhere(results: Any, file: pathlib.Path, runs: int) -> str | None:
    """When this session had nothing to run in a store no run of ``file`` made: say whose it is.

    Each session of a store records its command (``sys.argv``) and working directory; a
    session of this file names it among its arguments.
    """
    sessions = [s for s in results.store_info.get("sessions", []) if isinstance(s, dict)]
    if not runs or len(sessions) < 2 or sessions[-1].get("todo") != 0:
        return None
    target = file.resolve()
    makers = []
    for session in sessions[:-1]:
        command = session.get("command")
        if not isinstance(command, list):
            makers.append("an earlier sweep (its command is not recorded)")
            continue
        cwd = pathlib.Path(str(session.get("cwd") or "."))
        if any(_names(cwd, str(arg), target) for arg in command[1:]):
            return None  # this file ran into the store before: a plain resume
        makers.append(f"`{_shown(command)}` (in {cwd})")
    return (
        f"nothing was run: all {runs} runs of {file} are already in {results.store}, a store "
        f"made by {makers[0]}, not by this file. To run this file into a store of its own, "
        'give it one: --store DIR, or store = "..." in [experiment]; to run it again from '
        "scratch into this one: --fresh (the old store is moved aside)."
    )


def _names(cwd: pathlib.Path, arg: str, target: pathlib.Path) -> bool:
    if not arg.endswith(".toml"):
        return False
    try:
        return (cwd / arg).resolve() == target
    except OSError:
        return False


def _shown(command: list[Any]) -> str:
    import shlex  # noqa: PLC0415

    words = [str(w) for w in command]
    if words and pathlib.Path(words[0]).name in ("mesa-batch", "__main__.py"):
        words[0] = "mesa-batch"
    elif words and words[0].endswith(".py"):
        words.insert(0, "python")
    return shlex.join(words)


def _names_a_file(value: Any) -> bool:
    """Whether an experiment's settings name a Python file (``"path/to/file.py:Name"``)."""
    if isinstance(value, str):
        return ".py:" in value
    if isinstance(value, dict):
        return any(_names_a_file(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names_a_file(v) for v in value)
    return False


def _command_line(file: pathlib.Path, **options: Any) -> str:
    """The ``mesa-batch run`` command with the options given (``--fresh`` left out: it resumes)."""
    import shlex  # noqa: PLC0415

    words = ["mesa-batch", "run", str(file)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif value is not None and value is not False:
            words += [flag, str(value)]
    return shlex.join(words)


#: Whether this process has reported a Ctrl-C already (the console script's entry point reports
#: one that came where only typer saw it, which exits 130 without a word).
reported_interruption = False


def _interrupted(state: dict[str, Any], hint: str) -> typer.Exit:
    """Report a Ctrl-C in one line: what the store keeps, and the command that resumes."""
    global reported_interruption  # noqa: PLW0603 - one flag for the process's one command
    reported_interruption = True
    results = state.get("results")
    runner = state.get("runner")
    if results is None and runner is not None:
        results = runner.results
    directory = state.get("store")
    if results is None and directory is not None and (directory / "store.json").is_file():
        from mesa_batch.results import Results  # noqa: PLC0415

        try:
            results = Results.open(directory)
        except (MesaBatchError, OSError):
            results = None
    if results is None:
        errors.print(not_started(hint), markup=False, highlight=False)
    else:
        done = results.counts()["succeeded"]
        errors.print(
            f"interrupted: {done} runs done are kept in {directory}. Resume with: {hint}",
            markup=False,
            highlight=False,
        )
    return typer.Exit(INTERRUPTED)


def _replicate(loaded: Any, runner: Any) -> Any:
    """Run an experiment with a ``[replications]`` table: replicate_until, the runner's settings."""
    from mesa_batch.replications import replicate_until  # noqa: PLC0415

    return replicate_until(
        runner.configurations,
        **loaded.replications.model_dump(),
        number_processes=runner.number_processes,
        display_progress=runner.display_progress,
        store=runner.store,
        executor=runner.executor,
        retry_failed=runner.retry_failed,
        replace_store=runner.replace_store,
        run_timeout=runner.run_timeout,
    )


class _progress_display:  # noqa: N801 - a context manager
    """A rich progress bar fed by the runner's progress callback.

    The bar is drawn at the runner's first call, once the store is open and the sweep checked:
    an error found before (a conflict with the store, a bad option) comes without a bar.
    """

    def __init__(self, store: pathlib.Path):
        self.store = store

    def __enter__(self) -> tuple[_progress_display, Any]:
        self.progress = Progress(
            TextColumn("[bold]runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=errors,
            transient=False,
        )
        self.task = self.progress.add_task("runs", total=None, failed=0, rate="")
        self.started = time.monotonic()
        self.first: int | None = None
        self.drawn = self.said = False
        return self, self.update

    def update(self, done: int, failed: int, total: int) -> None:
        if not self.drawn:
            if total and done == total:  # a bar that would never move: say so instead
                if not self.said:
                    from mesa_batch.runner import nothing_left  # noqa: PLC0415

                    errors.print(nothing_left(total, self.store), markup=False, highlight=False)
                    self.said = True
                return
            self.first, self.started, self.drawn = done, time.monotonic(), True
            self.progress.start()
        first = done if self.first is None else self.first
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = f"{(done - first) / elapsed:.1f} runs/s" if done > first else ""
        self.progress.update(self.task, completed=done, total=total, failed=failed, rate=rate)

    def stop(self) -> None:
        """Stop the bar, if it was drawn (a stopped bar ends its line)."""
        if self.drawn:
            self.progress.stop()
            self.drawn = False

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _client(address: str) -> Any:
    from mesa_batch.backends import require  # noqa: PLC0415

    distributed = require("distributed", "dask", "execution.scheduler")
    try:
        return distributed.Client(address, timeout="20s")
    except OSError as error:
        raise _fail(f"execution.scheduler {address!r} cannot be reached: {error}") from None


@app.command(cls=_Command, epilog="Example: mesa-batch validate examples/boltzmann.toml")
def validate(
    file: Annotated[
        pathlib.Path, typer.Argument(help="The experiment file (TOML).", metavar="FILE")
    ],
    preview: Annotated[int, typer.Option(help="How many configurations to show.")] = 5,
    max_runs: Annotated[
        int | None,
        typer.Option(min=1, help="The most runs allowed (default: the file's, else 10,000,000)."),
    ] = None,
) -> None:
    """Check an experiment file and show its design, without running anything.

    The run count is computed before any run is built: a design past the limit is refused.
    """
    from mesa_batch import designs, experiment  # noqa: PLC0415

    try:
        loaded = experiment.load(file)
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    if max_runs is not None:
        spec = loaded.experiment.model_copy(update={"max_runs": max_runs})
        loaded = loaded.model_copy(update={"experiment": spec})
    count = experiment.run_count(loaded)
    if count is not None:
        console.print(f"{file}: {count:,} runs")
        with designs.run_limit(loaded.experiment.max_runs):
            limit = designs.max_runs()
        if count > limit:
            raise _fail(
                f"{file}: the design makes {count:,} runs, more than the limit of {limit:,}. "
                "Make it smaller, or raise the limit: max_runs = N in [experiment], "
                "--max-runs N, or MESA_BATCH_MAX_RUNS=N."
            )
    try:
        configs = experiment.configurations(loaded, file)
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    points = configs[0].design.n_points if configs and configs[0].design else len(configs)
    iterations = loaded.experiment.iterations
    console.print(f"{file}: valid")
    console.print(f"model: {loaded.experiment.model}")
    console.print(
        f"design: {getattr(loaded.design, 'kind', '?')}, {points} points x {iterations} "
        "iterations = "
        f"{len(configs)} runs of at most {loaded.experiment.max_steps} steps"
    )
    console.print(f"store: {experiment.store_of(loaded, file)}")
    if loaded.experiment.seed is None:
        console.print(
            "[yellow]no seed: the first `mesa-batch run` draws one and records it in the store "
            "(the seeds shown here are examples)[/]"
        )
    table = Table("run", "iteration", "parameters", "seed")
    for config in configs[:preview]:
        table.add_row(
            str(config.run_id),
            str(config.iteration),
            repr(dict(config.parameters)),
            str(config.seed),
        )
    console.print(table)


# -- reading stores ---------------------------------------------------------------------------


@app.command(cls=_Command, epilog="Example: mesa-batch status results/boltzmann")
def status(store: StoreArgument) -> None:
    """Done, failed and pending runs; for a sweep running now, its progress and time left."""
    from mesa_batch.store import is_locked, read_log  # noqa: PLC0415

    # the log first: every run it lists as finished is committed before the store is read,
    # so the store's counts are never behind the session's (only a running sweep's is needed)
    running = store.is_dir() and is_locked(store)
    log = read_log(store, events=["start", "succeeded", "failed"]) if running else []
    starts = [e for e in log if e.get("event") == "start"]
    session = starts[-1] if starts else None
    total, counts = _counts(store, None if session is None else str(session.get("session")))
    console.print(
        f"{store}: {total} runs: {counts['succeeded']} done, "
        f"{counts['failed']} failed, {counts['pending']} pending"
    )
    if not is_locked(store):
        console.print("no sweep is running on it")
        return
    if session is None:
        console.print("a sweep is starting")
        return
    logged = sum(e.get("session") == session["session"] and e.get("event") != "start" for e in log)
    todo = int(session.get("todo", 0))
    # from the store, like the line above: the runs whose outcome this session's batches wrote
    # (workers commit a batch before this session logs it, so the log can be behind); not
    # its todo less the pending runs: a --retry-failed session's runs to do count as failed
    finished = min(todo, max(logged, counts.get("session", 0)))
    elapsed = time.time() - float(session["t"])
    rate = finished / elapsed if elapsed > 0 else 0.0
    left = (todo - finished) / rate if rate > 0 else float("nan")
    console.print(
        f"running (pid {session.get('pid')} on {session.get('host')}): {finished} of {todo} "
        f"runs of this session done, {rate:.1f} runs/s, about {_duration(left)} left"
    )


def _duration(seconds: float) -> str:
    if math.isnan(seconds):  # no rate yet
        return "an unknown time"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@app.command(cls=_Command, epilog="Example: mesa-batch show results/boltzmann")
def show(store: StoreArgument) -> None:
    """A summary of a store: model, designs, parameters, tables, failures, versions."""
    results = _open(store)
    meta = results.store_info
    runs = results.runs  # first: counting the runs then reads nothing more
    counts = results.counts()
    console.print(f"[bold]{store}[/]  (format {meta.get('format')} v{meta.get('version')})")
    console.print(f"model: {meta.get('model')}", markup=False)
    per_design = runs["design"].fillna("(none)").value_counts().to_dict() if len(runs) else {}
    designs = results.designs
    for design_id, n in per_design.items():
        design = designs.get(str(design_id))
        if design is None:
            console.print(f"design {design_id}: {n} runs", markup=False)
            continue
        crn = ", common random numbers" if design.common_random_numbers else ""
        console.print(
            f"design {design.name} ({design_id}): {design.n_points} points, {n} runs, master "
            f"seed {design.seed.entropy}{crn}",
            markup=False,
        )
    console.print(
        f"runs: {len(results)}: {counts['succeeded']} done, {counts['failed']} failed, "
        f"{counts['pending']} pending"
    )
    parameters = Table("parameter", "values", title="parameters")
    for name in results.parameter_names:
        parameters.add_row(name, _values(runs[name]))
    console.print(parameters)
    tables = Table("table", "rows", "columns", title="tables")
    for name in results.tables:
        rows, columns = _shape(results, name)
        values = [str(c) for c in columns if c not in ("run_id", "step", "agent_id")]
        tables.add_row(name, str(rows), ", ".join(values[:8]) + (" ..." if len(values) > 8 else ""))
    console.print(tables)
    overhead = results.runner_overhead
    if overhead is not None:
        console.print(f"runner overhead: {overhead:.1%} of worker time outside model code")
    check = meta.get("reproducibility")
    if isinstance(check, dict) and "reproducible" in check:
        verdict = "reproducible" if check["reproducible"] else "[red]NOT reproducible[/]"
        console.print(f"reproducibility: {verdict} ({check.get('checked')} runs run again)")
    for note in results.notes:
        console.print(f"note: {note}", markup=False)
    from mesa_batch.replications import replication_summary  # noqa: PLC0415

    if replicated := replication_summary(results):  # a replicate_until sweep's points
        console.print(replicated, markup=False, highlight=False)
    versions = meta.get("versions", {})
    if isinstance(versions, dict):
        console.print(
            "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), markup=False
        )
    sessions = [s for s in meta.get("sessions", []) if isinstance(s, dict)]
    console.print(f"sessions: {len(sessions)}")
    for session in sessions[-3:]:
        console.print(
            f"  {session.get('id')}: started {session.get('start')}, "
            f"{session.get('todo')} of {session.get('planned')} runs to do, "
            f"{session.get('reason') or 'no end recorded'}"
            + (f" at {session['end']}" if session.get("end") else "")
            + (
                f"; by {_shown(command)}"
                if isinstance(command := session.get("command"), list)
                else ""
            ),
            markup=False,
        )


def _shape(results: Any, table: str) -> tuple[int, list[str]]:
    """A table's rows and columns; a data table's read from its ``run_id`` column only."""
    if table == "runs":
        return len(results.runs), list(results.runs.columns)
    rows = sum(piece.num_rows for piece in results.scan(table, columns=[]))
    return rows, results.columns(table)


def _values(column: Any) -> str:
    try:
        unique = column.dropna().unique()
    except TypeError:  # unhashable values
        return f"{column.map(repr).nunique()} distinct"
    if len(unique) <= 6:
        return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in unique)
    try:
        return f"{len(unique)} values in [{column.min()}, {column.max()}]"
    except TypeError:
        return f"{len(unique)} distinct"


@app.command(cls=_Command, epilog="Example: mesa-batch failures results/boltzmann")
def failures(store: StoreArgument) -> None:
    """Each failed run: parameters, seed, traceback, and Python that reruns it alone."""
    results = _open(store)
    found = results.failures
    if not found:
        console.print(f"{store}: no failed runs")
        return
    model = str(results.store_info.get("model", ""))
    for failure in found:
        console.rule(f"run {failure.run_id}: {failure.failure.summary()}")
        console.print(f"parameters: {dict(failure.parameters)!r}", markup=False)
        console.print(f"seed: {failure.seed}")
        console.print(failure.traceback.rstrip(), markup=False, highlight=False)
        console.print("rerun it alone (or: mesa-batch rerun STORE RUN_ID):")
        snippet = _snippet(model, failure)
        console.print(snippet, markup=False, highlight=False)
    raise typer.Exit(FAILED_RUNS)


def _snippet(model: str, failure: Any) -> str:
    """Python that reruns a failed run, built from decoded values (never store text as code)."""
    from mesa_batch.store.encoding import Opaque  # noqa: PLC0415
    from mesa_batch.store.records import IMPORT_PATH  # noqa: PLC0415

    if IMPORT_PATH.match(model):
        module, _, name = model.partition(":")
        head = f"from {module} import {name.split('.')[0]}\n"
        model_cls = name
    else:
        head = f"# the store names its model as {model!r}, which is not an import path\n"
        model_cls = "Model"
    text_only = []
    values = []
    for key, value in failure.parameters.items():
        shown = value
        if _holds(value, Opaque):
            text_only.append(key)
            shown = repr(value)  # a string literal of the stored text, not the text as code
        values.append(f"{key!r}: {shown!r}")
    lines = [
        head + "from mesa_batch import BatchRunner, RunConfiguration\n",
        "config = RunConfiguration(",
        f"    model_cls={model_cls},",
        f"    parameters={{{', '.join(values)}}},",
    ]
    for name in ("max_steps", "data_collection_period"):
        value = getattr(failure, name)
        if value is not None:
            lines.append(f"    {name}={int(value)},")
    lines += [f"    seed={int(failure.seed)},", ")"]
    if text_only:
        lines.insert(
            1,
            f"# {', '.join(map(repr, text_only))}: the store keeps only their text; replace them "
            "with the real values",
        )
    lines.append("results = BatchRunner([config], display_progress=False).run()")
    lines.append("print(results.failures[0].traceback if results.failures else 'it ran')")
    return "\n".join(lines) + "\n"


def _holds(value: Any, kind: type) -> bool:
    if isinstance(value, kind):
        return True
    if isinstance(value, dict):
        return any(_holds(k, kind) or _holds(v, kind) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds(v, kind) for v in value)
    return False


@app.command(cls=_Command, epilog="Example: mesa-batch rerun results/boltzmann 3")
def rerun(
    store: StoreArgument,
    run_id: Annotated[
        int, typer.Argument(help="The run's id (see `mesa-batch show`).", metavar="RUN_ID")
    ],
) -> None:
    """Run one run of a store again, here, and compare its tables with the stored rows.

    The model is imported by its recorded path and run with the recorded parameters, seed and
    settings. Exit 0 when every table equals the stored rows exactly, 1 when not.
    """
    results = _open(store)
    try:
        report = results.rerun(run_id)
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    console.print(str(report), markup=False, highlight=False)
    raise typer.Exit(OK if report.reproduced else FAILED_RUNS)


@app.command(
    cls=_Command,
    epilog="Example: mesa-batch export results/boltzmann --table model --format csv --out model.csv",
)
def export(
    store: StoreArgument,
    table: Annotated[
        str, typer.Option(help="model, agents, runs, or another table of the store.")
    ] = "model",
    format: Annotated[str, typer.Option(help="csv or parquet.")] = "csv",
    out: Annotated[
        pathlib.Path | None, typer.Option(help="Output file (default: TABLE.FORMAT).")
    ] = None,
    with_parameters: Annotated[
        bool,
        typer.Option(
            "--with-parameters/--no-parameters",
            help="Add each run's iteration, seed and parameters (the default) or leave them out.",
        ),
    ] = True,
) -> None:
    """Write one table of a store to a CSV or Parquet file."""
    if format not in ("csv", "parquet"):
        raise _fail(f"--format must be csv or parquet; received {format!r}")
    results = _open(store)
    if table not in results.tables:
        raise _fail(f"--table must be one of {', '.join(results.tables)}; received {table!r}")
    frame = results.dataframe(table, with_parameters=with_parameters and table != "runs")
    target = out or pathlib.Path(f"{table}.{format}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if format == "csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_parquet(target, index=False)
    console.print(f"{len(frame)} rows of {table} written to {target}")


@app.command(cls=_Command, epilog="Example: mesa-batch report results/boltzmann --out report.html")
def report(
    store: StoreArgument,
    out: Annotated[pathlib.Path, typer.Option(help="The HTML file to write.")] = pathlib.Path(
        "report.html"
    ),
    outcome: Annotated[
        list[str] | None,
        typer.Option(help="A model-table column to report (repeat it; default: all numeric)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a store: experiment, status, outcomes, sensitivity.

    The page opens offline in any browser (figures are embedded); send it as one file. A store
    still being written is reported as it is.
    """
    from mesa_batch.report import report as write_report  # noqa: PLC0415

    results = _open(store)
    try:
        written = write_report(results, out, outcome or None)
    except MesaBatchError as error:
        raise _fail(str(error)) from None
    console.print(f"report of {store} written to {written} ({written.stat().st_size:,} bytes)")


@app.command(cls=_Command, epilog="Example: mesa-batch demo --processes 2")
def demo(
    processes: Annotated[int | None, typer.Option(help="Worker processes (default: all).")] = None,
    keep: Annotated[
        pathlib.Path | None, typer.Option(help="Keep the store in this directory.")
    ] = None,
) -> None:
    """Run a small real sweep of Mesa's Boltzmann wealth model and summarise it."""
    from mesa.examples import BoltzmannWealth  # noqa: PLC0415

    from mesa_batch import BatchRunner, full_factorial  # noqa: PLC0415

    configs = full_factorial(
        BoltzmannWealth,
        {"n": [10, 50, 100], "width": [5, 10], "height": 10},
        iterations=3,
        max_steps=50,
        data_collection_period=10,
        seed=42,
    )
    with tempfile.TemporaryDirectory() as scratch:
        directory = keep or pathlib.Path(scratch) / "store"
        console.print(f"demo: {len(configs)} runs of BoltzmannWealth into {directory}")
        with _progress_display(directory) as (_, update):
            results = BatchRunner(configs, processes, update, store=directory).run()
        _print_summary(results, directory, kept=keep is not None)
        final = results.dataframe("model", with_parameters=True)
        final = final[final["step"] == final.groupby("run_id")["step"].transform("max")]
        table = Table("n", "width", "final Gini (mean)", title="final inequality")
        means = final.groupby(["n", "width"], as_index=False)["Gini"].mean()
        for row in means.itertuples(index=False):
            table.add_row(str(row.n), str(row.width), f"{row.Gini:.3f}")
        console.print(table)


def _print_summary(results: Any, directory: pathlib.Path, *, kept: bool = True) -> None:
    console.print(results.summary(), markup=False, highlight=False)
    if kept:
        console.print(f"store: {directory} (see `mesa-batch show {directory}`)")
    else:
        console.print(
            "the demo's store was temporary and is removed now; `mesa-batch demo --keep DIR` "
            "keeps it for `mesa-batch show DIR`"
        )


# the analysis commands live with the analysis (mesa_batch/analysis/cli.py)
from mesa_batch.analysis import cli as _analysis  # noqa: E402

app.command(epilog="Example: mesa-batch summarize results/boltzmann Gini --by n --by width")(
    _analysis.summarize
)
app.command(epilog="Example: mesa-batch sensitivity results/sobol y --method sobol")(
    _analysis.sensitivity
)


if __name__ == "__main__":  # pragma: no cover - python -m mesa_batch.cli
    main()
