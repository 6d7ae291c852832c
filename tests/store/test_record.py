"""The store keeps the whole experiment: designs, points, seeds, safely; any run re-created."""

from __future__ import annotations

import contextlib
import json
import pathlib
import pickle
import random
import shutil
import subprocess
import sys
import warnings

import mesa
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mesa_batch import (
    BatchRunner,
    Integer,
    NotReproducibleWarning,
    Real,
    Results,
    RunFailedWarning,
    SeedAdoptedWarning,
    StoreConflictError,
    base_case,
    full_factorial,
    manual,
    morris,
    saltelli,
    sample,
    sparse_grid,
)
from mesa_batch.store import read_log
from tests.helpers import ROOT
from tests.models import CounterModel, KwargsModel, MoneyModel

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


class EchoModel(mesa.Model):
    """Reports its own parameters (so a run's data says which parameters made it)."""

    def __init__(self, a: int = 0, b: float = 0.0, rng=None):
        super().__init__(rng=rng)
        self.a, self.b = a, b
        self.noise = float(self.rng.random())
        self.datacollector = mesa.DataCollector(
            model_reporters={"a": "a", "b": "b", "noise": "noise"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.noise = float(self.rng.random())
        self.datacollector.collect(self)


class GlobalRandomModel(mesa.Model):
    """Not reproducible: it draws from Python's global random generator."""

    def __init__(self, n: int = 1, rng=None):
        super().__init__(rng=rng)
        self.value = random.random()
        self.datacollector = mesa.DataCollector(model_reporters={"value": "value"})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.value = random.random()
        self.datacollector.collect(self)


def run(configs, store, **kwargs):
    kwargs.setdefault("display_progress", False)
    return BatchRunner(configs, store=store, **kwargs).run()


# -- configurations come back from the store ---------------------------------------------------


SPACE = {"n": Integer(2, 6), "width": Integer(3, 5), "height": 4}
DESIGNS = {
    "full_factorial": lambda: full_factorial(
        MoneyModel, {"n": [2, 3], "width": [3, 4]}, iterations=2, max_steps=3, seed=3
    ),
    "base_case": lambda: base_case(
        MoneyModel, {"n": 3, "width": 4}, {"n": [2, 5], "width": [3]}, max_steps=3, seed=3
    ),
    "manual": lambda: manual(
        MoneyModel, [{"n": 2}, {"n": 3, "width": 5}], max_steps=3, seed=3, iterations=2
    ),
    "sample": lambda: sample(MoneyModel, SPACE, 5, "lhs", max_steps=3, seed=3),
    "saltelli": lambda: saltelli(
        MoneyModel, SPACE, 2, max_steps=2, seed=3, calc_second_order=False
    ),
    "morris": lambda: morris(MoneyModel, SPACE, 2, max_steps=2, seed=3),
    "sparse_grid": lambda: sparse_grid(MoneyModel, SPACE, 1, max_steps=2, seed=3),
    "reporters": lambda: full_factorial(
        KwargsModel,
        {"n": [1, 2]},
        max_steps=2,
        seed=3,
        model_reporters={"n": "n"},
        agent_reporters={"id": "unique_id"},
    ),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_configurations_come_back_equal_from_a_store(tmp_path, name):
    configs = DESIGNS[name]()
    run(configs, tmp_path)
    back = Results.open(tmp_path).configurations
    assert len(back) == len(configs)
    for given, stored in zip(configs, back, strict=True):
        assert stored.key == given.key
        assert stored.seed == given.seed
        assert stored.parameters == given.parameters
        assert [type(v) for v in stored.parameters.values()] == [
            type(v) for v in given.parameters.values()
        ]
        assert (stored.point, stored.iteration, stored.occurrence) == (
            given.point,
            given.iteration,
            given.occurrence,
        )
        assert (stored.max_steps, stored.data_collection_period) == (
            given.max_steps,
            given.data_collection_period,
        )
        assert stored.design == given.design
        assert stored.model_reporters == given.model_reporters
        assert stored.agent_reporters == given.agent_reporters
    design = configs[0].design
    recorded = Results.open(tmp_path).designs[design.id]
    assert recorded.name == design.name
    assert recorded.seed == design.seed
    assert recorded.n_points == design.n_points
    if design.samples is None:
        assert recorded.samples is None
    else:
        np.testing.assert_array_equal(recorded.samples, design.samples)
        assert recorded.varying == design.varying


def test_the_runs_table_has_the_design_point_and_design(tmp_path):
    configs = DESIGNS["full_factorial"]()
    memory = BatchRunner(configs, display_progress=False).run()
    stored = run(configs, tmp_path)
    for results in (memory, stored, Results.open(tmp_path)):
        runs = results.runs
        assert runs["point"].tolist() == [0, 1, 2, 3] * 2
        assert runs["point_key"].nunique() == 4
        assert set(runs["design"]) == {configs[0].design.id}
        assert list(results.designs) == [configs[0].design.id]


def test_morris_keeps_its_unit_cube_sample_in_sampler_order(tmp_path):
    configs = morris(MoneyModel, SPACE, 3, max_steps=1, seed=5)
    run(configs, tmp_path)
    design = next(iter(Results.open(tmp_path).designs.values()))
    assert design.samples.shape == (3 * (2 + 1), 2)
    assert design.problem["names"] == ["n", "width"]
    for config in configs:  # the sample maps to each point's parameters, in order
        u = design.samples[config.point]
        assert config.parameters["n"] == SPACE["n"].from_unit(u[:1])[0]


def test_values_the_encoding_cannot_express_are_kept_as_text(tmp_path):
    class Odd:
        def __repr__(self):
            return "Odd()"

    configs = manual(KwargsModel, [{"n": 1, "thing": Odd()}, {"n": 2, "x": (1, 2)}], seed=1)
    run(configs, tmp_path)
    opened = Results.open(tmp_path)
    assert repr(opened.runs.loc[0, "thing"]) == "Odd()"  # shown, never rebuilt
    with pytest.warns(UserWarning, match=r"1 of 2 runs of the store .* cannot be re-created"):
        back = opened.configurations
    assert [c.parameters for c in back] == [{"n": 2, "x": (1, 2)}]


# -- resume with seed=None ----------------------------------------------------------------------


def test_a_design_without_a_seed_resumes_and_extends(tmp_path):
    first = run(full_factorial(EchoModel, {"a": [1, 2, 3]}, max_steps=2), tmp_path)
    seeds = first.runs["seed"].tolist()
    again = full_factorial(EchoModel, {"a": [1, 2, 3]}, max_steps=2)
    with pytest.warns(SeedAdoptedWarning, match="drew a fresh master seed"):
        resumed = run(again, tmp_path)
    assert resumed.runs["seed"].tolist() == seeds
    assert read_log(tmp_path)[-2]["todo"] == 0  # nothing ran
    with pytest.warns(SeedAdoptedWarning):
        more = run(full_factorial(EchoModel, {"a": [1, 2, 3]}, iterations=2, max_steps=2), tmp_path)
    assert more.runs["seed"].tolist()[:3] == seeds
    assert more.counts()["succeeded"] == 6
    assert read_log(tmp_path, events=["start"])[-1]["todo"] == 3  # only the new iteration


def test_a_sampled_design_without_a_seed_resumes_with_the_same_points(tmp_path):
    space = {"a": Integer(0, 100), "b": Real(0.0, 1.0)}
    first = run(sample(EchoModel, space, 6, max_steps=1), tmp_path)
    with pytest.warns(SeedAdoptedWarning):
        again = run(sample(EchoModel, space, 6, max_steps=1), tmp_path)
    assert len(again) == 6
    assert again.runs[["a", "b", "seed"]].equals(first.runs[["a", "b", "seed"]])


def test_an_explicit_other_seed_is_still_refused_naming_the_stored_one(tmp_path):
    run(full_factorial(EchoModel, {"a": [1, 2]}, max_steps=1, seed=11), tmp_path)
    with pytest.raises(StoreConflictError, match=r"master seed 11 .* Pass seed=11 to the design"):
        run(full_factorial(EchoModel, {"a": [1, 2]}, max_steps=1, seed=12), tmp_path)


# -- the plan is checked against the runs parts -------------------------------------------------


def echo(points, store, **kwargs):
    return run(manual(EchoModel, points, max_steps=1, seed=1), store, **kwargs)


def assert_data_matches_parameters(results):
    final = results.dataframe("model", with_parameters=True)
    assert len(final)
    bad = final[(final["a (parameter)"] != final["a"]) | (final["b (parameter)"] != final["b"])]
    assert bad.empty, bad


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_lost_plan_never_attaches_data_to_other_parameters(tmp_path, damage):
    points = [{"a": i, "b": i / 10} for i in range(12)]
    echo(points, tmp_path)
    (plan,) = (tmp_path / "plan").glob("*.parquet")
    if damage == "deleted":
        plan.unlink()
    else:
        pq.write_table(pq.read_table(plan).slice(0, 4), plan)
    lost = Results.open(tmp_path)
    assert lost.counts()["succeeded"] == 12
    assert any("not in the plan" in note for note in lost.notes)
    extended = [*points, *({"a": i, "b": i / 10} for i in range(12, 24))][::-1]  # reordered
    results = echo(extended, tmp_path)
    assert results.counts() == {"succeeded": 24, "failed": 0, "pending": 0}
    assert read_log(tmp_path, events=["start"])[-1]["todo"] == 12  # only the new points ran
    assert_data_matches_parameters(results)
    reopened = Results.open(tmp_path)
    assert not reopened.notes  # the plan was re-created from the runs parts
    assert_data_matches_parameters(reopened)
    assert sorted(reopened.runs["run_id"]) == list(range(24))


def test_a_plan_that_gives_a_run_another_id_is_corrected_from_the_runs_parts(tmp_path):
    echo([{"a": i, "b": 0.5} for i in range(4)], tmp_path)
    (plan,) = (tmp_path / "plan").glob("*.parquet")
    table = pq.read_table(plan)
    shuffled = pa.array(table.column("run_id").to_numpy()[::-1])  # ids rebuilt in another order
    pq.write_table(table.set_column(0, "run_id", shuffled), plan)
    results = Results.open(tmp_path)
    assert any("another id than its runs part" in note for note in results.notes)
    assert_data_matches_parameters(results)


# -- nothing in a store runs code --------------------------------------------------------------


class Payload:
    """Unpickling this writes a file: proof that something unpickled store data."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.write_text, (self.marker, "pwned"))


def _plant(store: pathlib.Path, payload: bytes) -> None:
    """Put the payload where a careless reader would unpickle it: in every file's content."""
    for path in sorted(p for p in store.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            column = pa.array([payload] * len(table), pa.binary())
            table = table.append_column("parameters_pickle", column)
            if "parameters" in table.column_names:  # version-1 repr text, eval'd by nobody
                index = table.column_names.index("parameters")
                text = pa.array(["__import__('os').system('touch /tmp/x')"] * len(table))
                table = table.set_column(index, "parameters", text)
            pq.write_table(table, path)
        elif path.suffix == ".json":  # still valid JSON: the payload is one more value
            data = json.loads(path.read_text())
            data["parameters_pickle"] = payload.decode("latin-1")
            path.write_text(json.dumps(data))
        elif path.suffix == ".jsonl":
            entry = {"event": "failed", "run_id": 0, "pickle": payload.decode("latin-1")}
            path.write_text(path.read_text() + json.dumps(entry) + "\n")
        else:
            path.write_bytes(path.read_bytes() + b"\n" + payload)


READERS = """
import sys, warnings
warnings.simplefilter("ignore")
from mesa_batch import Results
results = Results.open(sys.argv[1])
repr(results); results.summary(); results.counts(); results.runs; results.failures
results.designs; results.tables; results.notes; results.store_info; results.configurations
for table in results.tables:
    results.dataframe(table)
print("read it all")
"""


@pytest.mark.parametrize("how", ["inside every file", "as every file"])
def test_a_planted_pickle_never_runs(tmp_path, how):
    store = tmp_path / "store"
    with pytest.warns(RunFailedWarning):
        run(
            full_factorial(CounterModel, {"fail": [None, "step"]}, max_steps=4, seed=2),
            store,
        )
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Payload(marker))
    if how == "inside every file":
        _plant(store, payload)
    else:
        for path in (p for p in store.rglob("*") if p.is_file()):
            path.write_bytes(payload)
    env = {"PYTHONPATH": str(ROOT)}
    read = subprocess.run(
        [sys.executable, "-c", READERS, str(store)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if how == "inside every file":  # the store is still readable: everything was read
        assert "read it all" in read.stdout, read.stderr
    cli = pathlib.Path(sys.executable).with_name("mesa-batch")
    for command in ("status", "show", "failures", "export"):
        extra = ["--out", str(tmp_path / "x.csv")] if command == "export" else []
        done = subprocess.run(
            [str(cli), command, str(store), *extra],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(StoreConflictError):  # a garbled store.json is refused
            run(full_factorial(CounterModel, {"fail": [None, "step"]}, max_steps=4, seed=2), store)
    assert not marker.exists()


# -- re-running runs -------------------------------------------------------------------------


def test_rerun_reproduces_a_mesa_example_bit_for_bit(tmp_path, boltzmann):
    configs = full_factorial(
        boltzmann, {"n": [5, 8]}, max_steps=5, data_collection_period=1, seed=9
    )
    run(configs, tmp_path)
    opened = Results.open(tmp_path)
    assert {"model", "agents"} <= set(opened.tables)
    report = opened.rerun(1)
    assert report.reproduced, str(report)
    assert "reproduced: every table equals the recorded rows" in str(report)
    cli = pathlib.Path(sys.executable).with_name("mesa-batch")
    done = subprocess.run(
        [str(cli), "rerun", str(tmp_path), "0"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "run 0 reproduced" in done.stdout


def test_a_model_that_is_not_reproducible_is_found_and_recorded(tmp_path):
    configs = full_factorial(GlobalRandomModel, {"n": [1, 2, 3]}, max_steps=3, seed=1)
    with pytest.warns(NotReproducibleWarning, match=r"global `random`"):
        results = run(configs, tmp_path)
    assert results.reproducible is False
    assert Results.open(tmp_path).reproducible is False
    assert "NOT REPRODUCIBLE" in results.summary()
    report = Results.open(tmp_path).rerun(0)
    assert not report.reproduced
    assert "column 'value' differs" in str(report)


def test_a_reproducible_sweep_says_so_and_checks_can_be_turned_off(tmp_path):
    configs = full_factorial(EchoModel, {"a": [1, 2]}, max_steps=2, seed=1)
    assert BatchRunner(configs, display_progress=False).run().reproducible is True
    results = run(configs, tmp_path)
    assert results.reproducible is True
    # the default checks as many runs as cost ~2% of the sweep's time (at least one): of these
    # two quick runs one, or both when opening the store took long (a loaded machine)
    assert Results.open(tmp_path).store_info["reproducibility"]["checked"] in {1, 2}
    off = BatchRunner(configs, display_progress=False, reproducibility_checks=0).run()
    assert off.reproducible is None
    with pytest.raises(ValueError, match="reproducibility_checks must be an int >= 0"):
        BatchRunner(configs, reproducibility_checks=-1)


# -- version-1 stores ------------------------------------------------------------------------


def test_a_version_1_store_is_read_and_resumed(tmp_path):
    store = tmp_path / "v1"
    shutil.copytree(DATA / "store_v1", store)
    opened = Results.open(store)
    assert opened.counts() == {"succeeded": 2, "failed": 2, "pending": 0}
    assert opened.runs["n"].tolist() == [1, 1, 2, 2]
    assert opened.runs["fail"].tolist() == [None, "step", None, "step"]
    assert {"model", "agents", "agents.Walker", "table.events"} <= set(opened.tables)
    assert [f.stage for f in opened.failures] == ["run", "run"]
    configs = full_factorial(
        CounterModel,
        {"n": [1, 2, 3], "fail": [None, "step"], "collect": "typed"},
        max_steps=4,
        data_collection_period=1,
        seed=7,
    )
    with pytest.warns(RunFailedWarning):
        resumed = run(configs, store)
    assert resumed.counts() == {"succeeded": 3, "failed": 3, "pending": 0}
    assert read_log(store, events=["start"])[-1]["todo"] == 2  # only n=3 ran
    assert Results.open(store).store_info["version"] == 2


def test_a_real_mesa_example_that_is_not_reproducible_is_found():
    from mesa.examples import VirusOnNetwork

    from mesa_batch.execute import execute_run
    from mesa_batch.reproduce import compare
    from tests.conftest import MESA_VERSION

    configs = full_factorial(
        VirusOnNetwork, {"num_nodes": [60, 80]}, max_steps=10, data_collection_period=1, seed=1
    )
    # independently: the same configuration twice in this process
    _, first = execute_run(configs[0])
    _, second = execute_run(configs[0])
    frames = {name: pd.DataFrame(columns) for name, columns in first.items()}
    differs = bool(compare(frames, second))
    if MESA_VERSION[:2] == (3, 5):
        assert differs  # Mesa 3.5.1's VirusOnNetwork builds its network with global random
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = BatchRunner(configs, display_progress=False).run()
    found = [w for w in caught if issubclass(w.category, NotReproducibleWarning)]
    assert results.reproducible is (not differs)
    assert len(found) == int(differs)
