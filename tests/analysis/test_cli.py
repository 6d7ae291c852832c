"""The analysis commands, invoked on the mesa-batch app in process (they only read a store)."""

import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from mesa_batch import full_factorial
from mesa_batch.analysis import aggregate, sensitivity
from mesa_batch.cli import app
from mesa_batch.designs import saltelli
from tests.analysis.models import StopModel
from tests.analysis.test_sensitivity import SPACE, IshigamiModel


@pytest.fixture(scope="module")
def grid(both):
    configs = full_factorial(StopModel, {"rate": [1.0, 2.0]}, iterations=3, max_steps=4, seed=2)
    return both("cli_grid", configs)[1]


def invoke(*arguments):
    return CliRunner().invoke(app, [*map(str, arguments)], catch_exceptions=False)


def test_summarize_as_csv_equals_aggregate(grid):
    result = invoke("summarize", grid.store, "value", "--by", "rate", "--format", "csv")
    assert result.exit_code == 0, result.output
    printed = pd.read_csv(io.StringIO(result.stdout))
    expected = aggregate(grid, "value", by="rate")
    pd.testing.assert_frame_equal(printed, expected, check_dtype=False)


def test_summarize_prints_a_table(grid):
    result = invoke("summarize", grid.store, "value")
    assert result.exit_code == 0, result.output
    assert "ci_low" in result.stdout
    assert "n_failed" in result.stdout


def test_summarize_errors_name_the_fix(grid):
    result = invoke("summarize", grid.store, "valu")
    assert result.exit_code == 2
    assert "outcome must be a column of table 'model' ('value'); received 'valu'" in result.stderr
    result = invoke("summarize", grid.store, "value", "--format", "json")
    assert result.exit_code == 2
    assert "--format must be one of table, csv; received 'json'" in result.stderr


def test_sensitivity_reads_the_store(both):
    configs = saltelli(IshigamiModel, SPACE, 16, calc_second_order=False, max_steps=1, seed=1)
    store = both("cli_sobol", configs)[1]
    result = invoke("sensitivity", store.store, "y", "--seed", "1", "--format", "csv")
    assert result.exit_code == 0, result.output
    printed = pd.read_csv(io.StringIO(result.stdout), index_col=0)
    pd.testing.assert_frame_equal(printed, sensitivity(store, "y", seed=1), check_names=False)
    result = invoke("sensitivity", store.store, "y", "--method", "morris")
    assert result.exit_code == 2
    assert "needs a 'morris' design" in result.stderr
