"""Bad scenario and targets files and bad simulation options: the exact error class, naming
the YAML path or the argument."""

from __future__ import annotations

import copy
from importlib import resources
from types import SimpleNamespace

import pytest

from oncotrial.core.errors import InputError, SpecError
from oncotrial.design import group_sequential
from oncotrial.simulate.calibrate import TargetsError, load_targets
from oncotrial.simulate.power import simulate_power
from oncotrial.simulate.scenario import Scenario, ScenarioError

FOLDER = resources.files("oncotrial") / "scenarios"
LMS04_TEXT = (FOLDER / "lms04.yaml").read_text("utf-8")
TARGETS_TEXT = (FOLDER / "lms04_targets.yaml").read_text("utf-8")
LMS04 = dict(median_control=6.0, hazard_ratio=0.6, subjects=150, events=120, accrual_time=24,
             trials=10, seed=1)


@pytest.fixture(scope="module")
def lms04_data() -> dict:
    return Scenario.load("lms04").to_dict()


def _write(tmp_path, content: str | bytes, name: str = "scenario.yaml"):
    file = tmp_path / name
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content, encoding="utf-8")
    return file


def _scenario_error(file) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        Scenario.load(file)
    assert isinstance(info.value, SpecError) and info.value.source == str(file)
    assert str(file) in str(info.value)
    return info.value


# ----------------------------------------------------------------------------- scenario files

def test_a_duplicated_top_level_key_is_refused(tmp_path):
    file = _write(tmp_path, LMS04_TEXT + "\npatients: 300\n")
    [line] = _scenario_error(file).errors
    assert line.startswith("patients: key 'patients' appears twice (lines 11 and ")


def test_a_duplicated_key_inside_a_list_item_names_its_index(tmp_path):
    text = LMS04_TEXT.replace("- {decod: Anemia, soc: Blood and lymphatic system disorders,",
                              "- {decod: Anemia, decod: Anaemia, soc: Blood and lymphatic "
                              "system disorders,")
    assert text != LMS04_TEXT
    [line] = _scenario_error(_write(tmp_path, text)).errors
    assert line.startswith("adverse_events.terms[3].decod: key 'decod' appears twice")


def test_a_latin1_scenario_is_refused_naming_the_file(tmp_path):
    text = LMS04_TEXT.replace("title: LMS04", "title: Léiomyosarcome LMS04")
    [line] = _scenario_error(_write(tmp_path, text.encode("latin-1"))).errors
    assert "is not UTF-8 text" in line and "b'\\xe9'" in line


def test_a_binary_scenario_is_refused_naming_the_file(tmp_path):
    [line] = _scenario_error(_write(tmp_path, b"\xff\xfe\x00\x01binary")).errors
    assert "is not UTF-8 text (byte 1" in line


def test_a_probability_out_of_range_is_reported_not_clipped(lms04_data):
    data = copy.deepcopy(lms04_data)
    data["treatment"]["arms"]["DOX"]["surgery"] = 1.2
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.errors == ["treatment.arms.DOX.surgery: must be a probability in [0, 1], "
                                 "got 1.2"]


def test_a_relative_likelihood_that_makes_no_probability_is_reported(lms04_data):
    data = copy.deepcopy(lms04_data)
    data["treatment"]["surgery_relative"] = {"origin": {"uterine": 3.0}}  # 3 x 0.35 = 1.05
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.errors == ["treatment.surgery_relative: 3 times "
                                 "arms.DOXTRAB.surgery (0.35) is 1.05, not a probability"]


def test_a_boolean_or_quoted_number_is_not_a_number(lms04_data):
    data = copy.deepcopy(lms04_data)
    data["treatment"]["surgery_relative"] = {"origin": {"uterine": True}}
    data["patients"] = "150"
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert sorted(info.value.errors) == [
        "patients: must be a valid integer, got '150'",
        "treatment.surgery_relative.origin.uterine: must be a number, got True"]


# ----------------------------------------------------------------------------- targets files

def test_a_duplicated_target_is_refused(tmp_path):
    file = _write(tmp_path, TARGETS_TEXT + "  pfs.hazard_ratio: 0.5\n", "targets.yaml")
    with pytest.raises(TargetsError) as info:
        load_targets(file)
    [line] = info.value.errors
    assert line.startswith("targets.pfs.hazard_ratio: key 'pfs.hazard_ratio' appears twice")
    assert info.value.source == str(file) and isinstance(info.value, SpecError)


def test_a_latin1_targets_file_is_refused(tmp_path):
    file = _write(tmp_path, ("# Résultats\n" + TARGETS_TEXT).encode("latin-1"), "targets.yaml")
    with pytest.raises(TargetsError, match="is not UTF-8 text"):
        load_targets(file)


def test_the_bundled_targets_load():
    targets = load_targets("lms04")
    assert targets and all(isinstance(v, float) for v in targets.values())


# ----------------------------------------------------------------------------- simulate_power

def _design(**changes):
    """A hand-built design object (the attributes simulate_power reads)."""
    base = group_sequential(3, alpha=0.025)
    fields = {name: getattr(base, name) for name in
              ("k", "alpha", "sided", "information_rates", "critical_values", "futility_bounds")}
    return SimpleNamespace(**(fields | changes))


@pytest.mark.parametrize("design, field, message", [
    (_design(k=0), "k", "k: expected a number of looks >= 1, got 0"),
    (_design(k=True), "k", "k: expected a number of looks >= 1, got True"),
    (_design(k=2), "information_rates", "information_rates: expected 2 strictly increasing"),
    (_design(information_rates=[0.5, 0.4, 1.0]), "information_rates",
     "information_rates: expected 3 strictly increasing values in"),
    (_design(information_rates=[0.3, 0.6, 0.9]), "information_rates", "ending at 1"),
    (_design(information_rates=[0.0, 0.5, 1.0]), "information_rates", r"\(0, 1\]"),
    (_design(information_rates=["a", "b", "c"]), "information_rates", "strictly increasing"),
    (_design(critical_values=[2.0, 1.9]), "critical_values",
     "critical_values: expected 3 critical values"),
    (_design(futility_bounds=[0.1, 0.2, 0.3, 0.4]), "futility_bounds",
     "futility_bounds: expected at most 3 bounds"),
])
def test_a_hand_built_design_is_checked(design, field, message):
    with pytest.raises(InputError, match=message) as info:
        simulate_power(**(LMS04 | {"design": design}))
    assert info.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"trials": 0}, "trials"), ({"trials": 1.5}, "trials"), ({"trials": True}, "trials"),
    ({"subjects": "150"}, "subjects"), ({"subjects": 150.0}, "subjects"),
    ({"events": -1}, "events"), ({"chunk_size": 0}, "chunk_size"),
    ({"seed": 1.0}, "seed"), ({"seed": True}, "seed"), ({"seed": -3}, "seed"),
    ({"time_unit": ""}, "time_unit"), ({"time_unit": 3}, "time_unit"),
    ({"workers": 0, "scheduler": "local"}, "workers"),
])
def test_counts_and_seeds_must_be_proper_integers(change, field):
    with pytest.raises(InputError) as info:
        simulate_power(**(LMS04 | change))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_options_fixed_by_the_design_are_refused():
    design = group_sequential(3, alpha=0.025)
    for name, value in (("alpha", 0.05), ("sided", 2)):
        with pytest.raises(InputError, match=f"{name}: the group-sequential design fixes") as info:
            simulate_power(**(LMS04 | {"design": design, name: value}))
        assert info.value.field == name


def test_patients_of_a_trial_that_was_not_simulated_are_refused():
    result = simulate_power(**LMS04)
    with pytest.raises(InputError, match=r"trials: expected trial indices from 0 to 9") as info:
        result.patients([10])
    assert info.value.field == "trials"
