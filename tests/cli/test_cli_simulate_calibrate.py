"""`oncotrial simulate calibrate`: published vs simulated, a trial without published targets."""

from __future__ import annotations

import json
import math
from importlib import resources

import pytest
import yaml
from typer.testing import CliRunner

from oncotrial.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_example(tmp_path_factory):
    """The bundled example scenario (no published results) with 150 patients, cut at the
    60th death, so that a replica is quick."""
    data = yaml.safe_load((resources.files("oncotrial") / "scenarios" / "gastric_example.yaml")
                          .read_text("utf-8"))
    data.update(patients=150, cutoff={"events": [60]})
    path = tmp_path_factory.mktemp("calibrate") / "example.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_without_published_targets_the_distributions_are_printed(small_example):
    result = runner.invoke(app, ["simulate", "calibrate", "--scenario", str(small_example),
                                 "--trials", "1", "--seed", "2"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "simulated estimates" in text and "published vs simulated" not in text
    assert "No published targets for scenario " in text and "--targets FILE" in text
    assert "os.hazard_ratio" in text and "combination.cycles_median" in text
    assert " NO " not in text and " yes " not in text
    result = runner.invoke(app, ["simulate", "calibrate", "--scenario", str(small_example),
                                 "--trials", "1", "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["has_targets"] is False and out["all_within"] is None
    rows = {row["estimate"]: row for row in out["table"]}
    assert rows["os.hazard_ratio"]["published"] is None and rows["os.hazard_ratio"]["within"] is None
    assert math.isfinite(rows["os.hazard_ratio"]["mean"]) and rows["os.hazard_ratio"]["available"] == 1


def test_targets_given_are_compared(small_example, tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  os.hazard_ratio: 0.75\n  os.events.control: 1000\n",
                       encoding="utf-8")
    result = runner.invoke(app, ["simulate", "calibrate", "--scenario", str(small_example),
                                 "--trials", "1", "--targets", str(targets), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["has_targets"] is True and out["all_within"] is False
    assert [row["estimate"] for row in out["table"]] == ["os.hazard_ratio", "os.events.control"]
    assert out["table"][1]["within"] is False
    result = runner.invoke(app, ["simulate", "calibrate", "--scenario", str(small_example),
                                 "--trials", "1", "--targets", str(targets)])
    assert result.exit_code == 0, result.output
    assert "published vs simulated" in result.output and "NO" in result.output
    assert "of 2 published values lie within" in result.output
