"""A model that records with Mesa's DataRecorder only (no DataCollector)."""

import mesa
from mesa.experimental.data_collection import DataRecorder, DatasetConfig


class Cell(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.energy = 0

    def step(self):
        self.energy += 2


class RecorderModel(mesa.Model):
    def __init__(self, n=3, rng=None):
        super().__init__(rng=rng)
        for _ in range(n):
            Cell(self)
        self.count = 0
        self.recorder = DataRecorder(self)
        self.data_registry.track_model(self, "model_data", "count").record(self.recorder)
        self.data_registry.track_agents(self.agents, "agent_data", "energy").record(
            self.recorder, configuration=DatasetConfig(interval=2)
        )

    def step(self):
        self.count += 1
        self.agents.do("step")
