"""`oncotrial randomise list|allocate|replay|assess` as a user runs them."""

from __future__ import annotations

import json

import pytest
import yaml
from clihelpers import error_line, oncotrial
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import Protocol

runner = CliRunner()

UTERINE_METASTATIC = ["--factor", "origin=uterine", "--factor", "stage=metastatic"]
#: region x ECOG (numeric levels 0/1) x PD-L1 class (numeric levels 1/2/3)
GASTRIC_PATIENTS = [(region, ecog, cps) for region in ("asia", "rest_of_world") for ecog in (0, 1)
                    for cps in (1, 2, 3)]


def _run(*args: object):
    return runner.invoke(app, ["randomise", *map(str, args)])


def _allocate(protocol, state, subject, factors, *extra):
    result = _run("allocate", "--protocol", protocol, "--state", state, "--subject", subject,
                  *factors, *extra, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _gastric_factors(region, ecog, cps):
    return ["--factor", f"region={region}", "--factor", f"ecog={ecog}", "--factor", f"pd_l1_cps_class={cps}"]


def _simple_protocol(tmp_path):
    data = Protocol.load("gastric_example").to_dict()
    data["randomisation"] = {"method": "simple"}
    path = tmp_path / "simple.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_blocks_round_trip_with_the_sealed_list(tmp_path):
    lst, state = tmp_path / "list.csv", tmp_path / "state.json"
    assert _run("list", "--protocol", "lms04", "--seed", 11, "--per-stratum", 6, "--out", lst).exit_code == 0
    arms = [_allocate("lms04", state, f"S{i}", UTERINE_METASTATIC, "--list", lst)["arm"] for i in range(6)]
    rows = [line.split(",") for line in lst.read_text().splitlines()
            if line.startswith("origin=uterine|stage=metastatic,")]
    assert arms == [r[4] for r in rows]
    replayed = _run("replay", "--protocol", "lms04", "--state", state, "--list", lst)
    assert replayed.exit_code == 0, replayed.output
    assert "all 6 allocation(s) reproduced from the seed" in replayed.output
    # the seventh patient of the stratum: the list is used up
    message = error_line(oncotrial("randomise", "allocate", "--protocol", "lms04", "--state", state,
                                   "--subject", "S6", *UTERINE_METASTATIC, "--list", lst), code=1)
    assert message == ("the allocation list of stratum origin=uterine|stage=metastatic is "
                       "exhausted: all 6 rows are allocated")
    assert len(json.loads(state.read_text())["allocations"]) == 6  # the refusal changed nothing


@pytest.mark.parametrize("method", ["minimisation", "simple"])
def test_two_to_one_three_factors_round_trip_and_tampering(tmp_path, method):
    protocol = "gastric_example" if method == "minimisation" else _simple_protocol(tmp_path)
    state = tmp_path / "state.json"
    out = [_allocate(protocol, state, f"P{i:02d}", _gastric_factors(*GASTRIC_PATIENTS[i % 12]), "--seed", 5)
           for i in range(30)]
    assert out[0]["method"] == method and out[-1]["allocation"] == 30
    assert out[1]["stratum"] == "region=asia|ecog=0|pd_l1_cps_class=2"
    ok = _run("replay", "--protocol", protocol, "--state", state, "--seed", 5, "--json")
    assert ok.exit_code == 0, ok.output
    replay = json.loads(ok.output)
    assert replay["ok"] and [r["replayed"] for r in replay["table"]] == [o["arm"] for o in out]
    data = json.loads(state.read_text())
    arm = data["allocations"][9]["arm"]
    data["allocations"][9]["arm"] = "CAPOX" if arm == "CAPOXPD1" else "CAPOXPD1"
    state.write_text(json.dumps(data))
    tampered = oncotrial("randomise", "replay", "--protocol", protocol, "--state", state, "--seed", 5)
    assert tampered.returncode == 1 and tampered.stderr.count("\n") == 1, tampered.stderr
    assert "stored arm" in tampered.stdout  # the table, with the allocation that differs
    message = tampered.stderr.removeprefix("error: ")
    assert message.startswith(f"{state}: ") and "first: allocation 10 (P09, " in message
    assert f"stored arm {data['allocations'][9]['arm']}, the seed gives {arm}" in message


def test_refusals_and_bad_input(tmp_path):
    state = tmp_path / "state.json"
    _allocate("gastric_example", state, "P1", _gastric_factors("asia", 1, 3), "--seed", 2)
    again = oncotrial("randomise", "allocate", "--protocol", "gastric_example", "--state", state,
                      "--subject", "P1", *_gastric_factors("asia", 1, 3), "--seed", 2)
    assert error_line(again, code=1) == "subject 'P1' is already randomised (allocation 1 of 1 identified ones)"
    cases = [
        (_gastric_factors("asia", 2, 3) + ["--seed", "2"],
         "--factor: stratum factor 'ecog' has unknown level '2'; declared levels: ['0', '1']"),
        (_gastric_factors("asia", 1, 3) + ["--seed", "3"],
         "--seed: 3 is not the seed of the 1 earlier allocation(s) of this state"),
        (_gastric_factors("asia", 1, 3)[:4] + ["--seed", "2"], "--factor: stratum is missing factor "
                                                                "'pd_l1_cps_class' (declared levels: ['1', '2', '3'])"),
        (_gastric_factors("asia", 1, 3), "--seed: required (the seed of this trial's allocations)"),
        (["--factor", "ecog", "--seed", "2"], "--factor: expected FACTOR=LEVEL, got 'ecog'"),
    ]
    for factors, expected in cases:
        result = _run("allocate", "--protocol", "gastric_example", "--state", state, "--subject", "P2", *factors)
        assert result.exit_code == 2 and expected in " ".join(result.output.split()), result.output
    listed = _run("list", "--protocol", "gastric_example", "--seed", 1, "--out", tmp_path / "l.csv")
    assert listed.exit_code == 2
    assert "randomises by minimisation, which has no allocation list; allocate each patient with " \
           "'oncotrial randomise allocate'" in " ".join(listed.output.split())


def test_replay_without_a_seed_checks_the_bookkeeping(tmp_path):
    state = tmp_path / "state.json"
    for i in range(4):
        _allocate("gastric_example", state, f"P{i}", _gastric_factors("asia", 0, 1), "--seed", 8)
    result = _run("replay", "--protocol", "gastric_example", "--state", state)
    assert result.exit_code == 0 and "consistent with the state" in result.output
    data = json.loads(state.read_text())
    data["counts"]["ecog=0"]["CAPOX"] += 1
    state.write_text(json.dumps(data))
    bad = _run("replay", "--protocol", "gastric_example", "--state", state)
    assert bad.exit_code == 1 and "the stored counts differ" in bad.output
    missing = _run("replay", "--protocol", "gastric_example", "--state", tmp_path / "none.json")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_assess_two_to_one_defaults_to_the_design_and_takes_prevalences(tmp_path):
    prevalence = tmp_path / "prevalence.yaml"
    prevalence.write_text("ecog: {0: 0.6, 1: 0.4}\nregion: {asia: 0.3}\n", encoding="utf-8")
    result = _run("assess", "--protocol", "gastric_example", "--sims", 50, "--prevalence", prevalence, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n_patients"] > 500  # the design's sample size
    assert data["stratum_probabilities"]["region=asia|ecog=0|pd_l1_cps_class=1"] == pytest.approx(
        0.3 * 0.6 * 0.2)  # PD-L1 class from the protocol's prevalence
    assert [r["method"] for r in data["table"]] == ["blocks:3,6,9", "blocks:6,9", "blocks:6", "minimisation", "simple"]
    assert all(r["fixed_guess"] == pytest.approx(2 / 3) for r in data["table"])
    inline = _run("assess", "--protocol", "gastric_example", "--n", 30, "--sims", 20, "--method", "blocks:3",
                  "--prevalence", "ecog=0:0.6,region=asia:0.3")
    assert inline.exit_code == 0 and "blocks:3" in inline.output and "0.667" in inline.output
    bad = _run("assess", "--protocol", "gastric_example", "--n", 30, "--prevalence", "ecog=0")
    assert bad.exit_code == 2 and "--prevalence: expected FACTOR=LEVEL:SHARE" in bad.output
