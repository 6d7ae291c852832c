"""The driver of ``replicate_until``: rounds of BatchRunner sweeps, until every point is done.

Each round runs the new iterations :func:`~mesa_batch.replications.plan.plan_round` gives
the points not done, reads their outcomes, and decides again; a store gets every round's
runs as the round starts (so a call run again resumes) and the record at the end.
"""

from __future__ import annotations

import os
import pathlib
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mesa_batch.config import RunConfiguration
from mesa_batch.errors import (
    ConfigurationError,
    Interrupted,
    RunFailedWarning,
    check_int,
    problem,
)
from mesa_batch.outcomes import Status
from mesa_batch.replications.plan import Point, plan_round
from mesa_batch.replications.record import ReplicationResults, make_record
from mesa_batch.replications.target import Target, check_target
from mesa_batch.replications.values import Statistic, values_of
from mesa_batch.results import Results

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["replicate_until"]


def replicate_until(
    configurations: Iterable[RunConfiguration],
    outcome: str | Sequence[str],
    *,
    rel_precision: float | None = 0.05,
    abs_precision: float | None = None,
    confidence: float = 0.95,
    min_iterations: int = 3,
    max_iterations: int = 100,
    max_runs: int | None = None,
    look_ahead: int = 5,
    statistic: Statistic | None = None,
    number_processes: int | None = 1,
    display_progress: bool | Callable[[int, int, int], None] = True,
    store: str | os.PathLike[str] | None = None,
    executor: Any = None,
    retry_failed: bool = False,
    replace_store: bool = False,
    reproducibility_checks: int | None = None,
    run_timeout: float | None = None,
) -> ReplicationResults:
    """Run each design point until the CI of its outcome is narrow enough.

    The sequential procedure of Law and Kelton with the look-ahead of Hoad, Robinson and
    Davies (2010), in rounds of :class:`~mesa_batch.BatchRunner` sweeps (see
    ``docs/replications.md``). Each point of the design (taken once, by ``point_key``) runs
    ``min_iterations`` replications; then, while its CI half-width ``t(n-1) s / sqrt(n)`` is
    wider than ``rel_precision * |mean|`` (and than ``abs_precision``, the fallback for means
    near zero) for any outcome, it gets more, up to its estimated need, until the target holds
    for ``look_ahead`` more runs, or it reaches ``max_iterations``, or the sweep reaches
    ``max_runs``. A point's iteration ``i`` has the seed a fixed design with ``iterations >
    i`` gives it, so adaptive and fixed sweeps share runs in a store. Interrupted and called
    again with the same arguments and store, it continues, and ends with the store an
    uninterrupted call writes.

    Args:
        configurations: Configurations from any design (made with a master seed); their
            iterations are ignored: each point's are derived as the design would.
        outcome: A column of the model table, whose value at each run's final collected step
            is the run's outcome; or a list of them (a point is done when all are); or the
            names of the values ``statistic`` returns.
        rel_precision: The target half-width as a fraction of |mean| (None: only absolute).
        abs_precision: An absolute target half-width, met also when the relative one is not.
        confidence: The CI's confidence level.
        min_iterations: Replications every point runs first (at least 2).
        max_iterations: Replications a point runs at most.
        max_runs: Runs the whole sweep may plan at most (None: no budget).
        look_ahead: Runs the target must stay met for before a point stops (Hoad et al.'s
            ``kLimit``: this many up to 100 runs, ``look_ahead`` percent beyond); 0 stops at
            the first count that meets it.
        statistic: A function of a run's model rows (a DataFrame ordered by step) returning the
            run's outcome, or a mapping of outcome names to values, instead of the final step.
        number_processes: As for :class:`~mesa_batch.BatchRunner` (also how many runs a round
            has at least, so that no worker idles); ``None`` runs every round on a pool of
            every CPU (a round is sized for them, so the pool is not left to pay for itself
            round by round).
        display_progress: A progress bar per round, or a callback ``f(done, failed, total)``
            counting the runs of every round so far.
        store: A Parquet store: every round is committed to it, the record of the points is
            written to its ``store.json``, and calling again resumes.
        executor: Any executor :class:`~mesa_batch.BatchRunner` takes (Dask, MPI, ...).
        retry_failed: With a store, run again the runs it records as failed (once, first).
        replace_store: With a store, start a new one (the old one is moved aside).
        reproducibility_checks: As for :class:`~mesa_batch.BatchRunner`, per round.
        run_timeout: As for :class:`~mesa_batch.BatchRunner`: seconds a run may take (a run past
            it fails at stage ``timeout`` and counts as a failed run of its point).

    Returns:
        The results of every run, with :attr:`ReplicationResults.replications` (per point:
        iterations, CI, whether the target was met, why it stopped) and ``rounds``.

    Raises:
        ConfigurationError: An invalid option, configurations not made by a design, a budget
            below ``min_iterations`` per point, or an outcome that is not a model column.
        Interrupted: Ctrl-C; its ``results`` hold every run so far, and calling again with the
            same store resumes.

    Examples:
        >>> from mesa.examples import BoltzmannWealth
        >>> from mesa_batch import full_factorial
        >>> configs = full_factorial(BoltzmannWealth, {"n": [20, 40]}, max_steps=10, seed=1)
        >>> results = replicate_until(configs, "Gini", rel_precision=0.1, display_progress=False)
        >>> results.replications[["n", "iterations", "target_met"]].shape
        (2, 3)
    """
    target = check_target(
        outcome,
        rel_precision=rel_precision,
        abs_precision=abs_precision,
        confidence=confidence,
        min_iterations=min_iterations,
        max_iterations=max_iterations,
        max_runs=max_runs,
        look_ahead=look_ahead,
    )
    rounds = _Rounds(
        _points(configurations),
        target,
        statistic,
        number_processes=number_processes,
        display_progress=display_progress,
        store=None if store is None else pathlib.Path(store),
        executor=executor,
        options={
            "retry_failed": retry_failed,
            "replace_store": replace_store,
            "reproducibility_checks": reproducibility_checks,
            "run_timeout": run_timeout,
        },
    )
    return rounds.run()


def _points(configurations: Iterable[RunConfiguration]) -> list[Point]:
    """One point per distinct point key, based on its iteration 0, in the design's order."""
    from mesa_batch.designs.compose import design_points  # noqa: PLC0415

    bases = design_points(configurations)
    for config in bases:
        if config.design is None:
            raise ConfigurationError(
                problem(
                    "configurations",
                    "must be made by a design (their iterations' seeds derive from its master "
                    "seed, so that a resumed call gives the same runs)",
                    config,
                    "Build them with a design, e.g. manual(Model, [{...}], seed=42).",
                )
            )
    if not bases:
        raise ConfigurationError(
            problem("configurations", "must hold at least one configuration", [])
        )
    return [Point.of(i, c) for i, c in enumerate(bases)]


class _Rounds:
    """The loop of ``replicate_until``: plan a round, run it, read its outcomes, decide.

    Rounds are sized from each point's expected need (not one run at a time), so there are
    few of them, and a round has at least one run per worker; within a round the runner keeps
    every worker busy. A round still waits for its last runs before the next is planned.
    """

    def __init__(
        self,
        points: list[Point],
        target: Target,
        statistic: Any,
        *,
        number_processes: int | None,
        display_progress: Any,
        store: pathlib.Path | None,
        executor: Any,
        options: dict[str, Any],
    ):
        self.points = points
        self.target = target
        self.statistic = statistic
        self.number_processes = number_processes
        self.display_progress = display_progress
        self.store = store
        self.executor = executor
        self.options = options
        self.workers = _workers(number_processes, executor)
        self.by_key: dict[str, tuple[Point, int]] = {}
        self.configs: list[RunConfiguration] = []
        self.finished_before: set[str] = set()  # keys the store had finished at the start
        self.memory: list[Results] = []
        self.rounds: list[dict[str, Any]] = []
        self.caught: list[warnings.WarningMessage] = []
        self.progress = (0, 0, 0)  # runs done, failed, planned in the rounds before

    def run(self) -> ReplicationResults:
        """Run every round; return the results of all runs with the record."""
        budget = self.target.max_runs
        least = len(self.points) * self.target.min_iterations
        if budget is not None and budget < least:
            raise ConfigurationError(
                problem(
                    "max_runs",
                    f"must allow min_iterations ({self.target.min_iterations}) runs for each of "
                    f"the {len(self.points)} points",
                    budget,
                    f"Pass max_runs >= {least}, or lower min_iterations.",
                )
            )
        try:
            plan = self._first_plan()
            while plan:
                self._round(plan, first=not self.rounds)
                plan = plan_round(self.points, self.target, self.workers)
            return self._finish()
        finally:
            self._warn()

    def _first_plan(self) -> dict[int, int]:
        """Iterations 0 .. min_iterations - 1 of every point, or more if the store plans more."""
        stored = self._stored()
        low, high = self.target.min_iterations, self.target.max_iterations
        return {p.index: min(max(low, stored.get(p.index, 0)), high) for p in self.points}

    def _stored(self) -> dict[int, int]:
        """Per point, how many of its first iterations the store already plans (to resume)."""
        if self.store is None or self.options["replace_store"]:
            return {}
        if not (self.store / "store.json").exists():
            return {}
        self._adopt()
        runs = Results.open(self.store).runs
        keys = set(runs["key"].tolist())
        self.finished_before = set(runs.loc[runs["status"] != Status.PENDING, "key"].tolist())
        iterations: dict[str, set[int]] = {}
        for point_key, iteration in zip(runs["point_key"], runs["iteration"], strict=True):
            iterations.setdefault(str(point_key), set()).add(int(iteration))
        found = {}
        for point in self.points:
            present = iterations.get(point.key, set())
            n = 0
            while n in present and n < self.target.max_iterations:
                if point.iteration(n, 0).key not in keys:
                    break
                n += 1
            found[point.index] = n
        return found

    def _adopt(self) -> None:
        """Designs that drew their seed take the one the store recorded (so the runs match)."""
        if not any(p.base and p.base.design and p.base.design.seed.drawn for p in self.points):
            return
        from mesa_batch.store.reader import read_state  # noqa: PLC0415
        from mesa_batch.store.session import adopt_seeds  # noqa: PLC0415

        assert self.store is not None
        bases = [p.base for p in self.points if p.base is not None]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            adopted = adopt_seeds(read_state(self.store), bases)
        self.caught.extend(caught)
        for point, base in zip(self.points, adopted, strict=True):
            point.base = base

    def _round(self, plan: Mapping[int, int], *, first: bool) -> None:
        """Run the iterations the plan adds (the first round: all it names); read them."""
        new = self._configurations(plan, first=first)
        for i, n in plan.items():
            self.points[i].planned = n
        started = time.perf_counter()
        results = self._run(new, first=first)
        seconds = time.perf_counter() - started
        runs = results.runs
        self._read(results, runs[runs["key"].isin(list(self.by_key))])
        keys = {c.key for c in new} - self.finished_before
        ran = runs[runs["key"].isin(list(keys))]
        busy = float(ran["wall_time"].astype(float).fillna(0.0).sum())
        workers = min(self.workers, max(1, len(ran)))
        self.rounds.append(
            {
                "round": len(self.rounds),
                "points": len(plan),
                "runs": len(new),
                "ran": len(ran),
                "seconds": seconds,
                "busy_seconds": busy,
                "workers": workers,
                "utilisation": busy / (workers * seconds) if len(ran) and seconds > 0 else None,
            }
        )

    def _configurations(self, plan: Mapping[int, int], *, first: bool) -> list[RunConfiguration]:
        """The round's configurations, iteration outer (like a design), with new run ids."""
        from mesa_batch.designs._core import crossed  # noqa: PLC0415

        points = [self.points[i] for i in plan]
        spans = [range(0 if first else p.planned, plan[p.index]) for p in points]

        def make(point: Point, iteration: int, run_id: int) -> RunConfiguration:
            config = point.iteration(iteration, run_id)
            self.by_key[config.key] = (point, iteration)
            return config

        new = crossed(points, spans, make, start=len(self.configs))
        self.configs.extend(new)
        return new

    def _run(self, configs: list[RunConfiguration], *, first: bool) -> Results:
        """One round: a BatchRunner sweep of its configurations, its warnings kept."""
        from mesa_batch.errors import SeedAdoptedWarning  # noqa: PLC0415
        from mesa_batch.runner import BatchRunner  # noqa: PLC0415

        options = dict(self.options)
        if not first:  # once: the store is replaced and its failed runs retried in the first
            options["retry_failed"] = options["replace_store"] = False
        # every round is sized for all the workers: with None, a pool of every CPU from the
        # first round (not BatchRunner's adaptive None, which would judge each round alone)
        processes = self.number_processes
        if processes is None and self.executor is None:
            processes = self.workers
        runner = BatchRunner(
            configs,
            processes,
            self._progress(),
            store=self.store,
            executor=self.executor,
            **options,
        )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if not first:  # the store's seed was adopted (and said so) in the first round
                    warnings.simplefilter("ignore", SeedAdoptedWarning)
                try:
                    results = runner.run()
                finally:
                    self.caught.extend(caught)
        except Interrupted as stop:
            if self.store is None:
                self.memory.append(stop.results)
            raise Interrupted(self._results()) from None
        if self.store is None:
            self.memory.append(results)
        done, failed, planned = self.progress
        failed += results.counts()["failed"]
        self.progress = (done + len(configs), failed, planned + len(configs))
        return results

    def _progress(self) -> Any:
        """The user's callback, counting the runs of every round so far; or the runner's bar."""
        callback = self.display_progress
        if not callable(callback):
            return bool(callback)
        done, failed, planned = self.progress

        def progress(round_done: int, round_failed: int, total: int) -> None:
            callback(done + round_done, failed + round_failed, planned + total)

        return progress

    def _read(self, results: Results, runs: pd.DataFrame) -> None:
        """Record the outcomes of the runs that have none yet."""
        fresh = runs[[self.by_key[k][1] not in self.by_key[k][0].values for k in runs["key"]]]
        succeeded = fresh[fresh["status"] == Status.SUCCEEDED]
        values = values_of(
            results,
            succeeded["run_id"].astype(int).tolist(),
            self.target.outcomes,
            self.statistic,
        )
        width = len(self.target.outcomes)
        for key, run_id, status in zip(fresh["key"], fresh["run_id"], fresh["status"], strict=True):
            point, iteration = self.by_key[key]
            if status == Status.SUCCEEDED:
                found = values.get(int(run_id))
                point.values[iteration] = np.full(width, np.nan) if found is None else found
            else:  # failed (or, which a finished round never leaves, pending)
                point.values[iteration] = None

    def _results(self) -> ReplicationResults:
        """The results of every run so far, with the record and the rounds."""
        if self.store is not None:
            results = ReplicationResults.open(self.store, configurations=self.configs)
            assert isinstance(results, ReplicationResults)
        else:
            results = _combined(self.memory)
        results._replications = make_record(self.points, self.target, self.statistic)
        results._round_rows = list(self.rounds)
        return results

    def _finish(self) -> ReplicationResults:
        if self.store is not None:
            self._note(make_record(self.points, self.target, self.statistic))
        results = self._results()
        failed = results.counts()["failed"]
        if failed:
            warnings.warn(
                f"{failed} of {len(results)} runs failed; the others completed. A point whose "
                "runs all failed stopped (status 'failed' in results.replications); "
                "results.failures has each failure.",
                RunFailedWarning,
                stacklevel=4,
            )
        return results

    def _note(self, record: dict[str, Any]) -> None:
        """Write the record into ``store.json``, in a session of its own (it holds the lock)."""
        from mesa_batch.errors import SeedAdoptedWarning  # noqa: PLC0415
        from mesa_batch.store.session import open_session  # noqa: PLC0415

        assert self.store is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeedAdoptedWarning)
            session = open_session(self.store, self.configs)
        try:
            session.note(replications=record)
            session.event("note", replications={"points": len(self.points), "runs": record["runs"]})
        finally:
            session.close("replications recorded")

    def _warn(self) -> None:
        """Warn once per distinct warning of the rounds (failures are counted at the end)."""
        seen = set()
        for caught in self.caught:
            key = (caught.category, str(caught.message))
            if issubclass(caught.category, RunFailedWarning) or key in seen:
                continue
            seen.add(key)
            warnings.warn(str(caught.message), caught.category, stacklevel=4)


def _workers(number_processes: int | None, executor: Any) -> int:
    """How many runs go at once: the executor's workers, or the processes asked for."""
    from mesa_batch.backends import adapt_executor, cpu_count, executor_workers  # noqa: PLC0415

    if executor is not None:
        return max(1, int(executor_workers(adapt_executor(executor))))
    if number_processes is None:
        return cpu_count()
    return max(1, check_int("number_processes", number_processes, minimum=1))


def _combined(rounds: Sequence[Results]) -> ReplicationResults:
    """The in-memory results of several rounds as one (their run ids are distinct)."""
    configs = [c for r in rounds for c in r.configurations]
    statuses = {k: v for r in rounds for k, v in r.statuses.items()}
    chunks: dict[str, list[dict[str, np.ndarray]]] = {}
    for results in rounds:
        for name in results.tables[1:]:
            frame = results.dataframe(name)
            if len(frame):
                chunks.setdefault(name, []).append({c: frame[c].to_numpy() for c in frame.columns})
    checks = [r.reproducible for r in rounds if r.reproducible is not None]
    return ReplicationResults(
        configs, statuses, chunks, reproducible=all(checks) if checks else None
    )
