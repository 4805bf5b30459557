"""`oncotrial randomise assess` draws patients' strata from the protocol's declared level
prevalences by default; `--prevalence` replaces the shares of the factors it names."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import Protocol

runner = CliRunner()


def _assess(protocol: str, *extra: object) -> dict:
    result = runner.invoke(app, ["randomise", "assess", "--protocol", protocol, "--n", "30", "--sims", "20",
                                 "--method", "simple", "--json", *map(str, extra)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["stratum_probabilities"]


def test_the_protocols_prevalences_are_the_default():
    probs = _assess("gastric_example")
    assert probs["region=asia|ecog=0|pd_l1_cps_class=1"] == pytest.approx(0.5 * 0.42 * 0.2)
    assert probs["region=rest_of_world|ecog=1|pd_l1_cps_class=3"] == pytest.approx(0.5 * 0.58 * 0.4)
    assert sum(probs.values()) == pytest.approx(1)


def test_a_prevalence_option_replaces_only_the_factors_it_names():
    probs = _assess("gastric_example", "--prevalence", "ecog=0:0.6")
    # ECOG from the option (level 1 takes the rest), region and PD-L1 from the protocol
    assert probs["region=asia|ecog=0|pd_l1_cps_class=1"] == pytest.approx(0.5 * 0.6 * 0.2)
    assert probs["region=asia|ecog=1|pd_l1_cps_class=2"] == pytest.approx(0.5 * 0.4 * 0.4)


def test_without_declared_prevalences_the_levels_are_equally_likely(tmp_path):
    spec = Protocol.load("gastric_example").to_dict()
    for factor in spec["stratification"]:
        factor.pop("prevalence", None)
    path = tmp_path / "no_prevalence.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    probs = _assess(str(path))
    assert list(probs.values()) == pytest.approx([1 / 12] * 12)
    probs = _assess(str(path), "--prevalence", "ecog=0:0.6")
    assert probs["region=asia|ecog=0|pd_l1_cps_class=1"] == pytest.approx(0.5 * 0.6 / 3)
