"""A real Mesa model whose reporter returns a value chosen by its parameters (types that vary)."""

from __future__ import annotations

import mesa

#: Per case, the value the reporter returns in each run (``n`` picks one).
CASES: dict[str, list[object]] = {
    "int_str": [1, "one"],
    "bool_int": [True, 2],
    "int_list": [3, [1, 2]],
    "list_dict": [[1, 2], {"a": 1}],
    "bytes_str": [b"\x00\xff", "text"],
    "int_float": [1, 2.5],
    "big_float": [2**60 + 1, 2.5],
    "past_int64": [2**70, 1],
    "big_none": [2**62 + 1, None],
    "uint64": [2**63 + 5, 3],
    "negative_past": [-(2**70), 1],
}


def value(model: mesa.Model) -> object:
    """The value this run reports."""
    return CASES[model.case][model.n]


class ValueModel(mesa.Model):
    """Reports ``CASES[case][n]`` as the model variable ``value`` at every step."""

    def __init__(self, case: str = "int_str", n: int = 0, rng=None):
        super().__init__(rng=rng)
        self.case = case
        self.n = n
        self.datacollector = mesa.DataCollector(model_reporters={"value": value})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.datacollector.collect(self)


def unstorable(model: mesa.Model) -> object:
    """A value no store column can hold in run ``n == 1`` (text with a lone surrogate)."""
    return "\ud800" if model.n == 1 else str(model.n)


class UnstorableModel(mesa.Model):
    """Reports ``unstorable`` as the model variable ``value``."""

    def __init__(self, n: int = 0, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.datacollector = mesa.DataCollector(model_reporters={"value": unstorable})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.datacollector.collect(self)
