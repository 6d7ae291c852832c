"""The command line's rough edges, in process (typer's runner): usage, version, messages."""

from __future__ import annotations

import textwrap

from typer.testing import CliRunner

from mesa_batch import __version__
from mesa_batch.cli import app

runner = CliRunner()


def invoke(*arguments):
    return runner.invoke(app, [str(a) for a in arguments])


def test_version():
    done = invoke("--version")
    assert done.exit_code == 0
    assert done.stdout.strip() == f"mesa-batch {__version__}"


def test_usage_lines_name_arguments_plainly():
    assert "Usage: mesa-batch run [OPTIONS] FILE" in invoke("run", "--help").stdout
    assert "Usage: mesa-batch rerun [OPTIONS] STORE RUN_ID" in invoke("rerun", "--help").stdout
    assert "{" not in invoke("status", "--help").stdout.splitlines()[0]


def test_a_store_that_does_not_exist_says_so(tmp_path):
    done = invoke("status", tmp_path / "nope")
    assert done.exit_code == 2
    assert "store must be an existing directory" in done.stderr
    assert "it does not exist" in done.stderr


def test_a_model_that_cannot_be_imported_names_the_file_and_line(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(
        textwrap.dedent(
            """
            [experiment]
            model = "mesa.examples:Nope"
            [design]
            kind = "full_factorial"
            [design.parameters]
            n = [1, 2]
            """
        )
    )
    done = invoke("validate", path)
    assert done.exit_code == 2
    assert f"{path}: line 3: experiment.model = 'mesa.examples:Nope' cannot be imported" in (
        done.stderr
    )


def test_the_demo_does_not_point_at_a_store_it_removed():
    done = invoke("demo", "--processes", "1")
    assert done.exit_code == 0, done.output
    assert "see `mesa-batch show" not in done.stdout
    assert "the demo's store was temporary and is removed now" in done.stdout
