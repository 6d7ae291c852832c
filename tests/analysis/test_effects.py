import pandas as pd
import pytest
from scipy import stats

from mesa_batch import DesignError, base_case, full_factorial
from mesa_batch.analysis import effects
from tests.analysis.models import StopModel

BASE = {"rate": 1.0, "fail": False}
VARIATIONS = {"rate": [0.5, 1.0, 3.0]}


def final_by_point(results):
    model = results.dataframe("model", with_parameters=True)
    last = model[model["step"] == model.groupby("run_id")["step"].transform("max")]
    points = results.runs.set_index("run_id")["point"]
    return last.assign(point=points.loc[last["run_id"]].to_numpy())


@pytest.mark.parametrize("crn", [True, False])
def test_effects_against_scipy(both, crn):
    configs = base_case(StopModel, BASE, VARIATIONS, iterations=6, max_steps=6, seed=3,
                        common_random_numbers=crn)  # fmt: skip
    memory, store = both(f"base_case_{crn}", configs)
    found = effects(memory, "value", confidence=0.9)
    assert list(found["parameter"]) == ["rate", "rate"]
    assert list(found["value"]) == [0.5, 3.0]
    assert (found["paired"] == crn).all()
    last = final_by_point(memory)
    ref = last[last["point"] == 0].set_index("iteration")["value"].sort_index()
    for row in found.itertuples(index=False):
        x = last[last["point"] == row.point].set_index("iteration")["value"].sort_index()
        test = stats.ttest_rel(x, ref) if crn else stats.ttest_ind(x, ref, equal_var=False)
        interval = test.confidence_interval(0.9)
        assert row.difference == pytest.approx(x.mean() - ref.mean())
        assert (row.ci_low, row.ci_high) == pytest.approx((interval.low, interval.high))
        assert row.n == 6
    pd.testing.assert_frame_equal(found, effects(store, "value", confidence=0.9))


def test_effects_needs_a_base_case(both):
    configs = full_factorial(StopModel, {"rate": [1.0, 2.0]}, iterations=2, max_steps=3, seed=1)
    memory, _ = both("not_base_case", configs)
    with pytest.raises(
        DesignError, match=r"effects\(\.\.\.\) needs a 'base_case' design.*Run base_case\("
    ):
        effects(memory, "value")
