"""The worked example of docs/analysis.md, run as written (saving into a temporary directory)."""

import os

from tests.test_docs import checked_block


def test_the_worked_example_runs(tmp_path, capsys):
    code = checked_block("analysis.md", "checked by\n`tests/analysis/test_docs.py`")
    namespace: dict = {}
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(code, namespace)
    finally:
        os.chdir(here)
    assert (tmp_path / "gini.png").read_bytes().startswith(b"\x89PNG")
    assert len(namespace["per_run"]) == 30
    table = namespace["table"]
    assert len(table) == 6
    assert (table["n"] == 5).all()
    assert "ci_low" in capsys.readouterr().out
