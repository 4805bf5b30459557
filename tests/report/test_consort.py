"""The CONSORT flow is a partition: every box is the sum of the boxes it splits into."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncotrial.clinical import derive_all
from oncotrial.report.consort import DEATH, TreatmentPhase, arm_phases, consort_flow
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial

PHASES = {"C": [TreatmentPhase("induction", "INDUC")],
          "E": [TreatmentPhase("induction", "INDUC"), TreatmentPhase("maintenance", "MAINT")]}


def _counts(flow) -> dict[tuple, int]:
    return {(r.stage, r.arm, r.reason): r.n for r in flow.table.itertuples(index=False)}


def small_adsl() -> pd.DataFrame:
    """Seven patients covering each box: untreated (b), stopped (c, f), died on treatment (g),
    completed induction and did not enter maintenance (e), still on maintenance (h)."""
    return pd.DataFrame({
        "USUBJID": list("abcdefgh"),
        "ITTFL": ["Y"] * 6 + ["N", "Y"],
        "ARM": ["C", "C", "C", "E", "E", "E", "E", "E"],
        "ACTARM": ["C", "C", "E", "E", "E", "E", "E", "E"],
        "SAFFL": ["Y", "N", "Y", "Y", "Y", "Y", "Y", "Y"],
        "EOTINDUC": ["COMPLETED", None, "ADVERSE EVENT", "COMPLETED", "COMPLETED", "PROGRESSIVE DISEASE",
                     "COMPLETED", "COMPLETED"],
        "CYCMAINT": [0, 0, 0, 3, 0, 0, 0, 2],
        "EOTMAINT": [None, None, None, "COMPLETED", "WITHDRAWAL BY SUBJECT", None, None, None],
        "DTHDT": [None, None, None, None, None, None, None, None],
    })


def test_each_box_is_split_into_the_boxes_below_it():
    adsl = small_adsl()
    adsl.loc[0, "EOTINDUC"] = None  # patient a died during induction: stopped for death, not "still on"
    adsl.loc[0, "DTHDT"] = "2024-03-01"
    flow = consort_flow(adsl, phases=PHASES)
    n = _counts(flow)
    assert n[("randomised", None, None)] == 7  # the ITTFL = N patient is not randomised
    assert n[("allocated", "C", None)] == 3 and n[("allocated", "E", None)] == 4
    assert n[("received_treatment", "C", None)] == 2 and n[("not_treated", "C", None)] == 1
    assert n[("discontinued_induction", "C", DEATH)] == 1 and ("ongoing_induction", "C", None) not in n
    assert n[("discontinued_induction", "C", "ADVERSE EVENT")] == 1
    assert n[("completed_induction", "E", None)] == 3
    assert n[("discontinued_induction", "E", "PROGRESSIVE DISEASE")] == 1
    assert n[("entered_maintenance", "E", None)] == 2 and ("entered_maintenance", "C", None) not in n
    assert n[("not_entered_maintenance", "E", "WITHDRAWAL BY SUBJECT")] == 1
    assert n[("completed_maintenance", "E", None)] == 1 and n[("ongoing_maintenance", "E", None)] == 1
    # the safety population is counted by the arm received: patient c was given E
    assert n[("analysed_safety", "C", None)] == 1 and n[("analysed_safety", "E", None)] == 5
    assert flow.unbalanced() == []
    assert flow.omitted == ()
    assert "discontinued_induction: ADVERSE EVENT" in set(flow.to_frame()["subgroup"])
    assert flow.labels["entered_maintenance"] == "Entered maintenance"
    assert flow.labels["not_entered_maintenance"] == "Did not enter maintenance"
    assert flow.labels["not_treated"] == "Did not receive allocated treatment"
    lean = consort_flow(adsl[["USUBJID", "ITTFL", "ARM"]], phases=PHASES)
    assert lean.omitted == ("received_treatment (no SAFFL)", "analysed_safety (no SAFFL or ACTARM)")
    assert lean.unbalanced() == []


def test_a_flow_that_does_not_add_up_is_reported():
    flow = consort_flow(small_adsl(), phases=PHASES)
    broken = flow.table.copy()
    broken.loc[(broken["stage"] == "not_treated") & (broken["arm"] == "C"), "n"] = 5
    assert type(flow)(broken, flow.omitted, flow.labels).unbalanced() == [
        "C: received_treatment + not_treated = 7, allocated = 3"]


def test_consort_flow_follows_any_protocol_phases():
    """Other phase names, an open-ended last phase (no "completed" stage unless someone
    completed it), a phase entered in every arm, variables named by the phase suffixes."""
    adsl = pd.DataFrame({
        "USUBJID": list("abcdef"), "ITTFL": "Y", "ARM": list("CCCEEE"), "ACTARM": list("CCCEEE"),
        "SAFFL": "Y",
        "EOTCOMBI": ["COMPLETED", "ADVERSE EVENT", "COMPLETED", "COMPLETED", None, "PROGRESSIVE DISEASE"],
        "CYCCONTI": [4, 0, 2, 7, 0, 0],
        "EOTCONTI": ["PROGRESSIVE DISEASE", None, None, "ADVERSE EVENT", None, None],
    })
    both = [TreatmentPhase("combination", "COMBI"), TreatmentPhase("continuation", "CONTI", open_ended=True)]
    flow = consort_flow(adsl, phases={"C": both, "E": both})
    n = _counts(flow)
    assert n[("completed_combination", "C", None)] == 2 and n[("completed_combination", "E", None)] == 1
    assert n[("discontinued_combination", "C", "ADVERSE EVENT")] == 1
    assert n[("ongoing_combination", "E", None)] == 1
    assert n[("entered_continuation", "C", None)] == 2 and n[("entered_continuation", "E", None)] == 1
    assert n[("discontinued_continuation", "E", "ADVERSE EVENT")] == 1
    assert n[("ongoing_continuation", "C", None)] == 1
    assert not any(stage == "completed_continuation" for stage, _, _ in n)  # open-ended, nobody completed it
    assert flow.unbalanced() == []
    assert not any("induc" in stage or "maint" in stage for stage in flow.labels)


#: both bundled protocols; the second with fewer patients, to keep the run short (its
#: flow has the same stages at any size)
SCENARIOS = {"lms04": Scenario.load("lms04"),
             "gastric_example": Scenario.load("gastric_example").with_changes(
                 {"patients": 120, "cutoff": {"events": [48, 80], "information": None}})}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_simulated_trials_give_a_partition(name, seed):
    """Over many simulated replicas of each bundled protocol: every box adds up, nobody
    still on treatment has died, and every randomised patient ends in one leaf."""
    scenario = SCENARIOS[name]
    protocol = scenario.protocol_model()
    trial = simulate_trial(scenario, seed=seed)
    adsl = derive_all(trial.domains, protocol, cutoff=trial.cutoff).adsl
    itt = adsl[adsl["ITTFL"] == "Y"]
    labels = dict(zip(itt["ARMCD"], itt["ARM"], strict=True))
    arms = [labels[a.code] for a in protocol.arms]
    phases = arm_phases(protocol, labels)
    flow = consort_flow(adsl, arm="ARM", actual_arm="ACTARM", arms=arms, phases=phases)
    assert flow.unbalanced() == []
    assert flow.omitted == ()
    t = flow.table
    totals = t[t["reason"].isna() & t["arm"].notna()]
    ongoing = totals[totals["stage"].str.startswith("ongoing_")]
    if "DTHDT" in itt:
        alive = itt[itt["DTHDT"].isna()].groupby("ARM").size()
        for r in ongoing.itertuples(index=False):
            assert r.n <= alive.get(r.arm, 0)
    for arm, block in totals[totals["parent"].notna()].groupby("arm"):
        leaves = block[~block["stage"].isin(set(block["parent"]))]
        assert int(leaves["n"].sum()) == int((itt["ARM"] == arm).sum()), arm
