"""Relative dose intensity (clinical/dose_intensity.py): the formula on hand-made EX records,
its parts (reduction, delay, a drug never given, a record that cannot be compared), and the
RDI<phase> variables of ADSL derived from a simulated replica of each bundled protocol."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.clinical.dose_intensity import derive_rdi, relative_doses
from oncotrial.protocol import Protocol
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")


def _ex(rows: list[tuple[str, str, float, str]], epoch: str = "INDUCTION") -> pd.DataFrame:
    """EX records (subject, drug, dose in mg/m2, date) of one phase."""
    return pd.DataFrame([{"USUBJID": s, "EXTRT": drug, "EXDOSE": dose, "EXDOSU": "mg/m2", "EXSTDTC": date,
                          "EPOCH": epoch} for s, drug, dose, date in rows])


def _rdi(adsl: pd.DataFrame, given: pd.DataFrame) -> dict[str, float]:
    doses = relative_doses(adsl, given, LMS04, set(), {})
    derive_rdi(adsl, given, LMS04, doses["ratio"])
    return dict(zip(adsl["USUBJID"], adsl["RDIINDUC"], strict=True))


def test_full_dose_on_schedule_is_100_and_reductions_and_delays_lower_it():
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C", "D"], "ACTARMCD": ["DOX", "DOX", "DOX", "DOXTRAB"]})
    given = _ex([
        # A: 75 mg/m2 every 21 days, three cycles
        ("A", "doxorubicin", 75, "2024-01-01"), ("A", "doxorubicin", 75, "2024-01-22"),
        ("A", "doxorubicin", 75, "2024-02-12"),
        # B: reduced to 60 from cycle 2, each cycle a week late: 3 cycles in the time of 56/21 + 1
        ("B", "doxorubicin", 75, "2024-01-01"), ("B", "doxorubicin", 60, "2024-01-29"),
        ("B", "doxorubicin", 60, "2024-02-26"),
        # C: one cycle only: the time allowed one cycle
        ("C", "doxorubicin", 75, "2024-01-01"),
        # D: the combination on schedule but without trabectedin in cycle 2
        ("D", "doxorubicin", 60, "2024-01-01"), ("D", "trabectedin", 1.1, "2024-01-01"),
        ("D", "doxorubicin", 60, "2024-01-22"),
    ])
    rdi = _rdi(adsl, given)
    assert rdi["A"] == pytest.approx(100.0, rel=1e-12)
    assert rdi["B"] == pytest.approx(100 * (1 + 0.8 + 0.8) / 3 * 3 / (56 / 21 + 1), rel=1e-12)
    assert rdi["C"] == pytest.approx(100.0, rel=1e-12)
    # doxorubicin 100%; trabectedin full dose in 1 of the 2 cycles: 50%; the phase: their mean
    assert rdi["D"] == pytest.approx(75.0, rel=1e-12)


def test_a_drug_never_given_counts_zero_and_an_uncomparable_record_leaves_the_drug_out():
    adsl = pd.DataFrame({"USUBJID": ["E", "F", "G"], "ACTARMCD": ["DOXTRAB", "DOXTRAB", "DOX"]})
    given = _ex([("E", "doxorubicin", 60, "2024-01-01"),
                 ("F", "doxorubicin", 60, "2024-01-01"), ("F", "trabectedin", 1.1, "2024-01-01")])
    # G's only record is in milligrams, without a body size: not comparable, so no RDI at all
    given = pd.concat([given, _ex([("G", "doxorubicin", 120, "2024-01-01")]).assign(EXDOSU="mg")],
                      ignore_index=True)
    rdi = _rdi(adsl, given)
    assert rdi["E"] == pytest.approx(50.0)  # doxorubicin 100%, trabectedin never given 0%
    assert rdi["F"] == pytest.approx(100.0)
    assert math.isnan(rdi["G"])


def test_no_epoch_no_rdi():
    adsl = pd.DataFrame({"USUBJID": ["A"], "ACTARMCD": ["DOX"]})
    given = _ex([("A", "doxorubicin", 75, "2024-01-01")]).drop(columns="EPOCH")
    derive_rdi(adsl, given, LMS04, relative_doses(adsl, given, LMS04, set(), {})["ratio"])
    assert not any(c.startswith("RDI") for c in adsl.columns)


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
def test_adsl_rdi_of_a_replica_is_a_percentage_of_the_phase_entered(name):
    protocol = Protocol.load(name)
    trial = simulate_trial(name, seed=4)
    adsl = derive_all(trial.domains, protocol, cutoff=trial.cutoff).adsl
    columns = [c for c in adsl.columns if c.startswith("RDI")]
    assert columns
    for column in columns:
        suffix = column.removeprefix("RDI")
        entered = pd.to_numeric(adsl[f"CYC{suffix}"], errors="coerce").fillna(0) > 0
        values = adsl.loc[entered, column]
        assert values.notna().all() and adsl.loc[~entered, column].isna().all()
        # simulated patients get full or reduced doses, with delays: never more than the full dose on time
        assert values.between(0, 100 + 1e-9).all() and 80 <= values.median() <= 100
        reduced = adsl.loc[entered & (adsl[f"RED{suffix}"] == "Y"), column]
        if len(reduced):
            assert (reduced < 100).all()
