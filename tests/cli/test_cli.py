"""The `oncotrial` command line: numbers printed equal the library's (validated) numbers."""

from __future__ import annotations

import json

import pytest
from conftest import assert_close, load_fixture
from typer.testing import CliRunner

from oncotrial import __version__
from oncotrial.cli import app
from oncotrial.datasets import load

runner = CliRunner()


@pytest.fixture(scope="module")
def colon_death_csv(tmp_path_factory):
    d = load("colon")
    d = d[(d["etype"] == 2) & d["rx"].isin(["Obs", "Lev+5FU"])].assign(months=lambda x: x["time"] / 30.4375)
    path = tmp_path_factory.mktemp("cli") / "colon_death.csv"
    d.to_csv(path, index=False)
    return path


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"oncotrial {__version__}"


def test_survival_json_matches_r(colon_death_csv):
    result = runner.invoke(app, ["survival", str(colon_death_csv), "--time", "months", "--event", "status",
                                 "--group", "rx", "--adjust", "node4", "--strata", "extent",
                                 "--landmark", "36", "--landmark", "60", "--reference", "Obs", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    ref = load_fixture("efficacy")["death_strat"]
    assert_close(out["hazard_ratios"][0]["hr"], ref["hr"], what="hr")
    assert_close(out["logrank_p"], ref["logrank_p"], what="logrank p")
    assert [a["arm"] for a in out["arms"]] == ["Obs", "Lev+5FU"]  # reference arm first
    assert out["arms"][1]["median"] is None  # not reached: NaN is written as JSON null
    assert out["convention"] == "r"


def test_survival_table_output(colon_death_csv):
    result = runner.invoke(app, ["survival", str(colon_death_csv), "--time", "months", "--event", "status",
                                 "--group", "rx", "--landmark", "60", "--convention", "sas"])
    assert result.exit_code == 0, result.output
    assert "Hazard ratio Lev+5FU vs Obs" in result.output
    assert "Median follow-up (reversed Kaplan–Meier)" in result.output
    assert "Convention: sas" in result.output and "Breslow ties" in result.output


def test_missing_column_is_named(colon_death_csv):
    result = runner.invoke(app, ["survival", str(colon_death_csv), "--time", "months", "--event", "dead",
                                 "--group", "rx"])
    assert result.exit_code == 2
    assert "no column(s) ['dead']" in result.output


def test_bad_event_values_are_named(tmp_path):
    d = load("aml")
    d.loc[4, "status"] = 2
    path = tmp_path / "aml.csv"
    d.to_csv(path, index=False)
    result = runner.invoke(app, ["survival", str(path), "--time", "time", "--event", "status", "--group", "x"])
    assert result.exit_code == 2
    assert "status: expected 0/1" in result.output and "rows [5]" in result.output  # 1-based data rows


def test_unknown_reference(colon_death_csv):
    result = runner.invoke(app, ["survival", str(colon_death_csv), "--time", "months", "--event", "status",
                                 "--group", "rx", "--reference", "Placebo"])
    assert result.exit_code == 2
    assert "--reference: level 'Placebo' not found" in result.output


def test_datasets_export(tmp_path):
    out = tmp_path / "veteran.parquet"
    result = runner.invoke(app, ["datasets", "export", "veteran", str(out)])
    assert result.exit_code == 0 and out.exists()
    bad = runner.invoke(app, ["datasets", "export", "veteran", str(tmp_path / "v.txt")])
    assert bad.exit_code == 2 and "unsupported file type" in bad.output
