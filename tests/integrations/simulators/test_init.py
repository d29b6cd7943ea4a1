from __future__ import annotations

import integrations.simulators


def test_exported_members_are_complete() -> None:
    package = integrations.simulators
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith(package.__name__)
    }
    assert public <= set(package.__all__)
    assert {"Faults", "run_simulators", "main", "SimulatorOptions"} <= public
