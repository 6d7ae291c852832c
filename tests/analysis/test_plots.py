import io
import math

import pytest

from mesa_batch import ConfigurationError, full_factorial
from mesa_batch.analysis import (
    aggregate,
    plot_heatmap,
    plot_indices,
    plot_morris,
    plot_response,
    plot_timeseries,
    sensitivity,
)
from mesa_batch.designs import morris
from tests.analysis.models import StopModel
from tests.analysis.test_sensitivity import SPACE, IshigamiModel

PNG = b"\x89PNG"


def png(ax):
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def grid(both):
    configs = full_factorial(
        StopModel, {"rate": [1.0, 2.0, 3.0], "fail": [False]}, iterations=3, max_steps=5,
        data_collection_period=1, seed=2,
    )  # fmt: skip
    return both("plots_grid", configs)[0]


def test_time_series_response_and_heatmap_render(grid):
    series = aggregate(grid, "value", at="all")
    ax = plot_timeseries(series)
    assert ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "value"
    assert len(ax.lines) == 3
    assert png(ax).startswith(PNG)
    by_rate = aggregate(grid, "value", by="rate")
    ax = plot_response(by_rate, "rate")
    assert ax.get_xlabel() == "rate"
    assert png(ax).startswith(PNG)
    both_ways = aggregate(grid, "value", by=["rate", "fail"])
    ax = plot_heatmap(both_ways, "rate", "fail")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("rate", "fail")
    assert png(ax).startswith(PNG)


def test_an_axes_passed_in_is_drawn_on(grid):
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    assert plot_response(aggregate(grid, "value", by="rate"), "rate", ax=ax) is ax


def test_index_bars_and_morris_plot_render(both):
    memory = both("plots_morris", morris(IshigamiModel, SPACE, 10, max_steps=1, seed=3))[0]
    indices = sensitivity(memory, "y", method="morris", seed=1)
    ax = plot_morris(indices)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mu_star", "sigma")
    assert png(ax).startswith(PNG)
    ax = plot_indices(indices, ("mu_star",))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(SPACE)
    assert png(ax).startswith(PNG)
    assert math.isfinite(indices["mu_star"].sum())


def test_a_table_without_the_columns_a_plot_needs(grid):
    table = aggregate(grid, "value")
    with pytest.raises(
        ConfigurationError,
        match=r"plot_timeseries needs a column 'step' .*at=\"all\"|plot_timeseries needs a column 'step'",
    ):
        plot_timeseries(table)


def test_importing_the_plots_changes_no_global_state():
    import subprocess
    import sys

    code = (
        "import sys, mesa_batch.analysis as a; assert 'matplotlib' not in sys.modules; "
        "import pandas as pd; a.plot_indices(pd.DataFrame({'S1': [0.1]}, index=['x'])); "
        "import matplotlib; assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_matplotlib_the_install_hint(monkeypatch):
    import sys

    import pandas as pd

    from mesa_batch import MissingExtraError

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'mesa-batch\[plot\]'"):
        plot_indices(pd.DataFrame({"S1": [0.1]}, index=["x"]))
