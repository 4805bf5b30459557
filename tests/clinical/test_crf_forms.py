"""Form specs come from the protocol alone: any protocol, JSON-safe, no arm codes."""

from __future__ import annotations

import json

import pytest

from oncotrial.clinical.crf import FormSpec, drug_field, form_specs, record_key
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol

FORMS = {"baseline", "cycle", "tumour_assessment", "adverse_event", "surgery",
         "subsequent_therapy", "second_progression", "end_of_treatment", "follow_up",
         "death", "end_of_study"}


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
def test_forms_of_each_bundled_protocol(name: str) -> None:
    protocol = Protocol.load(name)
    specs = form_specs(protocol)
    assert set(specs) == FORMS
    text = json.dumps({k: v.to_dict() for k, v in specs.items()})
    for arm in protocol.arms:  # a masked role may see the forms: no arm code or label
        assert f'"{arm.code}"' not in text and f'"{arm.label}"' not in text
    baseline = specs["baseline"]
    for factor in protocol.stratification:
        field = baseline.field(factor.name)
        assert field.kind == "choice" and field.required
        assert [c for c, _ in field.choices or ()] == list(factor.levels)
    drugs = {d.drug for r in protocol.regimens.values() for p in r.phases for d in p.drugs}
    cycle_fields = {f.name for f in specs["cycle"].fields}
    assert {f"{drug_field(d)}_dose" for d in drugs} <= cycle_fields
    for spec in specs.values():
        assert spec.repeating == bool(spec.key_fields)
        assert spec.date_field is None or spec.field(spec.date_field).kind == "date"


def test_table1_characteristics_become_baseline_fields() -> None:
    baseline = form_specs(Protocol.load("lms04"))["baseline"]
    assert baseline.field("metlung").kind == "flag" and baseline.field("metlung").column == "METLUNG"
    grade = baseline.field("grade")
    assert grade.kind == "choice" and [c for c, _ in grade.choices or ()] == [1, 2, 3]
    assert "origin" in (grade.help or "")
    assert baseline.field("nmets").kind == "integer"
    assert baseline.field("performance_status").maximum == 4


def test_another_protocol_with_other_names() -> None:
    data = Protocol.load("gastric_example").to_dict()
    for regimen in data["regimens"].values():
        for phase in regimen["phases"]:
            phase["name"] = "block_" + phase["name"]
            for drug in phase["drugs"]:
                drug["drug"] = "Agent " + drug["drug"].upper()
    data["reporting"] = {"table1": [{"type": "continuous", "column": "CREAT",
                                     "label": "Creatinine"}]}
    specs = form_specs(Protocol.from_dict(data))
    assert [c for c, _ in specs["cycle"].field("phase").choices or ()] == [
        "block_combination", "block_continuation"]
    assert specs["cycle"].field("agent_oxaliplatin_dose").unit == "mg/m2"
    assert specs["baseline"].field("creat").kind == "number"


def test_record_keys() -> None:
    specs: dict[str, FormSpec] = form_specs(Protocol.load("lms04"))
    assert record_key(specs["cycle"], {"phase": "induction", "cycle": 3}) == "induction:3"
    assert record_key(specs["tumour_assessment"], {"visit": 0}) == "0"
    assert record_key(specs["adverse_event"], {"seq": 2}) == "2"
    assert record_key(specs["death"], {"date": "2020-01-01"}) == ""
    with pytest.raises(InputError, match="cycle"):
        record_key(specs["cycle"], {"phase": "induction"})
