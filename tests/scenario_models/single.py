"""One Scenario subclass in the module; the model's scenario parameter has no annotation."""

import mesa
from mesa.experimental.scenarios import Scenario


class SingleScenario(Scenario):
    n: int = 5
    density: float = 0.5


class SingleModel(mesa.Model):
    def __init__(self, scenario=None):
        scenario = scenario if scenario is not None else SingleScenario()
        super().__init__(scenario=scenario)
        self.n = scenario.n
