"""Real HTTP servers standing in for the six agencies, for the demo, tests and benchmarks.

Each agency module has the same parts: a ``Simulated…`` class that answers one identifier,
the hand-written JSON Schema of its items, and ``create_app(options)``. ``run_simulators``
starts them all on loopback ports; ``main`` runs them standalone.
"""

from integrations.simulators.app import CONTROLS, Controls, SimulatorOptions
from integrations.simulators.faults import Faults
from integrations.simulators.runner import AGENCIES, RunningSimulators, main, run_simulators, serve

__all__ = [
    "AGENCIES",
    "CONTROLS",
    "Controls",
    "Faults",
    "RunningSimulators",
    "SimulatorOptions",
    "main",
    "run_simulators",
    "serve",
]
