"""Simulation and calibration follow the protocol: a regimen whose only phase is given until
progression, end points and landmarks other than the reference trial's, a trial without
published targets."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml

from oncotrial.clinical import derive_all
from oncotrial.simulate.calibrate import calibrate, default_targets, load_targets
from oncotrial.simulate.estimates import phase_label, trial_estimates
from oncotrial.simulate.quick_calibration import replica_estimates, truth_outcomes
from oncotrial.simulate.scenario import Scenario, ScenarioError
from oncotrial.simulate.trial import simulate_trial

BUNDLED = resources.files("oncotrial")
#: the one phase of both arms: no max_cycles, given until progression
PHASE = "chemo-immunotherapy"


def _until_progression(folder) -> tuple[dict, dict]:
    """The gastric example with one open-ended phase per arm, and a 200-patient scenario of
    it cut at the 120th death; both written to ``folder`` (the scenario names the protocol
    file by its path)."""
    protocol = yaml.safe_load((BUNDLED / "protocols" / "gastric_example.yaml").read_text("utf-8"))
    for regimen in protocol["regimens"].values():
        first = regimen["phases"][0]
        del first["max_cycles"]
        first["name"] = PHASE
        regimen["phases"] = [first]
    path = folder / "protocol.yaml"
    path.write_text(yaml.safe_dump(protocol), encoding="utf-8")
    scenario = yaml.safe_load((BUNDLED / "scenarios" / "gastric_example.yaml").read_text("utf-8"))
    scenario.update(id="until_progression", protocol=str(path), patients=200,
                    cutoff={"events": [120]})
    for arm in scenario["treatment"]["arms"].values():
        arm["phases"] = {PHASE: arm["phases"]["combination"]}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return protocol, scenario


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    place = tmp_path_factory.mktemp("until_progression")
    _until_progression(place)
    return place


@pytest.fixture(scope="module")
def scenario(folder) -> Scenario:
    return Scenario.load(folder / "scenario.yaml")


@pytest.fixture(scope="module")
def trial(scenario):
    return simulate_trial(scenario, seed=3)


@pytest.fixture(scope="module")
def estimates(trial, scenario):
    return replica_estimates(trial, scenario.protocol_model())


def test_the_open_ended_phase_runs_until_treatment_stops_for_a_reason(trial, scenario):
    truth = trial.truth.set_index("USUBJID")
    column = f"CYCLES_{phase_label(PHASE).upper()}"
    assert list(truth.filter(like="CYCLES_").columns) == [column] == ["CYCLES_CHEMO_IMMUNOTHERAPY"]
    assert set(trial.ex["EPOCH"]) == {PHASE.upper()}
    # never completed: the phase has no maximum
    assert "COMPLETED" not in set(truth["STOP_REASON"])
    assert "COMPLETED" not in set(trial.ds["DSDECOD"])
    # as many cycles as the EX records of a drug given every cycle (no cap on its cycles)
    first_drug = {code: next(d.drug.lower() for d in regimen.phases[0].drugs
                             if d.max_total_cycles is None)
                  for code, regimen in scenario.protocol_model().regimens.items()}
    ex = trial.ex.merge(trial.dm[["USUBJID", "ARMCD"]], on="USUBJID")
    counted = ex[ex["EXTRT"] == ex["ARMCD"].map(first_drug)].groupby("USUBJID").size()
    assert (counted.reindex(truth.index, fill_value=0) == truth[column]).all()
    # no cycle on or after the progression seen at a scan
    last = pd.to_datetime(ex.groupby("USUBJID")["EXSTDTC"].max())
    progressed = truth["PDDT"].notna() & truth.index.isin(last.index)
    assert (last[truth.index[progressed]] < pd.to_datetime(truth.loc[progressed, "PDDT"])).all()
    assert (truth.loc[truth["STOP_REASON"] == "PROGRESSION", "PDDT"].notna()).all()


def test_estimates_follow_the_protocol(estimates, trial, scenario):
    protocol = scenario.protocol_model()
    assert truth_outcomes(protocol) == {"OS": "OS", "PFS": "PFS"}
    assert not [k for k in estimates if k.startswith(("pfs2.", "dor."))]
    # each end point's landmarks: OS at 12 and 24 months, PFS at 6 and 12
    assert {k.split(".")[1] for k in estimates if k.startswith("os.rate_")} == {"rate_12m", "rate_24m"}
    assert {k.split(".")[1] for k in estimates if k.startswith("pfs.rate_")} == {"rate_6m", "rate_12m"}
    label = phase_label(PHASE)
    assert label == "chemo_immunotherapy"
    assert not [k for k in estimates if k.startswith("treatment.completed_")]
    truth = trial.truth
    for role, code in (("control", "CAPOX"), ("experimental", "CAPOXPD1")):
        arm = truth[truth["ARMCD"] == code]
        for reason, key in (("PROGRESSION", "progression"), ("TOXICITY", "toxicity")):
            expected = (arm["TREATED"] & (arm["STOP_REASON"] == reason)).sum() / len(arm)
            assert estimates[f"treatment.{key}_{label}.{role}"] == pytest.approx(expected)
        given = arm[arm[f"CYCLES_{label.upper()}"] > 0]
        assert estimates[f"dose_reduction.{label}.{role}"] == pytest.approx(
            given[f"REDUCED_{label.upper()}"].mean())
    cycles = truth[f"CYCLES_{label.upper()}"]
    assert estimates[f"{label}.cycles_median"] == np.median(cycles[cycles > 0])


def test_the_derivations_give_the_estimates_of_the_truth(estimates, trial, scenario):
    """The ADaM route (SDTM -> derive_all -> trial_estimates) and the latent truth agree on
    what both see exactly: counts, shares, reductions and cycles per phase."""
    protocol = scenario.protocol_model()
    data = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    derived = trial_estimates(data.adsl, data.adtte, data.adrs, data.adae, protocol)
    label = phase_label(PHASE)
    exact = [f"{label}.cycles_median", "followup.median",
             *(f"{stem}.{role}" for role in ("control", "experimental")
               for stem in (f"dose_reduction.{label}", "os.events", "safety.grade34",
                            "safety.serious", "surgery.fraction"))]
    for key in exact:
        assert derived[key] == pytest.approx(estimates[key]), key
    assert set(derived) <= set(estimates)


def test_surgery_after_a_phase_given_until_progression_is_refused(folder):
    data = yaml.safe_load((folder / "scenario.yaml").read_text("utf-8"))
    data["treatment"]["arms"]["CAPOX"]["surgery"] = 0.1
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.errors == [
        f"treatment.arms.CAPOX.surgery: surgery follows the first phase, but {PHASE!r} has no "
        "max_cycles (given until progression): set surgery to 0"]


def test_a_trial_without_published_targets_is_described_not_compared(folder):
    result = calibrate(folder / "scenario.yaml", trials=2, seed=5)
    assert not result.has_targets and result.all_within is None and result.outside == []
    table = result.table.set_index("estimate")
    assert list(table.index) == list(result.replicas.columns[2:])
    assert table["published"].isna().all() and table["within"].isna().all()
    row = table.loc["os.hazard_ratio"]
    values = result.replicas["os.hazard_ratio"].to_numpy(float)
    assert row["mean"] == pytest.approx(values.mean()) and row["available"] == 2
    assert row["lower"] == pytest.approx(np.percentile(values, 2.5))
    assert "targets=0, outside=[]" in repr(result)


def test_default_targets_are_the_bundled_ones_of_the_scenario_id(folder):
    assert default_targets(Scenario.load("lms04")) == load_targets("lms04")
    assert default_targets(Scenario.load("gastric_example")) is None
    assert default_targets(Scenario.load(folder / "scenario.yaml")) is None
