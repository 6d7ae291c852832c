"""A sweep of Mesa's own Boltzmann wealth model: the README's main job.

Run it with ``scripts/main`` (which sets up the environment), or directly with
``python examples/boltzmann_sweep.py`` inside it.

For now this prepares the sweep: it builds the run configurations of several designs over the
model's parameters and prints a summary. Running them arrives with the BatchRunner.
"""

from __future__ import annotations

from collections import Counter

from mesa.examples import BoltzmannWealth

from mesa_batch import Integer, base_case, full_factorial, morris, sample, sparse_grid

SEED = 42
SPACE = {"n": Integer(10, 200), "width": Integer(5, 30), "height": 10}


def designs() -> dict[str, list]:
    settings = {"max_steps": 100, "data_collection_period": 10, "seed": SEED}
    return {
        "full_factorial": full_factorial(
            BoltzmannWealth,
            {"n": [10, 50, 100], "width": [5, 10, 20], "height": 10},
            iterations=5,
            **settings,
        ),
        "base_case": base_case(
            BoltzmannWealth,
            {"n": 50, "width": 10, "height": 10},
            {"n": [10, 100, 200], "width": [5, 20]},
            iterations=5,
            **settings,
        ),
        "latin hypercube": sample(BoltzmannWealth, SPACE, 64, "lhs", iterations=3, **settings),
        "morris": morris(BoltzmannWealth, SPACE, 10, **settings),
        "sparse_grid": sparse_grid(BoltzmannWealth, SPACE, 3, **settings),
    }


def main() -> None:
    print(f"Boltzmann wealth sweep designs (master seed {SEED})")
    print(f"{'design':<16} {'runs':>5} {'points':>6} {'iterations':>10}  first configuration")
    for name, configs in designs().items():
        iterations = Counter(c.iteration for c in configs)
        first = configs[0]
        print(
            f"{name:<16} {len(configs):>5} {first.design.n_points:>6} {len(iterations):>10}  "
            f"{first.parameters} seed={first.seed}"
        )


if __name__ == "__main__":
    main()
