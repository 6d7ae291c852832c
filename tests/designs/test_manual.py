import numpy as np
import pandas as pd
import pytest

from mesa_batch import DesignError, manual
from tests.models import KwargsModel, MoneyModel


def test_points_are_taken_literally_in_order():
    points = [{"n": 5, "sizes": [1, 2]}, {"grid": {"h": 1}}]
    configs = manual(KwargsModel, points, seed=1)
    assert [c.parameters for c in configs] == points


def test_dataframe_rows_with_missing_cells_and_numpy_scalars():
    frame = pd.DataFrame({"n": [5, 10], "width": [3.0, np.nan]})
    configs = manual(MoneyModel, frame, seed=1)
    assert [c.parameters for c in configs] == [{"n": 5, "width": 3.0}, {"n": 10}]
    assert all(type(v) in (int, float) for c in configs for v in c.parameters.values())


def test_csv_file(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("n,width\n5,3\n10,\n")
    configs = manual(MoneyModel, str(path), seed=1)
    assert [c.parameters for c in configs] == [{"n": 5, "width": 3.0}, {"n": 10}]
    assert configs[0].design.options == {"source": f"csv:{path}"}


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
