"""In-silico trials: patient-level replicas of a protocol (SDTM output), their calibration
against published results, and vectorised Monte-Carlo operating characteristics, on one
process or a Dask cluster.

The public names load their module on first use (PEP 562). Why: ``oncotrial simulate
power`` needs only the power engine, and importing the replica simulator and the
calibration with it cost about half a second at every start of the command. The
calibration function is ``oncotrial.simulate.calibrate.calibrate``: at package level the
name ``calibrate`` is the submodule, whichever was imported first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncotrial.simulate.calibrate import CalibrationResult, load_targets
    from oncotrial.simulate.estimates import trial_estimates
    from oncotrial.simulate.power import SimulatedPower, simulate_power
    from oncotrial.simulate.scenario import Scenario, ScenarioError
    from oncotrial.simulate.trial import SimulatedTrial, simulate_trial

#: public name -> the submodule that defines it
_HOME = {
    "CalibrationResult": "calibrate", "load_targets": "calibrate",
    "trial_estimates": "estimates", "SimulatedPower": "power", "simulate_power": "power",
    "Scenario": "scenario", "ScenarioError": "scenario", "SimulatedTrial": "trial",
    "simulate_trial": "trial",
}

__all__ = [
    "CalibrationResult",
    "Scenario",
    "ScenarioError",
    "SimulatedPower",
    "SimulatedTrial",
    "load_targets",
    "simulate_power",
    "simulate_trial",
    "trial_estimates",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
