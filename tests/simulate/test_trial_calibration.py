"""The LMS04 replica reproduces the published trial on average (fast loop on the latent truth;
``benchmarks/calibrate_replica.py`` runs it on 200 replicas)."""

from __future__ import annotations

import math

import pytest

from oncotrial.simulate.calibrate import load_targets
from oncotrial.simulate.quick_calibration import _half_digit, calibration_table
from oncotrial.simulate.scenario import Scenario


@pytest.fixture(scope="module")
def table():
    return calibration_table(Scenario.load("lms04"), replicas=25, seed=500)


def test_published_values_lie_within_the_simulated_spread(table):
    checked = table.dropna(subset=["target"])
    assert len(checked) >= 25  # the bundled lms04_targets.yaml
    assert checked["inside"].all(), checked[~checked["inside"].astype(bool)]


def test_every_published_target_and_phase_is_estimated(table):
    """The estimates named by phase (induction, maintenance) include every name of the
    bundled targets and of the Table 1 treatment-delivery shares."""
    assert set(load_targets("lms04")) <= set(table.index)
    for role in ("control", "experimental"):
        for stem in ("completed", "progression", "toxicity"):
            assert f"treatment.{stem}_induction.{role}" in table.index
        assert f"dose_reduction.induction.{role}" in table.index
    for stem in ("completed", "progression", "toxicity"):  # only the combination arm has it
        assert f"treatment.{stem}_maintenance.experimental" in table.index
        assert f"treatment.{stem}_maintenance.control" not in table.index
    assert {"induction.cycles_median", "maintenance.cycles_median"} <= set(table.index)
    assert table.loc["induction.cycles_median", "mean"] == 6  # most patients get all six


def test_solved_targets_hold_on_average(table):
    # exact in expectation by construction: response, adverse events; calibrated: follow-up
    for key, tolerance in (("response.orr.control", 0.03), ("response.orr.experimental", 0.04),
                           ("safety.grade34.control", 0.03), ("safety.grade34.experimental", 0.02),
                           ("safety.cytolysis34.experimental", 0.04), ("followup.median", 2.0),
                           ("os.hazard_ratio", 0.06), ("pfs.hazard_ratio", 0.05)):
        row = table.loc[key]
        assert abs(row["mean"] - row["target"]) < tolerance, (key, row["mean"], row["target"])


def test_half_a_published_digit():
    assert _half_digit(6.0) == 0.5 and _half_digit(0.03) == pytest.approx(0.005)
    assert _half_digit(10.5) == pytest.approx(0.05) and math.isnan(_half_digit(float("nan")))
