"""The README's main job (``scripts/main`` runs ``examples/boltzmann_sweep.py``), for real."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "examples" / "boltzmann_sweep.py"


def _main_job(store):
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--store", str(store), "--processes", "1"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": path}, text=True, check=False,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_a_second_run_of_the_main_job_says_it_has_nothing_left_to_do(tmp_path):
    store = tmp_path / "boltzmann"
    first = _main_job(store)
    assert first.returncode == 0, first.stdout
    assert "45 runs: 45 succeeded, 0 failed, 0 pending" in first.stdout
    assert "nothing left to do" not in first.stdout

    again = _main_job(store)
    assert again.returncode == 0, again.stdout
    said = f"nothing left to do: 45 of 45 runs are in {store}"  # as the README quotes it
    assert said in again.stdout
    assert again.stdout.index(said) < again.stdout.index("45 runs: 45 succeeded")
    assert "|" not in again.stdout.split(said)[0]  # no progress bar before it
