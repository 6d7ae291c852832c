"""Experiment files: each design's table is its function's signature, checked with lines."""

from __future__ import annotations

import inspect
import textwrap

import pytest

from mesa_batch import designs, experiment
from mesa_batch.errors import ExperimentError


def test_design_tables_follow_the_design_functions():
    for kind, table in experiment.DESIGN_TABLES.items():
        if kind == "manual":  # points as [[design.points]] tables, or csv = "file"
            assert set(table.model_fields) == {"kind", "points", "csv"}
            continue
        arguments = [
            name
            for name, p in inspect.signature(getattr(designs, kind)).parameters.items()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ][1:]
        assert list(table.model_fields) == ["kind", *arguments]


def write(tmp_path, design: str):
    path = tmp_path / "e.toml"
    head = '[experiment]\nmodel = "mesa.examples:BoltzmannWealth"\nmax_steps = 2\n'
    path.write_text(head + textwrap.dedent(design))
    return path


def configurations(path):
    return experiment.configurations(experiment.load(path), path)


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ("n = 0", r"line 6: design.n: n must be a positive int; received 0"),
        ("n = 2.5", r"line 6: design.n: Input should be a valid integer"),
        ("n = true", r"line 6: design.n: Input should be a valid integer"),
        ("n = 4\nfoo = 1", r"line 7: design.foo: is not a known key"),
        ('n = 4\nmethod = "nope"', r"line 7: design.method: method must be one of 'random'"),
    ],
)
def test_design_options_are_checked_with_their_line(tmp_path, design, message):
    path = write(
        tmp_path,
        f'[design]\nkind = "sample"\n{design}\n[design.space]\nn = {{ integer = [5, 10] }}\n',
    )
    with pytest.raises(ExperimentError, match=message):
        configurations(path)


def test_a_design_table_builds_its_design(tmp_path):
    path = write(
        tmp_path,
        """
        [design]
        kind = "morris"
        trajectories = 3
        num_levels = 6
        [design.space]
        n = { integer = [5, 10] }
        width = { integer = [5, 10] }
        height = 5
        """,
    )
    configs = configurations(path)
    assert len(configs) == 3 * 3
    assert configs[0].design.options["num_levels"] == 6


@pytest.mark.parametrize(
    ("value", "received"),
    [("-1", "-1"), ("0", "0"), ('"abc"', "'abc'"), ("true", "True"), ("inf", "inf")],
)
def test_run_timeout_is_checked_with_its_line(tmp_path, value, received):
    path = write(
        tmp_path,
        f'[design]\nkind = "full_factorial"\n[design.parameters]\nn = 3\n'
        f"[execution]\nrun_timeout = {value}\n",
    )
    with pytest.raises(
        ExperimentError,
        match=rf"line 9: execution\.run_timeout: must be a positive number of seconds \(none "
        rf"given: no limit\); received {received}\. Pass e\.g\. run_timeout = 60 to stop",
    ):
        experiment.load(path)


def test_run_timeout_is_read_as_seconds(tmp_path):
    body = '[design]\nkind = "full_factorial"\n[design.parameters]\nn = 3\n[execution]\n'
    assert experiment.load(write(tmp_path, body)).execution.run_timeout is None
    path = write(tmp_path, body + "run_timeout = 90\n")
    assert experiment.load(path).execution.run_timeout == 90.0


def test_a_fast_table_builds_the_fast_design_and_is_counted(tmp_path):
    path = write(
        tmp_path,
        """
        [design]
        kind = "fast"
        n = 100
        M = 3
        [design.space]
        n = { integer = [5, 10] }
        width = { integer = [5, 10] }
        height = 5
        """,
    )
    loaded = experiment.load(path)
    assert experiment.run_count(loaded) == 100 * 2
    configs = experiment.configurations(loaded, path)
    assert len(configs) == 100 * 2
    assert (configs[0].design.name, configs[0].design.options["M"]) == ("fast", 3)
    path.write_text(path.read_text().replace("n = 100", "n = 36"))
    with pytest.raises(ExperimentError, match=r"line \d+: design.n: n must be greater than 4 \* M"):
        configurations(path)
