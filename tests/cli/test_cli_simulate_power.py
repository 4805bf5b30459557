"""`oncotrial simulate power`: JSON and table output, group-sequential looks, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.simulate.power import simulate_power

runner = CliRunner()
LMS04 = ["simulate", "power", "--median-control", "6", "--median-experimental", "9.7",
         "--patients", "150", "--events", "136", "--accrual", "24"]


def test_json_has_power_error_and_distributions():
    result = runner.invoke(app, [*LMS04, "--trials", "3000", "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("power", "mc_se", "trials", "seed", "analysis_time_quantiles",
                "hazard_ratio_quantiles", "expected_analysis_time", "analytic_power", "looks"):
        assert key in out, key
    assert out["trials"] == 3000 and out["seed"] == 1
    assert set(out["analysis_time_quantiles"]) == {"2.5%", "25%", "50%", "75%", "97.5%"}
    same = simulate_power(median_control=6, median_experimental=9.7, subjects=150, events=136,
                          accrual_time=24, trials=3000, seed=1)
    assert out["power"] == same.power and out["mc_se"] == same.mc_se
    assert out["hazard_ratio_quantiles"] == same.hazard_ratio_quantiles


def test_table_with_looks_and_dropout():
    result = runner.invoke(app, [*LMS04, "--looks", "3", "--spending", "asOF", "--dropout",
                                 "0.05", "--dropout-time", "12", "--trials", "2000", "--seed",
                                 "4", "--allocation", "1"])
    assert result.exit_code == 0, result.output
    for text in ("Power (Monte-Carlo SE)", "Hazard ratio quantiles", "Trials (seed)",
                 "2,000 (4)", "Per look", "critical z", "3.7103", "events 46, 91, 136"):
        assert text in result.output, text


def test_futility_and_one_sided():
    result = runner.invoke(app, [*LMS04, "--looks", "2", "--futility", "bsOF", "--sided", "1",
                                 "--alpha", "0.025", "--trials", "500", "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["sided"] == 1 and out["futility_bounds"] is not None
    assert len(out["looks"]["futility"]) == 2


def test_bad_input_names_the_option():
    cases = [
        (["--median-control", "-6"], "--median-control"),
        (["--events", "200"], "--events"),
        (["--trials", "0"], "--trials"),
        (["--spending", "asXX", "--looks", "3"], "--spending"),
        (["--futility", "bsOF"], "--futility"),
        (["--looks", "2", "--futility", "bsHSD", "--sided", "1", "--alpha", "0.025"], "--futility-gamma"),
        (["--futility-gamma", "-2"], "--futility-gamma"),
        (["--scheduler", "somewhere"], "--scheduler"),
        (["--workers", "2"], "--workers"),
        (["--hazard-ratio", "0.6"], "--median-experimental, --hazard-ratio"),
    ]
    for extra, name in cases:
        result = runner.invoke(app, [*LMS04, "--trials", "10", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert result.output.startswith(f"error: {name}: "), (extra, result.output)
        assert result.output.count("\n") == 1, (extra, result.output)


def test_futility_gamma_reaches_the_hsd_beta_spending():
    result = runner.invoke(app, [*LMS04, "--looks", "2", "--futility", "bsHSD", "--futility-gamma", "-2",
                                 "--sided", "1", "--alpha", "0.025", "--trials", "200", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["looks"]["futility"]) == 2
