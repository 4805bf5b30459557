"""`oncotrial simulate trial`: files, summary, reproducibility, derive on the output, errors."""

from __future__ import annotations

from typer.testing import CliRunner

from oncotrial.cli import app

runner = CliRunner()


def test_writes_domains_that_derive_reads(tmp_path):
    out = tmp_path / "sdtm"
    result = runner.invoke(app, ["simulate", "trial", "--scenario", "lms04", "--seed", "5",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    domains = ("dm", "ds", "ex", "pr", "cm", "ae", "tu", "tr", "rs")
    assert names == {f"{d}.csv" for d in domains} | {"truth.csv"}
    for text in ("Scenario lms04, seed 5, data cut-off 2023-01-31", "DOX", "DOXTRAB",
                 "Allocation SHA-256", "Second progressions"):
        assert text in result.output, text
    derived = runner.invoke(app, ["derive", "--sdtm", str(out), "--protocol", "lms04",
                                  "--cutoff", "2023-01-31", "--out", str(tmp_path / "adam")])
    assert derived.exit_code == 0, derived.output
    assert "Subjects: 150 (ITT 150" in derived.output
    assert "Data-quality problems: 0 (none)" in derived.output


def test_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        result = runner.invoke(app, ["simulate", "trial", "--scenario", "lms04", "--seed", "9",
                                     "--out", str(tmp_path / name), "--format", "parquet",
                                     "--format", "csv"])
        assert result.exit_code == 0, result.output
    for path in (tmp_path / "a").iterdir():
        if path.suffix == ".csv":
            assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    assert (tmp_path / "a" / "tr.parquet").is_file()


def test_errors_are_one_line_with_status_2(tmp_path):
    result = runner.invoke(app, ["simulate", "trial", "--scenario", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == ("error: invalid scenario: <name>: no bundled scenario 'nope' "
                             "(bundled: gastric_example, lms04)\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "trial", "--scenario", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "title: required field is missing" in result.output
    result = runner.invoke(app, ["simulate", "trial", "--scenario", "lms04", "--format", "sas",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.output.startswith("error: --format: ") and "sas" in result.output


def test_the_scenario_is_required(tmp_path):
    for command in ("trial", "calibrate"):
        result = runner.invoke(app, ["simulate", command, "--out", str(tmp_path)] if command == "trial"
                               else ["simulate", command])
        assert result.exit_code == 2, command
        assert "Missing option '--scenario'" in result.output, result.output
    assert not any(tmp_path.iterdir())


def test_scenario_template_runs_as_written(tmp_path):
    out = tmp_path / "scenario.yaml"
    result = runner.invoke(app, ["simulate", "scenario-template", "--protocol", "gastric_example",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    # the protocol's declared prevalences, not uniform shares
    assert 'ecog: {"0": 0.42, "1": 0.58}' in text and 'pd_l1_cps_class: {"1": 0.2, "2": 0.4, "3": 0.4}' in text
    for section in ("accrual:", "sites:", "baseline:", "disease:", "treatment:",
                    "subsequent_therapy:", "adverse_events:", "cutoff: "):
        assert f"\n{section}" in text, section
    assert "# " in text.split("accrual:")[1].splitlines()[0]  # commented parameters
    result = runner.invoke(app, ["simulate", "trial", "--scenario", str(out), "--out",
                                 str(tmp_path / "sdtm"), "--look", "1"])
    assert result.exit_code == 0, result.output
    assert "CAPOXPD1" in result.output
    result = runner.invoke(app, ["simulate", "scenario-template", "--protocol", "gastric_example",
                                 "--out", str(tmp_path / "scenario.txt")])
    assert result.exit_code == 2 and "--out" in result.output


def test_look_of_a_dated_scenario_is_refused(tmp_path):
    result = runner.invoke(app, ["simulate", "trial", "--scenario", "lms04", "--look", "2",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --look: the scenario has one cut-off (2023-01-31)")
