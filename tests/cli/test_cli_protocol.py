"""`oncotrial protocol`, `randomise` and `dose` commands."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import Protocol
from oncotrial.randomise import read_list_csv

runner = CliRunner()


def test_protocol_show():
    result = runner.invoke(app, ["protocol", "show", "lms04"])
    assert result.exit_code == 0, result.output
    assert "NCT02997358" in result.output and "Doxorubicin + trabectedin" in result.output
    assert "block_sizes: 2/4/6" in result.output and "pegfilgrastim" in result.output


def test_protocol_check_valid_and_invalid(tmp_path):
    good = tmp_path / "good.yaml"
    data = Protocol.load("lms04").to_dict()
    good.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert runner.invoke(app, ["protocol", "check", str(good)]).exit_code == 0
    data["arms"][1]["ratio"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["protocol", "check", str(bad)])
    assert result.exit_code == 1
    assert "arms[1].ratio" in result.output and "error(s)" in result.output


def test_protocol_check_takes_a_bundled_name_like_show():
    for name in ("gastric_example", "lms04"):
        result = runner.invoke(app, ["protocol", "check", name])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{name}: valid (")
    result = runner.invoke(app, ["protocol", "check", "nowhere"])
    assert result.exit_code == 1
    assert "no bundled protocol 'nowhere'" in result.output and "1 error(s) in nowhere" in result.output


def test_protocol_check_lists_every_cross_section_problem(tmp_path):
    data = Protocol.load("gastric_example").to_dict()
    os_analysis = data["endpoints"][0]["analysis"]
    os_analysis["subgroups"] = ["region", "sex"]
    os_analysis["strata"] = ["region", "centre"]
    data["design"]["endpoint"] = "ORR"
    data["design"]["allocation_ratio"] = 1
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["protocol", "check", str(path)])
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.output.split("✗")[1:]]
    assert [line.split(":")[0] for line in lines] == [
        "endpoints[0].analysis.strata[1]", "endpoints[0].analysis.subgroups[1]",
        "design.endpoint", "design.allocation_ratio"]
    assert "4 error(s) in" in result.output


def test_randomise_list_writes_a_verifiable_list(tmp_path):
    out = tmp_path / "list.csv"
    result = runner.invoke(app, ["randomise", "list", "--protocol", "lms04", "--seed", "7",
                                 "--per-stratum", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lst = read_list_csv(out, Protocol.load("lms04"))
    assert f"SHA-256 {lst.sha256}" in result.output and len(lst.frame) == 80


def test_randomise_assess_json():
    result = runner.invoke(app, ["randomise", "assess", "--protocol", "lms04", "--n", "40", "--sims", "200",
                                 "--method", "blocks:2", "--method", "simple", "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.output)["table"]
    assert [r["method"] for r in table] == ["blocks:2", "simple"]
    assert table[0]["predictability"] > table[1]["predictability"]


def test_dose():
    result = runner.invoke(app, ["dose", "--protocol", "lms04", "--arm", "DOX", "--height-cm", "165",
                                 "--weight-kg", "70"])
    assert result.exit_code == 0, result.output
    assert "1.79 m2" in result.output and "134.3 mg" in result.output  # 75 mg/m2 x 1.79
    bad = runner.invoke(app, ["dose", "--protocol", "lms04", "--arm", "XYZ", "--height-cm", "165",
                              "--weight-kg", "70"])
    assert bad.exit_code == 2 and "XYZ" in bad.output


def test_protocol_show_prints_every_section_of_a_trial_unlike_lms04():
    result = runner.invoke(app, ["protocol", "show", "gastric_example"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for expected in ("CAPOX + anti-PD-1", "ratio", "pd_l1_cps_class", "2 (CPS 1-9)",
                     "Randomisation: minimisation", "p 0.8", "Eligibility", "continuation",
                     "until progression", "x2/day", "1-14", "Assessments (RECIST 1.1)",
                     "weeks 6", "weeks 9", "End points", "1-sided P", "estimates with",
                     "information_rates 0.6/1.0", "spending asOF", "CTCAE v5.0",
                     "Safety population", "Plausible body measurements"):
        assert expected in text, expected


def test_protocol_schema_is_json_schema_and_markdown_is_the_reference_page():
    result = runner.invoke(app, ["protocol", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"arms", "stratification", "design", "endpoints"} <= set(schema["properties"])
    result = runner.invoke(app, ["protocol", "schema", "--markdown"])
    assert result.exit_code == 0 and result.output.lstrip().startswith("#")
    assert "stratification" in result.output


def test_dose_levels_per_drug():
    common = ["dose", "--protocol", "gastric_example", "--arm", "CAPOXPD1", "--height-cm", "170",
              "--weight-kg", "70"]
    full = runner.invoke(app, common)
    reduced = runner.invoke(app, [*common, "--dose-level", "capecitabine=-1"])
    assert full.exit_code == 0 and reduced.exit_code == 0, reduced.output
    assert "750 mg/m2 (level -1)" in reduced.output and "750 mg/m2" not in full.output
    assert "130 mg/m2" in reduced.output  # oxaliplatin keeps its full dose
    bad = runner.invoke(app, [*common, "--dose-level", "nodrug=-1"])
    assert bad.exit_code == 2 and "--dose-level: nodrug is not a drug of CAPOXPD1" in bad.output
