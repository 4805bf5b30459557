"""Captured data can hold real trial data: SDTM -> records -> SDTM gives the same analysis.

For each bundled protocol a simulated replica is loaded as capture records
(:func:`sdtm_to_records`), exported again (:func:`records_to_sdtm`), and both exports are
derived with the replica's cut-off: ADSL, ADTTE, ADRS and ADAE must be identical. Every
record must also pass :func:`validate_form` unchanged, with the context the capture
service would give (randomisation date, arm, baseline lesions).

The gastric replica is the bundled scenario with 240 patients and a fixed cut-off instead
of 890 patients (the derivations of 890 take half a minute on two cores); the LMS04 replica
is the bundled scenario as it is (150 patients).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.clinical.crf import (
    SubjectContext,
    form_specs,
    records_to_sdtm,
    sdtm_to_records,
    validate_form,
)
from oncotrial.protocol import Protocol
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial

PROTOCOLS = ["lms04", "gastric_example"]
KEYS = ("USUBJID", "PARAMCD", "ADT", "ASTDT", "AEDECOD", "AESEQ")


@pytest.fixture(scope="module", params=PROTOCOLS)
def replica(request: pytest.FixtureRequest) -> tuple:
    name = request.param
    protocol = Protocol.load(name)
    scenario = Scenario.load(name)
    if name == "gastric_example":
        scenario = Scenario.from_dict({**scenario.to_dict(), "patients": 240,
                                       "cutoff": "2027-06-30"})
    trial = simulate_trial(scenario, seed=7)
    records, subjects = sdtm_to_records(trial.domains, protocol)
    return protocol, trial, records, subjects


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    columns = sorted(frame.columns)
    keys = [c for c in KEYS if c in columns]
    return frame[columns].sort_values(keys, kind="stable").reset_index(drop=True)


def test_round_trip_gives_identical_adam(replica: tuple) -> None:
    protocol, trial, records, subjects = replica
    again = records_to_sdtm(records, protocol, subjects)
    assert set(again) == {"DM", "DS", "EX", "AE", "CM", "TU", "TR", "RS", "PR"}
    original = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    captured = derive_all(again, protocol, cutoff=trial.cutoff)
    for name in ("adsl", "adtte", "adrs", "adae"):
        left, right = getattr(original, name), getattr(captured, name)
        assert len(left) > 0, name
        pd.testing.assert_frame_equal(_sorted(left), _sorted(right), obj=name)


def test_every_record_passes_validation_unchanged(replica: tuple) -> None:
    protocol, trial, records, subjects = replica
    specs = form_specs(protocol)
    baseline = {r.subject: r.data["lesions"] for r in records
                if r.form == "tumour_assessment" and r.key == "0"}
    today = pd.Timestamp(trial.cutoff).date() + dt.timedelta(days=3650)
    forms = set()
    for record in records:
        info = subjects[record.subject]
        context = SubjectContext(today=today, randomised_on=info.randomised_on,
                                 arm=info.armcd, baseline_lesions=baseline.get(record.subject))
        result = validate_form(specs[record.form], dict(record.data), context)
        assert result.issues == (), (record.form, record.key, result.issues)
        assert dict(result.values) == dict(record.data)
        forms.add(record.form)
    assert {"baseline", "cycle", "tumour_assessment", "adverse_event", "death",
            "end_of_treatment", "subsequent_therapy"} <= forms


def test_masked_validation_accepts_every_arms_dose(replica: tuple) -> None:
    """A masked role (arm unknown) can enter the cycles of every arm without a reason."""
    protocol, trial, records, subjects = replica
    spec = form_specs(protocol)["cycle"]
    today = pd.Timestamp(trial.cutoff).date() + dt.timedelta(days=3650)
    for record in [r for r in records if r.form == "cycle"][:300]:
        context = SubjectContext(today=today, randomised_on=subjects[record.subject].randomised_on)
        assert validate_form(spec, dict(record.data), context).issues == ()


def test_masked_subjects_export_empty_arms(replica: tuple) -> None:
    protocol, _trial, records, subjects = replica
    masked = {s: type(i)(i.study_id, i.site, None, None, None, i.randomised_on, i.factors,
                         i.extra) for s, i in list(subjects.items())[:5]}
    dm = records_to_sdtm([r for r in records if r.subject in masked], protocol, masked)["DM"]
    assert dm["ARMCD"].isna().all() and len(dm) == 5
