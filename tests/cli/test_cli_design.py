"""`oncotrial design survival`: the LMS04 design from the command line, JSON, plot, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oncotrial.cli import app

runner = CliRunner()
LMS04 = ["design", "survival", "--median-control", "6", "--median-experimental", "9.7", "--alpha", "0.05",
         "--power", "0.8", "--accrual", "24", "--follow-up", "24", "--not-randomised", "0.03"]


def test_lms04_table():
    result = runner.invoke(app, LMS04)
    assert result.exit_code == 0, result.output
    assert "136.06 -> 136" in result.output
    assert "control 72 + experimental 72 = 144" in result.output
    assert "control 75 + experimental 75 = 150" in result.output


def test_lms04_json():
    result = runner.invoke(app, [*LMS04, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["events"] == 136 and out["subjects"] == 144 and out["enrolled"] == 150
    assert abs(out["events_exact"] - 136.0575) < 1e-4


def test_group_sequential_and_plot(tmp_path):
    png = tmp_path / "power.png"
    result = runner.invoke(app, [*LMS04, "--looks", "3", "--spending", "asOF", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "3 looks" in result.output and "hr_boundary" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_names_the_parameter(tmp_path):
    result = runner.invoke(app, ["design", "survival", "--median-control", "6", "--hazard-ratio", "1",
                                 "--accrual", "24", "--follow-up", "24"])
    assert result.exit_code == 2 and result.output.startswith("error: --hazard-ratio: ")
    result = runner.invoke(app, [*LMS04, "--power", "1.5"])
    assert result.exit_code == 2 and result.output.startswith("error: --power: ")
    result = runner.invoke(app, [*LMS04, "--plot", str(tmp_path / "p.bmp")])
    assert result.exit_code == 2 and "unsupported file type '.bmp'" in result.output
