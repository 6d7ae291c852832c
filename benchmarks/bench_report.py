"""The report of a 100,000-run store: its time, the peak memory of the process writing it.

Usage (inside the environment)::

    python benchmarks/bench_report.py                     # 100,000 runs (building takes minutes)
    python benchmarks/bench_report.py --runs 20000        # a quicker check
    python benchmarks/bench_report.py --stores DIR        # build the store once in DIR, reuse

The store is ``bench_analysis.py``'s wealth store (the tiny wealth model, 5 design points,
10 steps, model and agent data every step: ~1.1M model rows and ~11M agent rows at 100,000
runs), built on 2 workers (not measured); ``--stores`` shares it with ``bench_analysis.py``.

Each measure runs in a fresh child process whose peak RSS is sampled every 20 ms
(``measure.py``); the report has no workers, so that is the peak of the one process writing it:

* ``Results.open(store).runs``: what every reading of a store starts with (the floor);
* ``report(store)``: every section, every outcome of the model table (out of core: the
  analysis functions read only ``run_id``, ``step`` and an outcome's column);
* for contrast, ``Results.open(store).dataframe("agents")``, the agent table in pandas, which the
  report never does.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child


def child_measure(kind: str, store: str, page: str) -> dict[str, Any]:
    from mesa_batch import Results
    from mesa_batch.report import report

    start_wall, start = time.time(), time.perf_counter()
    if kind == "open":
        rows = len(Results.open(store).runs)
    elif kind == "report":
        rows = report(store, page).stat().st_size
    else:
        rows = len(Results.open(store).dataframe("agents"))
    return {
        "start": start_wall,
        "end": time.time(),
        "wall": time.perf_counter() - start,
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the wealth store")
    parser.add_argument("--stores", help="keep (and reuse) the store in this directory")
    parser.add_argument("--repeat", type=int, default=1, help="measure the report this often")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, store, page, out = args.child
        pathlib.Path(out).write_text(json.dumps(child_measure(kind, store, page)))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(args.stores or scratch)
        return measure(root, args.runs, args.repeat, pathlib.Path(scratch) / "report.html")


def measure(root: pathlib.Path, runs: int, repeat: int, page: pathlib.Path) -> int:
    store = root / f"wealth-{runs}"
    bench_analysis = pathlib.Path(__file__).with_name("bench_analysis.py")
    if not store.exists():
        built = run_child(
            [str(bench_analysis), "--child", "build", "wealth", str(runs), str(store)]
        )
        print(f"built the wealth store: {built['runs']:,} runs in {built['wall']:.0f} s")

    def child(kind: str) -> dict[str, Any]:
        return run_child([__file__, "--child", kind, str(store), str(page)], tree=False)

    opened = child("open")
    reports = [child("report") for _ in range(repeat)]
    whole = child("model")
    print(f"\n{5 * max(1, runs // 5):,}-run wealth store")
    print(f"{'measure':52} {'wall':>8} {'peak RSS':>10}")
    print(f"{'Results.open(store).runs (the floor)':52} {opened['wall']:7.2f}s "
          f"{opened['peak_rss_mb']:8.0f} MB")  # fmt: skip
    for i, r in enumerate(reports):
        label = "report(store): every section, 1 outcome" + (f" (#{i + 1})" if repeat > 1 else "")
        print(f"{label:52} {r['wall']:7.2f}s {r['peak_rss_mb']:8.0f} MB")
    print(f"{'  for contrast: dataframe(agents) (not done by report)':52} {whole['wall']:7.2f}s "
          f"{whole['peak_rss_mb']:8.0f} MB")  # fmt: skip
    print(f"the page: {reports[-1]['rows'] / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
