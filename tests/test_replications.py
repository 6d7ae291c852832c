"""Adaptive replications (replicate_until) on small real Mesa models."""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import mesa
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from mesa_batch import (
    BatchRunner,
    ConfigurationError,
    Interrupted,
    Results,
    RunConfiguration,
    RunFailedWarning,
    full_factorial,
    replicate_until,
    replication_status,
    replication_summary,
    replications_needed,
)
from mesa_batch.replications import ReplicationResults
from tests.helpers import ROOT, cli

TRUE_MEAN = 10.0


class NoisyModel(mesa.Model):
    """One value per step: ``mean + sigma * noise``, the noise drawn from the model's rng."""

    def __init__(
        self,
        mean: float = TRUE_MEAN,
        sigma: float = 1.0,
        fail: bool = False,
        copy: int = 0,
        *,
        hang: bool = False,
        rng=None,
    ):
        super().__init__(rng=rng)
        if fail:
            raise RuntimeError("this point always fails")
        self.mean = mean
        self.sigma = sigma
        self.hang = hang
        self.value = mean
        self.twice = 2 * mean
        self.datacollector = mesa.DataCollector(
            model_reporters={"value": "value", "twice": "twice"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        if self.hang:
            import time

            time.sleep(3600)
        self.value = self.mean + self.sigma * self.rng.standard_normal()
        self.twice = 2 * self.mean + self.sigma * self.rng.standard_normal()
        self.datacollector.collect(self)


def mean_value(rows: pd.DataFrame) -> float:
    """A statistic of a run: the mean of its value over the collected steps."""
    return float(rows["value"].mean())


def design(sigmas=(0.5, 1.0, 2.5), seed=1, **parameters):
    return full_factorial(NoisyModel, {"sigma": list(sigmas), **parameters}, max_steps=1, seed=seed)


QUIET = {"display_progress": False, "reproducibility_checks": 0}


def final_values(results) -> pd.DataFrame:
    """Each run's value at its final step, with its point and iteration."""
    model = results.dataframe("model", with_parameters=True)
    last = model[model["step"] == model.groupby("run_id")["step"].transform("max")]
    runs = results.runs.set_index("run_id")
    return last.assign(point_key=runs.loc[last["run_id"], "point_key"].to_numpy())


def test_noisy_points_get_more_iterations_and_every_point_meets_the_target():
    results = replicate_until(design(), "value", max_iterations=300, **QUIET)
    assert isinstance(results, ReplicationResults)
    table = results.replications.set_index("sigma")
    assert list(table["iterations"]) == sorted(table["iterations"])  # noisier: more runs
    assert table.loc[2.5, "iterations"] > 4 * table.loc[0.5, "iterations"]
    assert table["target_met"].all()
    assert (table["status"] == "target").all()
    assert (table["half_width"] <= 0.05 * table["mean"].abs()).all()
    assert len(results) == table["iterations"].sum() == results.counts()["succeeded"]
    # the recorded CI is the t interval of the runs' final values
    values = final_values(results).groupby("sigma")["value"]
    n, mean, sd = values.count(), values.mean(), values.std()
    half = scipy.stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    np.testing.assert_allclose(table["half_width"], half.loc[table.index])
    np.testing.assert_allclose(table["mean"], mean.loc[table.index])
    assert (n.loc[table.index] == table["iterations"]).all()


def test_a_point_stops_at_max_iterations_when_the_target_is_out_of_reach():
    results = replicate_until(design((0.5, 5.0)), "value", max_iterations=20, **QUIET)
    table = results.replications.set_index("sigma")
    assert table.loc[5.0, "iterations"] == 20
    assert table.loc[5.0, "status"] == "max_iterations"
    assert not table.loc[5.0, "target_met"]
    assert table.loc[0.5, "status"] == "target"


def test_seeds_of_iterations_are_those_of_a_fixed_design():
    results = replicate_until(design(), "value", max_iterations=300, **QUIET)
    runs = results.runs
    most = int(runs["iteration"].max()) + 1
    fixed = {
        (c.point_key, c.iteration): c
        for c in full_factorial(
            NoisyModel, {"sigma": [0.5, 1.0, 2.5]}, max_steps=1, seed=1, iterations=most
        )
    }
    for row in runs.itertuples():
        config = fixed[(row.point_key, row.iteration)]
        assert (row.seed, row.key) == (config.seed, config.key)
    # iterations 0..k-1 of each point, no gaps
    for _, point in runs.groupby("point_key"):
        assert sorted(point["iteration"]) == list(range(len(point)))


def test_coverage_of_the_true_mean_is_close_to_the_confidence_level():
    # 300 independent points with the same true mean: 300 seeded repeats of the procedure
    configs = design((0.5, 1.5), copy=list(range(150)))
    results = replicate_until(configs, "value", rel_precision=0.1, **QUIET)
    table = results.replications
    assert len(table) == 300
    assert (table["status"] == "target").all()
    covered = (table["low"] <= TRUE_MEAN) & (table["high"] >= TRUE_MEAN)
    # a deterministic check (fixed seed): 0.95 +- about 3 standard errors of 300 intervals
    assert 0.91 <= covered.mean() <= 0.985, covered.mean()


def test_several_outcomes_a_point_is_done_when_all_are():
    results = replicate_until(design((0.5, 2.0)), ["value", "twice"], **QUIET)
    table = results.replications
    assert list(table["outcome"]) == ["value", "twice", "value", "twice"]
    assert table["target_met"].all()
    # one point, one number of iterations; the relative target is easier for "twice"
    assert table.groupby("point_key")["iterations"].nunique().eq(1).all()
    only = replicate_until(design((0.5, 2.0)), "value", **QUIET).replications
    assert (
        table.groupby("point")["iterations"].first() >= only.set_index("point")["iterations"]
    ).all()


def test_a_statistic_of_the_model_rows_is_the_outcome():
    configs = full_factorial(
        NoisyModel, {"sigma": [0.5, 1.0]}, max_steps=3, data_collection_period=1, seed=2
    )
    results = replicate_until(configs, "mean", statistic=mean_value, **QUIET)
    table = results.replications
    model = results.model
    per_run = model.groupby("run_id")["value"].mean()
    runs = results.runs.set_index("run_id")
    for row in table.itertuples():
        ids = runs.index[runs["point_key"] == row.point_key]
        assert row.mean == pytest.approx(per_run.loc[ids].mean())
    assert results.store_info == {}
    assert results._replications["statistic"] == "tests.test_replications:mean_value"


def test_the_store_records_the_points_and_a_helper_reads_them_back(tmp_path):
    store = tmp_path / "store"
    results = replicate_until(design(), "value", store=store, **QUIET)
    assert results.store == store
    meta = json.loads((store / "store.json").read_text())
    assert meta["replications"]["outcomes"] == ["value"]
    assert meta["replications"]["runs"] == len(results)
    read = replication_status(store)
    pd.testing.assert_frame_equal(read, results.replications)
    assert replication_status(tmp_path / "store") is not None
    text = replication_summary(store)
    assert "replications of value: 3 points" in text
    assert "met by 3" in text
    assert text in results.summary()
    assert "point 2 {'sigma': 2.5}" in text


def test_a_store_without_replications_has_no_record(tmp_path):
    BatchRunner(design(), display_progress=False, store=tmp_path / "s").run()
    assert replication_status(tmp_path / "s") is None
    assert replication_summary(tmp_path / "s") == ""


def test_the_budget_stops_points_that_have_not_met_the_target():
    results = replicate_until(design((0.5, 2.0, 2.5)), "value", max_runs=40, **QUIET)
    table = results.replications.set_index("sigma")
    assert len(results) <= 40
    assert results._replications["runs"] == len(results)
    assert (table.loc[[2.0, 2.5], "status"] == "max_runs").all()
    assert table.loc[0.5, "status"] == "target"
    assert replicate_until(design((0.5,)), "value", max_runs=3, **QUIET).replications[
        "status"
    ].iloc[0] in ("target", "max_runs")


def test_a_point_whose_runs_all_fail_stops_and_is_recorded():
    configs = design((1.0,), fail=[False, True])
    with pytest.warns(RunFailedWarning, match="3 of .* runs failed") as caught:
        results = replicate_until(configs, "value", **QUIET)
    assert len(caught) == 1  # once for the call, not once per round
    table = results.replications.set_index("fail")
    assert table.loc[True, "status"] == "failed"
    assert table.loc[True, "iterations"] == 3
    assert table.loc[True, "values"] == 0
    assert np.isnan(table.loc[True, "mean"])
    assert not table.loc[True, "target_met"]
    assert table.loc[False, "status"] == "target"
    assert len(results.failures) == 3


def test_a_run_past_run_timeout_fails_its_point_and_the_sweep_goes_on():
    configs = design((1.0,), hang=[False, True])
    with pytest.warns(RunFailedWarning, match="3 of .* runs failed"):
        results = replicate_until(configs, "value", run_timeout=0.5, **QUIET)
    table = results.replications.set_index("hang")
    assert table.loc[True, "status"] == "failed"
    assert table.loc[True, "iterations"] == 3
    assert table.loc[False, "status"] == "target"
    assert {failure.failure.stage for failure in results.failures} == {"timeout"}
    assert len(results.failures) == 3
    with pytest.raises(ConfigurationError, match="run_timeout must be a positive number"):
        replicate_until(configs, "value", run_timeout=-1, **QUIET)


class Interrupt:
    """A progress callback that presses Ctrl-C once the runs done reach ``after``."""

    def __init__(self, after: int):
        self.after = after
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, done: int, failed: int, total: int) -> None:
        self.calls.append((done, failed, total))
        if len(self.calls) > 1 and done >= self.after:
            raise KeyboardInterrupt


def store_contents(store):
    """Everything a store holds about its runs: keys, seeds, statuses, data, the record."""
    results = ReplicationResults.open(store)
    runs = results.runs[["key", "seed", "iteration", "point_key", "status", "run_id"]]
    model = results.model.merge(results.runs[["run_id", "key"]], on="run_id")
    model = model.drop(columns="run_id").sort_values("key", ignore_index=True)
    record = json.loads((store / "store.json").read_text())["replications"]
    return runs.sort_values("key", ignore_index=True), model, record


@pytest.mark.parametrize("after", [5, 30, 60])
def test_interrupted_then_resumed_gives_the_store_of_an_uninterrupted_call(tmp_path, after):
    configs = design()
    replicate_until(configs, "value", store=tmp_path / "whole", **QUIET)
    options = {**QUIET, "store": tmp_path / "resumed"}
    interrupt = Interrupt(after)
    with pytest.raises(Interrupted) as stop:
        replicate_until(configs, "value", **options | {"display_progress": interrupt})
    partial = stop.value.results
    assert isinstance(partial, ReplicationResults)
    assert 0 < partial.counts()["succeeded"] < after + 10
    resumed = replicate_until(configs, "value", **options)
    whole, again = store_contents(tmp_path / "whole"), store_contents(tmp_path / "resumed")
    pd.testing.assert_frame_equal(whole[0], again[0])
    pd.testing.assert_frame_equal(whole[1], again[1])
    assert whole[2] == again[2]
    assert resumed.rounds["ran"].sum() == len(resumed) - partial.counts()["succeeded"]


def test_interrupted_in_memory_keeps_every_finished_run():
    with pytest.raises(Interrupted) as stop:
        replicate_until(design(), "value", **QUIET | {"display_progress": Interrupt(20)})
    results = stop.value.results
    assert results.counts()["succeeded"] >= 20
    assert set(results.replications["status"]) <= {"pending", "target"}


def test_progress_counts_the_runs_of_every_round():
    calls = []
    results = replicate_until(
        design(), "value", **QUIET | {"display_progress": lambda *a: calls.append(a)}
    )
    assert calls[-1] == (len(results), 0, len(results))
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)
    assert len(results.rounds) > 2


def test_a_fixed_store_estimates_the_replications_a_precision_needs(tmp_path):
    store = tmp_path / "fixed"
    configs = full_factorial(NoisyModel, {"sigma": [0.5, 2.5]}, iterations=10, max_steps=1, seed=3)
    BatchRunner(configs, display_progress=False, store=store).run()
    before = (store / "store.json").read_text()
    needed = replications_needed(store, "value", rel_precision=0.05)
    assert (store / "store.json").read_text() == before  # nothing ran, nothing written
    assert list(needed.columns) == [
        "point_key",
        "point",
        "sigma",
        "outcome",
        "iterations",
        "mean",
        "std",
        "half_width",
        "relative_half_width",
        "needed",
        "additional",
    ]
    row = needed.set_index("sigma").loc[2.5]
    n = np.arange(2, 10_000)
    expected = n[
        scipy.stats.t.ppf(0.975, n - 1) * row["std"] / np.sqrt(n) <= 0.05 * abs(row["mean"])
    ][0]
    assert row["needed"] == expected
    assert row["additional"] == expected - 10
    assert needed.set_index("sigma").loc[0.5, "needed"] < expected
    # an adaptive sweep into that store shares its runs
    results = replicate_until(configs, "value", store=store, **QUIET)
    assert results.rounds["runs"].iloc[0] == 20
    assert results.rounds["ran"].iloc[0] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rel_precision": None}, "must not both be None"),
        ({"rel_precision": -1}, "rel_precision must be a positive number or None"),
        ({"confidence": 1.5}, r"confidence must be a number in \(0, 1\); received 1.5"),
        ({"min_iterations": 1}, "min_iterations must be an int >= 2; received 1"),
        ({"max_iterations": 2}, r"max_iterations must be an int >= min_iterations \(3\)"),
        ({"max_runs": 5}, r"max_runs must allow min_iterations \(3\) runs for each of the 3"),
        ({"look_ahead": -1}, "look_ahead must be an int >= 0"),
    ],
)
def test_invalid_options_are_refused_before_anything_runs(options, message):
    with pytest.raises(ConfigurationError, match=message):
        replicate_until(design(), "value", **QUIET | options)


def test_bad_outcomes_and_configurations_are_refused():
    with pytest.raises(ConfigurationError, match="outcome must be a column name"):
        replicate_until(design(), [], **QUIET)
    with pytest.raises(
        ConfigurationError,
        match=r"outcome must name columns of the model table, which has \['step', 'value', 'twice'\]; received 'valeu'",
    ):
        replicate_until(design(), "valeu", **QUIET)
    alone = RunConfiguration(model_cls=NoisyModel, parameters={"sigma": 1.0}, seed=1)
    with pytest.raises(ConfigurationError, match="configurations must be made by a design"):
        replicate_until([alone], "value", **QUIET)


def test_runs_on_a_pool_into_a_store(tmp_path):
    results = replicate_until(design(), "value", number_processes=2, store=tmp_path / "s", **QUIET)
    serial = replicate_until(design(), "value", **QUIET)
    assert (results.rounds["workers"] <= 2).all()
    # the same decisions: a round of at least 2 runs changes nothing here (every round has more)
    pd.testing.assert_frame_equal(
        results.replications.drop(columns="point"), serial.replications.drop(columns="point")
    )


def adaptive_experiment(tmp_path, parameters: str, execution: str = "", replications: str = ""):
    """An experiment file of NoisyModel with a ``[replications]`` table of outcome ``value``."""
    file = tmp_path / "adaptive.toml"
    file.write_text(
        textwrap.dedent(
            """
            [experiment]
            model = "tests.test_replications:NoisyModel"
            store = "store"
            seed = 1
            max_steps = 1

            [design]
            kind = "full_factorial"

            [design.parameters]
            {parameters}

            [execution]
            processes = 1
            {execution}

            [replications]
            outcome = "value"
            rel_precision = 0.05
            {replications}
            """
        ).format(parameters=parameters, execution=execution, replications=replications)
    )
    return file


def test_the_command_line_runs_an_experiment_with_a_replications_table(tmp_path):
    file = adaptive_experiment(tmp_path, "sigma = [0.5, 2.5]", replications="max_iterations = 200")
    done = cli("run", file)
    assert done.returncode == 0, done.stderr
    assert "replications of value: 2 points" in done.stdout
    table = replication_status(tmp_path / "store")
    assert (table["status"] == "target").all()
    shown = cli("show", tmp_path / "store")
    assert "replications of value: 2 points" in shown.stdout


def test_the_command_line_applies_run_timeout_to_a_replications_table(tmp_path):
    file = adaptive_experiment(tmp_path, "hang = [false, true]", execution="run_timeout = 0.5")
    done = cli("run", file)
    assert done.returncode == 1, done.stderr  # some runs failed
    table = replication_status(tmp_path / "store").set_index("hang")
    assert table.loc[True, "status"] == "failed"
    assert table.loc[False, "status"] == "target"
    failures = Results.open(tmp_path / "store").failures
    assert {failure.failure.stage for failure in failures} == {"timeout"}


def test_the_replications_table_is_validated_with_its_key_and_line(tmp_path):
    from mesa_batch import ExperimentError, experiment

    head = """
        [experiment]
        model = "tests.test_replications:NoisyModel"
        seed = 1

        [design]
        kind = "full_factorial"

        [design.parameters]
        sigma = [0.5, 2.5]

        [replications]
        outcome = ["value", "twice"]
    """
    good = tmp_path / "good.toml"
    good.write_text(textwrap.dedent(head + "    max_runs = 500\n"))
    table = experiment.load(good).replications
    assert table.outcome == ["value", "twice"]
    assert (table.max_runs, table.rel_precision, table.look_ahead) == (500, 0.05, 5)
    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent(head + "    confidence = 1.5\n    max_iteration = 9\n"))
    with pytest.raises(ExperimentError, match=r"line 1[45]: replications\.") as error:
        experiment.load(bad)
    assert "replications.confidence" in str(error.value)
    assert "replications.max_iteration: is not a known key" in str(error.value)
    assert experiment.load(ROOT / "examples" / "boltzmann.toml").replications is None


# -- the record where people read it: Results.summary(), mesa-batch show -----------------------

LINE = re.compile(
    r"  point (?P<point>\d+) (?P<parameters>\{.*?\}): (?P<iterations>\d+) iterations, "
    r"(?P<outcome>\w+) (?P<mean>\S+) ± (?P<half>\S+) \((?P<relative>\S+)%\), "
    r"CI \[(?P<low>\S+), (?P<high>\S+)\], (?P<met>target met|target not met), "
    r"stopped: (?P<status>\w+)$"
)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """A replicate_until store: two points meet the target, the noisiest stops at 40."""
    store = tmp_path_factory.mktemp("replicated") / "store"
    replicate_until(design((0.5, 1.0, 5.0)), "value", max_iterations=40, store=store, **QUIET)
    return store


def shown_points(text: str) -> dict[int, dict]:
    """The per-point lines of a replication summary, parsed back."""
    found = {}
    for line in text.splitlines():
        if match := LINE.match(line):
            found[int(match["point"])] = match.groupdict()
    return found


def check_shown(text: str, store) -> None:
    """Every point of the store's record is in the text with its numbers; and scipy's CI."""
    record = json.loads((store / "store.json").read_text())["replications"]
    assert "replications of value: 3 points" in text
    assert f"{record['runs']} runs" in text
    assert "met by 2" in text
    shown = shown_points(text)
    assert sorted(shown) == [row["point"] for row in record["points"]]
    finals = final_values(Results.open(store)).groupby("point_key")["value"]
    for row in record["points"]:
        line = shown[row["point"]]
        assert int(line["iterations"]) == row["iterations"]
        assert line["met"] == ("target met" if row["target_met"] else "target not met")
        assert line["status"] == row["status"]
        for name, key, digits in [("mean", "mean", 6), ("half", "half_width", 4)]:
            assert float(line[name]) == pytest.approx(row[key], rel=10 ** (1 - digits))
        assert float(line["low"]) == pytest.approx(row["low"], rel=1e-5)
        assert float(line["high"]) == pytest.approx(row["high"], rel=1e-5)
        # an independent t interval of the runs' final values
        values = finals.get_group(row["point_key"]).to_numpy()
        assert len(values) == row["iterations"]
        low, high = scipy.stats.t.interval(
            0.95, len(values) - 1, loc=values.mean(), scale=scipy.stats.sem(values)
        )
        assert (row["low"], row["high"]) == pytest.approx((low, high), rel=1e-9)
    by_status = {row["status"]: row for row in record["points"]}
    assert set(by_status) == {"target", "max_iterations"}
    assert by_status["max_iterations"]["iterations"] == 40


def test_summary_of_an_opened_store_shows_the_record(replicated):
    results = Results.open(replicated)
    assert type(results) is Results  # not ReplicationResults: the record is the store's
    check_shown(results.summary(), replicated)


def test_mesa_batch_show_prints_the_record(replicated):
    done = cli("show", replicated)
    assert done.returncode == 0, done.stderr
    check_shown(done.stdout, replicated)


def test_the_record_survives_another_session_of_the_store(replicated, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(replicated, store)
    before = json.loads((store / "store.json").read_text())
    configs = Results.open(store).configurations
    BatchRunner(configs, display_progress=False, store=store).run()  # nothing left to run
    after = json.loads((store / "store.json").read_text())
    assert len(after["sessions"]) == len(before["sessions"]) + 1
    assert after["replications"] == before["replications"]
    check_shown(Results.open(store).summary(), store)


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('false')",
        {"points": "not a list"},
        {
            "points": [
                5,
                {"point": "1; rm", "mean": "__import__('os')", "target_met": "yes"},
                {"point": 2, "iterations": [3], "half_width": {"a": 1}, "status": 7},
            ],
            "confidence": "high",
            "rel_precision": [0.1],
            "outcomes": "value",
        },
    ],
    ids=["text", "points-not-a-list", "bad-fields"],
)
def test_a_hostile_record_is_read_safely(replicated, tmp_path, hostile):
    store = tmp_path / "store"
    shutil.copytree(replicated, store)
    meta = json.loads((store / "store.json").read_text())
    meta["replications"] = hostile
    (store / "store.json").write_text(json.dumps(meta))
    results = Results.open(store)
    text = results.summary()  # no error
    table = replication_status(store)
    if not isinstance(hostile, dict) or not isinstance(hostile["points"], list):
        assert table is None
        assert "replications of" not in text
        return
    assert len(table) == 2  # the row that is not a mapping is dropped
    assert table["mean"].isna().all()
    assert table["half_width"].isna().all()
    assert not table["target_met"].any()  # only true is true
    assert list(table["status"]) == ["", ""]
    assert "replications of : 1 points" in text  # both rows lack a point key
    assert text.count("nan ± nan (nan%), CI [nan, nan], target not met") == 2
