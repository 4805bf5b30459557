"""``oncotrial demo --live`` end to end on a small replica: the service starts, the subjects
go in through its API, and the comparison table shows every dataset identical."""

from __future__ import annotations

from typer.testing import CliRunner

from oncotrial.cli import app

LIVE = ["demo", "--live", "--scenario", "gastric_example", "--seed", "3", "--subjects", "30"]


def test_live_demo_prints_the_address_and_an_identical_comparison(tmp_path):
    result = CliRunner().invoke(app, [*LIVE, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "SIMULATED DATA" in text
    assert "Service running at http://127.0.0.1:" in text
    assert "ONCOTRIAL_ARGON2_TIME_COST=1" in text
    for dataset in ("SDTM DM", "SDTM EX", "ADSL", "ADTTE", "ADRS", "ADAE", "headline estimates"):
        line = next(row for row in result.output.splitlines() if row.strip().startswith(dataset))
        assert line.split()[-1] == "yes", line
    assert "the same as the export downloaded" in text
    assert "Captured and direct: identical." in text
    adsl = (tmp_path / "out" / "adam" / "adsl.csv").read_text()
    assert "SIMFL" in adsl.splitlines()[0]
    assert "Simulated data" in (tmp_path / "out" / "report.html").read_text()
    for name in ("sdtm/dm.csv", "adam/adsl.csv", "adam/protocol.yaml", "report.html"):
        assert (tmp_path / "out" / name).is_file(), name


def test_unusable_output_directory_is_refused_before_the_server_starts(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(app, [*LIVE, "--out", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert "--out" in result.output and "Service running" not in result.output


def test_live_only_options_without_live_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--keep", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "needs --live" in result.output and not (tmp_path / "out").exists()
