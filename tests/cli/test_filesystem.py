"""Paths that cannot be used: every output path is checked before any work starts, and a
missing or unreadable input is named. One line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import os

import pytest
from clihelpers import DESIGN, error_line, oncotrial


@pytest.fixture
def place(tmp_path):
    """A folder with a regular file ``file`` and a directory ``dir.csv``."""
    (tmp_path / "file").write_text("not a directory\n", encoding="utf-8")
    (tmp_path / "dir.csv").mkdir()
    return tmp_path


OUTPUT_DIRECTORY_COMMANDS = {
    "derive": ["derive", "--sdtm", "{tmp}", "--protocol", "lms04", "--out"],
    "simulate trial": ["simulate", "trial", "--scenario", "lms04", "--out"],
    "analyze": ["analyze", "--adam", "{tmp}", "--out"],
    "demo": ["demo", "--out"],
}


def _args(command: str, tmp, out) -> list[object]:
    return [tmp if a == "{tmp}" else a for a in OUTPUT_DIRECTORY_COMMANDS[command]] + [out]


@pytest.mark.parametrize("command", sorted(OUTPUT_DIRECTORY_COMMANDS))
def test_output_directory_that_is_a_file(place, command):
    line = error_line(oncotrial(*_args(command, place, place / "file"), cwd=place))
    assert line == f"--out: {place / 'file'} is a file; expected a directory"


@pytest.mark.parametrize("command", sorted(OUTPUT_DIRECTORY_COMMANDS))
def test_output_directory_under_a_file(place, command):
    line = error_line(oncotrial(*_args(command, place, "file/out/run"), cwd=place))
    assert line == "--out: file/out/run is under file, which is a file, not a directory"


@pytest.mark.parametrize("command", sorted(OUTPUT_DIRECTORY_COMMANDS))
def test_output_directory_whose_parent_is_missing(place, command):
    line = error_line(oncotrial(*_args(command, place, place / "results" / "run1"), cwd=place))
    assert line == f"--out: directory {place / 'results'} does not exist; create it first"
    assert not (place / "results").exists()


def test_output_files_that_cannot_be_written(place):
    cases = [
        (["randomise", "list", "--protocol", "lms04", "--seed", "1", "--per-stratum", "4", "--out", "dir.csv"],
         "--out: dir.csv is a directory; expected a file"),
        (["randomise", "list", "--protocol", "lms04", "--seed", "1", "--per-stratum", "4", "--out",
          "file/list.csv"], "--out: file/list.csv is under file, which is a file, not a directory"),
        (["randomise", "list", "--protocol", "lms04", "--seed", "1", "--per-stratum", "4", "--out",
          "lists/list.csv"], "--out: directory lists does not exist; create it first"),
        ([*DESIGN, "--plot", "file/power.png"],
         "--plot: file/power.png is under file, which is a file, not a directory"),
        ([*DESIGN, "--plot", "figures/power.png"], "--plot: directory figures does not exist; create it first"),
        ([*DESIGN, "--plot", "power.bmp"],
         "--plot: unsupported file type '.bmp' for power.bmp; expected .png, .svg, .pdf"),
        (["datasets", "export", "aml", "dir.csv"], "OUT: dir.csv is a directory; expected a file"),
        (["datasets", "export", "aml", "file/aml.csv"],
         "OUT: file/aml.csv is under file, which is a file, not a directory"),
        (["datasets", "export", "aml", "aml.txt"],
         "OUT: unsupported file type '.txt' for aml.txt; expected .csv, .parquet, .pq"),
    ]
    for args, message in cases:
        assert error_line(oncotrial(*args, cwd=place)) == message, args
    assert sorted(p.name for p in place.iterdir()) == ["dir.csv", "file"]  # nothing written


def test_output_is_checked_before_the_input_is_read(place):
    """A bad output path is reported first: no simulation or derivation ran for nothing."""
    line = error_line(oncotrial("simulate", "trial", "--scenario", "nope", "--out", "file", cwd=place))
    assert line.startswith("--out: ")
    line = error_line(oncotrial("analyze", "--adam", "missing", "--out", "file/report", cwd=place))
    assert line.startswith("--out: ")


def test_input_paths_that_cannot_be_read(place):
    cases = [
        (["survival", "missing.csv", "--time", "t", "--event", "e", "--group", "g"],
         "missing.csv: file not found"),
        (["survival", "dir.csv", "--time", "t", "--event", "e", "--group", "g"],
         "dir.csv: is a directory; expected a CSV file"),
        (["survival", "file", "--time", "t", "--event", "e", "--group", "g"],
         "file: unsupported file type ''; expected one of .csv, .parquet, .pq, .sas7bdat, .xpt"),
        (["derive", "--sdtm", "missing", "--protocol", "lms04", "--out", "adam"], "missing: directory not found"),
        (["derive", "--sdtm", "file", "--protocol", "lms04", "--out", "adam"],
         "file: a file; expected a directory with one file per data set"),
        (["protocol", "show", "missing.yaml"], None),
    ]
    for args, message in cases:
        line = error_line(oncotrial(*args, cwd=place))
        if message is None:
            assert line.startswith("invalid protocol missing.yaml: <file>: cannot read 'missing.yaml'"), line
        else:
            assert line == message, args
    assert not (place / "adam").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any directory: permissions do not block it")
def test_output_directory_without_write_permission(place):
    locked = place / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = error_line(oncotrial("simulate", "trial", "--scenario", "lms04", "--out", locked / "run", cwd=place))
        assert line == f"--out: cannot write in directory {locked}: permission denied"
        line = error_line(oncotrial("simulate", "trial", "--scenario", "lms04", "--out", locked, cwd=place))
        assert line == f"--out: cannot write in directory {locked}: permission denied"
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read any file: permissions do not block it")
def test_input_file_without_read_permission(place):
    path = place / "secret.csv"
    path.write_text("time,status,x\n1,1,a\n", encoding="utf-8")
    path.chmod(0o000)
    try:
        line = error_line(oncotrial("survival", path, "--time", "time", "--event", "status", "--group", "x"))
        assert line == f"{path}: cannot read the file (Permission denied)"
    finally:
        path.chmod(0o600)
