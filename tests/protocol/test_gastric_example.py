"""The second bundled protocol (an example gastric trial): design against rpact, numeric
strata levels, open-ended phases, tablet rounding, the generated reference page."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.design.protocol_design import protocol_design
from oncotrial.protocol import Protocol, ProtocolError, level_key, tablets
from oncotrial.protocol.reference import reference_markdown

ROOT = Path(__file__).resolve().parents[2]
RPACT = json.loads((ROOT / "tests/fixtures/r/rpact_protocol_design.json").read_text())["expected"]
GASTRIC = Protocol.load("gastric_example")


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        Protocol.from_dict(data)
    return info.value.errors


def test_design_equals_rpact():
    res = protocol_design(GASTRIC)
    assert res.events_fixed == pytest.approx(RPACT["events_fixed"], rel=1e-6)
    assert res.events_exact == pytest.approx(RPACT["max_events"], rel=1e-6)
    assert res.subjects_exact == pytest.approx(RPACT["max_subjects"], rel=1e-6)
    assert list(res.events_per_stage) == pytest.approx(RPACT["events_per_stage"], rel=1e-6)
    assert list(res.analysis_times) == pytest.approx(RPACT["analysis_times"], rel=1e-6)
    assert list(res.hr_boundaries) == pytest.approx(RPACT["hr_boundaries"], rel=1e-6)
    assert res.allocation_ratio == 2.0


def test_cli_json_equals_rpact_and_mixing_is_refused():
    runner = CliRunner()
    out = runner.invoke(app, ["design", "survival", "--protocol", "gastric_example", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["events_exact"] == pytest.approx(RPACT["max_events"], rel=1e-6)
    mixed = runner.invoke(app, ["design", "survival", "--protocol", "gastric_example",
                                "--alpha", "0.05"])
    assert mixed.exit_code != 0 and "--alpha" in mixed.output


def test_lms04_design_unchanged():
    res = protocol_design(Protocol.load("lms04"))
    assert (res.events, res.subjects, res.enrolled) == (136, 144, 150)


@pytest.mark.parametrize("value", [0, 0.0, "0", " 0 ", np.int64(0), np.float64(0.0)])
def test_numeric_levels_match_every_form(value):
    assert GASTRIC.factor("ecog").level_of(value) == 0
    assert level_key(value) == "0"


def test_eligibility_with_numeric_category():
    patient = {"age": 60, "histology": "adenocarcinoma", "her2_positive": False,
               "measurable_or_evaluable": True, "prior_systemic_therapy_advanced": False,
               "creatinine_clearance": 80, "autoimmune_disease_active": False}
    for ecog in (1, 1.0, "1", np.int64(1)):
        assert GASTRIC.check_eligibility(patient | {"ecog": ecog}).eligible
    assert GASTRIC.check_eligibility(patient | {"ecog": 2}).status == "cannot be determined"


def test_phases_and_open_ended_schedule():
    regimen = GASTRIC.regimen("CAPOXPD1")
    assert regimen.phase_names == ["combination", "continuation"]
    assert regimen.phase("continuation").max_cycles is None
    plan = GASTRIC.schedule("CAPOX", date(2024, 1, 1), end_date=date(2025, 1, 1))
    cycles = plan[plan["event"] == "cycle"]
    assert cycles["phase"].tolist()[:9] == ["combination"] * 8 + ["continuation"]
    assert cycles["date"].max() < np.datetime64("2025-01-01")


def test_capecitabine_tablets():
    [_, _, cape] = GASTRIC.doses("CAPOXPD1", "combination", height_cm=165, weight_kg=60)
    assert cape.describe() == "1650 mg = 3 x 500 mg + 1 x 150 mg, twice daily, days 1-14"


@given(st.floats(10, 5000), st.lists(st.sampled_from([500.0, 150.0, 100.0, 25.0, 2.5]),
                                     min_size=1, max_size=3, unique=True))
def test_tablets_total_is_within_half_the_smallest_strength(target, strengths):
    packs = tablets(target, strengths)
    total = sum(s * n for s, n in packs)
    assert all(n > 0 and s in strengths for s, n in packs)
    assert abs(total - target) <= min(strengths) / 2 + 1e-9


def test_invalid_rules_name_their_path():
    data = copy.deepcopy(GASTRIC.to_dict())
    data["schema_version"] = 2
    data["stratification"][1]["levels"] = [0, "0"]
    errors = errors_of(data)
    assert any(e.startswith("schema_version:") for e in errors)
    assert any(e.startswith("stratification[1].levels:") for e in errors)
    data = copy.deepcopy(GASTRIC.to_dict())
    data["design"]["allocation_ratio"] = 3
    data["endpoints"][1]["analysis"]["strata"] = ["nope"]
    errors = errors_of(data)
    assert any(e.startswith("design.allocation_ratio: 3 disagrees") for e in errors)
    assert any(e.startswith("endpoints[1].analysis.strata[0]:") for e in errors)
    data = copy.deepcopy(GASTRIC.to_dict())
    data["regimens"]["CAPOX"]["phases"][0].pop("max_cycles")
    assert errors_of(data)[0].startswith("regimens.CAPOX.phases[0].max_cycles:")


def test_reference_page_is_generated():
    assert (ROOT / "docs/protocol-reference.md").read_text(encoding="utf-8") == \
        reference_markdown() + "\n"
