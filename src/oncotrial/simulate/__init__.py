"""In-silico trials: patient-level replicas of a protocol (SDTM output), their calibration
against published results, and vectorised Monte-Carlo operating characteristics, on one
process or a Dask cluster."""

from oncotrial.simulate.calibrate import CalibrationResult, calibrate, load_targets
from oncotrial.simulate.estimates import trial_estimates
from oncotrial.simulate.power import SimulatedPower, simulate_power
from oncotrial.simulate.scenario import Scenario, ScenarioError
from oncotrial.simulate.trial import SimulatedTrial, simulate_trial

__all__ = [
    "CalibrationResult",
    "Scenario",
    "ScenarioError",
    "SimulatedPower",
    "SimulatedTrial",
    "calibrate",
    "load_targets",
    "simulate_power",
    "simulate_trial",
    "trial_estimates",
]
