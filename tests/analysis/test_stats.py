"""The one t interval: its half-width against scipy.stats.t, elementwise."""

import numpy as np
import scipy.stats

from mesa_batch.analysis.stats import t_half_width, t_interval


def test_the_half_width_is_scipys_t_interval():
    rng = np.random.default_rng(5)
    n = np.array([0, 1, 2, 3, 10, 250])
    std = rng.uniform(0.1, 3.0, len(n))
    half = t_half_width(std, n, 0.9)
    assert np.isnan(half[:2]).all()  # no interval below 2 values
    expected = scipy.stats.t.ppf(0.95, n[2:] - 1) * std[2:] / np.sqrt(n[2:])
    np.testing.assert_allclose(half[2:], expected, rtol=1e-12)
    values = rng.normal(3.0, 2.0, 17)
    low, high = scipy.stats.t.interval(0.95, 16, loc=values.mean(), scale=scipy.stats.sem(values))
    np.testing.assert_allclose(t_interval(values, 0.95, rng), (low, high), rtol=1e-12)
