"""Examples in the docs that the tests run."""

import importlib.util
import pathlib
import re

from tests.conftest import backend_missing

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def checked_block(page: str, marker: str) -> str:
    """The code block that follows ``marker`` in a docs page."""
    text = (DOCS / page).read_text()
    after = text.split(marker, 1)[1]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


@backend_missing(importlib.util.find_spec("dask_jobqueue") is not None, "dask-jobqueue")
def test_the_slurm_example_generates_the_job_script_the_docs_describe():
    code = checked_block("distributed.md", "checked by tests/test_docs.py")
    code = code.replace("print(cluster.job_script())", "script = cluster.job_script()")
    namespace: dict = {}
    exec(code, namespace)
    cluster = namespace["cluster"]
    try:
        script = namespace["script"]
    finally:
        cluster.close()
    for line in (
        "#SBATCH -p normal",
        "#SBATCH -A myproject",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH -t 02:00:00",
        "#SBATCH --signal=B:USR1@120",
    ):
        assert line in script
    assert "distributed.cli.dask_worker" in script
    assert "--nworkers 8" in script
    assert "--nthreads 1" in script
    assert "--lifetime 115m" in script
    assert "--local-directory $TMPDIR" in script


def test_the_replications_table_in_cli_md_is_the_experiment_files():
    import tomllib

    from mesa_batch.experiment import Replications

    text = (DOCS / "cli.md").read_text().split("### Adaptive replications", 1)[1]
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    documented = tomllib.loads(block)["replications"]
    assert set(documented) == set(Replications.model_fields)  # every key, and only those
    Replications(**documented)  # the values shown are valid


def test_cli_md_lists_every_command():
    from mesa_batch.cli import app

    text = (DOCS / "cli.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"summarize", "sensitivity", "report"} <= set(names)
    for name in names:
        assert f"- **`{name}" in text, name
