"""A stratification factor's ``adam_variable`` (where ADSL holds it in the CDISC form) and
``prevalence`` (the expected share of each level): schema, errors, and the bundled example
protocol's shares against its scenario's."""

from __future__ import annotations

import math
from importlib import resources

import pytest
import yaml

from oncotrial.protocol import Protocol, ProtocolError, StratificationFactor

GASTRIC = Protocol.load("gastric_example")


def _with_factor(index: int, **changes: object) -> dict:
    spec = GASTRIC.to_dict()
    spec["stratification"][index].update(changes)
    return spec


def _errors(index: int, **changes: object) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        Protocol.from_dict(_with_factor(index, **changes))
    return caught.value.errors


def test_a_factor_declares_its_adam_variable_and_prevalence():
    factor = StratificationFactor(name="ecog", levels=[0, 1], adam_variable="STRAT2R",
                                  prevalence={0: 0.42, "1": 0.58})
    assert factor.adam_variable == "STRAT2R" and factor.prevalence == {0: 0.42, "1": 0.58}
    assert StratificationFactor(name="ecog", levels=[0, 1]).adam_variable is None
    protocol = Protocol.from_dict(_with_factor(1, adam_variable="STRAT2RN"))
    assert Protocol.from_dict(protocol.to_dict()) == protocol


@pytest.mark.parametrize("name", ["STRAT1R", "STRAT12V", "STRAT1RN", "ECOGBL", "_X", "strat1r"])
def test_any_sas_name_of_up_to_8_characters_is_an_adam_variable(name):
    assert Protocol.from_dict(_with_factor(1, adam_variable=name)).stratification[1].adam_variable == name


@pytest.mark.parametrize("name", ["STRAT10RN", "1STRAT", "STRAT-1R", "STRAT 1R", ""])
def test_an_adam_variable_that_is_not_a_sas_name_is_refused(name):
    errors = _errors(1, adam_variable=name)
    assert errors == [f"stratification[1].adam_variable: {name!r} is not a SAS variable name (a letter or "
                      f"underscore, then letters, digits or underscores, at most 8 characters; e.g. STRAT1R)"]


def test_an_adam_variable_that_is_the_factors_own_name_is_refused():
    assert _errors(1, adam_variable="ecog") == [
        "stratification[1].adam_variable: 'ecog' is the factor's own name, which ADSL is searched for "
        "first; name another variable (e.g. STRAT1R) or leave it out"]


@pytest.mark.parametrize(("prevalence", "message"), [
    ({0: 0.42}, "stratification[1].prevalence: every level needs a share; missing 1"),
    ({0: 0.5, 1: 0.6}, "stratification[1].prevalence: the shares must sum to 1, got 1.1"),
    ({0: 0.5, 1: 0.5 + 2e-9}, "stratification[1].prevalence: the shares must sum to 1, got 1.000000002"),
    ({0: 0, 1: 1}, "stratification[1].prevalence.0: a share is in (0, 1], got 0.0"),
    ({0: -0.5, 1: 1.5}, "stratification[1].prevalence.0: a share is in (0, 1], got -0.5"),
    ({0: math.nan, 1: 1}, "stratification[1].prevalence.0: a share is in (0, 1], got nan"),
    ({0: 0.5, 2: 0.5}, "stratification[1].prevalence.2: 2 is not a level (0, 1)"),
    ({0: 0.2, "0": 0.3, 1: 0.5}, "stratification[1].prevalence.0: '0' is the same level as 0, given twice"),
    ({0: True, 1: 0.5}, "stratification[1].prevalence[0]: must be a number, got True"),
])
def test_prevalences_that_are_not_a_distribution_over_the_levels_are_refused(prevalence, message):
    assert message in _errors(1, prevalence=prevalence)


def test_shares_summing_to_1_within_1e_9_are_accepted():
    factor = Protocol.from_dict(_with_factor(2, prevalence={1: 0.1, 2: 0.2, 3: 0.7 + 5e-10})).stratification[2]
    assert factor.prevalence == {1: 0.1, 2: 0.2, 3: 0.7 + 5e-10}


def test_the_gastric_example_declares_the_shares_of_its_scenario():
    scenario = yaml.safe_load(resources.files("oncotrial.scenarios").joinpath("gastric_example.yaml")
                              .read_text(encoding="utf-8"))
    shares = scenario["baseline"]["strata"]
    assert {f.name: f.prevalence for f in GASTRIC.stratification} == shares
