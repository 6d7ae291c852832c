"""Two Scenario subclasses; the model names its own with an annotation (or a default)."""

from __future__ import annotations

import mesa
from mesa.experimental.scenarios import Scenario


class BaseScenario(Scenario):
    n: int = 5


class AnnotatedScenario(BaseScenario):
    speed: float = 1.0


class OtherScenario(Scenario):
    unrelated: int = 0


class AnnotatedModel(mesa.Model):
    def __init__(self, width: int = 10, scenario: AnnotatedScenario | None = None):
        scenario = scenario if scenario is not None else AnnotatedScenario()
        super().__init__(scenario=scenario)
        self.width = width


class DefaultModel(mesa.Model):
    def __init__(self, scenario=OtherScenario):
        super().__init__(scenario=scenario if not isinstance(scenario, type) else scenario())
