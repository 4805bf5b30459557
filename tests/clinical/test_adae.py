"""Tests of ADAE derivation (TEAE window, worst-grade flags, SAFFL) and the AE summary."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical.adae import adverse_event_summary, derive_adae, derive_saffl

ADSL = pd.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3"],
        "ARM": ["GEM-DOX", "GEM-DOX", "DOX"],
        "RANDDT": pd.to_datetime(["2020-01-01", "2020-01-01", None]),
        "TEAEENDT": pd.to_datetime(["2020-06-30", None, None]),
    }
)
EX = pd.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3"],
        "EXTRT": "DOXORUBICIN",
        "EXDOSE": [75, 0, 75],
        "EXSTDTC": ["2020-01-02", "2020-01-02", "2020-01-02"],
    }
)
AE = pd.DataFrame(
    {
        "USUBJID": ["S1", "S1", "S1", "S1", "S1", "S2", "S3", "S4"],
        "AEDECOD": [
            "Neutropenia",
            "Neutropenia",
            "Anaemia",
            "Nausea",
            "Nausea",
            "Nausea",
            "Nausea",
            "Nausea",
        ],
        "AEBODSYS": ["Blood", "Blood", "Blood", "GI", "GI", "GI", "GI", "GI"],
        "AESTDTC": [
            "2020-02-01",
            "2020-03-01",
            "2020-02-10",
            "2019-12-20",
            "2020-07-01",
            "2020-01-05",
            "2020-01-05",
            "2020-01-05",
        ],
        "AETOXGR": [3, 4, 2, 2, 3, 5, 1, 1],
        "AESER": ["N", "Y", "N", "N", "N", "Y", "N", "N"],
    }
)


def _flags(adae, column):
    return adae.set_index(["USUBJID", "AEDECOD", "AETOXGR"])[column].to_dict()


def test_derive_saffl_needs_a_cycle_with_positive_dose():
    result = derive_saffl(ADSL, EX)
    assert result.data["SAFFL"].tolist() == ["Y", "N", "Y"]  # S2 had a zero dose
    assert result.issues == ()


def test_derive_adae_flags_worked_by_hand():
    result = derive_adae(AE, ADSL)
    adae = result.data
    # S3 has no RANDDT and S4 is not a subject: both reported, not silently dropped.
    assert {(i.usubjid, i.field) for i in result.issues} == {
        ("S3", "RANDDT"),
        ("S4", "USUBJID"),
    }
    assert set(adae["USUBJID"]) == {"S1", "S2"}
    # Nausea 2019-12-20 is before randomisation, 2020-07-01 after TEAEENDT (progression).
    # S2 has no TEAEENDT: open window.
    assert _flags(adae, "TRTEMFL") == {
        ("S1", "Neutropenia", 3): "Y",
        ("S1", "Neutropenia", 4): "Y",
        ("S1", "Anaemia", 2): "Y",
        ("S1", "Nausea", 2): "N",
        ("S1", "Nausea", 3): "N",
        ("S2", "Nausea", 5): "Y",
    }
    # Worst per term: neutropenia grade 4; non-TEAE nausea never flagged.
    assert _flags(adae, "AWRSTPFL") == {
        ("S1", "Neutropenia", 3): "N",
        ("S1", "Neutropenia", 4): "Y",
        ("S1", "Anaemia", 2): "Y",
        ("S1", "Nausea", 2): "N",
        ("S1", "Nausea", 3): "N",
        ("S2", "Nausea", 5): "Y",
    }
    # Worst per SOC: Blood -> neutropenia grade 4 only (anaemia grade 2 is not the worst).
    sof = _flags(adae, "AWRSTSFL")
    assert sof[("S1", "Neutropenia", 4)] == "Y" and sof[("S1", "Anaemia", 2)] == "N"
    assert _flags(adae, "AOCCPFL")[("S1", "Neutropenia", 3)] == "Y"  # first by date
    assert _flags(adae, "GR34FL")[("S2", "Nausea", 5)] == "N"  # grade 5 is not "3-4"
    assert _flags(adae, "GRGE3FL")[("S2", "Nausea", 5)] == "Y"


def test_adverse_event_summary_counts_subjects_once_over_safety_population():
    adsl = derive_saffl(ADSL, EX).data
    adae = derive_adae(AE, ADSL).data
    summary = adverse_event_summary(adae, adsl)
    overall = summary.to_frame().set_index("ARM")
    # Safety population: GEM-DOX = S1 (S2 got no dose), DOX = S3 (no TEAE derivable).
    assert overall.loc["GEM-DOX", "N"] == 1 and overall.loc["DOX", "N"] == 1
    assert overall.loc[
        "GEM-DOX", ["any_n", "gr34_n", "gr5_n", "serious_n"]
    ].tolist() == [1, 1, 0, 1]
    assert overall.loc["GEM-DOX", "any_pct"] == 100.0
    assert overall.loc["DOX", "any_n"] == 0 and overall.loc["DOX", "any_pct"] == 0.0
    terms = summary.by_term.set_index("AEDECOD")
    assert terms.loc["Neutropenia", ["any_n", "gr34_n"]].tolist() == [1, 1]
    assert terms.loc["Anaemia", ["any_n", "gr34_n"]].tolist() == [1, 0]
    assert (
        "Nausea" not in terms.index
    )  # S1's nausea is not TEAE, S2 not in safety population


records = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2", "S3"]),
        st.sampled_from(["Nausea", "Fatigue", "Neutropenia"]),
        st.integers(min_value=-30, max_value=200),
        st.integers(min_value=1, max_value=5),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


@settings(max_examples=60, deadline=None)
@given(records)
def test_worst_grade_is_max_teae_grade_and_grade3_never_exceeds_any(rows):
    ae = pd.DataFrame(
        {
            "USUBJID": [r[0] for r in rows],
            "AEDECOD": [r[1] for r in rows],
            "AEBODSYS": "SOC",
            "AESTDTC": [
                (pd.Timestamp("2020-01-01") + pd.Timedelta(days=r[2]))
                .date()
                .isoformat()
                for r in rows
            ],
            "AETOXGR": [r[3] for r in rows],
            "AESER": "N",
        }
    )
    adsl = ADSL.assign(RANDDT=pd.Timestamp("2020-01-01"), SAFFL="Y")
    result = derive_adae(ae, adsl)
    assert result.issues == ()
    adae = result.data
    teae = adae[adae["TRTEMFL"] == "Y"]
    worst = adae[adae["AWRSTPFL"] == "Y"].set_index(["USUBJID", "AEDECOD"])["ATOXGR"]
    expected = teae.groupby(["USUBJID", "AEDECOD"])["ATOXGR"].max()
    assert worst.sort_index().tolist() == expected.sort_index().tolist()
    assert worst.index.is_unique
    summary = adverse_event_summary(adae, adsl)
    assert (summary.by_term["gr34_n"] <= summary.by_term["any_n"]).all()
    assert (summary.overall["gr34_n"] <= summary.overall["any_n"]).all()


def test_derive_adae_keeps_the_action_taken_upper_cased():
    actions = ["drug withdrawn", "DOSE REDUCED", "DOSE NOT CHANGED", None, None, "NOT APPLICABLE", None, None]
    adae = derive_adae(AE.assign(AEACN=actions), ADSL).data
    kept = adae.set_index(["USUBJID", "AEDECOD", "AETOXGR"])["AEACN"]
    assert kept[("S1", "Neutropenia", 3)] == "DRUG WITHDRAWN"
    assert kept[("S1", "Neutropenia", 4)] == "DOSE REDUCED"
    assert pd.isna(kept[("S1", "Nausea", 2)])
