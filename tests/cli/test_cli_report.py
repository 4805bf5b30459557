"""`oncotrial demo` and `oncotrial analyze`: every file written, the side-by-side table, the
report from ADaM files written by derive, and one-line errors for bad ADaM input.

The commands are mounted on a Typer app of their own here, as :mod:`oncotrial.cli`
registers them, so the test does not depend on the rest of the command line."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from oncotrial.cli.report import analyze, demo

app = typer.Typer()
app.command("analyze")(analyze)
app.command("demo")(demo)
runner = CliRunner()

REPORT_FILES = {"report.html", "report.docx", "lay_summary.md", "lay_summary.html", "ard.json", "ard.csv",
                "ars.json", "ars.csv", "messages.txt"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "oncotrial-demo"
    result = runner.invoke(app, ["demo", "--seed", "1", "--out", str(out)])
    return out, result


def test_demo_writes_every_file(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= REPORT_FILES
    # CONSORT and 3 figures × 3 end points, PNG only by default
    assert sorted(p.suffix for p in (out / "figures").iterdir()) == [".png"] * 10
    for dataset in ("adsl", "adtte", "adrs", "adae"):
        for suffix in (".csv", ".parquet", ".xpt"):
            assert (out / "adam" / f"{dataset}{suffix}").is_file(), dataset + suffix
    assert "LMS04 replica, seed 1, data cut-off 2023-01-31: 150 patients randomised" in result.stdout
    assert f"Wrote to {out}" in result.stdout


def test_demo_prints_replica_beside_published(demo_run):
    _, result = demo_run
    lines = result.stdout.splitlines()
    assert any("Estimate" in line and "Replica" in line and "Published" in line for line in lines)
    hr = next(line for line in lines if "PFS hazard ratio" in line).split()
    # the published value, its published CI and its source: the final analysis (NEJM 2024)
    assert hr[3:8] == ["0.37", "0.26", "to", "0.53", "[1]"]
    assert hr[9] in ("yes", "no")  # whether the replica lies in the published CI
    assert any("Objective response, experimental" in line and "36.0%" in line and "[2]" in line for line in lines)
    text = " ".join(result.stdout.split())
    assert "[1] Pautier et al., NEJM 2024" in text and "[2] Pautier et al., Lancet Oncol 2022" in text
    assert "the central 95% of 200 replicas" in text


def test_analyze_reads_adam_files_written_by_derive(demo_run, tmp_path):
    adam_dir, _ = demo_run
    out = tmp_path / "report"
    result = runner.invoke(app, ["analyze", "--adam", str(adam_dir / "adam"), "--protocol", "lms04",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= REPORT_FILES
    first = pd.read_csv(adam_dir / "ard.csv")
    again = pd.read_csv(out / "ard.csv")
    pd.testing.assert_frame_equal(first, again, check_exact=False, rtol=1e-9)


def test_analyze_writes_every_format_asked_for(demo_run, tmp_path):
    adam_dir, _ = demo_run
    out = tmp_path / "report"
    result = runner.invoke(app, ["analyze", "--adam", str(adam_dir / "adam"), "--protocol", "lms04",
                                 "--formats", "png,svg,pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert len(figures) == 30 and {p.rsplit(".", 1)[1] for p in figures} == {"png", "svg", "pdf"}
    assert "figures/ (30 files)" in result.stdout
    assert (out / "figures" / "km_pfs.png").read_bytes() == (adam_dir / "figures" / "km_pfs.png").read_bytes()


@pytest.mark.parametrize("command", ["demo", "analyze"])
def test_a_bad_format_is_a_one_line_error_and_writes_nothing(demo_run, tmp_path, command):
    adam_dir, _ = demo_run
    out = tmp_path / "out"
    extra = ["--adam", str(adam_dir / "adam"), "--protocol", "lms04"] if command == "analyze" else []
    result = runner.invoke(app, [command, *extra, "--formats", "png,jpeg", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    assert ("--formats: unknown figure format(s) 'jpeg'; expected a comma-separated list of png, svg, pdf"
            in result.stderr)
    assert not out.exists()


def test_demo_formats_are_not_for_the_live_demo(tmp_path):
    result = runner.invoke(app, ["demo", "--live", "--formats", "svg", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--formats" in result.stderr and "--live" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_adam_directory_is_a_one_line_error(tmp_path):
    missing = runner.invoke(app, ["analyze", "--adam", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2
    assert missing.stderr.strip().count("\n") == 0 and "adam: directory not found" in missing.stderr

    (tmp_path / "bad").mkdir()
    pd.DataFrame({"USUBJID": ["1", "1"], "ARMCD": ["DOX", "DOX"], "ARM": ["Doxorubicin"] * 2,
                  "ITTFL": ["Y", "Y"]}).to_csv(tmp_path / "bad" / "adsl.csv", index=False)
    pd.DataFrame({"USUBJID": ["1"], "PARAMCD": ["PFS"], "AVAL": [-3], "CNSR": [0]}).to_csv(
        tmp_path / "bad" / "adtte.csv", index=False)
    invalid = runner.invoke(app, ["analyze", "--adam", str(tmp_path / "bad"), "--out", str(tmp_path / "o")])
    assert invalid.exit_code == 2
    assert invalid.stderr.strip().count("\n") == 0
    assert "ADTTE.AVAL: expected a time >= 0" in invalid.stderr and "ADSL.USUBJID" in invalid.stderr
    assert not (tmp_path / "o").exists()


def test_analyze_refuses_a_look_outside_the_design(demo_run, tmp_path):
    """The reference protocol has a fixed design: one analysis, so only --look 1 (the final one)."""
    adam_dir, _ = demo_run
    out = tmp_path / "report"
    result = runner.invoke(app, ["analyze", "--adam", str(adam_dir / "adam"), "--protocol", "lms04", "--look", "2",
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert ("--look: expected a look of the design from 1 to 1 (the protocol plans one analysis, the final one), "
            "got 2") in result.stderr
    assert not out.exists()
    zero = runner.invoke(app, ["analyze", "--adam", str(adam_dir / "adam"), "--protocol", "lms04", "--look", "0",
                               "--out", str(out)])
    assert zero.exit_code == 2 and "--look:" in zero.stderr
