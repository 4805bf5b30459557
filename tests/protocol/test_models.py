"""Protocol files: LMS04 facts, round trip, loading, and every validation error."""

from __future__ import annotations

import pytest
import yaml
from protocol_fixtures import data, lms04  # noqa: F401 (pytest fixtures)

from oncotrial.protocol import Protocol, ProtocolError, bundled_protocols, protocol_errors


def errors_of(data) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    assert isinstance(info.value, ValueError)
    return info.value.errors


# ----------------------------------------------------------------------------- LMS04

def test_lms04_identifiers_and_arms(lms04):
    assert (lms04.id, lms04.registry, lms04.phase) == ("LMS04", "NCT02997358", 3)
    assert [(a.code, a.label, a.ratio, a.role) for a in lms04.arms] == [
        ("DOX", "Doxorubicin", 1, "control"),
        ("DOXTRAB", "Doxorubicin + trabectedin", 1, "experimental")]
    assert {f.name: f.levels for f in lms04.stratification} == {
        "origin": ["uterine", "soft_tissue"], "stage": ["locally_advanced", "metastatic"]}
    assert lms04.randomisation.method == "blocks"
    assert lms04.randomisation.block_sizes == [2, 4, 6]
    assert "lms04" in bundled_protocols()
    assert repr(lms04).startswith("Protocol(id='LMS04'")


def test_lms04_regimens(lms04):
    dox = lms04.regimen("DOX")
    assert dox.maintenance is None
    [d] = dox.induction.drugs
    assert (d.drug, d.dose, d.unit, d.route, d.infusion_minutes, d.days) == (
        "doxorubicin", 75, "mg/m2", "IV", [10, 15], [1])
    [g] = dox.induction.supportive_care
    assert (g.drug, g.dose, g.unit, g.route, g.days) == (
        "lenograstim", 150, "ug/m2", "SC", [3, 4, 5, 6, 7, 8, 9])
    combo = lms04.regimen("DOXTRAB")
    assert [(x.drug, x.dose) for x in combo.induction.drugs] == [
        ("doxorubicin", 60), ("trabectedin", 1.1)]
    assert combo.induction.drugs[1].infusion_minutes == [180]
    [peg] = combo.induction.supportive_care
    assert (peg.drug, peg.dose, peg.unit, peg.days) == ("pegfilgrastim", 6, "mg", [2])
    m = combo.maintenance
    assert (m.cycle_length_days, m.max_cycles, m.continue_if) == (21, 17, "no_progression")
    assert [(x.drug, x.dose, x.unit) for x in m.drugs] == [("trabectedin", 1.1, "mg/m2")]
    assert all(p.cycle_length_days == 21 and p.max_cycles == 6
               for p in (dox.induction, combo.induction))
    assert any("Surgery of residual disease" in n for n in dox.notes + combo.notes)
    assert all(x.reductions.source == "assumption" for x in combo.induction.drugs)


def test_lms04_rest(lms04):
    assert [e.name for e in lms04.endpoints] == [
        "PFS", "OS", "PFS2", "ORR", "DCR", "DoR", "second_line", "safety"]
    pfs = lms04.endpoints[0]
    assert pfs.role == "primary" and "central review" in pfs.assessed_by
    assert lms04.analysis.convention == "sas"
    assert lms04.analysis.landmarks == [12, 24] and lms04.analysis.adjust_for == ["origin", "stage"]
    assert lms04.adverse_events.ctcae_version == "4.0"
    assert lms04.safety_population.min_cycles == 1
    assert [str(s.every) for s in lms04.assessments.segments] == [
        "6 weeks", "9 weeks", "3 months", "6 months"]


def test_design_inputs(lms04):
    inputs = lms04.design_inputs()
    assert inputs == {"median_control": 6.0, "median_experimental": 9.7, "alpha": 0.05,
                      "sided": 2, "power": 0.8, "allocation_ratio": 1.0,
                      "accrual_time": 24, "follow_up": 24, "not_randomised": 0.03,
                      "method": "schoenfeld", "rounding": "nearest"}


def test_design_inputs_reproduce_the_published_sample_size(lms04):
    from oncotrial.design import survival_sample_size
    res = survival_sample_size(**lms04.design_inputs())
    assert (res.events, res.enrolled) == (136, 150)


def test_allocation_ratio_is_experimental_to_control(data):
    data["arms"][0]["ratio"], data["arms"][1]["ratio"] = 1, 2
    data["randomisation"]["block_sizes"] = [3, 6]
    assert Protocol.from_dict(data).design_inputs()["allocation_ratio"] == 2.0


def test_round_trip(lms04, data):
    assert Protocol.from_dict(data) == lms04
    assert Protocol.from_dict(yaml.safe_load(yaml.safe_dump(data))) == lms04


def test_load_path_and_errors(tmp_path, data):
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert Protocol.load(path).id == "LMS04"
    assert protocol_errors(path) == []
    data["arms"][1]["ratio"] = 0
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert protocol_errors(path) == ["arms[1].ratio: must be a positive integer, got 0"]
    with pytest.raises(ProtocolError, match=str(path)):
        Protocol.load(path)
    assert "cannot read" in protocol_errors(tmp_path / "missing.yaml")[0]
    with pytest.raises(ProtocolError, match="no bundled protocol 'lms99'.*lms04"):
        Protocol.load("lms99")
    path.write_text("arms: [unclosed", encoding="utf-8")
    assert protocol_errors(path)[0].startswith("<yaml>:")
    path.write_text("- a list\n", encoding="utf-8")
    assert protocol_errors(path) == ["<protocol>: must be a mapping of sections, got list"]


# ----------------------------------------------------------------------------- errors

def test_ratio_of_zero(data):
    data["arms"][1]["ratio"] = 0
    assert errors_of(data) == ["arms[1].ratio: must be a positive integer, got 0"]


def test_ratio_must_be_an_integer(data):
    data["arms"][0]["ratio"] = True
    assert errors_of(data) == ["arms[0].ratio: must be a valid integer, got True"]


def test_unknown_drug_unit(data):
    data["regimens"]["DOX"]["phases"][0]["drugs"][0]["unit"] = "mg/m^2"
    assert errors_of(data) == [
        "regimens.DOX.phases[0].drugs[0].unit: must be 'mg/m2', 'ug/m2', 'mg', 'ug' or "
        "'mg/kg', got 'mg/m^2'"]


def test_block_size_not_a_multiple_of_the_ratio_sum(data):
    data["randomisation"]["block_sizes"] = [2, 3, 6]
    assert errors_of(data) == [
        "randomisation.block_sizes[1]: 3 is not a multiple of the allocation ratio sum 2 "
        "(DOX:DOXTRAB = 1:1)"]


def test_duplicate_arm_codes(data):
    data["arms"][1]["code"] = "DOX"
    errors = errors_of(data)
    assert "arms[1].code: duplicate arm code 'DOX'" in errors
    assert "regimens.DOXTRAB: not an arm code (DOX, DOX)" in errors


def test_missing_required_fields_and_unknown_keys_are_all_listed(data):
    del data["sponsor"]
    del data["arms"][0]["label"]
    data["arms"][1]["ratoi"] = 1
    data["design"]["powr"] = 0.9
    assert errors_of(data) == [
        "sponsor: required field is missing",
        "arms[0].label: required field is missing",
        "arms[1].ratoi: unknown key (not part of the protocol schema; check the spelling)",
        "design.powr: unknown key (not part of the protocol schema; check the spelling)"]


def test_schedule_that_never_ends(data):
    segments = data["assessments"]["segments"]
    segments[-1]["for"] = {"months": 12}
    assert errors_of(data) == [
        "assessments.segments[3]: the schedule must end with an open-ended segment or "
        "declare an 'end'"]
    data["assessments"]["end"] = {"months": 60}
    assert Protocol.from_dict(data).assessments.end.months == 60


def test_open_ended_segment_before_others(data):
    del data["assessments"]["segments"][1]["until_time"]
    assert errors_of(data) == [
        "assessments.segments[1]: the segment never ends (it has no 'until', 'until_time' "
        "or 'for'), so segment(s) 2..3 are never reached"]


@pytest.mark.parametrize("every, message", [
    ({"weeks": 0}, "must be a positive duration, got 0 weeks"),
    ({"days": -7}, "must be a positive duration, got -7 days"),
    ({"weeks": 6, "days": 1}, "a duration is exactly one of days, weeks or months, "
                              "got {'days': 1, 'weeks': 6}"),
])
def test_zero_or_negative_interval(data, every, message):
    data["assessments"]["segments"][0]["every"] = every
    assert errors_of(data) == [f"assessments.segments[0].every: {message}"]


def test_segment_that_never_advances(data):
    data["assessments"]["segments"][2]["for"] = {"months": 2}
    assert errors_of(data) == [
        "assessments.segments[2].for: the segment never advances: it lasts 2 months, "
        "less than its interval of 3 months"]
    data["assessments"]["segments"][2] = {"every": {"months": 3},
                                          "until_time": {"months": 12}}
    assert errors_of(data) == [
        "assessments.segments[2].until_time: the segment never advances: it ends at "
        "12 months, not after segment 1 (24 months)"]


def test_stratum_level_in_a_rule_must_be_declared(data):
    rule = data["eligibility"][6]["any"][0]
    rule["value"] = "unresectable"
    assert errors_of(data) == [
        "eligibility[6].any[0].value: 'unresectable' is not a declared level "
        "(locally_advanced, metastatic) of stratification factor 'stage'"]


def test_rule_on_an_undeclared_field(data):
    data["eligibility"][0]["field"] = "age_years"
    [error] = errors_of(data)
    assert error.startswith("eligibility[0].field: 'age_years' is not a declared field "
                            "(declared: age, histology,")


def test_rule_checks(data):
    data["eligibility"][0]["value"] = "eighteen"
    data["eligibility"][2]["op"] = ">="
    data["eligibility"][4]["value"] = 1
    data["eligibility"][5]["op"] = "is_ture"
    data["eligibility"][3]["id"] = "age"
    errors = errors_of(data)
    assert errors == [
        "eligibility[5].op: must be '==', '!=', '<', '<=', '>', '>=', 'in', 'not_in', "
        "'is_true' or 'is_false', got 'is_ture'"]
    data["eligibility"][5]["op"] = "is_true"
    assert errors_of(data) == [
        "eligibility[0].value: expected a number, got 'eighteen' for field 'age'",
        "eligibility[2].op: '>=' does not apply to boolean field 'prior_chemotherapy' "
        "(use one of is_true, is_false)",
        "eligibility[3].id: duplicate criterion id 'age'",
        "eligibility[4].value: 'in' needs a non-empty list, got 1"]


def test_rule_forms(data):
    data["eligibility"][0]["all"] = [{"field": "age", "op": ">", "value": 1}]
    data["eligibility"][1]["all"][0].pop("op")
    assert errors_of(data) == [
        "eligibility[0]: a rule needs exactly one of 'field' (with 'op'), 'all' or 'any'",
        "eligibility[1].all[0].op: a rule on field 'histology' needs an 'op' (one of ==, "
        "!=, <, <=, >, >=, in, not_in, is_true, is_false)"]


def test_stratification_factor_must_be_a_matching_field(data):
    data["fields"]["stage"]["levels"] = ["metastatic", "locally_advanced"]
    del data["fields"]["origin"]
    errors = errors_of(data)
    assert "fields: stratification factor 'origin' must be declared as a field" \
        in errors
    assert ("fields.stage: must be a category with the stratification levels "
            "[locally_advanced, metastatic] (or a number field), got category "
            "['metastatic', 'locally_advanced']") in errors


def test_randomisation_settings(data):
    data["randomisation"] = {"method": "minimisation", "block_sizes": [2],
                             "minimisation": {"weights": {"origin": 1, "centre": 1},
                                              "p": 0.5, "imbalance": "max"}}
    assert errors_of(data) == [
        "randomisation.minimisation.p: must be in (0.5, 1], got 0.5",
        "randomisation.minimisation.imbalance: must be 'range' or 'variance', got 'max'"]
    data["randomisation"]["minimisation"].update(p=0.8, imbalance="variance")
    assert errors_of(data) == [
        "randomisation.block_sizes: only used by method 'blocks', not 'minimisation'"]
    del data["randomisation"]["block_sizes"]
    assert errors_of(data) == [
        "randomisation.minimisation.weights.centre: not a stratification factor "
        "(origin, stage)"]


def test_regimen_checks(data):
    induction = data["regimens"]["DOX"]["phases"][0]
    induction["supportive_care"][0]["days"] = [3, 25]
    induction["drugs"][0]["reductions"]["levels"] = [80, 45]
    induction["drugs"][0]["route"] = "iv"
    assert errors_of(data) == [
        "regimens.DOX.phases[0].drugs[0].route: must be 'IV', 'SC', 'PO' or 'IM', got 'iv'"]
    induction["drugs"][0]["route"] = "IV"
    assert errors_of(data) == [
        "regimens.DOX.phases[0].drugs[0].reductions.levels[0]: level -1 (80 mg/m2) must be "
        "below the full dose 75 mg/m2"]
    induction["drugs"][0]["reductions"]["levels"] = [60, 45]
    assert errors_of(data) == [
        "regimens.DOX.phases[0].supportive_care[0].days: day(s) [25] fall outside the "
        "21-day cycle"]


def test_missing_regimen_and_endpoint_references(data):
    del data["regimens"]["DOXTRAB"]
    data["design"]["endpoint"] = "EFS"
    data["analysis"]["adjust_for"] = ["origin", "centre"]
    assert errors_of(data) == [
        "analysis.adjust_for[1]: 'centre' is not a stratification factor (origin, stage)",
        "regimens: no regimen for arm 'DOXTRAB'",
        "design.endpoint: 'EFS' is not an end point (PFS, OS, PFS2, ORR, DCR, DoR, "
        "second_line, safety)"]


def test_design_fractions(data):
    data["design"]["alpha"] = 5
    data["design"]["sided"] = 3
    assert errors_of(data) == ["design.sided: must be 1 or 2, got 3"]
    data["design"]["sided"] = 2
    assert errors_of(data) == ["design.alpha: must be in (0, 1), got 5.0"]


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
def test_a_saved_protocol_keeps_every_end_point_analysis(name):
    """``to_dict`` -> ``from_dict`` (what ``oncotrial demo`` saves as protocol.yaml) keeps the
    analyses whose landmarks are inherited from ``analysis.landmarks``."""
    protocol = Protocol.load(name)
    again = Protocol.from_dict(protocol.to_dict())
    for endpoint in protocol.endpoints:
        if endpoint.kind == "time_to_event":
            assert again.endpoint_analysis(endpoint.name) == protocol.endpoint_analysis(endpoint.name)
