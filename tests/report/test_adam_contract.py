"""The ADaM input contract beyond the variable names of oncotrial's own derivation: ADTTE
times in any CDISC unit (``AVALU``) and stratification factors in the CDISC ADSL form
(``STRATwR``/``STRATwV``, found through the factor's ``adam_variable``). The demo trial
analysed either way gives the same analysis-results dataset; every refusal names the
dataset, the variable and the 1-based rows."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml

from oncotrial.clinical import derive_all
from oncotrial.core.errors import DataError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import DAYS_PER_AVALU, AdamData, AdamValidationError, validate_adam
from oncotrial.report.analysis import analyse
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
GASTRIC = Protocol.load("gastric_example")


def _declaring(name: str, **variables: str) -> Protocol:
    """The bundled protocol ``name`` with ``adam_variable`` declared for the factors named
    (edited as the YAML a user writes, so that every default stays a default)."""
    spec = yaml.safe_load(resources.files("oncotrial.protocols").joinpath(f"{name}.yaml")
                          .read_text(encoding="utf-8"))
    for factor in spec["stratification"]:
        if factor["name"] in variables:
            factor["adam_variable"] = variables[factor["name"]]
    return Protocol.from_dict(spec)


LMS04_CDISC = _declaring("lms04", origin="STRAT1R", stage="STRAT2R")


@pytest.fixture(scope="module")
def demo() -> AdamData:
    """The demo replica (seed 4) as oncotrial derives it: AVAL in days, factor-named strata."""
    trial = simulate_trial("lms04", seed=4)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def reference(demo) -> pd.DataFrame:
    return analyse(demo, LMS04).ard


def _refused(adam: AdamData, protocol: Protocol) -> AdamValidationError:
    with pytest.raises(AdamValidationError) as info:
        validate_adam(adam, protocol)
    assert all(type(p) is DataError for p in info.value.problems)
    return info.value


def _problem(error: AdamValidationError, dataset: str, variable: str) -> DataError:
    found = [p for p in error.problems if (p.dataset, p.variable) == (dataset, variable)]
    assert len(found) == 1, [str(p) for p in error.problems]
    return found[0]


# ----------------------------------------------------------------------------- AVALU

def test_an_adtte_in_months_gives_the_ard_of_the_adtte_in_days(demo, reference):
    months = demo.adtte.assign(AVAL=demo.adtte["AVAL"] / 30.4375, AVALU="MONTHS")
    valid = validate_adam(AdamData(demo.adsl, months, demo.adrs, demo.adae), LMS04)
    assert valid.adtte["AVAL"].equals(demo.adtte["AVAL"].astype(float))  # the days, exactly
    pd.testing.assert_frame_equal(analyse(AdamData(demo.adsl, months, demo.adrs, demo.adae), LMS04).ard,
                                  reference, check_exact=True)


def test_units_may_differ_between_records_and_are_case_insensitive(demo, reference):
    units = np.resize(np.array(["DAYS", "weeks", " Months ", "YEARS", "", None], dtype=object), len(demo.adtte))
    per_day = pd.Series(units).map(lambda u: DAYS_PER_AVALU[u.strip().upper()] if u and u.strip() else 1.0)
    mixed = demo.adtte.assign(AVAL=demo.adtte["AVAL"] / per_day.to_numpy(), AVALU=units)
    valid = validate_adam(AdamData(demo.adsl, mixed, demo.adrs, demo.adae), LMS04)
    assert valid.adtte["AVALU"].eq("DAYS").all()
    assert valid.adtte["AVAL"].equals(demo.adtte["AVAL"].astype(float))
    pd.testing.assert_frame_equal(analyse(valid, LMS04).ard, reference, check_exact=True)


def test_days_per_unit_are_the_packages_month_and_year():
    assert DAYS_PER_AVALU == {"DAYS": 1.0, "WEEKS": 7.0, "MONTHS": 30.4375, "YEARS": 365.25}


def test_a_converted_adtte_validates_again_unchanged():
    adsl = pd.DataFrame({"USUBJID": ["P1", "P2"], "ARMCD": ["A", "B"], "ARM": ["A", "B"], "ITTFL": "Y"})
    adtte = pd.DataFrame({"USUBJID": ["P1", "P2"], "PARAMCD": "OS", "AVAL": [2.0, 1.5], "CNSR": [0, 1],
                          "AVALU": ["WEEKS", "years"]})
    once = validate_adam(AdamData(adsl, adtte))
    assert once.adtte["AVAL"].tolist() == [14.0, 547.875] and once.adtte["AVALU"].tolist() == ["DAYS", "DAYS"]
    assert validate_adam(once).adtte.equals(once.adtte)
    assert adtte["AVAL"].tolist() == [2.0, 1.5]  # the caller's frame is not modified
    whole = validate_adam(AdamData(adsl, adtte.assign(AVAL=[2, 3], AVALU=["MONTHS", None])))
    assert whole.adtte["AVAL"].tolist() == [60.875, 3.0]  # whole months need not be whole days


@pytest.mark.parametrize(("units", "shown", "rows"), [
    (["DAYS", "HOURS", "MONTHS", "MONTH"], "'HOURS'", [2, 4]),
    (["D", "DAYS", "DAYS", "DAYS"], "'D'", [1]),
    ([1, "DAYS", 2.0, "DAYS"], "1", [1, 3]),
])
def test_an_unknown_avalu_is_refused_naming_adtte_avalu_the_rows_and_the_terms(units, shown, rows):
    adsl = pd.DataFrame({"USUBJID": ["P1", "P2"], "ARMCD": ["A", "B"], "ARM": ["A", "B"], "ITTFL": "Y"})
    adtte = pd.DataFrame({"USUBJID": ["P1", "P2"] * 2, "PARAMCD": ["OS", "OS", "PFS", "PFS"],
                          "AVAL": [30.0, 20, 10, 5], "CNSR": [0, 1, 0, 0], "AVALU": units})
    with pytest.raises(AdamValidationError) as info:
        validate_adam(AdamData(adsl, adtte))
    problem = _problem(info.value, "ADTTE", "AVALU")
    assert problem.rows == rows
    assert str(problem).startswith(f"ADTTE.AVALU: unit {shown} is not one of the CDISC terms DAYS, WEEKS, "
                                   f"MONTHS, YEARS (case-insensitive; blank is DAYS) at rows ")


# ----------------------------------------------------------------------------- STRATwR

def _cdisc_adsl(adsl: pd.DataFrame) -> pd.DataFrame:
    """ADSL with the strata as CDISC ``STRATwR`` (and their ``STRATwD`` descriptions)."""
    return adsl.rename(columns={"origin": "STRAT1R", "stage": "STRAT2R"}).assign(
        STRAT1D="Tumour origin site", STRAT2D="Disease stage")


def test_strata_in_stratwr_give_the_ard_of_factor_named_columns(demo, reference):
    adsl = _cdisc_adsl(demo.adsl)
    valid = validate_adam(AdamData(adsl, demo.adtte, demo.adrs, demo.adae), LMS04_CDISC)
    assert valid.adsl["origin"].tolist() == demo.adsl["origin"].tolist()
    assert valid.adsl["stage"].tolist() == demo.adsl["stage"].tolist()
    assert validate_adam(valid, LMS04_CDISC).adsl.equals(valid.adsl)  # both present and agreeing
    pd.testing.assert_frame_equal(analyse(AdamData(adsl, demo.adtte, demo.adrs, demo.adae), LMS04_CDISC).ard,
                                  reference, check_exact=True)


def _gastric_adsl(**columns: list) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": [f"P{i}" for i in range(1, 7)],
                         "ARMCD": ["CAPOX", "CAPOXPD1"] * 3, "ARM": ["CAPOX", "CAPOX + anti-PD-1"] * 3,
                         "ITTFL": ["Y"] * 5 + ["N"], **columns})


GASTRIC_ADTTE = pd.DataFrame({"USUBJID": [f"P{i}" for i in range(1, 7)], "PARAMCD": "OS",
                              "AVAL": [300.0, 120, 400, 90, 688, 50], "CNSR": [0, 0, 1, 0, 1, 0]})
GASTRIC_CDISC = _declaring("gastric_example", ecog="STRAT2R", pd_l1_cps_class="STRAT3RN")


def test_numeric_levels_are_read_from_text_or_numbers_and_stay_integers():
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, STRAT2R=["0", "1", " 1 ", "0", "1", "0"],
                         STRAT3RN=[1.0, 2.0, 3.0, 3.0, 2.0, np.nan])
    valid = validate_adam(AdamData(adsl, GASTRIC_ADTTE), GASTRIC_CDISC)
    assert valid.adsl["ecog"].tolist() == [0, 1, 1, 0, 1, 0] and str(valid.adsl["ecog"].dtype) == "int64"
    # the subject not randomised has no PD-L1 class: missing, not invented
    assert valid.adsl["pd_l1_cps_class"].tolist()[:5] == [1, 2, 3, 3, 2]
    assert pd.isna(valid.adsl["pd_l1_cps_class"].iloc[5])
    assert "ecog" not in adsl.columns  # the caller's frame is not modified


def test_a_value_of_a_subject_not_randomised_is_kept_as_it_is():
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, ecog=[0, 1, 1, 0, 1, 0],
                         STRAT3RN=[1, 2, 3, 3, 2, 9])
    valid = validate_adam(AdamData(adsl, GASTRIC_ADTTE), GASTRIC_CDISC)
    assert valid.adsl["pd_l1_cps_class"].tolist() == [1, 2, 3, 3, 2, 9]


def test_a_factor_found_nowhere_is_refused_naming_it_and_the_cdisc_variables_present(demo):
    adsl = _cdisc_adsl(demo.adsl)
    error = _refused(AdamData(adsl, demo.adtte), LMS04)
    assert str(_problem(error, "ADSL", "origin")) == (
        "ADSL.origin: stratification factor 'origin' of protocol LMS04 not found: ADSL has no variable "
        "'origin' (CDISC stratification variables present: STRAT1R (STRAT1D: Tumour origin site), "
        "STRAT2R (STRAT2D: Disease stage)); if ADSL holds it under another name, declare that as the "
        "factor's adam_variable")
    assert _problem(error, "ADSL", "stage").rows == []


def test_a_declared_variable_absent_from_adsl_is_refused_naming_both_names(demo):
    adsl = demo.adsl.drop(columns=["origin"])
    problem = _problem(_refused(AdamData(adsl, demo.adtte), LMS04_CDISC), "ADSL", "STRAT1R")
    assert str(problem) == ("ADSL.STRAT1R: stratification factor 'origin' of protocol LMS04 not found: ADSL has "
                            "no variable 'origin' or 'STRAT1R' (CDISC stratification variables present: none)")


def test_a_declared_value_outside_the_levels_is_refused_by_its_rows():
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, STRAT2R=["0", "2", "1", "ECOG 0", "1", "7"],
                         STRAT3RN=[1, 2, 3, 3, 2, 1])
    problem = _problem(_refused(AdamData(adsl, GASTRIC_ADTTE), GASTRIC_CDISC), "ADSL", "STRAT2R")
    assert problem.rows == [2, 4]  # row 6 is not randomised
    assert str(problem) == ("ADSL.STRAT2R: value '2' is not a declared level of the stratification factor "
                            "'ecog' (0, 1) at rows [2, 4] (2 rows)")


def test_a_blank_declared_value_of_a_randomised_subject_is_refused():
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, STRAT2R=["0", "1", "", "0", None, ""],
                         STRAT3RN=[1, 2, 3, 3, 2, 1])
    problem = _problem(_refused(AdamData(adsl, GASTRIC_ADTTE), GASTRIC_CDISC), "ADSL", "STRAT2R")
    assert problem.rows == [3, 5]
    assert "blank stratification value (factor 'ecog') at rows [3, 5]" in str(problem)


def test_a_factor_column_and_its_declared_variable_that_disagree_are_refused_by_their_rows():
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, ecog=[0, 1, 1, 0.0, 1, 0],
                         STRAT2R=["0", "0", "1", " 0 ", "", "1"], STRAT3RN=[1, 2, 3, 3, 2, 1])
    problem = _problem(_refused(AdamData(adsl, GASTRIC_ADTTE), GASTRIC_CDISC), "ADSL", "ecog")
    # row 4: 0.0 and " 0 " are both level 0; row 5: STRAT2R blank; row 6 is not randomised
    assert problem.rows == [2, 5]
    assert str(problem) == ("ADSL.ecog: disagrees with STRAT2R, the factor's adam_variable (which one is "
                            "right is for the data manager to say) at rows [2, 5] (2 rows)")


def test_a_float_factor_column_matches_integer_levels():
    """An XPT file stores every number as a float: ECOG 0.0 is level 0."""
    adsl = _gastric_adsl(region=["asia", "rest_of_world"] * 3, ecog=[0.0, 1.0, 1.0, 0.0, 1.0, np.nan],
                         pd_l1_cps_class=[1.0, 2.0, 3.0, 3.0, 2.0, 1.0])
    validate_adam(AdamData(adsl, GASTRIC_ADTTE), GASTRIC)
