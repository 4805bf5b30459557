"""The report tables: hand-computed Table 1, CONSORT and AE examples; Fisher, Clopper–Pearson,
Newcombe and quartiles against R (tests/fixtures/r/report_tables.R); the efficacy tables on
the colon trial against oncotrial.stats and R (tests/fixtures/r/efficacy.R)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.protocol import Protocol
from oncotrial.report.format import format_number, format_p, n_percent
from oncotrial.report.tables import (
    Categorical,
    Continuous,
    Flags,
    adverse_event_table,
    efficacy_endpoints,
    efficacy_tables,
    fisher_p,
    newcombe_difference,
    response_table,
    table1,
)
from oncotrial.stats import coxph, kaplan_meier, logrank_test, median_followup

R = load_fixture("report_tables")


# ----------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("value,digits,text", [
    (2.675, 2, "2.68"), (0.125, 2, "0.13"), (12.5, 0, "13"), (62.5, 0, "63"), (75.58139534883721, 1, "75.6"),
    (-0.04, 1, "0.0"), (8.590167, 2, "8.59"), (float("nan"), 1, "NE")])
def test_format_number_rounds_half_up(value, digits, text):
    assert format_number(value, digits) == text


def test_n_percent_and_p_formats():
    assert n_percent(65, 86, digits=1, percent_sign=True) == "65 (75.6%)"
    assert n_percent(8, 42, denominator=True) == "8/42 (19)"
    assert n_percent(0, 0, denominator=True) == "0/0"
    assert format_p(0.0065) == "0.007" and format_p(1e-12) == "<0.001" and format_p(1.0) == "1.000"


# ----------------------------------------------------------------------------- Table 1

@pytest.fixture
def small_adsl() -> pd.DataFrame:
    """8 patients, arms A and B, with missing values and a soft-tissue-only grade."""
    return pd.DataFrame({
        "USUBJID": [f"S{i}" for i in range(1, 9)],
        "ARMCD": list("AAAABBBB"),
        "origin": ["soft", "soft", "uterine", "soft", "soft", "uterine", "uterine", "soft"],
        "GRADE": [1, np.nan, np.nan, 3, 2, np.nan, np.nan, np.nan],
        "ECOG": [0, 0, 1, np.nan, 0, 1, 1, 1],
        "SEX": ["F", "F", "M", "F", "M", "F", None, "F"],
        "AGE": [50, 60, 70, 80, 40, 45, 55, 61],
        "METLUNG": ["Y", "N", "Y", "Y", "N", None, "Y", "N"],
        "NMETS": [0, 1, 2, 5, 1, 1, 3, np.nan],
    })


SPEC = (
    Continuous("AGE", "Age", statistics=("median_iqr", "mean_sd", "n", "range"), digits=0),
    Categorical("SEX", "Sex", levels={"F": "Female", "M": "Male"}),
    Categorical("ECOG", "ECOG", levels={0: "0", 1: "1"}, missing="exclude"),
    Categorical("GRADE", "Grade", levels={1: "1", 2: "2", 3: "3"}, where="origin == 'soft'"),
    Flags("Metastases", {"METLUNG": "Lung"}),
    Categorical("NMETS", "Number of metastases", bins=((1, 1, "1"), (2, math.inf, ">=2"))),
)


def _cells(t, variable):
    return t.table[t.table["variable"] == variable].set_index("level")[["A", "B", "Total"]]


def test_table1_denominators_missing_rows_and_subsets(small_adsl):
    t = table1(small_adsl, variables=SPEC)
    assert t.arm_n == {"A": 4, "B": 4, "Total": 8}
    sex = _cells(t, "Sex")
    # missing="row": Missing row, denominators keep the missing patient; 5/8 = 62.5 -> 63 (half up)
    assert sex.loc["Female"].tolist() == ["3 (75)", "2 (50)", "5 (63)"]
    assert sex.loc["Male"].tolist() == ["1 (25)", "1 (25)", "2 (25)"]
    assert sex.loc["Missing"].tolist() == ["0 (0)", "1 (25)", "1 (13)"]
    ecog = _cells(t, "ECOG")
    # missing="exclude": n/N with N the known values when it differs from the arm's patients
    assert ecog.loc["0"].tolist() == ["2/3 (67)", "1 (25)", "3/7 (43)"]
    assert ecog.loc["1"].tolist() == ["1/3 (33)", "3 (75)", "4/7 (57)"]
    assert ecog.loc["Missing"].tolist() == ["1", "0", "1"]
    grade = _cells(t, "Grade")
    # grade applies to soft-tissue tumours only: N = soft-tissue patients of the arm
    assert grade.index.tolist() == ["1", "2", "3", "Missing"]
    assert grade.loc["1"].tolist() == ["1/3 (33)", "0/2 (0)", "1/5 (20)"]
    assert grade.loc["2"].tolist() == ["0/3 (0)", "1/2 (50)", "1/5 (20)"]
    assert grade.loc["Missing"].tolist() == ["1/3 (33)", "1/2 (50)", "2/5 (40)"]
    lung = _cells(t, "Metastases")
    assert lung.loc["Lung"].tolist() == ["3 (75)", "1 (25)", "4 (50)"]
    assert lung.loc["Missing"].tolist() == ["0 (0)", "1 (25)", "1 (13)"]
    mets = _cells(t, "Number of metastases")
    # 0 metastases is in no bin: not shown, still in the denominator
    assert mets.loc["1"].tolist() == ["1 (25)", "2 (50)", "3 (38)"]
    assert mets.loc[">=2"].tolist() == ["2 (50)", "1 (25)", "3 (38)"]
    assert mets.loc["Missing"].tolist() == ["0 (0)", "1 (25)", "1 (13)"]


def test_table1_continuous_statistics_follow_the_convention(small_adsl):
    age_r = _cells(table1(small_adsl, variables=SPEC[:1]), "Age")
    age_sas = _cells(table1(small_adsl, variables=SPEC[:1], convention="sas"), "Age")
    # A = 50, 60, 70, 80: R type 7 quartiles 57.5, 72.5 (half up: 58, 73); SAS QNTLDEF=5: 55, 75
    assert age_r.loc["Median (IQR)", "A"] == "65 (58–73)"
    assert age_sas.loc["Median (IQR)", "A"] == "65 (55–75)"
    assert age_r.loc["Mean (SD)", "A"] == "65 (12.9)"
    assert age_r.loc["n"].tolist() == ["4", "4", "8"]
    assert age_r.loc["Min–max", "Total"] == "40–80"
    assert "Missing" not in age_r.index
    one = _cells(table1(small_adsl.iloc[3:], variables=SPEC[:1]), "Age")  # arm A has one patient left
    assert one.loc["Mean (SD)", "A"] == "80 (NE)" and one.loc["Median (IQR)", "A"] == "80 (80–80)"


def test_table1_long_form_holds_every_number(small_adsl):
    t = table1(small_adsl, variables=SPEC)
    s = t.stats.set_index(["column", "level", "arm", "statistic"])["value"]
    assert s[("GRADE", "1", "A", "n")] == 1 and s[("GRADE", "1", "A", "N")] == 3
    assert s[("GRADE", "1", "A", "n_percent")] == pytest.approx(1 / 3)
    assert s[("ECOG", "Missing", "A", "n_missing")] == 1
    age = t.stats[(t.stats["column"] == "AGE") & (t.stats["arm"] == "A")].set_index("statistic")
    assert age.loc["mean", "value"] == 65 and age.loc["sd", "value"] == pytest.approx(np.std([50, 60, 70, 80], ddof=1))
    assert (age.loc["median", "lower"], age.loc["median", "upper"]) == (57.5, 72.5)
    ard = t.to_frame()
    assert {"GRADE=1", "SEX=Female", "METLUNG=Lung", "Metastases=Missing", "AGE"} <= set(ard["subgroup"])
    assert ard.loc[ard["subgroup"] == "GRADE=1", "method"].unique().tolist() == ["among origin == 'soft'"]


@pytest.mark.parametrize("case", range(len(R["quantiles"])))
def test_table1_quartiles_match_r_types_2_and_7(case):
    ref = R["quantiles"][case]
    adsl = pd.DataFrame({"ARMCD": "A", "X": ref["x"]})
    for convention, key in (("r", "type7"), ("sas", "type2")):
        t = table1(adsl, variables=[Continuous("X", "X")], convention=convention, total=False)
        med = t.stats.query("statistic == 'median'").iloc[0]
        assert_close([med["lower"], med["value"], med["upper"]], ref[key], what=f"{convention} quartiles")


def test_table1_errors_name_variable_and_rows(small_adsl):
    bad = small_adsl.assign(SEX=["F", "F", "X", "F", "M", "F", "M", "F"])
    with pytest.raises(InputError, match=r"ADSL\.SEX: value 'X' is not a declared level .* rows \[3\]"):
        table1(bad, variables=[SPEC[1]])
    bad = small_adsl.assign(METLUNG=["Y", "yes", "Y", "Y", "N", "N", "Y", "N"])
    with pytest.raises(InputError, match=r"ADSL\.METLUNG: expected Y, N or blank at rows \[2\]"):
        table1(bad, variables=[SPEC[4]])
    with pytest.raises(InputError, match=r"ADSL: no column\(s\) \['AGE2'\]"):
        table1(small_adsl, variables=[Continuous("AGE2", "Age")])


# ----------------------------------------------------------------------------- R fixtures

@pytest.mark.parametrize("case", R["fisher"], ids=lambda c: f"{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}")
def test_fisher_p_matches_r_fisher_test(case):
    assert_close(fisher_p(case["x1"], case["n1"], case["x2"], case["n2"]), case["p"], what="Fisher p")


@pytest.mark.parametrize("case", R["newcombe"], ids=lambda c: f"{c['x1']}/{c['n1']}-{c['x2']}/{c['n2']}")
def test_newcombe_difference_matches_r_wilson_limits(case):
    got = newcombe_difference(case["x1"], case["n1"], case["x2"], case["n2"], case["conf_level"])
    assert_close(got, [case["difference"], case["lower"], case["upper"]], what="Newcombe")


@pytest.mark.parametrize("x1,n1,x2,n2,lower,upper", [
    (56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090), (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926), (0, 10, 0, 20, -0.1611, 0.2775), (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0), (10, 10, 0, 10, 0.6075, 1.0)])
def test_newcombe_difference_reproduces_published_table(x1, n1, x2, n2, lower, upper):
    """Newcombe (1998) Stat Med 17:873-890, Table II, method 10, printed to 4 decimals."""
    _, lo, hi = newcombe_difference(x1, n1, x2, n2)
    assert (format_number(lo, 4), format_number(hi, 4)) == (format_number(lower, 4), format_number(upper, 4))


def _response_data(cases: list[tuple[int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arm i has cases[i] = (responders, patients); responders are PR, one patient has no BOR row."""
    adsl, adrs = [], []
    for i, (x, n) in enumerate(cases):
        for j in range(n):
            subject = f"{i}-{j}"
            adsl.append({"USUBJID": subject, "ITTFL": "Y", "ARM": f"arm{i}"})
            if j < x:
                adrs.append({"USUBJID": subject, "PARAMCD": "BOR", "AVALC": "PR"})
            elif j < n - 1:
                adrs.append({"USUBJID": subject, "PARAMCD": "BOR", "AVALC": "PD"})
    return pd.DataFrame(adsl), pd.DataFrame(adrs)


def test_response_table_clopper_pearson_matches_r_binom_test():
    cases = [c for c in R["clopper_pearson"] if c["conf_level"] == 0.95 and 0 < c["x"] < c["n"]]
    adsl, adrs = _response_data([(c["x"], c["n"]) for c in cases])
    rates = response_table(adsl, adrs).rates.query("endpoint == 'ORR'").set_index("arm")
    for i, c in enumerate(cases):
        row = rates.loc[f"arm{i}"]
        assert (row["n"], row["N"]) == (c["x"], c["n"])
        assert_close([row["lower"], row["upper"]], [c["lower"], c["upper"]], what=f"CP {c['x']}/{c['n']}")


@pytest.mark.parametrize("case", [c for c in R["clopper_pearson"] if c["conf_level"] != 0.95 or c["x"] in (0, c["n"])],
                         ids=lambda c: f"{c['x']}/{c['n']}@{c['conf_level']}")
def test_response_table_clopper_pearson_edges_match_r(case):
    x, n = int(case["x"]), int(case["n"])
    adsl, adrs = _response_data([(x, n), (1, 3)])
    rates = response_table(adsl, adrs, conf_level=case["conf_level"]).rates.query("endpoint == 'ORR'")
    row = rates.set_index("arm").loc["arm0"]
    assert_close([row["lower"], row["upper"]], [case["lower"], case["upper"]], what="CP edge")


def test_response_table_counts_missing_bor_as_non_responder_and_compares_arms():
    adsl, adrs = _response_data([(10, 76), (27, 74)])
    adrs = pd.concat([adrs, pd.DataFrame([{"USUBJID": "1-0", "PARAMCD": "OVRLRESP", "AVALC": "CR"}])])
    r = response_table(adsl, adrs, reference="arm0")
    orr = r.rates.query("endpoint == 'ORR'").set_index("arm")
    assert orr.loc["arm0", "N"] == 76 and orr.loc["arm1", "n"] == 27  # the OVRLRESP row is not a BOR
    comp = r.comparisons.query("endpoint == 'ORR'").iloc[0]
    ref = next(c for c in R["newcombe"] if (c["x1"], c["n1"], c["x2"], c["n2"]) == (27, 74, 10, 76))
    assert_close([comp["difference"], comp["lower"], comp["upper"]], [ref["difference"], ref["lower"], ref["upper"]])
    ref_p = next(c for c in R["fisher"] if (c["x1"], c["n1"], c["x2"], c["n2"]) == (27, 74, 10, 76))
    assert_close(comp["fisher_p"], ref_p["p"])
    bor = r.best_response.set_index(["arm", "category"])["n"]
    assert bor[("arm0", "no BOR record")] == 1 and bor[("arm1", "no BOR record")] == 1
    assert bor[("arm0", "PD")] == 65 and bor[("arm0", "CR")] == 0
    dcr = r.rates.query("endpoint == 'DCR'").set_index("arm")
    assert dcr.loc["arm0", "n"] == 10  # PD is not disease control
    shown = r.display()
    assert shown.loc[shown["row"] == "ORR", "arm1"].item().startswith("27 (36) [95% CI 26–48]")


def test_response_table_ignores_bor_records_not_flagged_for_analysis():
    adsl, adrs = _response_data([(2, 4), (1, 4)])
    adrs["ANL01FL"] = "Y"
    adrs.loc[adrs["USUBJID"] == "0-0", "ANL01FL"] = None
    r = response_table(adsl, adrs)
    assert r.rates.query("endpoint == 'ORR' and arm == 'arm0'")["n"].item() == 1


# ----------------------------------------------------------------------------- adverse events

@pytest.fixture
def safety() -> tuple[pd.DataFrame, pd.DataFrame]:
    adsl = pd.DataFrame({
        "USUBJID": ["c1", "c2", "c3", "c4", "e1", "e2", "e3", "e4"],
        "ARM": list("CCCCEEEE"),
        "ACTARM": list("CCCEEEEE"),  # c4 was given the experimental arm
        "SAFFL": ["Y", "Y", "Y", "Y", "Y", "Y", "Y", "N"],
        "DOSREDFL": ["N", "Y", "N", "N", "Y", "Y", "N", "N"],
        "REDMAINT": [None, None, None, "Y", "N", "Y", None, None],
    })
    adae = pd.DataFrame({
        "USUBJID": ["c1", "c1", "c2", "c4", "e1", "e1", "e2", "e3", "e4", "c3"],
        "AEDECOD": ["Nausea", "Nausea", "Anemia", "Anemia", "Anemia", "Nausea", "Anemia", "Fatigue", "Anemia",
                    "Fatigue"],
        "ATOXGR": [1, 3, 2, 4, 3, 1, 5, 2, 4, 3],
        "AESER": ["N", "Y", "N", "N", "Y", "N", "Y", "N", "Y", "N"],
        "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", "N"],  # c3's AE is not treatment-emergent
    })
    return adsl, adae


def test_adverse_event_table_counts_patients_once_by_actual_arm(safety):
    adsl, adae = safety
    t = adverse_event_table(adsl, adae, reference="C", reductions={"DOSREDFL": "Dose reduction, any phase",
                                                                   "REDMAINT": "Dose reduction, maintenance"})
    assert t.arm_n == {"C": 3, "E": 4}  # e4 is not in the safety population; c4 is counted in E
    o = t.overview.set_index(["row", "arm"])[["n", "N"]]
    assert o.loc[("teae_any", "C")].tolist() == [2, 3]  # c1 (twice) and c2; c3's AE is not emergent
    assert o.loc[("teae_any", "E")].tolist() == [4, 4]
    assert o.loc[("grade34_any", "C")].tolist() == [1, 3] and o.loc[("grade34_any", "E")].tolist() == [2, 4]
    assert o.loc[("serious_any", "E")].tolist() == [2, 4] and o.loc[("grade5_any", "E")].tolist() == [1, 4]
    p = t.comparisons.set_index("row")["fisher_p"]
    assert p["grade34_any"] == pytest.approx(fisher_p(2, 4, 1, 3))
    terms = t.by_term.set_index(["AEDECOD", "arm"])
    assert terms.loc[("Anemia", "E"), "any_n"] == 3
    assert terms.loc[("Anemia", "E"), "grade34_n"] == 2 and terms.loc[("Anemia", "E"), "grade5_n"] == 1
    assert terms.loc[("Nausea", "C"), "any_n"] == 1 and terms.loc[("Nausea", "C"), "grade34_n"] == 1
    # sorted by patients with the term in all arms: Anemia 4, Nausea 2, Fatigue 1
    assert t.by_term["AEDECOD"].drop_duplicates().tolist() == ["Anemia", "Nausea", "Fatigue"]
    red = t.dose_reductions.set_index(["variable", "arm"])[["n", "N"]]
    assert red.loc[("DOSREDFL", "C")].tolist() == [1, 3]
    # REDMAINT is blank for every C patient (no maintenance): no row, not "0 (0%)"
    assert ("REDMAINT", "C") not in red.index and red.loc[("REDMAINT", "E")].tolist() == [2, 4]
    shown = t.display().set_index("row")
    assert shown.loc["Dose reduction, maintenance", "E"] == "2 (50.0%)"
    assert list(adverse_event_table(adsl, adae).dose_reductions["variable"].unique()) == ["DOSREDFL"]
    assert shown.loc["Grade 3–4 TEAE", "C"] == "1 (33.3%)" and shown.loc["Anemia, grade 3–4", "E"] == "2 (50.0%)"
    assert shown.loc["Any TEAE", "P (E vs C)"] == format_p(fisher_p(4, 4, 2, 3))


def test_adverse_event_table_without_grades_or_seriousness_says_so(safety):
    adsl, adae = safety
    t = adverse_event_table(adsl, adae.drop(columns=["ATOXGR", "AESER"]))
    assert set(t.overview["row"]) == {"teae_any"}
    assert any("no ATOXGR" in m for m in t.messages) and any("no AESER" in m for m in t.messages)
    assert t.by_term["grade34_n"].isna().all()
    assert "term_grade34" not in set(t.to_frame()["statistic"])


def test_adverse_event_table_rejects_unknown_grades_and_arms(safety):
    adsl, adae = safety
    with pytest.raises(InputError, match=r"ADAE\.ATOXGR: expected grades 1-5 at rows \[2\]"):
        adverse_event_table(adsl, adae.assign(ATOXGR=[1, 7, 2, 4, 3, 1, 5, 2, 4, 3]))
    with pytest.raises(InputError, match=r"ADSL\.ACTARM: arm 'E' is not among the arms \['C'\]"):
        adverse_event_table(adsl, adae, arms=["C"])


# ----------------------------------------------------------------------------- efficacy (colon)

@pytest.fixture(scope="module")
def colon_trial() -> tuple[pd.DataFrame, pd.DataFrame, Protocol]:
    """The colon trial (Obs vs Lev+5FU) as ADSL/ADTTE, and a protocol adjusting for node4."""
    colon = load("colon")
    colon = colon[colon["rx"].isin(["Obs", "Lev+5FU"])]
    first = colon.drop_duplicates("id")
    adsl = pd.DataFrame({"USUBJID": first["id"].astype(str), "ARM": first["rx"],
                         "ARMCD": first["rx"].map({"Obs": "OBS", "Lev+5FU": "LEV5FU"}), "ITTFL": "Y",
                         "node4": first["node4"]})
    adtte = pd.DataFrame({"USUBJID": colon["id"].astype(str), "PARAMCD": colon["etype"].map({1: "PFS", 2: "OS"}),
                          "AVAL": colon["time"], "CNSR": 1 - colon["status"]})
    # what the file sets (to_dict() would also write the defaults, e.g. each end point's empty landmarks)
    spec = Protocol.load("lms04").model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    spec.update(
        id="COLON",
        arms=[{"code": "OBS", "label": "Obs", "ratio": 1, "role": "control"},
              {"code": "LEV5FU", "label": "Lev+5FU", "ratio": 1, "role": "experimental"}],
        regimens={"OBS": spec["regimens"]["DOX"], "LEV5FU": spec["regimens"]["DOXTRAB"]},
        stratification=[{"name": "node4", "label": "More than 4 positive nodes", "levels": ["0", "1"]}],
        analysis={"convention": "r", "time_unit": "months", "landmarks": [36, 60], "adjust_for": ["node4"]},
    )
    spec["fields"]["node4"] = {"type": "category", "levels": ["0", "1"]}
    for endpoint in spec["endpoints"]:  # the published LMS04 pairing: adjusted HR, stratified log-rank P
        if "analysis" in endpoint:
            endpoint["analysis"]["model"] = "adjusted_cox"
    return adsl, adtte, Protocol.from_dict(spec)


def test_efficacy_endpoints_leave_out_responder_only_end_points():
    assert efficacy_endpoints(Protocol.load("lms04")) == ["PFS", "OS", "PFS2"]


@pytest.mark.parametrize("paramcd,key,etype", [("PFS", "recurrence", 1), ("OS", "death", 2)])
def test_efficacy_tables_on_colon_equal_stats_and_r(colon_trial, paramcd, key, etype):
    adsl, adtte, protocol = colon_trial
    tables = efficacy_tables(adsl, adtte, protocol)
    assert list(tables) == ["PFS", "OS"]  # PFS2 is not in this ADTTE
    s = tables[paramcd]
    colon = load("colon").query("rx in ['Obs', 'Lev+5FU'] and etype == @etype").copy()
    colon["months"] = colon["time"] / 30.4375
    # oncotrial.stats, called directly
    for arm, sub in colon.groupby("rx"):
        km = kaplan_meier(sub["months"], sub["status"])
        row = s.arms.set_index("arm").loc[arm]
        assert (row["n"], row["events"]) == (len(sub), sub["status"].sum())
        med = km.median()
        assert_close([row["median"], row["median_lower"], row["median_upper"]], [med.estimate, med.lower, med.upper])
        at = km.survival_at([36, 60])
        rates = s.rates.query("arm == @arm")
        assert_close(rates["rate"], at["survival"], what="rate")
        assert_close(rates["lower"], at["lower"], what="rate lower")
    cox = coxph(colon, time="months", event="status", covariates=["rx", "node4"], categorical={"rx": "Obs"})
    hr = cox.coef_table.loc["rx[Lev+5FU]"]
    got = s.hazard_ratios.iloc[0]
    assert got["reference"] == "Obs"
    assert_close([got["hr"], got["lower"], got["upper"], got["p"]], [hr["hr"], hr["lower"], hr["upper"], hr["p"]])
    lr = logrank_test(colon["months"], colon["status"], colon["rx"], strata=colon["node4"])
    assert_close([s.logrank_chisq, s.logrank_p], [lr.chisq, lr.p], what="stratified log-rank")
    assert s.logrank_df == lr.df and s.test_method == "log-rank test stratified by node4"
    assert s.model == "Cox model, Efron ties, adjusted for node4"  # the protocol's adjusted_cox
    if s.p_value:
        assert_close(s.comparisons["p"], [lr.p], what="the end point's P")
    fu = median_followup(colon["months"], colon["status"])
    assert_close([s.followup_median, s.followup_q1, s.followup_q3], [fu.median, fu.q1, fu.q3])
    # and R (tests/fixtures/r/efficacy.R: the same Cox model, medians and rates)
    ref = load_fixture("efficacy")[key]
    assert_close(s.arms["median"], ref["median"], what="median vs R")
    assert_close([got["hr"], got["lower"], got["upper"]], [ref["hr"], ref["hr_lower"], ref["hr_upper"]],
                 what="HR vs R")
    assert_close(s.rates["rate"], ref["rate"], what="rates vs R")
