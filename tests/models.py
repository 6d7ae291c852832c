"""Small real Mesa models for the tests, written to run on Mesa 3.0 through Mesa 4.

They live at module level so that they pickle by reference.
"""

from __future__ import annotations

import mesa


class MoneyAgent(mesa.Agent):
    """An agent that gives one unit of wealth to a random other agent each step."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(list(self.model.agents))
            other.wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """The wealth-exchange model of Mesa's tutorial, without space; seeded with ``rng=``."""

    def __init__(self, n: int = 10, width: int = 10, height: int = 10, rng=None):
        super().__init__(rng=rng)
        self.width = width
        self.height = height
        for _ in range(n):
            MoneyAgent(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={"Gini": gini},
            agent_reporters={"Wealth": "wealth"},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


def gini(model: mesa.Model) -> float:
    """The Gini coefficient of the agents' wealth."""
    wealth = sorted(agent.wealth for agent in model.agents)
    n = len(wealth)
    total = sum(wealth)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * w for i, w in enumerate(wealth))
    return (2 * weighted) / (n * total) - (n + 1) / n


class SeedModel(mesa.Model):
    """A model written for Mesa < 3.1: it declares ``seed=`` (and forwards it as ``rng``)."""

    def __init__(self, n: int = 5, seed=None):
        super().__init__(rng=seed)
        self.n = n
        self.draw = float(self.rng.random())
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n", "draw": "draw"})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.draw = float(self.rng.random())
        self.datacollector.collect(self)


class KwargsModel(mesa.Model):
    """A model that takes ``**kwargs``: any parameter name is accepted."""

    def __init__(self, n: int = 5, **kwargs):
        rng = kwargs.pop("rng", None)
        super().__init__(rng=rng)
        self.n = n
        self.extra = kwargs
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.datacollector.collect(self)


class NoInitModel(mesa.Model):
    """A model that does not define ``__init__`` (it takes Mesa's own)."""


class UnseedableModel(mesa.Model):
    """A model that cannot receive a seed: no rng=, seed=, scenario= or **kwargs."""

    def __init__(self, n: int = 5):
        super().__init__()
        self.n = n


class NotAModel:
    """Not a Mesa model."""

    def __init__(self, n: int = 5):
        self.n = n


class Counter(mesa.Agent):
    """An agent whose value grows by one each step; ``kind`` splits agents in two types."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.value = 0

    def step(self) -> None:
        self.value += 1


class Walker(Counter):
    """A second agent type."""


class CounterModel(mesa.Model):
    """Deterministic: agents count steps. Options choose how (and when) it collects data.

    Args:
        n: Number of Counter agents (and as many Walkers when ``typed``).
        collect: "step" (in __init__ and after every step), "sparse" (every 5th step only),
            "twice" (in __init__ and twice per step), "agents" (agent reporters only), "typed"
            (agent-type reporters and a table), "none" (no DataCollector).
        stop_at: Set ``running = False`` after this many steps.
        fail: Raise in "init", "step" (at step 3) or "collect" (a reporter raises).
        rng: The seed.
    """

    def __init__(self, n=3, collect="step", stop_at=None, fail=None, rng=None):
        super().__init__(rng=rng)
        if fail == "init":
            raise ValueError("failing in __init__ as asked")
        self.fail = fail
        self.stop_at = stop_at
        self.collect_mode = collect
        self.count = 0
        for _ in range(n):
            Counter(self)
        if collect == "typed":
            for _ in range(n):
                Walker(self)
        self.datacollector = _collector(collect, fail)
        if collect in ("step", "twice", "agents", "typed"):
            self.datacollector.collect(self)

    def step(self) -> None:
        self.count += 1
        if self.fail == "step" and self.count == 3:
            raise ZeroDivisionError("failing in step 3 as asked")
        self.agents.do("step")
        if self.collect_mode == "typed":
            self.datacollector.add_table_row("events", {"count": self.count, "note": "tick"})
        if self.collect_mode in ("step", "agents", "typed", "twice"):
            self.datacollector.collect(self)
        if self.collect_mode == "twice":
            self.datacollector.collect(self)
        if self.collect_mode == "sparse" and self.count % 5 == 0:
            self.datacollector.collect(self)
        if self.stop_at is not None and self.count >= self.stop_at:
            self.running = False


def total_value(model: mesa.Model) -> int:
    """The sum of the agents' values."""
    return sum(agent.value for agent in model.agents)


def broken_reporter(model: mesa.Model) -> int:
    """A reporter that fails once the model has stepped."""
    if model.count > 0:
        raise KeyError("reporter failing as asked")
    return 0


def _collector(collect: str, fail) -> mesa.DataCollector | None:
    model_reporters = {"Total": total_value, "Count": "count"}
    if fail == "collect":
        model_reporters["Broken"] = broken_reporter
    if collect == "none":
        return None
    if collect == "agents":
        return mesa.DataCollector(agent_reporters={"Value": "value"})
    if collect == "typed":
        return mesa.DataCollector(
            model_reporters=model_reporters,
            agent_reporters={"Value": "value"},
            agenttype_reporters={Walker: {"Walked": "value"}},
            tables={"events": ["count", "note"]},
        )
    return mesa.DataCollector(model_reporters=model_reporters, agent_reporters={"Value": "value"})


class RandomModel(mesa.Model):
    """Records draws from both of Mesa's generators, to check seeding.

    Each step sleeps ``$MESA_BATCH_TEST_DELAY`` seconds (0 when unset): slow enough to be
    interrupted in one process, fast when resumed in another, with the same configurations.
    """

    def __init__(self, n=2, rng=None):
        super().__init__(rng=rng)
        import os

        self.n = n
        self.delay = float(os.environ.get("MESA_BATCH_TEST_DELAY", "0"))
        self.draw = float(self.rng.random())
        self.stdlib_draw = self.random.random()
        self.datacollector = mesa.DataCollector(
            model_reporters={"draw": "draw", "stdlib_draw": "stdlib_draw"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        if self.delay:
            import time

            time.sleep(self.delay)
        self.draw = float(self.rng.random())
        self.stdlib_draw = self.random.random()
        self.datacollector.collect(self)


class CrashingModel(mesa.Model):
    """Kills its own worker process at step 1 when ``crash`` is set.

    With ``sentinel`` (a file path) it crashes only while that file does not exist, creating it
    first: a transient crash that a retry survives.
    """

    def __init__(self, n=1, crash=False, sentinel=None, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.crash = crash
        self.sentinel = sentinel
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})
        self.datacollector.collect(self)

    def step(self) -> None:
        if self.crash:
            import os
            import pathlib

            if self.sentinel is None or not pathlib.Path(self.sentinel).exists():
                if self.sentinel is not None:
                    pathlib.Path(self.sentinel).touch()
                os._exit(13)
        self.datacollector.collect(self)


class SlowModel(mesa.Model):
    """Sleeps ``delay`` seconds per step (for interrupt tests)."""

    def __init__(self, n=1, delay=0.05, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.delay = delay
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})

    def step(self) -> None:
        import time

        time.sleep(self.delay)
        self.datacollector.collect(self)


class FlakyModel(mesa.Model):
    """Fails in ``__init__`` while the file ``needs`` does not exist (for retry tests).

    Each step sleeps ``$MESA_BATCH_TEST_DELAY`` seconds (0 when unset), as :class:`RandomModel`.
    """

    def __init__(self, n=1, needs=None, rng=None):
        super().__init__(rng=rng)
        import os
        import pathlib

        if needs is not None and not pathlib.Path(needs).exists():
            raise FileNotFoundError(f"{needs} is missing")
        self.n = n
        self.delay = float(os.environ.get("MESA_BATCH_TEST_DELAY", "0"))
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})
        self.datacollector.collect(self)

    def step(self) -> None:
        if self.delay:
            import time

            time.sleep(self.delay)
        self.datacollector.collect(self)


_built_here = 0


class DiskFullModel(RandomModel):
    """A RandomModel whose process runs out of disk while the file ``full`` exists.

    Then, once 4 models were built in a process, files that process writes may not grow past
    1 KB (``RLIMIT_FSIZE``; writes past it fail with EFBIG), as on a full disk. Without the
    file the limit is lifted again.
    """

    def __init__(self, n=2, full=None, rng=None):
        import pathlib
        import resource
        import signal

        global _built_here  # noqa: PLW0603 - counts per process
        _built_here += 1
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if full is not None and pathlib.Path(full).exists() and _built_here > 4:
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        super().__init__(n=n, rng=rng)


class ShopsModel(mesa.Model):
    """A column per store, like Mesa's HotellingLaw example: runs report different columns.

    Model values mix ints and floats (``Stores``, ``Mean``), as in DeffuantWeisbuch's
    ``Cluster Count``; agent values are ints.
    """

    def __init__(self, n_stores=2, rng=None):
        super().__init__(rng=rng)
        for _ in range(n_stores):
            Counter(self)
        reporters = {"Stores": count_agents, "Mean": mean_value}
        for i in range(n_stores):
            reporters[f"Store_{i}_value"] = lambda m, i=i: store_value(m, i)
        self.datacollector = mesa.DataCollector(
            model_reporters=reporters, agent_reporters={"Value": "value"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.do("step")
        self.datacollector.collect(self)


def count_agents(model: mesa.Model) -> int:
    """How many agents the model has."""
    return len(model.agents)


def mean_value(model: mesa.Model) -> float:
    """The agents' mean value, a float."""
    return sum(agent.value for agent in model.agents) / len(model.agents)


def store_value(model: mesa.Model, i: int) -> int:
    """The value of the ``i``-th agent, times ``i + 1``."""
    return list(model.agents)[i].value * (i + 1)


class IdReportingModel(mesa.Model):
    """Reporters named like mesa_batch's id columns: ``step`` (model), ``agent_id`` (agents)."""

    def __init__(self, n=2, rng=None):
        super().__init__(rng=rng)
        self.count = 0
        for _ in range(n):
            Counter(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={"step": "count"}, agent_reporters={"agent_id": "unique_id"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.count += 1
        self.datacollector.collect(self)


class SilentReporterModel(mesa.Model):
    """A model reporter that always returns None (``Nothing``) beside one that counts steps."""

    def __init__(self, n=1, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.count = 0
        self.datacollector = mesa.DataCollector(
            model_reporters={"Count": "count", "Nothing": lambda m: None}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.count += 1


class ExitingModel(mesa.Model):
    """Ends its run, or its whole process, at step ``at_step`` when ``n`` equals ``exit_on``.

    Each step first sleeps ``delay`` seconds. ``how`` is ``"sys.exit"`` (raises ``SystemExit``
    with code 5) or ``"os._exit"`` (ends the process with code ``code``, 7 by default, at once).
    """

    def __init__(self, n=1, exit_on=3, how="os._exit", delay=0.0, *, at_step=1, code=7, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.code = code
        self.at_step = at_step
        self.steps_made = 0
        self.exit_on = exit_on
        self.how = how
        self.delay = delay
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})
        self.datacollector.collect(self)

    def step(self) -> None:
        import os
        import sys
        import time

        time.sleep(self.delay)
        self.steps_made += 1
        if self.n == self.exit_on and self.steps_made == self.at_step:
            if self.how == "sys.exit":
                sys.exit(5)
            os._exit(self.code)
        self.datacollector.collect(self)


class HangingModel(mesa.Model):
    """Never ends its step ``at_step`` when ``n`` equals ``hang_on``; other steps are quick.

    ``how`` is ``"sleep"`` (sleeps for an hour), ``"loop"`` (a busy loop that never ends),
    ``"blocked"`` (blocks SIGALRM in its thread, then sleeps for an hour: no signal timer
    reaches it) or ``"slow"`` (sleeps ``slow`` seconds, then goes on).
    """

    def __init__(self, n=1, hang_on=3, how="sleep", slow=2.0, *, at_step=2, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.hang_on = hang_on
        self.how = how
        self.slow = slow
        self.at_step = at_step
        self.steps_made = 0
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})
        self.datacollector.collect(self)

    def step(self) -> None:
        import signal
        import time

        self.steps_made += 1
        if self.n == self.hang_on and self.steps_made == self.at_step:
            if self.how == "loop":
                while True:
                    pass
            if self.how == "blocked":
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(self.slow if self.how == "slow" else 3600)
        self.datacollector.collect(self)
