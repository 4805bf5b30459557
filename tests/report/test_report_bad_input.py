"""Bad ADaM input at the report layer: each problem is refused with the exact error class and
a message naming the dataset, the variable and the 1-based data rows; nothing is dropped,
coerced or overwritten. An arm without events gives a hazard ratio reported as not
estimable, never an artefact such as 1.7e-13 (0–inf)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.text import Text

from oncotrial.clinical import derive_all
from oncotrial.core.errors import DataError, InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, AdamValidationError, validate_adam
from oncotrial.report.analysis import analyse
from oncotrial.report.efficacy import efficacy_summary
from oncotrial.report.html import efficacy_table
from oncotrial.report.km_plot import km_figure
from oncotrial.report.ph_plot import loglog_figure
from oncotrial.report.tables import NO_BOR, Continuous, response_table, table1
from oncotrial.report.writer import build_report, endpoint_data
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
EXPERIMENTAL = "Doxorubicin + trabectedin"
#: an exponent as Python prints a tiny or huge float: 1.7e-13, 3.9e+12
EXPONENT = re.compile(r"\d[eE][-+]\d")


@pytest.fixture
def adam() -> AdamData:
    """Four randomised patients (two per LMS04 arm) with PFS and OS and a BOR each."""
    adsl = pd.DataFrame({
        "USUBJID": ["P1", "P2", "P3", "P4"],
        "ARMCD": ["DOX", "DOX", "DOXTRAB", "DOXTRAB"],
        "ARM": ["Doxorubicin", "Doxorubicin", EXPERIMENTAL, EXPERIMENTAL],
        "ITTFL": ["Y"] * 4,
        "AGE": [61, 55, 70, 48],
        "DTHFL": ["Y", "N", "N", "Y"],
        "DTHDT": ["2019-01-04", None, None, "2018-05-01"],
        "origin": ["uterine", "soft_tissue", "uterine", "soft_tissue"],
        "stage": ["metastatic", "metastatic", "locally_advanced", "metastatic"],
    })
    adtte = pd.DataFrame({
        "USUBJID": ["P1", "P2", "P3", "P4"] * 2,
        "PARAMCD": ["PFS"] * 4 + ["OS"] * 4,
        "AVAL": [316.0, 120, 400, 90, 688, 900, 1200, 395],
        "CNSR": [0, 0, 1, 0, 0, 1, 1, 0],
    })
    adrs = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4"], "PARAMCD": "BOR", "AVALC": ["SD", "PD", "PR", "CR"]})
    return AdamData(adsl, adtte, adrs)


def _refused(adam: AdamData, protocol: Protocol | None = LMS04) -> AdamValidationError:
    with pytest.raises(AdamValidationError) as info:
        validate_adam(adam, protocol)
    assert isinstance(info.value, DataError)
    return info.value


def _problem(error: AdamValidationError, dataset: str, variable: str) -> DataError:
    """The one problem of ``error`` about ``dataset.variable``."""
    found = [p for p in error.problems if (p.dataset, p.variable) == (dataset, variable)]
    assert len(found) == 1, [str(p) for p in error.problems]
    assert type(found[0]) is DataError
    return found[0]


# ----------------------------------------------------------------------------- codes

def test_unknown_response_code_is_refused_naming_adrs_avalc_and_row(adam):
    adrs = adam.adrs.assign(AVALC=["SD", "XX", "PR", "CR"])
    problem = _problem(_refused(AdamData(adam.adsl, adam.adtte, adrs)), "ADRS", "AVALC")
    assert problem.rows == [2]
    assert "ADRS.AVALC: best overall response 'XX' is not a RECIST 1.1 code" in str(problem)
    assert "rows [2] (1 row)" in str(problem)


def test_response_table_refuses_an_unknown_code_by_its_adrs_row(adam):
    """Called on its own (without validation), the table refuses the code too, by its row
    in the ADRS passed, rather than counting the patient in no category."""
    adrs = pd.concat([pd.DataFrame({"USUBJID": ["P1"], "PARAMCD": ["OVRLRESP"], "AVALC": ["PR"]}),
                      adam.adrs.assign(AVALC=["SD", "PD", "XX", "CR"])], ignore_index=True)
    with pytest.raises(DataError) as info:
        response_table(adam.adsl, adrs)
    assert type(info.value) is DataError
    assert (info.value.dataset, info.value.variable, info.value.rows) == ("ADRS", "AVALC", [4])
    assert "ADRS.AVALC" in str(info.value) and "'XX'" in str(info.value) and "rows [4]" in str(info.value)


def test_blank_best_overall_response_is_refused(adam):
    adrs = adam.adrs.assign(AVALC=["SD", "PD", " ", "CR"])
    problem = _problem(_refused(AdamData(adam.adsl, adam.adtte, adrs)), "ADRS", "AVALC")
    assert problem.rows == [3] and "missing" in str(problem)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING", None]),
                min_size=2, max_size=30))
def test_response_categories_partition_each_arm(responses):
    """Every randomised patient is in exactly one best-response row (None: no BOR record),
    so the rows of an arm add up to its N."""
    n = len(responses)
    adsl = pd.DataFrame({"USUBJID": [f"S{i}" for i in range(n)], "ITTFL": "Y",
                         "ARM": ["A" if i % 2 == 0 else "B" for i in range(n)]})
    adrs = pd.DataFrame([{"USUBJID": f"S{i}", "PARAMCD": "BOR", "AVALC": r}
                         for i, r in enumerate(responses) if r is not None],
                        columns=["USUBJID", "PARAMCD", "AVALC"])
    best = response_table(adsl, adrs).best_response
    for arm, rows in best.groupby("arm"):
        assert rows["n"].sum() == (adsl["ARM"] == arm).sum() == rows["N"].iloc[0]
    assert (NO_BOR in set(best["category"])) == (None in responses)


# ----------------------------------------------------------------------------- arms

def test_arm_code_outside_the_protocol_is_refused(adam):
    adsl = adam.adsl.assign(ARMCD=["DOX", "DOX", "DOXTRAB", "PLACEBO"])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "ARMCD")
    assert problem.rows == [4] and "not an arm of protocol LMS04" in str(problem)


def test_arm_label_disagreeing_with_the_protocol_is_refused_not_overwritten(adam):
    adsl = adam.adsl.assign(ARM=["Doxorubicin", "Doxorubicin", "Trabectedin", "Trabectedin"])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "ARM")
    assert problem.rows == [3, 4]
    assert "'Trabectedin' disagrees with protocol LMS04" in str(problem) and repr(EXPERIMENTAL) in str(problem)
    assert adsl["ARM"].tolist()[2:] == ["Trabectedin", "Trabectedin"]  # the input is left as it was


# ----------------------------------------------------------------------------- deaths

def test_death_flag_without_death_date_is_refused(adam):
    adsl = adam.adsl.assign(DTHDT=["2019-01-04", None, None, None])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "DTHDT")
    assert problem.rows == [4] and "DTHFL = Y without a death date" in str(problem)


def test_death_date_without_death_flag_is_refused(adam):
    adsl = adam.adsl.assign(DTHDT=["2019-01-04", "2018-02-01", None, "2018-05-01"])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "DTHFL")
    assert problem.rows == [2] and "DTHFL is not Y" in str(problem)


# ----------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("dataset", "variable", "values", "rows"), [
    ("ADTTE", "AVAL", [316.0, "120", 400, 90, 688, 900, 1200, 395], [2]),
    ("ADTTE", "CNSR", [0, 0, True, 0, 0, "1", 1, 0], [3, 6]),
    ("ADSL", "AGE", [61, "55", 70, False], [2, 4]),
])
def test_text_and_booleans_in_numeric_variables_are_refused(adam, dataset, variable, values, rows):
    frames = {"ADSL": adam.adsl, "ADTTE": adam.adtte}
    frames[dataset] = frames[dataset].assign(**{variable: pd.Series(values, dtype=object)})
    problem = _problem(_refused(AdamData(frames["ADSL"], frames["ADTTE"]), None), dataset, variable)
    assert problem.rows == rows
    assert f"{dataset}.{variable}: expected numbers" in str(problem) and f"rows {rows}" in str(problem)


def test_boolean_column_is_not_a_censoring_flag(adam):
    adtte = adam.adtte.assign(CNSR=[False, False, True, False, False, True, True, False])
    problem = _problem(_refused(AdamData(adam.adsl, adtte), None), "ADTTE", "CNSR")
    assert problem.rows == list(range(1, 9))


def test_table1_refuses_numbers_written_as_text_by_adsl_row(adam):
    adsl = adam.adsl.assign(AGE=pd.Series([61, 55, "70", 48], dtype=object))
    with pytest.raises(DataError) as info:
        table1(adsl, arm="ARM", variables=[Continuous("AGE", "Age")])
    assert type(info.value) is DataError
    assert (info.value.dataset, info.value.variable, info.value.rows) == ("ADSL", "AGE", [3])


def test_table1_of_a_population_reports_adsl_rows(adam):
    """Table 1 of the randomised patients names the ADSL row, not the row within them."""
    adsl = adam.adsl.assign(ITTFL=["N", "Y", "Y", "Y"], AGE=pd.Series([61, 55, "old", 48], dtype=object))
    with pytest.raises(DataError) as info:
        table1(adsl, arm="ARM", variables=[Continuous("AGE", "Age")], population="ITTFL")
    assert info.value.rows == [3] and "rows [3]" in str(info.value)


# ----------------------------------------------------------------------------- frames

def test_duplicated_column_names_are_refused_naming_them(adam):
    adsl = pd.concat([adam.adsl, adam.adsl[["AGE"]]], axis=1)
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "AGE")
    assert "ADSL.AGE: column name used more than once (2 columns)" in str(problem)


def test_figure_refuses_duplicated_column_names():
    data = pd.DataFrame([[1.0, 1, "A", 2.0]] * 4, columns=["T", "E", "ARM", "T"])
    with pytest.raises(InputError, match=r"data: column name\(s\) \['T'\] used more than once") as info:
        km_figure(data, time="T", event="E", group="ARM")
    assert type(info.value) is InputError


def test_dataset_that_is_not_a_data_frame_is_a_type_error(adam):
    with pytest.raises(TypeError, match="adsl: expected a pandas DataFrame, got dict"):
        validate_adam(AdamData({"USUBJID": ["P1"]}, adam.adtte))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- stratification

def test_blank_stratification_value_is_refused_at_validation_by_its_row(adam):
    adsl = adam.adsl.assign(stage=["metastatic", "metastatic", " ", "metastatic"])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "stage")
    assert problem.rows == [3] and "blank stratification value at rows [3] (1 row)" in str(problem)


def test_undeclared_stratification_level_is_refused(adam):
    adsl = adam.adsl.assign(origin=["uterine", "bone", "uterine", "soft_tissue"])
    problem = _problem(_refused(AdamData(adsl, adam.adtte)), "ADSL", "origin")
    assert problem.rows == [2] and "'bone' is not a declared level" in str(problem)


# ----------------------------------------------------------------------------- arguments

def test_bad_risk_times_name_the_argument():
    data = pd.DataFrame({"T": [1.0, 2, 3, 4], "E": [1, 0, 1, 1], "ARM": ["A", "A", "B", "B"]})
    with pytest.raises(InputError, match=r"times: expected one or more finite times >= 0") as info:
        km_figure(data, time="T", event="E", group="ARM", risk_times=[-6])
    assert info.value.field == "times"


# ----------------------------------------------------------------------------- no events in an arm

def _no_events_in(data: pd.DataFrame, arm: str) -> pd.DataFrame:
    return data.assign(EVENT=np.where(data["ARM"] == arm, 0, data["EVENT"]))


def test_efficacy_summary_with_an_arm_without_events_is_not_estimable():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"TIME": rng.exponential(10, 40), "EVENT": rng.integers(0, 2, 40),
                         "ARM": ["ctl"] * 20 + ["exp"] * 20})
    summary = efficacy_summary(_no_events_in(data, "exp"), time="TIME", event="EVENT", group="ARM")
    hr = summary.hazard_ratios.iloc[0]
    assert not hr["estimable"] and all(math.isnan(hr[c]) for c in ("hr", "lower", "upper", "p"))
    assert summary.notes == ("not estimable: no events in exp",)
    assert summary.arms.set_index("arm").at["exp", "events"] == 0
    assert math.isfinite(summary.logrank_p)  # the log-rank test is still defined
    assert summary.to_dict()["hazard_ratios"][0]["hr"] is None  # JSON-safe: NaN becomes None


@pytest.fixture(scope="module")
def no_events_adam() -> AdamData:
    """The simulated LMS04 trial, PFS only, every PFS of the experimental arm censored."""
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    experimental = set(derived.adsl.loc[derived.adsl["ARMCD"] == "DOXTRAB", "USUBJID"])
    adtte = derived.adtte[derived.adtte["PARAMCD"] == "PFS"].copy()
    adtte.loc[adtte["USUBJID"].isin(experimental), "CNSR"] = 1
    return AdamData(derived.adsl, adtte, derived.adrs, derived.adae)


def test_report_with_an_arm_without_events_says_not_estimable(no_events_adam, tmp_path):
    note = f"not estimable: no events in {EXPERIMENTAL}"
    analysis = analyse(no_events_adam, LMS04)
    summary = analysis.efficacy["PFS"]
    assert summary.notes == (note,)

    table = efficacy_table(summary, analysis.time_unit, analysis.ard)
    hr_row = next(r for r in table.rows if r.cells[0].startswith("Hazard ratio"))
    assert hr_row.cells[1:] == ("Reference", "NE")
    assert any(note in f for f in table.footnotes)
    text = " ".join([*(c for r in table.rows for c in r.cells), *table.footnotes])
    assert not EXPONENT.search(text) and "inf" not in text

    files = build_report(no_events_adam, LMS04, tmp_path)
    html = files["report.html"].read_text(encoding="utf-8")
    assert note in html
    shown = re.sub(r'src="data:[^"]*"|<style>.*?</style>', "", html, flags=re.S)  # without images and CSS
    assert not EXPONENT.search(shown) and "–inf" not in shown

    records = json.loads(files["ard.json"].read_text(encoding="utf-8"))
    hr = [r for r in records if r["table"] == "efficacy" and r["statistic"] == "hazard_ratio"]
    assert len(hr) == 1 and hr[0]["value"] is None and hr[0]["lower"] is None and note in hr[0]["method"]
    assert f"PFS: proportional-hazards figure skipped (residuals: the hazard ratio is {note}" in (
        files["messages.txt"].read_text(encoding="utf-8"))
    csv = pd.read_csv(files["ard.csv"], keep_default_na=False)
    row = csv[(csv["table"] == "efficacy") & (csv["statistic"] == "hazard_ratio")].iloc[0]
    assert (row["value"], row["lower"], row["upper"]) == ("", "", "")


@pytest.mark.parametrize("given_hr", [False, True])
def test_km_figure_annotation_says_not_estimable(no_events_adam, given_hr):
    """Computed by the figure or passed from the efficacy summary (as the report does)."""
    data = endpoint_data(no_events_adam, LMS04, "PFS")
    hazard_ratio = {EXPERIMENTAL: (math.nan, math.nan, math.nan)} if given_hr else None
    fig = km_figure(data, time="TIME", event="EVENT", group="ARM", reference="Doxorubicin",
                    hazard_ratio=hazard_ratio)
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert f"Hazard ratio not estimable: no events in {EXPERIMENTAL}" in "\n".join(texts)
    assert not any(EXPONENT.search(t) or "inf" in t for t in texts)


def test_ph_residuals_of_an_arm_without_events_are_refused(no_events_adam):
    data = endpoint_data(no_events_adam, LMS04, "PFS")
    with pytest.raises(InputError, match=f"no events in {re.escape(EXPERIMENTAL)}") as info:
        loglog_figure(data, time="TIME", event="EVENT", group="ARM", reference="Doxorubicin")
    assert info.value.field == "residuals"
    fig = loglog_figure(data, time="TIME", event="EVENT", group="ARM", reference="Doxorubicin", residuals=False)
    assert len(fig.axes) == 1
