"""A Latin-hypercube sweep of Mesa's own Schelling segregation model.

Run it inside the environment (``scripts/main`` sets it up) with
``python examples/schelling_sweep.py``. Schelling takes its parameters through a Mesa
``Scenario`` on Mesa >= 3.5, which Mesa's own ``batch_run`` cannot run; mesa_batch builds the
Scenario from each run's parameters and seed.
"""

from __future__ import annotations

from mesa.examples import Schelling

from mesa_batch import BatchRunner, Real, sample

SPACE = {"density": Real(0.5, 0.95), "homophily": Real(0.1, 0.9), "width": 20, "height": 20}


def main() -> None:
    configs = sample(Schelling, SPACE, 32, method="lhs", iterations=2, max_steps=50, seed=7)
    results = BatchRunner(configs, number_processes=None).run()
    final = results.dataframe("model", with_parameters=True)
    final = final[final["step"] == final.groupby("run_id")["step"].transform("max")]
    final = final.assign(homophily_band=(final["homophily"] * 4).round() / 4)
    print(results.summary())
    print("\nshare of happy agents at the end, by homophily:")
    print(final.groupby("homophily_band")["pct_happy"].agg(["mean", "count"]).round(3).to_string())


if __name__ == "__main__":
    main()
