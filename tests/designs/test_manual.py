import numpy as np
import pandas as pd
import pytest
from mesa.examples import BoltzmannWealth

from mesa_batch import BatchRunner, DesignError, manual
from tests.models import KwargsModel, MoneyModel


def test_points_are_taken_literally_in_order():
    points = [{"n": 5, "sizes": [1, 2]}, {"grid": {"h": 1}}]
    configs = manual(KwargsModel, points, seed=1)
    assert [c.parameters for c in configs] == points


def test_dataframe_rows_with_missing_cells_and_numpy_scalars():
    frame = pd.DataFrame({"n": [5, 10], "width": [3.0, np.nan], "rate": [0.5, np.nan]})
    configs = manual(MoneyModel, frame.drop(columns="rate"), seed=1)
    assert [c.parameters for c in configs] == [{"n": 5, "width": 3}, {"n": 10}]
    assert [type(v) for c in configs for v in c.parameters.values()] == [int, int, int]


def test_an_empty_cell_keeps_the_columns_type():
    frame = pd.DataFrame(
        {
            "n": [5, None, 7],  # ints that pandas widened to float64 for the NaN
            "width": pd.array([2.0, None, 4.0], dtype="Float64"),  # floats, said so
            "rate": [0.5, np.nan, 1.0],  # floats
            "label": ["a", None, 3],  # mixed: taken as given
        }
    )
    points = [c.parameters for c in manual(KwargsModel, frame, seed=1)]
    assert points == [
        {"n": 5, "width": 2.0, "rate": 0.5, "label": "a"},
        {},
        {"n": 7, "width": 4.0, "rate": 1.0, "label": 3},
    ]
    assert [type(v) for v in points[0].values()] == [int, float, float, str]
    assert type(points[2]["label"]) is int


def test_csv_file(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("n,width,rate,name\n5,3,0.5,a\n10,,,\n")
    configs = manual(KwargsModel, str(path), seed=1)
    assert [c.parameters for c in configs] == [
        {"n": 5, "width": 3, "rate": 0.5, "name": "a"},
        {"n": 10},
    ]
    assert [type(v) for v in configs[0].parameters.values()] == [int, int, float, str]
    assert configs[0].design.options == {"source": f"csv:{path}"}


def test_an_empty_csv_cell_runs_with_the_models_default(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("n,width\n5,3\n4,\n")
    configs = manual(BoltzmannWealth, str(path), max_steps=2, seed=1)
    results = BatchRunner(configs, display_progress=False).run()
    assert results.counts()["succeeded"] == 2


def test_identical_points_stay_distinct_runs():
    configs = manual(MoneyModel, [{"n": 5}, {"n": 5}, {"n": 6}], seed=1)
    assert [c.occurrence for c in configs] == [0, 1, 0]
    assert len({c.key for c in configs}) == 3
    assert len({c.seed for c in configs}) == 3


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "points must hold at least one point"),
        ({"n": 5}, r"points must be a list of dicts.*Wrap a single point in a list"),
        (5, "points must be a list of dicts"),
        ([{"n": 5}, 7], r"points\[1\] must be a mapping of parameter names to values; received 7"),
        ("no/such/file.csv", "points must name an existing CSV file"),
        (pd.DataFrame([[1, 2]], columns=["n", "n"]), "points columns must be unique"),
    ],
)
def test_bad_points(points, message):
    with pytest.raises(DesignError, match=message):
        manual(MoneyModel, points)
