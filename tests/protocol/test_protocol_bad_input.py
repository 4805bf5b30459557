"""Bad protocol files and bad arguments: the exact error class, naming the YAML path or field."""

from __future__ import annotations

from importlib import resources

import pytest
from protocol_fixtures import data, eligible_patient, lms04  # noqa: F401 (pytest fixtures)

from oncotrial.core.errors import InputError, SpecError
from oncotrial.protocol import Protocol, ProtocolError, body_surface_area

LMS04_TEXT = (resources.files("oncotrial") / "protocols" / "lms04.yaml").read_text("utf-8")


def _write(tmp_path, content: str | bytes):
    file = tmp_path / "trial.yaml"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content, encoding="utf-8")
    return file


def _load_error(file) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        Protocol.load(file)
    assert isinstance(info.value, SpecError) and info.value.source == str(file)
    return info.value


# ----------------------------------------------------------------------------- the file

def test_a_duplicated_top_level_key_is_refused_with_both_lines(tmp_path):
    file = _write(tmp_path, LMS04_TEXT + "\ndesign: {endpoint: PFS}\n")
    first = next(i for i, line in enumerate(LMS04_TEXT.splitlines(), 1)
                 if line.startswith("design:"))
    error = _load_error(file)
    [line] = error.errors
    assert line.startswith("design: key 'design' appears twice (lines ")
    assert f"lines {first} and " in line
    assert str(file) in str(error)


def test_a_duplicated_key_inside_a_list_item_names_its_index(tmp_path):
    text = LMS04_TEXT.replace("{code: DOXTRAB, label: Doxorubicin + trabectedin, ratio: 1,",
                              "{code: DOXTRAB, label: Doxorubicin + trabectedin, ratio: 1, "
                              "ratio: 2,")
    assert text != LMS04_TEXT
    [line] = _load_error(_write(tmp_path, text)).errors
    assert line.startswith("arms[1].ratio: key 'ratio' appears twice")


def test_a_latin1_file_is_refused_naming_the_file_and_the_byte(tmp_path):
    text = LMS04_TEXT.replace("sponsor: French Sarcoma Group", "sponsor: Unicancer Fédération")
    file = _write(tmp_path, text.encode("latin-1", errors="replace"))
    [line] = _load_error(file).errors
    assert line.startswith(f"<file>: {str(file)!r} is not UTF-8 text")
    assert "b'\\xe9'" in line and "save it as UTF-8" in line


def test_a_binary_file_is_refused_naming_the_file(tmp_path):
    file = _write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    [line] = _load_error(file).errors
    assert "is not UTF-8 text (byte 1" in line


def test_a_missing_file_names_the_file(tmp_path):
    file = tmp_path / "absent.yaml"
    [line] = _load_error(file).errors
    assert line.startswith(f"<file>: cannot read {str(file)!r}")


@pytest.mark.parametrize("dose", [0, -75])
def test_a_zero_or_negative_dose_is_refused_naming_the_drug(data, dose):
    data["regimens"]["DOX"]["phases"][0]["drugs"][0]["dose"] = dose
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    assert f"regimens.DOX.phases[0].drugs[0].dose: must be a positive number, got {dose}" \
        in info.value.errors[0]


def test_a_boolean_dose_is_refused(data):
    data["regimens"]["DOX"]["phases"][0]["drugs"][0]["dose"] = True
    with pytest.raises(ProtocolError, match=r"drugs\[0\]\.dose: must be a number, got True"):
        Protocol.from_dict(data)


def test_a_reversed_plausible_range_is_refused(data):
    data["dosing"] = {"height_cm": [250, 100]}
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    assert info.value.errors == ["dosing.height_cm: a range is [lowest, highest], "
                                 "got [250.0, 100.0]"]


def test_a_string_where_a_rule_needs_a_number_is_refused(data):
    data["eligibility"][0]["value"] = "18"
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    assert info.value.errors == ["eligibility[0].value: expected a number, got '18' for "
                                 "field 'age'"]


# ----------------------------------------------------------------------------- references between sections

def _errors(data) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    return info.value.errors


def test_an_analysis_names_the_subgroups_of_the_reporting_section(data):
    data["endpoints"][0]["analysis"]["subgroups"] = ["Stage", "Sex", "stage"]
    assert _errors(data) == [
        f"endpoints[0].analysis.subgroups[{i}]: {name!r} is not a subgroup of reporting.subgroups "
        "(Origin site, Stage, Age, ECOG performance status, No. of metastases)"
        for i, name in ((1, "Sex"), (2, "stage"))]
    data["endpoints"][0]["analysis"]["subgroups"] = list(data["reporting"]["subgroups"])
    assert Protocol.from_dict(data).endpoint_analysis("PFS").subgroups[0] == "Origin site"


def test_without_a_reporting_section_the_subgroups_are_the_stratification_factors():
    data = Protocol.load("gastric_example").to_dict()
    assert "subgroups" not in data.get("reporting", {})
    data["endpoints"][0]["analysis"]["subgroups"] = ["region", "Region"]
    assert _errors(data) == [
        "endpoints[0].analysis.subgroups[1]: 'Region' is not a subgroup (without "
        "reporting.subgroups, the subgroups are the stratification factors: region, ecog, "
        "pd_l1_cps_class)"]
    del data["stratification"]
    data["randomisation"] = {"method": "simple"}
    data["analysis"]["adjust_for"] = []
    for endpoint in data["endpoints"]:
        endpoint.pop("analysis", None)
    data["endpoints"][0]["analysis"] = {"subgroups": ["region"]}
    assert _errors(data) == [
        "endpoints[0].analysis.subgroups[0]: 'region' is not a subgroup (without "
        "reporting.subgroups, the subgroups are the stratification factors: none)"]


def test_every_reference_problem_is_listed_at_once(data):
    pfs = data["endpoints"][0]["analysis"]
    pfs["strata"] = ["stage", "centre"]
    pfs["subgroups"] = ["Region"]
    data["design"]["endpoint"] = "ORR"
    data["design"]["allocation_ratio"] = 2
    assert _errors(data) == [
        "endpoints[0].analysis.strata[1]: 'centre' is not a stratification factor (origin, stage)",
        "endpoints[0].analysis.subgroups[0]: 'Region' is not a subgroup of reporting.subgroups "
        "(Origin site, Stage, Age, ECOG performance status, No. of metastases)",
        "design.endpoint: 'ORR' is not a time_to_event end point",
        "design.allocation_ratio: 2 disagrees with the arms' ratios (experimental:control = "
        "DOXTRAB 1)"]
    data["design"]["endpoint"] = "TTF"
    assert "design.endpoint: 'TTF' is not an end point (PFS, OS, PFS2, ORR, DCR, DoR, " \
           "second_line, safety)" in _errors(data)


# ----------------------------------------------------------------------------- dosing

@pytest.mark.parametrize("height, weight, field, message", [
    (500, 70, "height_cm", "height_cm: 500 cm is outside the plausible range 100 to 250 cm"),
    (1.65, 70, "height_cm", "height_cm: 1.65 cm is outside the plausible range 100 to 250 cm"),
    (165, 700, "weight_kg", "weight_kg: 700 kg is outside the plausible range 20 to 350 kg"),
    (165, 0, "weight_kg", "weight_kg: 0 kg is outside the plausible range"),
    (float("inf"), 70, "height_cm", "height_cm: expected a finite number, got inf"),
])
def test_implausible_measurements_give_no_dose(lms04, height, weight, field, message):
    for call in (lambda: body_surface_area(height, weight),
                 lambda: lms04.doses("DOX", "induction", height_cm=height, weight_kg=weight)):
        with pytest.raises(InputError, match=message) as info:
            call()
        assert info.value.field == field
        assert ("plausible range" not in message) or f"dosing.{field}" in str(info.value)


def test_the_range_edges_are_accepted(lms04):
    assert body_surface_area(100, 20) == pytest.approx((100 * 20 / 3600) ** 0.5)
    assert body_surface_area(250, 350) == pytest.approx((250 * 350 / 3600) ** 0.5)


def test_a_protocol_declares_its_own_ranges(data):
    data["dosing"] = {"height_cm": [50, 200], "weight_kg": [3, 120]}
    protocol = Protocol.from_dict(data)
    [dox, _] = protocol.doses("DOX", "induction", height_cm=90, weight_kg=12)
    assert dox.dose == 41.3  # Mosteller 0.5477 -> 0.55 m2 -> 41.25 -> 41.3 mg
    with pytest.raises(InputError, match="height_cm: 210 cm is outside the plausible range "
                                         "50 to 200 cm") as info:
        protocol.doses("DOX", "induction", height_cm=210, weight_kg=100)
    assert info.value.field == "height_cm"
    assert protocol.body_surface_area(90, 12) == pytest.approx((90 * 12 / 3600) ** 0.5)
    with pytest.raises(InputError, match="weight_kg: 150 kg"):
        protocol.body_surface_area(180, 150)


def test_the_bundled_protocol_declares_the_default_ranges(lms04):
    assert lms04.dosing.height_range == (100, 250)
    assert lms04.dosing.weight_range == (20, 350)


@pytest.mark.parametrize("level", [-3, 1, {"doxorubicin": -3}])
def test_a_dose_level_outside_the_protocol_is_refused(lms04, level):
    with pytest.raises(InputError, match="dose_level: .* is not a level of doxorubicin in "
                                         r"the protocol \(permitted: 0, -1, -2\)") as info:
        lms04.doses("DOX", "induction", height_cm=165, weight_kg=70, dose_level=level)
    assert info.value.field == "dose_level"


@pytest.mark.parametrize("kwargs, message", [
    ({"height_cm": "165"}, "height_cm: expected a number, got str '165'"),
    ({"weight_kg": None}, "weight_kg: expected a number, got NoneType None"),
    ({"dose_level": 1.0}, "dose_level: expected an integer, got 1.0"),
    ({"dose_level": True}, "dose_level: expected an integer, got True"),
    ({"cycle": "1"}, "cycle: expected an integer, got '1'"),
])
def test_wrong_python_types_are_type_errors(lms04, kwargs, message):
    args = {"height_cm": 165, "weight_kg": 70} | kwargs
    with pytest.raises(TypeError, match=message):
        lms04.doses("DOX", "induction", **args)


# ----------------------------------------------------------------------------- eligibility

@pytest.mark.parametrize("field, value, reason", [
    ("age", "58", "age: expected a number, got '58'"),
    ("age", True, "age: expected a number, got True"),
    ("ecog", "1", "ecog: expected a number, got '1'"),
    ("cns_metastases", 0, "cns_metastases: expected true/false, got 0"),
    ("origin", 1, "origin: 1 is not a declared level (uterine, soft_tissue)"),
])
def test_wrongly_typed_patient_values_are_undetermined_not_coerced(lms04, eligible_patient,
                                                                   field, value, reason):
    result = lms04.check_eligibility(eligible_patient | {field: value})
    assert result.status == "cannot be determined"
    assert [o.reason for o in result.undetermined] == [reason]
