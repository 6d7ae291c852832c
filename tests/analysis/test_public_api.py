"""Pin the analysis front: its sorted __all__, and that importing it loads no heavy library."""

import subprocess
import sys

import mesa_batch.analysis

EXPECTED = [
    "METHODS",
    "aggregate",
    "effects",
    "final",
    "plot_heatmap",
    "plot_indices",
    "plot_morris",
    "plot_response",
    "plot_timeseries",
    "sensitivity",
]


def test_all_is_pinned_and_sorted():
    assert mesa_batch.analysis.__all__ == EXPECTED
    assert sorted(EXPECTED) == EXPECTED
    for name in EXPECTED:
        assert getattr(mesa_batch.analysis, name) is not None


def test_importing_loads_no_heavy_library():
    code = (
        "import sys, mesa_batch.analysis; "
        "heavy = [m for m in ('matplotlib', 'SALib', 'scipy.stats', 'pandas') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
