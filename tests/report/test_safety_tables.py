"""The safety tables of the report, on a simulated replica of each bundled protocol: every
count equals a direct computation from ADAE/ADSL, grade columns partition the patients at
their worst grade, fatal events are grade 5 and are deaths, phase rows use the patients who
entered the phase, and nothing prints a P value or another trial's words."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncotrial.clinical import derive_all
from oncotrial.clinical.exposure import phase_suffixes
from oncotrial.core.errors import DataError, InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.safety_exposure import readable
from oncotrial.report.safety_tables import SafetyTables, safety_tables
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
#: words of the reference trial that a report of another trial must not print
FOREIGN = re.compile(r"\bDOX(?:TRAB)?\b|doxorubicin|trabectedin|leiomyosarcoma|lms04|uterine|soft.tissue|"
                     r"induction|maintenance|NCT02997358|INDUC|MAINT", re.IGNORECASE)
#: a P value label in any spelling
P_VALUE = re.compile(r"\bP\b|\bp\b|P.value|p.value", re.IGNORECASE)
GRADES = ("Any grade", "Grade 3", "Grade 4", "Grade 5")


def _lms04() -> tuple[AdamData, Protocol]:
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), LMS04


def _gastric() -> tuple[AdamData, Protocol]:
    scenario = Scenario.load("gastric_example").with_changes(
        {"patients": 240, "cutoff": {"events": [96, 160], "information": None}})
    trial = simulate_trial(scenario, seed=3, look=1)
    protocol = scenario.protocol_model()
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol


@pytest.fixture(scope="module", params=["lms04", "gastric_example"])
def trial(request) -> tuple[AdamData, Protocol]:
    return _lms04() if request.param == "lms04" else _gastric()


@pytest.fixture(scope="module")
def result(trial) -> SafetyTables:
    adam, protocol = trial
    return safety_tables(adam, protocol)


def _teae(adam: AdamData) -> pd.DataFrame:
    """TEAEs of the safety population with the arm actually received, straight from ADaM."""
    safety = adam.adsl.loc[adam.adsl["SAFFL"] == "Y", ["USUBJID", "ACTARM"]]
    teae = adam.adae[adam.adae["TRTEMFL"] == "Y"].merge(safety, on="USUBJID")
    return teae.assign(grade=pd.to_numeric(teae["ATOXGR"]))


def _n(result: SafetyTables, table: str, row: str, arm: str, column: str = "") -> int:
    numbers = result.to_frame()
    hit = numbers[(numbers["table"] == table) & (numbers["row"] == row) & (numbers["group"] == arm)
                  & (numbers["column"] == column) & (numbers["statistic"] == "n")]
    assert len(hit) == 1, (table, row, arm, column)
    return hit["value"].iloc[0]


def _texts(result: SafetyTables) -> list[str]:
    return [text for t in result.tables for text in (t.title, *t.header, *t.footnotes,
                                                      *[c for r in t.rows for c in r.cells])]


def test_every_table_is_there_in_order(result):
    assert [t.key for t in result.tables] == [
        "safety-overview", "safety-teae", "safety-serious", "safety-related", "safety-withdrawn", "safety-deaths",
        "safety-discontinuation", "safety-exposure", "safety-subsequent"]
    for table in result.tables:
        assert all(len(row.cells) in (1, len(table.header)) for row in table.rows), table.key
        assert not re.match(r"Table \d", table.title)


def test_term_counts_equal_a_direct_count_at_the_worst_grade(trial, result):
    adam, _ = trial
    teae = _teae(adam)
    worst = teae.groupby(["ACTARM", "AEBODSYS", "AEDECOD", "USUBJID"])["grade"].max().reset_index()
    checked = 0
    for (arm, soc, term), part in worst.groupby(["ACTARM", "AEBODSYS", "AEDECOD"]):
        row = f"{soc} / {term}"
        assert _n(result, "safety-teae", row, arm, "Any grade") == len(part)
        for grade in (3, 4, 5):
            assert _n(result, "safety-teae", row, arm, f"Grade {grade}") == int((part["grade"] == grade).sum())
        checked += 1
    assert checked > 10


def test_a_patient_counts_once_per_system_organ_class_at_the_worst_grade(trial, result):
    adam, _ = trial
    teae = _teae(adam)
    worst = teae.groupby(["ACTARM", "AEBODSYS", "USUBJID"])["grade"].max().reset_index()
    for (arm, soc), part in worst.groupby(["ACTARM", "AEBODSYS"]):
        severe = sum(_n(result, "safety-teae", soc, arm, f"Grade {g}") for g in (3, 4, 5))
        assert severe == int((part["grade"] >= 3).sum())
        assert _n(result, "safety-teae", soc, arm, "Any grade") == part["USUBJID"].nunique()


def test_n_values_are_integers_and_percentages_of_the_safety_population(trial, result):
    adam, _ = trial
    numbers = result.to_frame()
    assert all(type(v) is int for v in numbers.loc[numbers["statistic"].isin(["n", "N"]), "value"])
    safety = adam.adsl[adam.adsl["SAFFL"] == "Y"]["ACTARM"].value_counts()
    overview = numbers[(numbers["table"] == "safety-overview") & (numbers["statistic"] == "N")]
    assert overview.groupby("group")["value"].first().to_dict() == safety.to_dict()


def test_grade_5_patients_are_in_the_grade_5_column_and_among_deaths(trial, result):
    adam, protocol = trial
    teae = _teae(adam)
    fatal = teae[teae["grade"] == 5]
    assert not fatal.empty, "the replica should hold a fatal event"
    deaths = adam.adsl.set_index("USUBJID")["DTHDT"]
    for arm, part in fatal.groupby("ACTARM"):
        assert _n(result, "safety-teae", "Any treatment-emergent adverse event", arm, "Grade 5") \
            == part["USUBJID"].nunique()
        classed = safety_tables(dataclasses.replace(adam, adsl=adam.adsl.drop(columns="DTHCAUS")), protocol)
        fatal_rows = [r for r in classed.to_frame()["row"].unique() if str(r).startswith("Fatal adverse event:")]
        in_deaths = sum(_n(classed, "safety-deaths", r, arm) for r in fatal_rows)
        assert in_deaths == part["USUBJID"].nunique()
        assert deaths.loc[part["USUBJID"].unique()].notna().all()


@pytest.mark.parametrize("recorded", [True, False], ids=["DTHCAUS", "classed from ADAE"])
def test_causes_of_death_partition_the_deaths(trial, recorded):
    adam, protocol = trial
    if not recorded:
        adam = dataclasses.replace(adam, adsl=adam.adsl.drop(columns="DTHCAUS"))
    numbers = safety_tables(adam, protocol).to_frame()
    deaths = numbers[(numbers["table"] == "safety-deaths") & (numbers["statistic"] == "n")]
    safety = adam.adsl[adam.adsl["SAFFL"] == "Y"]
    for arm, part in deaths.groupby("group"):
        total = int(part.loc[part["row"] == "Deaths", "value"].iloc[0])
        assert total == int(safety.loc[safety["ACTARM"] == arm, "DTHDT"].notna().sum())
        window = part["row"].str.endswith("treatment-emergent window")
        assert part.loc[window, "value"].sum() == total
        causes = part[~window & (part["row"] != "Deaths")]
        assert causes["value"].sum() == total
        fallback = causes["row"].str.startswith(("Fatal adverse event:", "No fatal adverse event"))
        assert fallback.all() != recorded
    if recorded:
        dead = safety[safety["DTHDT"].notna()]
        assert set(deaths["row"]) - {"Deaths"} >= {readable(c) for c in dead["DTHCAUS"].dropna()}


def test_discontinuation_phase_rows_add_up_to_the_patients_who_stopped(trial, result):
    adam, _ = trial
    numbers = result.to_frame()
    stops = numbers[(numbers["table"] == "safety-discontinuation") & (numbers["statistic"] == "n")]
    for _, part in stops.groupby("group"):
        total = part.loc[part["row"] == "Treatment stopped because of an adverse event", "value"].sum()
        phases = part[part["row"] != "Treatment stopped because of an adverse event"]
        assert phases["value"].sum() == total
    # the simulator marks the event behind each stop: the by-term table counts the same patients
    withdrawn = numbers[(numbers["table"] == "safety-withdrawn") & (numbers["statistic"] == "n")
                        & (numbers["row"] == "Any adverse event leading to withdrawal")
                        & (numbers["column"] == "Any grade")]
    stopped = stops[stops["row"] == "Treatment stopped because of an adverse event"]
    assert "AEACN" in adam.adae.columns and not withdrawn.empty
    assert dict(zip(withdrawn["group"], withdrawn["value"], strict=True)) == dict(
        zip(stopped["group"], stopped["value"], strict=True))


def test_phase_rows_use_the_patients_who_entered_the_phase(trial, result):
    adam, protocol = trial
    safety = adam.adsl[adam.adsl["SAFFL"] == "Y"]
    numbers = result.to_frame()
    exposure = numbers[(numbers["table"] == "safety-exposure") & (numbers["statistic"] == "N")]
    smaller = 0
    for name, suffix in phase_suffixes(protocol).items():
        phase = name[:1].upper() + name[1:].lower()
        for arm, part in safety.groupby("ACTARM"):
            entered = int((part[f"CYC{suffix}"] > 0).sum())
            rows = exposure[(exposure["group"] == arm) & exposure["row"].str.startswith(f"{phase}: ")
                            & ~exposure["row"].str.endswith("Entered the phase")]
            assert set(rows["value"]) <= {entered}
            if not rows.empty and entered < len(part):
                smaller += 1
            if not rows.empty:
                assert _n(result, "safety-exposure", f"{phase}: Cycles received", arm) == entered
            reduced = _n(result, "safety-exposure", f"{phase}: Dose reduced", arm) if not rows.empty else None
            if reduced is not None:
                assert reduced == int(((part[f"CYC{suffix}"] > 0) & (part[f"RED{suffix}"] == "Y")).sum())
    assert smaller > 0, "a later phase is entered by fewer patients than the arm holds"


def test_no_p_value_anywhere(result):
    assert not [text for text in _texts(result) if P_VALUE.search(text)]


def test_footnotes_give_ctcae_version_window_meddra_and_threshold(trial, result):
    _, protocol = trial
    notes = " ".join(result.table("safety-teae").footnotes)
    assert f"CTCAE version {protocol.adverse_events.ctcae_version}" in notes
    assert protocol.adverse_events.window.rstrip(".") in notes
    meddra = protocol.adverse_events.meddra_version
    assert (f"MedDRA version {meddra}." if meddra else "MedDRA version not stated in the protocol") in notes
    assert (meddra is None) == (protocol.id == "LMS04")  # the publication does not state it
    assert "All preferred terms are shown" in notes


def test_a_report_of_another_trial_prints_none_of_the_reference_trial_words():
    adam, protocol = _gastric()
    texts = _texts(safety_tables(adam, protocol))
    assert not [text for text in texts if FOREIGN.search(text)]


def test_threshold_keeps_frequent_terms_and_complete_overview(trial, result):
    adam, protocol = trial
    filtered = safety_tables(adam, protocol, min_percent=20)
    assert filtered.table("safety-overview") == result.table("safety-overview")
    full, short = result.table("safety-teae"), filtered.table("safety-teae")
    assert [r for r in full.rows if not r.indent] == [r for r in short.rows if not r.indent]
    assert len(short.rows) < len(full.rows)
    numbers = filtered.to_frame()
    terms = numbers[(numbers["table"] == "safety-teae") & numbers["row"].str.contains(" / ")
                    & (numbers["column"] == "Any grade") & (numbers["statistic"] == "pct")]
    assert (terms.groupby("row")["value"].max() >= 20).all()
    assert "at least 20.0% of the patients" in " ".join(short.footnotes)


@pytest.mark.parametrize(("dataset", "column"), [("adae", "ATOXGR"), ("adae", "AEDECOD"), ("adsl", "SAFFL"),
                                                 ("adsl", "ACTARM")])
def test_a_missing_required_column_is_an_error_naming_it(trial, dataset, column):
    adam, protocol = trial
    frames = {"adsl": adam.adsl, "adae": adam.adae}
    frames[dataset] = frames[dataset].drop(columns=[column])
    with pytest.raises(DataError, match=column) as error:
        safety_tables(AdamData(frames["adsl"], adam.adtte, adam.adrs, frames["adae"]), protocol)
    assert dataset.upper() in str(error.value)


@pytest.mark.parametrize(("dataset", "column", "key"), [
    ("adae", "AESER", "safety-serious"), ("adae", "AEREL", "safety-related"), ("adsl", "DTHDT", "safety-deaths"),
    ("adsl", "DCTREAS", "safety-discontinuation"), ("adsl", "CYCLES", "safety-exposure")])
def test_an_absent_optional_variable_leaves_its_table_out_with_a_message(trial, dataset, column, key):
    adam, protocol = trial
    frames = {"adsl": adam.adsl, "adae": adam.adae}
    frames[dataset] = frames[dataset].drop(columns=[column])
    out = safety_tables(AdamData(frames["adsl"], adam.adtte, adam.adrs, frames["adae"]), protocol)
    assert key not in [t.key for t in out.tables]
    assert any(column in message for message in out.messages)


def test_absent_subsequent_therapy_and_surgery_are_said():
    adam, protocol = _lms04()
    adsl = adam.adsl.drop(columns=["NACTDT", "NACTTRT", "SURGFL"])
    out = safety_tables(AdamData(adsl, adam.adtte, adam.adrs, adam.adae), protocol)
    assert "safety-subsequent" not in [t.key for t in out.tables]
    assert any("NACTDT" in m for m in out.messages) and any("SURGFL" in m for m in out.messages)


def test_bad_threshold_and_unknown_causality_are_errors(trial):
    adam, protocol = trial
    with pytest.raises(InputError, match="min_percent"):
        safety_tables(adam, protocol, min_percent=150)
    adae = adam.adae.copy()
    adae.loc[adae.index[0], "AEREL"] = "MAYBE"
    with pytest.raises(DataError, match="AEREL"):
        safety_tables(AdamData(adam.adsl, adam.adtte, adam.adrs, adae), protocol)


# ----------------------------------------------------------------------------- synthetic data

_ARMS = [a.label for a in LMS04.arms]


def _synthetic(events: list[tuple[int, int, int, int]], patients: int) -> AdamData:
    """Patients 0..patients-1 alternating arms; events (patient, SOC, term, grade)."""
    adsl = pd.DataFrame({"USUBJID": [f"P{i}" for i in range(patients)], "SAFFL": "Y",
                         "ACTARM": [_ARMS[i % 2] for i in range(patients)]})
    adae = pd.DataFrame({"USUBJID": [f"P{p}" for p, *_ in events], "AEBODSYS": [f"SOC {s}" for _, s, _, _ in events],
                         "AEDECOD": [f"Term {s}.{t}" for _, s, t, _ in events], "TRTEMFL": "Y",
                         "ATOXGR": [g for *_, g in events], "AESER": "N", "AEREL": "RELATED"},
                        columns=["USUBJID", "AEBODSYS", "AEDECOD", "TRTEMFL", "ATOXGR", "AESER", "AEREL"])
    return AdamData(adsl, pd.DataFrame(), None, adae)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 8).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n - 1), st.integers(0, 2), st.integers(0, 2), st.integers(1, 5)), max_size=30))))
def test_grade_columns_never_exceed_any_grade(case):
    patients, events = case
    out = safety_tables(_synthetic(events, patients), LMS04)
    numbers = out.to_frame()
    counts = numbers[(numbers["table"] == "safety-teae") & (numbers["statistic"] == "n")]
    wide = counts.pivot_table(index=["row", "group"], columns="column", values="value", aggfunc="sum")
    assert (wide["Any grade"] >= wide["Grade 3"] + wide["Grade 4"] + wide["Grade 5"]).all()
    assert set(wide.columns) == set(GRADES)
    anyone = wide.xs("Any treatment-emergent adverse event", level="row")["Any grade"]
    expected = pd.Series({arm: len({p for p, *_ in events if _ARMS[p % 2] == arm}) for arm in _ARMS})
    assert anyone.reindex(_ARMS).tolist() == expected.tolist()


def test_a_fatal_outcome_is_grade_5_whatever_the_recorded_grade():
    adam = _synthetic([(0, 0, 0, 3), (1, 0, 0, 2)], 2)
    adae = adam.adae.assign(AEOUT=["FATAL", "RECOVERED/RESOLVED"])
    out = safety_tables(AdamData(adam.adsl, adam.adtte, None, adae), LMS04)
    assert _n(out, "safety-teae", "SOC 0 / Term 0.0", _ARMS[0], "Grade 5") == 1
    assert _n(out, "safety-teae", "SOC 0 / Term 0.0", _ARMS[0], "Grade 3") == 0
    assert any("counted as grade 5" in m for m in out.messages)
    assert any("DTHDT" in m for m in out.messages) and any("CYCLES" in m for m in out.messages)


def test_events_leading_to_withdrawal_are_tabulated_by_term_when_adae_says_so():
    adam = _synthetic([(0, 0, 0, 3), (0, 0, 1, 2), (1, 1, 0, 1), (2, 0, 0, 4)], 4)
    adae = adam.adae.assign(AEACN=["DRUG WITHDRAWN", "DOSE NOT CHANGED", "DRUG WITHDRAWN", "DOSE REDUCED"])
    out = safety_tables(AdamData(adam.adsl, adam.adtte, None, adae), LMS04)
    table = out.table("safety-withdrawn")
    assert [r.cells[0] for r in table.rows] == ["Any adverse event leading to withdrawal", "SOC 0", "Term 0.0",
                                                "SOC 1", "Term 1.0"]
    assert _n(out, "safety-withdrawn", "SOC 0 / Term 0.0", _ARMS[0], "Grade 3") == 1
    assert _n(out, "safety-withdrawn", "SOC 0 / Term 0.0", _ARMS[0], "Any grade") == 1
    assert _n(out, "safety-withdrawn", "SOC 1 / Term 1.0", _ARMS[1], "Any grade") == 1


def test_a_safety_patient_without_an_arm_is_an_error_naming_the_column():
    adam = _synthetic([(0, 0, 0, 3)], 3)
    adsl = adam.adsl.assign(ACTARM=[_ARMS[0], None, _ARMS[0]])
    with pytest.raises(DataError, match="ACTARM") as error:
        safety_tables(AdamData(adsl, adam.adtte, None, adam.adae), LMS04)
    assert error.value.rows == [2]


def test_a_supplied_dose_intensity_that_is_no_phase_s_is_shown_under_its_name(trial):
    adam, protocol = trial
    adsl = adam.adsl.assign(RDI=90.0)
    table = safety_tables(AdamData(adsl, adam.adtte, adam.adrs, adam.adae), protocol).table("safety-exposure")
    labels = [row.cells[0] for row in table.rows]
    assert "Relative dose intensity (RDI), %, median (range)" in labels
    phase_rows = [label for label in labels if label == "Relative dose intensity, %, median (range)"]
    assert len(phase_rows) == len([c for c in adsl.columns if c.startswith("RDI") and c != "RDI"])
