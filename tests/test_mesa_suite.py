"""Mesa's own batch_run tests, run against ``mesa_batch.batch_run``.

``MESA_BATCH_MESA_SUITE`` names Mesa's ``tests/test_batch_run.py`` from Mesa's source
distribution (``pip download mesa==3.5.1 --no-binary :all: --no-deps``; ``.ci/run`` fetches the
file of each leg's Mesa). The file is copied with ``mesa.batch_run`` replaced by
``mesa_batch.batch_run`` and run by pytest in a child process; the tests of Mesa's private
helper ``_make_model_kwargs`` (anything using a name imported from ``mesa.batchrunner``) are
deselected. Every other test must pass: 15 of Mesa 3.5.1's 17.

Suites of Mesa < 3.4, whose ``batch_run`` had no ``rng`` and gave rows without a seed key,
compare rows with the seed key removed: ``mesa_batch.batch_run`` gives Mesa 3.5.1's rows, which
have it (``docs/migration.md``).

Unset, the test is skipped (failed when ``MESA_BATCH_REQUIRE_BACKENDS=1``, as CI sets);
``MESA_BATCH_MESA_SUITE=skip:REASON`` skips it explicitly.
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import mesa_batch
from tests.conftest import REQUIRE_BACKENDS

SUITE = os.environ.get("MESA_BATCH_MESA_SUITE", "")
#: How many tests of a Mesa version's suite run here (the private-helper tests deselected).
EXPECTED = {"3.5.1": 15, "3.3.1": 5}
SEEDLESS_SHIM = '''

def _without_seed(rows):
    """Mesa < 3.4 rows had no seed key; mesa_batch gives Mesa 3.5.1's rows, which do."""
    return [{k: v for k, v in row.items() if k != "rng"} for row in rows]


def _mesa_batch_run(*args, **kwargs):
    return _without_seed(mesa_batch.batch_run(*args, **kwargs))
'''


def rewrite(source: str) -> tuple[str, list[str]]:
    """Mesa's test file using mesa_batch, and the names of the tests to deselect."""
    tree = ast.parse(source)
    private = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "mesa.batchrunner"
        for alias in node.names
    }
    deselect = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("test")
        and any(isinstance(n, ast.Name) and n.id in private for n in ast.walk(node))
    ]
    seedless = "rng" not in source
    runner = "_mesa_batch_run" if seedless else "mesa_batch.batch_run"
    text = re.sub(r"^from mesa\.batchrunner import .*$", "import mesa_batch", source, flags=re.M)
    text = re.sub(r"\bmesa\.batch_run\(", f"{runner}(", text)
    if seedless:
        text += SEEDLESS_SHIM
    if "import mesa_batch" not in text:
        text = "import mesa_batch\n" + text
    return text, deselect


def suite_path() -> pathlib.Path:
    if SUITE.startswith("skip:"):
        pytest.skip(f"MESA_BATCH_MESA_SUITE: {SUITE[5:].strip()}")
    if not SUITE:
        if REQUIRE_BACKENDS:
            pytest.fail(
                "MESA_BATCH_REQUIRE_BACKENDS=1 but MESA_BATCH_MESA_SUITE (Mesa's "
                "tests/test_batch_run.py) is not set"
            )
        pytest.skip("MESA_BATCH_MESA_SUITE (Mesa's tests/test_batch_run.py) is not set")
    path = pathlib.Path(SUITE)
    if not path.is_file():
        pytest.fail(f"MESA_BATCH_MESA_SUITE={SUITE} is not a file")
    return path


def test_rewrite_uses_mesa_batch_and_deselects_the_private_helper():
    source = (
        "import mesa\nfrom mesa.batchrunner import _make_model_kwargs\n\n"
        "def test_helper():\n    assert _make_model_kwargs({})\n\n"
        "def test_run():\n    rng = 1\n    mesa.batch_run(M, {}, rng=rng)\n"
    )
    text, deselect = rewrite(source)
    assert deselect == ["test_helper"]
    assert "mesa.batch_run" not in text
    assert "mesa.batchrunner" not in text
    assert "mesa_batch.batch_run(M, {}, rng=rng)" in text
    old, _ = rewrite("import mesa\n\ndef test_run():\n    mesa.batch_run(M, {}, iterations=2)\n")
    assert "_mesa_batch_run(M, {}, iterations=2)" in old
    assert "def _without_seed" in old


@pytest.mark.slow
def test_mesas_batch_run_suite_passes_against_mesa_batch(tmp_path):
    path = suite_path()
    text, deselect = rewrite(path.read_text())
    target = tmp_path / "test_mesa_batch_run.py"
    target.write_text(text)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # Mesa's settings, not this project's
    report = tmp_path / "report.xml"
    source = pathlib.Path(mesa_batch.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target.name]
    command += [f"--junitxml={report}", *(f"--deselect={target.name}::{name}" for name in deselect)]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, done.stdout[-4000:]
    assert done.returncode == 0, done.stdout[-4000:]
    version = re.search(r"mesa-(\d+\.\d+\.\d+\w*)", str(path))
    if version and version[1] in EXPECTED:
        assert counts["tests"] == EXPECTED[version[1]], done.stdout[-2000:]
    assert counts["tests"] > 0
