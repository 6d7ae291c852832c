"""Huge designs and bad experiment files: counted without building, refused with the fix."""

from __future__ import annotations

import textwrap
import time

import pytest

from mesa_batch import Integer, Real, full_factorial, sample
from mesa_batch.designs import MAX_RUNS, max_runs, run_limit
from mesa_batch.errors import DesignError, ParameterError
from tests.helpers import cli
from tests.models import RandomModel


def validate(tmp_path, body, *options):
    path = tmp_path / "exp.toml"
    path.write_text(textwrap.dedent(body))
    started = time.monotonic()
    done = cli("validate", str(path), *options, timeout=120)
    return done, time.monotonic() - started


HEAD = """
    [experiment]
    model = "tests.models:RandomModel"
    seed = 1
"""


@pytest.mark.parametrize(
    ("body", "runs"),
    [
        (
            'iterations = 1e9\n[design]\nkind = "full_factorial"\n[design.parameters]\nn = [1, 2]',
            "2,000,000,000",
        ),
        (
            '[design]\nkind = "sample"\nn = 1e8\n[design.space]\nn = { integer = [1, 9] }',
            "100,000,000",
        ),
        (
            (
                '[design]\nkind = "full_factorial"\n[design.parameters]\n'
                "n = { integer = [0, 1_000_000_000_000] }"
            ),
            None,
        ),
    ],
    ids=["iterations", "sample", "integer-levels"],
)
def test_validate_refuses_a_huge_design_quickly_with_the_fix(tmp_path, body, runs):
    done, seconds = validate(tmp_path, HEAD + textwrap.dedent(body))
    assert done.returncode == 2, done.stderr
    assert seconds < 60
    if runs is not None:
        assert f"{runs} runs" in done.stdout
        assert "more than the limit of 10,000,000" in done.stderr
        assert "max_runs = N in [experiment], --max-runs N, or MESA_BATCH_MAX_RUNS=N" in done.stderr
    else:
        assert "at most 10,000,000 levels" in done.stderr


def test_the_limit_can_be_raised(tmp_path):
    body = HEAD + 'iterations = 20\n[design]\nkind = "full_factorial"\n[design.parameters]\nn = [1]'
    done, _ = validate(tmp_path, body, "--max-runs", "10")
    assert done.returncode == 2
    assert "20 runs, more than the limit of 10" in done.stderr
    done, _ = validate(tmp_path, body, "--max-runs", "100")
    assert done.returncode == 0, done.stderr
    assert "20 runs" in done.stdout
    done, _ = validate(tmp_path, body.replace("seed = 1", "seed = 1\nmax_runs = 5"))
    assert done.returncode == 2
    assert "limit of 5" in done.stderr


def test_a_float_num_is_an_error(tmp_path):
    body = HEAD + '[design]\nkind = "full_factorial"\n[design.parameters]\n'
    body += "n = { real = [0, 1], num = 1e12 }"
    done, _ = validate(tmp_path, body)
    assert done.returncode == 2
    assert "must be an int" in done.stderr


@pytest.mark.parametrize("seed", ["true", "1.0", "-1"])
def test_a_seed_that_is_not_an_int_is_an_error(tmp_path, seed):
    body = HEAD.replace("seed = 1", f"seed = {seed}")
    body += '[design]\nkind = "full_factorial"\n[design.parameters]\nn = [1]'
    done, _ = validate(tmp_path, body)
    assert done.returncode == 2
    assert "seed" in done.stderr


def test_a_distribution_with_a_negative_scale_is_an_error(tmp_path):
    body = HEAD + '[design]\nkind = "sample"\nn = 4\n[design.space]\n'
    body += 'n = { distribution = "norm", loc = 0, scale = -1 }'
    done, _ = validate(tmp_path, body)
    assert done.returncode == 2
    assert "not a valid distribution" in done.stderr


def test_python_designs_are_refused_before_their_points_are_built():
    started = time.monotonic()
    with pytest.raises(DesignError, match=r"at most 10,000,000 runs.*run_limit"):
        full_factorial(RandomModel, {"n": range(1000)}, iterations=20_000)
    with pytest.raises(DesignError, match="100,000,000 points"):
        sample(RandomModel, {"n": Integer(1, 9)}, 100_000_000)
    with pytest.raises(ParameterError, match="at most 10,000,000 levels"):
        full_factorial(RandomModel, {"n": Real(0.0, 1.0, num=10**12)})
    assert time.monotonic() - started < 10


def test_run_limit_raises_and_restores_the_limit():
    assert max_runs() == MAX_RUNS
    with run_limit(5):
        assert max_runs() == 5
        with pytest.raises(DesignError, match="limit"):
            full_factorial(RandomModel, {"n": range(6)})
    assert max_runs() == MAX_RUNS
    assert len(full_factorial(RandomModel, {"n": range(6)})) == 6
