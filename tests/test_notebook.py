"""A model defined in a Jupyter cell runs in parallel (executed for real by nbclient)."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]

DEFINE = """
import mesa

class CellModel(mesa.Model):
    def __init__(self, n=2, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.total = 0
        self.datacollector = mesa.DataCollector(model_reporters={"total": "total"})

    def step(self):
        self.total += self.n + self.rng.integers(0, 1)
        self.datacollector.collect(self)
"""

RUN = """
from mesa_batch import BatchRunner, full_factorial

configs = full_factorial(CellModel, {"n": [1, 2, 3, 4]}, iterations=2, max_steps=5, seed=7)
results = BatchRunner(configs, number_processes=2, display_progress=False).run()
assert results.counts() == {"succeeded": 8, "failed": 0, "pending": 0}, results.counts()
assert sorted(results.model.groupby("run_id")["total"].last()) == [5, 5, 10, 10, 15, 15, 20, 20]
print("ok", len(results.model))
"""


@pytest.mark.timeout(180)
def test_notebook_defined_model_runs_with_two_processes():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(DEFINE), nbformat.v4.new_code_cell(RUN)]
    client = NotebookClient(
        notebook, timeout=150, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    outputs = notebook.cells[1].outputs
    assert [o.get("text", "").strip() for o in outputs if o.output_type == "stream"] == ["ok 8"]
