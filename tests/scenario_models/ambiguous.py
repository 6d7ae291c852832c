"""Two Scenario subclasses and a model that names neither: scenario_cls= is needed."""

import mesa
from mesa.experimental.scenarios import Scenario


class FirstScenario(Scenario):
    a: int = 1


class SecondScenario(Scenario):
    b: int = 2


class AmbiguousModel(mesa.Model):
    def __init__(self, scenario=None):
        super().__init__(scenario=scenario)
